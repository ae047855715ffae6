"""Who may see answers: ADMIN_TOKEN as a bearer token, or the studio's signed session cookie.

The session cookie is signed with SECRET_KEY when it is configured, else with
a random key made once and kept in the database (`store.secret`), so every
worker and machine accepts the cookies the others set. Sessions are opened
only for the studio and the export, never on Twilio's webhooks. Every try of
the token, in the login form or as a bearer token, goes through one throttle
(`storage.logins`); a cookie names its session, which signing out ends for good.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from flask import Flask, abort, current_app, g, request, session
from flask.sessions import NullSession, SecureCookieSessionInterface
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import TooManyRequests

from service import Service
from storage import logins, store

SESSION_KEY_NAME = "studio_session_key"  # its row in the `secret` table
SESSION_PATHS = ("/studio", "/surveys/")  # the pages that read or set the cookie
CSRF_FIELD = "csrf"  # the hidden field of every studio form
log = logging.getLogger("survey")


class Unreachable(NullSession):
    """No session could be opened: the database (and its signing key) did not answer."""

    def __init__(self, error: Exception):
        super().__init__()
        self.error = error


class StudioSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, on the studio's and the export's paths only."""

    def open_session(self, app: Flask, request):
        """The session of a studio or export request; none elsewhere (the webhooks)."""
        if not request.path.startswith(SESSION_PATHS) or not admin_token(app):
            return None
        if not app.secret_key:
            try:
                app.secret_key = _stored_key(app)
            except OperationalError as err:
                return Unreachable(err)  # the studio's guard answers 503 with it
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure on https: PUBLIC_URL's, or the request's as a trusted proxy tells it."""
        return bool(super().get_cookie_secure(app) or request.is_secure)


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
    """A keyed fingerprint of the admin token: a session is valid only while the token is.

    Keyed with the signing key, so a cookie (readable, only signed) tells
    nothing that would help guess the token offline.
    """
    key = str(current_app.secret_key or "").encode()
    token = (admin_token() or "").encode()
    return hmac.new(key, b"studio:" + token, hashlib.sha256).hexdigest()[:32]


def signed_in() -> bool:
    """Whether this request carries a studio session for the current token, not signed out."""
    if "signed_in" not in g:
        sid = session.get("sid", "")
        g.signed_in = bool(sid) and hmac.compare_digest(session.get("holder", ""), holder())
        if g.signed_in:
            with Service.of(current_app).engine.connect() as conn:
                g.signed_in = not logins.signed_out(conn, sid)
    return g.signed_in


def sign_in() -> None:
    """Start a fresh studio session (a new id and CSRF token too)."""
    session.clear()
    session["holder"] = holder()
    session["sid"] = secrets.token_hex(16)
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    g.pop("signed_in", None)


def sign_out() -> None:
    """End this studio session: its cookie, kept or copied, is refused from now on."""
    sid = session.get("sid")
    if sid:
        service = Service.of(current_app)
        logins.sign_out(service.engine, session_id=sid, now=service.clock.now())
    session.clear()
    g.signed_in = False


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


def session_available() -> None:
    """503 (the database's error) when the session could not be opened."""
    if isinstance(session, Unreachable):
        raise session.error


def try_token(given: str, how: str) -> bool:
    """Whether `given` is the admin token, through the shared throttle: 429 beyond it.

    Beyond the limit every try is refused, right token or not, so a guesser
    learns nothing more; each wrong try and each refusal is logged.
    """
    address = request.remote_addr or "?"
    service = Service.of(current_app)
    engine = service.engine
    verdict = logins.attempt(
        engine, address=address, right=token_matches(given), now=service.clock.now()
    )
    if verdict == "refused":
        log.warning("admin token refused (%s): too many wrong tokens from %s", how, address)
        raise TooManyRequests(
            "Too many wrong tokens: wait a minute.", retry_after=int(logins.WINDOW.seconds)
        )
    if verdict == "wrong":
        log.warning("%s: wrong token from %s", how, address)
    return verdict == "right"


def require_admin() -> None:
    """404 when disabled (no ADMIN_TOKEN); 401 without a bearer token or a studio session.

    A bearer token is tried through the login's throttle: 403 when wrong, 429 beyond it.
    """
    if not admin_token():
        abort(404, "The export and the studio are disabled: ADMIN_TOKEN is not set.")
    given = request.headers.get("Authorization", "")
    if given.startswith("Bearer "):
        if not try_token(given.removeprefix("Bearer "), "Authorization: Bearer"):
            abort(403, "Wrong admin token.")
        return
    session_available()
    if not signed_in():
        abort(401, "Send Authorization: Bearer <ADMIN_TOKEN>, or sign in at /studio/login.")
