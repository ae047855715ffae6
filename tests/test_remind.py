"""`flask remind`: one reminder, with the current question, to each idle unfinished session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conftest import saved
from fake_twilio import (
    ACCOUNT_SID,
    NOON_IN_NEW_YORK,
    age,
    clock_fixture,  # noqa: F401 (a fixture)
    crash_fixture,  # noqa: F401 (a fixture)
    sending_config,  # noqa: F401 (a fixture)
    stored,
    twilio_fixture,  # noqa: F401 (a fixture)
)
from outbound.pipeline import LEASE, Mailing
from play import CONVERSATIONS
from storage import store
from storage.models import Contact, OutboundMessage, SurveySession

CLINIC = "clinic-follow-up"
NUDGE = "Riverside Clinic here. You have not finished our follow-up questions."
ON_TIME = "Were you seen within 15 minutes of your appointment time?"
A, B, C = "+12025550101", "+12025550102", "+12025550103"
CHAT = """\
title: Chat
keywords: [CHAT]
reminder: "Still there, {{ answers.name }}?"
questions:
  - {id: name, type: text, text: "Your name?"}
  - {id: colour, type: choice, text: "Favourite colour?", choices: [Red, Blue]}
"""


@pytest.fixture
def remind(app):
    """Run `flask remind` with these arguments."""
    return lambda *args: app.test_cli_runner().invoke(args=["remind", *args])


def test_an_idle_session_gets_one_reminder_and_goes_on(app, remind, twilio, sms):
    sms.send(A, "CLINIC")
    sms.send(A, "yesterday")
    sms.send(B, "CLINIC")
    sms.send(C, "CLINIC")
    age(app, A, hours=25)
    age(app, B, hours=1)  # not idle long enough
    age(app, C, days=3)  # expired (expire_after: 2d)
    result = remind(CLINIC, "--after", "24h")
    assert result.exit_code == 0, result.output
    assert "Done: sent 1." in result.output
    [request] = twilio.accepted()
    assert (request.to, request.body) == (A, f"{NUDGE}\n\n{ON_TIME}")
    [message] = stored(app, OutboundMessage)
    assert (message.kind, message.sid, message.status) == ("reminder", request.sid, "queued")
    session = next(s for s in stored(app, SurveySession) if s.phone == A)
    assert message.session_id == session.id and session.reminded_at is not None
    assert "Done: nothing to send." in remind(CLINIC, "--after", "24h").output
    assert len(twilio.requests) == 1
    assert sms.send(A, "yes").startswith("How much pain")


def test_opted_out_and_finished_sessions_get_no_reminder(app, remind, twilio, sms):
    sms.send(A, "CLINIC")
    sms.send(A, "STOP")
    for body, _, _ in CONVERSATIONS[CLINIC]:
        sms.send(B, body)
    sms.send(C, "CLINIC")
    with app.extensions["survey_service"].engine.begin() as conn:  # opted out, session left open
        store.set_opt_out(db=conn, phone=C, opted_out=True, now=datetime.now(UTC))
    for phone in (A, B, C):
        age(app, phone, hours=25)
    result = remind(CLINIC, "--after", "24h")
    assert result.exit_code == 0, result.output
    assert "Done: skipped 1." in result.output and "skipped: 1 opted out" in result.output
    assert twilio.requests == []
    assert [s.status for s in stored(app, SurveySession)] == ["opted_out", "completed", "open"]


def test_the_reminder_text_sees_answers_and_is_optional(app, remind, twilio, sms, surveys_dir):
    saved(surveys_dir / "chat.yaml", CHAT)
    sms.send(A, "CHAT")
    sms.send(A, "Sam")
    sms.send(B, "FEEDBACK")  # visit-feedback has no reminder text
    age(app, A, hours=2)
    age(app, B, hours=2)
    assert remind("chat", "--after", "1h").exit_code == 0
    assert remind("visit-feedback", "--after", "1h").exit_code == 0
    assert [r.body for r in twilio.accepted()] == [
        "Still there, Sam?\n\nFavourite colour?\n1. Red\n2. Blue",
        "What is your first name?",
    ]


def test_dry_run_sends_and_writes_nothing(app, remind, twilio, sms):
    sms.send(A, "CLINIC")
    age(app, A, hours=25)
    before = stored(app, SurveySession), stored(app, OutboundMessage)
    result = remind(CLINIC, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{A}: {NUDGE} / On what date was your appointment?" in result.output
    assert "Done: would send 1." in result.output
    assert twilio.requests == []
    assert (stored(app, SurveySession), stored(app, OutboundMessage)) == before


def test_21610_on_a_reminder_opts_the_number_out(app, remind, twilio, sms):
    sms.send(A, "CLINIC")
    age(app, A, hours=25)
    twilio.script(A, 21610)
    assert "failed: 1 opted out at Twilio (21610)" in remind(CLINIC).output
    assert [(c.phone, c.opted_out) for c in stored(app, Contact)] == [(A, True)]
    assert [s.status for s in stored(app, SurveySession)] == ["opted_out"]


def test_a_reminder_cut_off_before_its_sid_was_saved_is_sent_once_more(
    app, remind, twilio, sms, crash, monkeypatch
):
    sms.send(A, "CLINIC")
    age(app, A, hours=25)
    crash(1)
    assert remind(CLINIC).exit_code == 1
    assert stored(app, OutboundMessage)[0].status == "pending"
    monkeypatch.undo()
    assert "Done: sent 1." in remind(CLINIC).output
    assert "Done: nothing to send." in remind(CLINIC).output
    assert [r.to for r in twilio.accepted()] == [A, A]  # the documented window
    assert stored(app, OutboundMessage)[0].status == "queued"


def test_reminders_not_yet_sent_when_a_run_stops_are_withdrawn(app, remind, twilio, sms):
    for number in (A, B, C):
        sms.send(number, "CLINIC")
        age(app, number, hours=25)
    twilio.script(A, 401)  # refused credentials stop the run after the first send
    result = remind(CLINIC, "--concurrency", "1")
    assert result.exit_code == 1 and "not tried: 2 the run stopped" in result.output
    assert [m.phone for m in stored(app, OutboundMessage)] == [A]  # the failed one, kept
    assert all(s.reminded_at is None for s in stored(app, SurveySession) if s.phone != A)
    assert "Done: sent 2." in remind(CLINIC).output  # B and C: never reminded yet
    assert sorted(r.to for r in twilio.accepted()) == [B, C]


def test_after_must_be_a_duration_shorter_than_expiry(remind, twilio):
    assert remind(CLINIC, "--after", "soon").exit_code == 2
    result = remind(CLINIC, "--after", "3d")
    assert result.exit_code == 0
    assert "Note: sessions expire after 2 days" in result.output


def test_a_reminder_waits_for_the_window_and_does_not_make_the_session_younger(
    app, remind, twilio, sms, clock
):
    sms.send(A, "CLINIC")
    age(app, A, hours=25)
    clock.set(NOON_IN_NEW_YORK + timedelta(hours=10))  # 22:00 in New York
    result = remind(CLINIC)
    assert "Done: deferred 1." in result.output
    assert "deferred: 1 until Wed 08:00 America/New_York (13:00 UTC)" in result.output
    [session] = stored(app, SurveySession)
    assert (session.reminded_at, stored(app, OutboundMessage)) == (None, [])  # not marked
    clock.set(NOON_IN_NEW_YORK + timedelta(hours=20))  # 08:00 the next morning
    assert "Done: sent 1." in remind(CLINIC).output
    [after] = stored(app, SurveySession)
    assert after.reminded_at is not None
    assert after.updated_at == session.updated_at  # the idle time runs on


def test_a_reminders_validity_ends_when_its_session_expires(app, remind, twilio, sms):
    sms.send(A, "CLINIC")
    sms.send(B, "CLINIC")
    age(app, A, hours=47, minutes=30)  # clinic-follow-up expires after 2 days: 30 minutes left
    age(app, B, hours=25)
    assert "Done: sent 2." in remind(CLINIC).output
    assert {r.to: r.validity for r in twilio.accepted()} == {A: 1800, B: 3 * 3600}


def test_a_session_that_expires_while_its_window_is_shut_gets_no_reminder(
    app, remind, twilio, sms, clock
):
    sms.send(A, "CLINIC")
    age(app, A, hours=31)
    clock.set(NOON_IN_NEW_YORK + timedelta(hours=11))  # 23:00 in New York: 9 hours of night
    # Idle 42 hours now: it expires after 48, 3 hours before its window opens.
    result = remind(CLINIC, "--wait")
    assert result.exit_code == 0, result.output
    assert "1 number waiting until Wed 08:00 America/New_York" in result.output
    assert "Done: skipped 1." in result.output and "skipped: 1 expired" in result.output
    assert twilio.requests == []
    assert stored(app, SurveySession)[0].reminded_at is None


def test_a_reminder_twilio_dropped_after_its_validity_is_sent_again(app, remind, twilio, sms):
    sms.send(A, "CLINIC")
    age(app, A, hours=25)
    assert "Done: sent 1." in remind(CLINIC).output
    sid = twilio.accepted()[0].sid
    form = {"AccountSid": ACCOUNT_SID, "MessageSid": sid, "MessageStatus": "failed"}
    form["ErrorCode"] = "30036"
    assert sms.post(form, path="/sms/status").status_code == 204
    assert stored(app, SurveySession)[0].reminded_at is None
    assert "Done: sent 1." in remind(CLINIC).output
    assert [r.to for r in twilio.accepted()] == [A, A]


def test_overlapping_runs_remind_each_session_once(app, remind, twilio, sms):
    for number in (A, B, C):
        sms.send(number, "CLINIC")
        age(app, number, hours=25)
    second = []

    def start_another(_request):  # the first run is sending: its reminders are pending
        if not second:
            second.append(None)
            second[0] = remind(CLINIC)

    twilio.on_accept = start_another
    first = remind(CLINIC, "--concurrency", "1")
    twilio.on_accept = None
    assert "Done: sent 3." in first.output, first.output
    assert "skipped: 3 being sent by another run" in second[0].output, second[0].output
    assert sorted(r.to for r in twilio.accepted()) == [A, B, C]  # each reminded once
    assert len(twilio.requests) == 3


def test_a_dead_runs_reminder_goes_once_more_when_its_lease_is_over(
    app, remind, twilio, sms, crash, clock, monkeypatch
):
    sms.send(A, "CLINIC")
    age(app, A, hours=25)
    crash(1)
    monkeypatch.setattr(Mailing, "release", lambda self: None)  # killed: nothing released
    assert remind(CLINIC).exit_code == 1
    monkeypatch.undo()
    assert "skipped: 1 being sent by another run" in remind(CLINIC).output
    assert len(twilio.accepted()) == 1
    clock.advance(LEASE.total_seconds() + 1)
    assert "Done: sent 1." in remind(CLINIC).output
    assert [r.to for r in twilio.accepted()] == [A, A]  # once more, and only once
