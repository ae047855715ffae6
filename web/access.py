"""Who may see answers: ADMIN_TOKEN as a bearer token, or the studio's signed session cookie.

The session cookie is signed with SECRET_KEY when it is configured, else with
a random key made once and kept in the database (`store.secret`), so every
worker and machine accepts the cookies the others set. Sessions are opened
only for the studio and the export, never on Twilio's webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Flask, abort, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.exc import OperationalError

from service import Service
from storage import store

SESSION_KEY_NAME = "studio_session_key"  # its row in the `secret` table
SESSION_PATHS = ("/studio", "/surveys/")  # the pages that read or set the cookie
CSRF_FIELD = "csrf"  # the hidden field of every studio form


class StudioSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, on the studio's and the export's paths only."""

    def open_session(self, app: Flask, request):
        """The session of a studio or export request; none elsewhere (the webhooks)."""
        if not request.path.startswith(SESSION_PATHS) or not admin_token(app):
            return None
        if not app.secret_key:
            try:
                app.secret_key = _stored_key(app)
            except OperationalError:  # the database is down: the view will answer 503
                return None
        return super().open_session(app, request)


def _stored_key(app: Flask) -> str:
    """The random signing key kept once in the database."""
    with Service.of(app).engine.begin() as conn:
        return store.secret(db=conn, name=SESSION_KEY_NAME).hex()


def init_app(app: Flask) -> None:
    """Sign sessions, and set the cookie's flags: HttpOnly, SameSite=Lax, Secure on https."""
    app.session_interface = StudioSessions()
    app.secret_key = app.config.get("SECRET_KEY") or None
    app.config.update(
        SESSION_COOKIE_NAME="studio",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=str(app.config.get("PUBLIC_URL", "")).startswith("https:"),
    )


def admin_token(app: Flask | None = None) -> str | None:
    """The configured ADMIN_TOKEN, None when the export and the studio are disabled."""
    return (app or current_app).config.get("ADMIN_TOKEN") or None


def token_matches(given: str) -> bool:
    """Whether `given` is the admin token, compared in constant time."""
    return hmac.compare_digest(given.encode(), (admin_token() or "").encode())


def holder() -> str:
    """A fingerprint of the admin token: a session stays valid only while the token does."""
    return hashlib.sha256(b"studio:" + (admin_token() or "").encode()).hexdigest()[:16]


def signed_in() -> bool:
    """Whether this request carries a studio session for the current token."""
    return hmac.compare_digest(session.get("holder", ""), holder())


def sign_in() -> None:
    """Start a fresh studio session (a new CSRF token too)."""
    session.clear()
    session["holder"] = holder()
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def csrf_token() -> str:
    """This session's CSRF token, made on first use (the login form has one too)."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def check_csrf() -> None:
    """400 unless a form carries this session's CSRF token."""
    given, expected = request.form.get(CSRF_FIELD, ""), session.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(400, "The form's CSRF token is missing or stale: reload the page and try again.")


def require_admin() -> None:
    """404 when disabled (no ADMIN_TOKEN); 401 without a bearer token or a studio session."""
    if not admin_token():
        abort(404, "The export and the studio are disabled: ADMIN_TOKEN is not set.")
    given = request.headers.get("Authorization", "")
    if given.startswith("Bearer "):
        if not token_matches(given.removeprefix("Bearer ")):
            abort(403, "Wrong admin token.")
        return
    if not signed_in():
        abort(401, "Send Authorization: Bearer <ADMIN_TOKEN>, or sign in at /studio/login.")
