"""The conversation engine: surveys, reply reading, state machines, rendering.

Nothing in this package knows about HTTP, SQL or Twilio.
"""
