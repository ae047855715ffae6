"""Twilio's webhooks: messages in (`/sms`), delivery statuses (`/sms/status`), and `/healthz`."""

from __future__ import annotations

import io
import re

from flask import Blueprint, Flask, Response, abort, current_app
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import get_current_url

from bot.segments import TWILIO_MAX_CHARACTERS
from service import Inbound, Service
from storage.messaging import TWILIO_STATUSES
from web.context import current_service
from web.settings import validation_enabled
from web.twilio_signature import (
    FORM_TYPE,
    Form,
    based_url,
    read_form,
    signature_matches,
    twilio_form,
)
from web.twiml import to_twiml

bp = Blueprint("webhooks", __name__)

# Twilio's forms. Its signature joins names and values without separators, so a
# signed request replayed with a field's name moved into the previous value
# (`MessageSid` + "NumMedia0") still verifies: only the forms tell it apart.
MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
MAX_MEDIA = 10  # Twilio delivers at most 10 media items with one message
SMALL_NUMBER = re.compile(r"[0-9]{1,2}")
ERROR_CODE = re.compile(r"[0-9]{1,6}")  # Twilio's error codes are at most six digits
# A phone number, short code, alphanumeric sender or channel address
# (whatsapp:+1..., messenger:...); bounded so it always fits an index entry.
MAX_ADDRESS = 256
TWIML_TYPE = "text/xml"
TWIML_HEADER = "text/xml; charset=utf-8"  # what Flask's Response(mimetype=TWIML_TYPE) sends


@bp.post("/sms")
def sms() -> Response:
    """Twilio's "a message comes in" webhook: the next question as TwiML."""
    inbound = inbound_of(twilio_form(), current_app.config)
    return Response(twiml_of(current_service(), inbound), mimetype=TWIML_TYPE)


def inbound_of(form: Form, config) -> Inbound:
    """The message in Twilio's form (400 for a field out of its form)."""
    phone = _required(form, "From", MAX_ADDRESS)
    sid = _message_sid(form, "MessageSid")
    _check_account(form, config)
    body = form.get("Body", "")
    if len(body) > TWILIO_MAX_CHARACTERS:
        abort(400, f"Body is longer than {TWILIO_MAX_CHARACTERS} characters.")
    return Inbound(phone=phone, body=body, sid=sid, media=_media_count(form))


def twiml_of(service: Service, inbound: Inbound) -> str:
    """The service's reply to a message, as TwiML: the one place TwiML is made."""
    return to_twiml(service.receive(inbound))


class FastSms:
    """`POST /sms` answered without Flask's request context, when the answer is the TwiML.

    Flask's contexts, routing and response objects were a sixth of a message's
    CPU (py-spy, bench/cpu.py). This WSGI layer, under ProxyFix and over Flask,
    takes a request only when it would get the TwiML: a form with Content-Length
    that reads strictly, a matching signature, every field in Twilio's form. Any
    other request, or one it cannot answer plainly, goes to Flask whole (the body
    put back), so there is one place that says why a request is refused. An error
    from the service is answered by Flask's own handlers (503, 500).
    """

    def __init__(self, app: Flask, inner):
        self.app, self.inner = app, inner

    def __call__(self, environ: dict, start_response):
        """Answer a plain inbound message here, anything else through Flask."""
        if environ.get("PATH_INFO") != "/sms" or environ.get("REQUEST_METHOD") != "POST":
            return self.inner(environ, start_response)
        inbound = self._inbound(environ)
        if inbound is None:
            return self.inner(environ, start_response)
        try:
            twiml = twiml_of(Service.of(self.app), inbound).encode()
        except Exception as err:  # noqa: BLE001 (handled as the view's would be, by Flask)
            return self._flask_error(environ, start_response, err)
        headers = [("Content-Type", TWIML_HEADER), ("Content-Length", str(len(twiml)))]
        start_response("200 OK", headers)
        return [twiml]

    def _inbound(self, environ: dict) -> Inbound | None:
        """The message, when the request is Twilio's and well formed; else None, for Flask."""
        config, length = self.app.config, environ.get("CONTENT_LENGTH", "")
        if (
            environ.get("CONTENT_TYPE") != FORM_TYPE
            or "HTTP_TRANSFER_ENCODING" in environ  # chunked: Flask reads past any Content-Length
            or not (length.isascii() and length.isdigit())
        ):
            return None  # another type, a chunked body, a length such as "²": Flask says
        try:
            size = int(length)
        except ValueError:
            return None  # over int()'s 4,300 digits, which Flask reads as no body
        limit = config.get("MAX_CONTENT_LENGTH")
        if limit is not None and size > limit:
            return None  # Flask's 413
        raw = environ["wsgi.input"].read(size)
        environ["wsgi.input"] = io.BytesIO(raw)  # for Flask, should it take the request over
        if len(raw) != size:
            return None  # the client went away mid-body
        try:
            form = read_form(raw)
            if validation_enabled(config) and not self._signed(environ, config, form):
                return None
            return inbound_of(form, config)
        except HTTPException:
            return None

    @staticmethod
    def _signed(environ: dict, config, form: Form) -> bool:
        """Whether the request carries Twilio's signature of the URL it called and its form."""
        signature = environ.get("HTTP_X_TWILIO_SIGNATURE")
        query = environ.get("QUERY_STRING", "")
        url = based_url(config, "/sms", query)
        if url is None:
            if not environ.get("SCRIPT_NAME", "").isascii():
                return False  # Flask reads a mount point's bytes as UTF-8: its URL, its check
            url = get_current_url(environ)
        return bool(signature) and signature_matches(config, url, form, signature)

    def _flask_error(self, environ: dict, start_response, err: Exception):
        """The response Flask gives for `err` raised in the view (called while handling it)."""
        app = self.app
        with app.request_context(environ):
            try:
                response = app.finalize_request(app.handle_user_exception(err))
            except Exception as unhandled:  # noqa: BLE001 (Flask's 500, or raised when testing)
                response = app.handle_exception(unhandled)
            return response(environ, start_response)


