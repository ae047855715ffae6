"""`POST /sms/status`: Twilio's delivery callbacks update the messages the bot sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fake_twilio import (
    ACCOUNT_SID,
    clock_fixture,  # noqa: F401 (a fixture)
    invite_fixture,  # noqa: F401 (a fixture)
    sending_config,  # noqa: F401 (a fixture)
    stored,
    twilio_fixture,  # noqa: F401 (a fixture)
)
from storage.models import Contact, OutboundMessage, SurveySession

A = "+12025550101"


def callback(sms, sid: str, status: str, error: str | None = None):
    """POST a status callback for `sid`, signed, with the fields Twilio sends."""
    form = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "From": "+15005550006",
        "To": A,
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
    }
    if error:
        form["ErrorCode"] = error
    return sms.post(form, path="/sms/status")


@pytest.fixture
def sid(invite, twilio) -> str:
    """The sid of an invitation sent to A."""
    assert invite(A).exit_code == 0
    return twilio.accepted(A)[0].sid


def test_a_callback_is_stamped_by_the_apps_clock(app, sms, sid, clock):
    clock.elapsed += 3600  # delivered an hour after the invitation went out
    assert callback(sms, sid, "delivered").status_code == 204
    [message] = stored(app, OutboundMessage)
    assert utc(message.updated_at) == utc(clock.now())


def utc(moment: datetime) -> datetime:
    """`moment` as a naive UTC time, however the database gave it back."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@pytest.mark.parametrize(
    ("callbacks", "final"),
    [
        ([("sent", None), ("delivered", None)], ("delivered", None)),
        ([("sending", None), ("sent", None), ("undelivered", "30003")], ("undelivered", 30003)),
        ([("failed", "30007")], ("failed", 30007)),
        ([("delivered", None), ("sent", None)], ("delivered", None)),  # a late callback
        ([("sent", None), ("queued", None)], ("sent", None)),
        ([("undelivered", "30005"), ("failed", None)], ("failed", 30005)),
        # A message that reached the phone stays reached, without a late failure's code,
        # and one that did not stays so: the first of the two ends is kept.
        ([("delivered", None), ("failed", "30003"), ("delivered", None)], ("delivered", None)),
        ([("delivered", None), ("sent", None), ("read", None)], ("read", None)),
        ([("failed", "30003"), ("delivered", None)], ("failed", 30003)),
        ([("undelivered", "30005"), ("read", None)], ("undelivered", 30005)),
    ],
)
def test_callbacks_follow_delivery(app, sms, sid, callbacks, final):
    for status, error in callbacks:
        assert callback(sms, sid, status, error).status_code == 204
    [message] = stored(app, OutboundMessage)
    assert (message.status, message.error_code) == final


def test_an_unknown_sid_is_harmless(app, sms, sid):
    before = stored(app, OutboundMessage)
    assert callback(sms, "SM" + "0" * 32, "delivered").status_code == 204
    assert stored(app, OutboundMessage) == before


def test_callbacks_must_be_signed_and_complete(app, sms, sid):
    assert (
        sms.post({"MessageSid": sid, "MessageStatus": "delivered"}, "/sms/status", "x").status_code
        == 403
    )
    assert sms.post({"MessageSid": sid}, path="/sms/status").status_code == 400
    assert stored(app, OutboundMessage)[0].status == "queued"


def test_a_late_21610_opts_the_number_out(app, sms, sid):
    assert callback(sms, sid, "failed", "21610").status_code == 204
    [contact] = stored(app, Contact)
    assert (contact.phone, contact.opted_out) == (A, True)
    assert [s.status for s in stored(app, SurveySession)] == ["opted_out"]
    assert sms.send(A, "hello?") is None  # nothing more is sent to the number


def test_an_invitation_twilio_dropped_after_its_validity_is_sent_again(
    app, sms, sid, invite, twilio
):
    assert callback(sms, sid, "failed", "30036").status_code == 204
    [message] = stored(app, OutboundMessage)
    assert (message.status, message.error_code, message.session_id) == ("failed", 30036, None)
    assert stored(app, SurveySession) == []  # never reached: no session in the export
    result = invite(A)
    assert "Done: sent 1." in result.output
    assert [r.to for r in twilio.accepted()] == [A, A]
    assert "Done: skipped 1." in invite(A).output  # and once delivered, only once


@pytest.mark.parametrize("error", ["30003", "30005", None])
def test_other_failures_do_not_invite_again(app, sms, sid, invite, twilio, error):
    callback(sms, sid, "undelivered", error)
    assert "skipped: 1 already invited" in invite(A).output
    assert len(twilio.accepted()) == 1


def test_a_dropped_invitation_someone_answered_anyway_stays(app, sms, sid, invite, twilio):
    sms.send(A, "Sam")  # they texted back meanwhile (the keyword, a friend's forward...)
    callback(sms, sid, "failed", "30036")
    assert [s.status for s in stored(app, SurveySession)] == ["open"]
    assert "skipped: 1 already invited" in invite(A).output
