"""Twilio's webhooks: messages in (`/sms`), delivery statuses (`/sms/status`), and `/healthz`."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app
from sqlalchemy import text

from bot.segments import TWILIO_MAX_CHARACTERS
from service import Inbound
from storage.messaging import TWILIO_STATUSES
from web.context import current_service
from web.twilio_signature import Form, twilio_form
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


@bp.post("/sms")
def sms() -> Response:
    """Twilio's "a message comes in" webhook: the next question as TwiML."""
    form = twilio_form()
    phone = _required(form, "From", MAX_ADDRESS)
    sid = _message_sid(form, "MessageSid")
    _check_account(form)
    body = form.get("Body", "")
    if len(body) > TWILIO_MAX_CHARACTERS:
        abort(400, f"Body is longer than {TWILIO_MAX_CHARACTERS} characters.")
    media = _media_count(form)
    reply = current_service().receive(Inbound(phone=phone, body=body, sid=sid, media=media))
    return Response(to_twiml(reply), mimetype="text/xml")  # the one place TwiML is made


@bp.post("/sms/status")
def sms_status() -> Response:
    """Twilio's status callback for a message the bot sent."""
    form = twilio_form()
    sid = _message_sid(form, "MessageSid" if "MessageSid" in form else "SmsSid")
    _check_account(form)
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


def _check_account(form: Form) -> None:
    """400 unless AccountSid has Twilio's form and, with TWILIO_ACCOUNT_SID set, is that one."""
    account = form.get("AccountSid")
    expected = current_app.config.get("TWILIO_ACCOUNT_SID")
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
