"""The Flask side: the app factory (`web.factory`), its blueprints, and its commands.

Nothing is imported here, so that a lean command (`web.lean`) can load only what it needs.
"""