@bp.post("/sms/status")
def sms_status() -> Response:
    """Twilio's status callback for a message the bot sent."""
    form = twilio_form()
    sid = _message_sid(form, "MessageSid" if "MessageSid" in form else "SmsSid")
    _check_account(form, current_app.config)
    name = "MessageStatus" if "MessageStatus" in form else "SmsStatus"
    status = _required(form, name, MAX_ADDRESS)
    if status not in TWILIO_STATUSES:
        abort(400, f"{name} is not one of Twilio's message statuses.")
    current_service().delivery(sid=sid, status=status, error_code=_error_code(form))
    return Response("", status=204)


@bp.get("/healthz")
def healthz() -> Response:
    """200 when the app and its database answer."""
    with current_service().engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return Response("ok\n", mimetype="text/plain")


def _required(form: Form, name: str, limit: int) -> str:
    """A required form field, trimmed: 400 when it is missing or longer than `limit`."""
    value = form.get(name, "").strip()
    if not value:
        abort(400, f"Missing {name}.")
    if len(value) > limit:
        abort(400, f"{name} is longer than {limit} characters.")
    return value


def _message_sid(form: Form, name: str) -> str:
    """A message's sid in Twilio's form (SM or MM and 32 hex digits), else 400."""
    sid = _required(form, name, MAX_ADDRESS)
    if not MESSAGE_SID.fullmatch(sid):
        abort(400, f"{name} is not a Twilio message sid (SM or MM and 32 hex digits).")
    return sid


def _check_account(form: Form, config) -> None:
    """400 unless AccountSid has Twilio's form and, with TWILIO_ACCOUNT_SID set, is that one."""
    account = form.get("AccountSid")
    expected = config.get("TWILIO_ACCOUNT_SID")
    if account is None and not expected:
        return
    if account is None or not ACCOUNT_SID.fullmatch(account):
        abort(400, "AccountSid is not a Twilio account sid (AC and 32 hex digits).")
    if expected and account != expected:
        abort(400, "AccountSid is not this bot's Twilio account (TWILIO_ACCOUNT_SID).")


def _media_count(form: Form) -> int:
    """NumMedia: 0 when absent, else a number of at most MAX_MEDIA (400 otherwise)."""
    value = form.get("NumMedia")
    if value is None:
        return 0
    if not SMALL_NUMBER.fullmatch(value) or int(value) > MAX_MEDIA:
        abort(400, f"NumMedia is not a Twilio media count (a number from 0 to {MAX_MEDIA}).")
    return int(value)


def _error_code(form: Form) -> int | None:
    """ErrorCode: None when absent or empty, else a number of at most six digits (400 otherwise)."""
    value = form.get("ErrorCode") or None
    if value is not None and not ERROR_CODE.fullmatch(value):
        abort(400, "ErrorCode is not a Twilio error code (at most six digits).")
    return value and int(value)
