"""The current app's application service, for views and commands."""

from __future__ import annotations

from flask import current_app

from service import Service


def current_service() -> Service:
    """The current app's Service, with its database schema checked."""
    return Service.of(current_app)
