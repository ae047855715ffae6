"""Twilio's webhooks: messages in (`/sms`), delivery statuses (`/sms/status`), and `/healthz`."""

from __future__ import annotations

from flask import Blueprint, Response, abort
from sqlalchemy import text

from service import Inbound
from web.context import current_service
from web.twilio_signature import Form, twilio_form

bp = Blueprint("webhooks", __name__)

MAX_BODY = 1600  # Twilio's own limit for one message body
MAX_SID = 64  # Twilio's SIDs are 34 characters; longer is not from Twilio
# A phone number, short code, alphanumeric sender or channel address
# (whatsapp:+1..., messenger:...); bounded so it always fits an index entry.
MAX_ADDRESS = 256


@bp.post("/sms")
def sms() -> Response:
    """Twilio's "a message comes in" webhook: the next question as TwiML."""
    form = twilio_form()
    phone = _required(form, "From", MAX_ADDRESS)
    sid = _required(form, "MessageSid", MAX_SID)
    body = form.get("Body", "")
    if len(body) > MAX_BODY:
        abort(400, f"Body is longer than {MAX_BODY} characters.")
    media = _int(form.get("NumMedia"))
    twiml = current_service().receive(Inbound(phone=phone, body=body, sid=sid, media=media))
    return Response(twiml, mimetype="text/xml")


@bp.post("/sms/status")
def sms_status() -> Response:
    """Twilio's status callback for a message the bot sent."""
    form = twilio_form()
    sid = _required(form, "MessageSid" if "MessageSid" in form else "SmsSid", MAX_SID)
    # A status is one short word (queued, sent, delivered...): the SID's bound is plenty.
    status = _required(form, "MessageStatus" if "MessageStatus" in form else "SmsStatus", MAX_SID)
    error = _int(form.get("ErrorCode"), None)
    current_service().delivery(sid=sid, status=status, error_code=error)
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


def _int(value: str | None, default: int | None = 0) -> int | None:
    """A form field as an int, `default` when absent or not a number."""
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default
