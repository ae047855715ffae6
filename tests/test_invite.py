"""`flask invite`: numbers from a CSV, first messages through (a fake) Twilio, resumable."""

from __future__ import annotations

import os
import signal

from conftest import TOKEN
from fake_twilio import (
    ACCOUNT_SID,
    DROP,
    FROM_NUMBER,
    SERVICE_SID,
    Together,
    age,
    clock_fixture,  # noqa: F401 (a fixture)
    crash_fixture,  # noqa: F401 (a fixture)
    invite_fixture,  # noqa: F401 (a fixture)
    sending_config,  # noqa: F401 (a fixture)
    stored,
    twilio_fixture,  # noqa: F401 (a fixture)
)
from outbound.client import Http
from outbound.pipeline import LEASE, Mailing
from storage.models import Contact, OutboundMessage, SurveySession

FIRST = "Thanks for visiting! 8 quick questions. Reply STOP to opt out.\n\nWhat is your first name?"
A, B, C, D = "+12025550101", "+12025550102", "+12025550103", "+12025550104"


def test_invites_send_the_first_message_and_the_survey_goes_on(app, invite, twilio, sms):
    result = invite(A, B)
    assert result.exit_code == 0, result.output
    assert "Done: sent 2." in result.output
    assert sorted(r.to for r in twilio.accepted()) == [A, B]
    request = twilio.accepted(A)[0]
    assert request.body == FIRST
    assert (request.from_, request.service) == (FROM_NUMBER, None)
    assert request.callback == "https://survey.example.org/sms/status"
    assert (request.account, request.auth) == (ACCOUNT_SID, (ACCOUNT_SID, TOKEN))
    rows = {row.phone: row for row in stored(app, OutboundMessage)}
    assert rows[A].kind == "invite" and rows[A].body == FIRST
    assert (rows[A].sid, rows[A].status) == (request.sid, "queued")
    assert sms.send(A, "Sam").startswith("How satisfied were you, Sam?")


def test_a_messaging_service_sends_instead_of_a_number(app, invite, twilio):
    app.config.update(twilio.settings(service=True))
    assert invite(A).exit_code == 0
    request = twilio.accepted(A)[0]
    assert (request.service, request.from_) == (SERVICE_SID, None)
    assert stored(app, OutboundMessage)[0].status == "accepted"


def test_invalid_and_repeated_rows_are_reported_and_skipped(invite, twilio):
    result = invite(A, "12345", "(202) 555-0101", "not a number", B, "+44 7700 900123")
    assert result.exit_code == 0, result.output
    assert (
        "row 3: '12345' is not a valid number for region US; write it with +country code"
        in result.output
    )
    assert f"row 4: {A} repeats row 2" in result.output
    assert "row 5: 'not a number' is not a phone number" in result.output
    assert "row 7: '+44 7700 900123' is not a valid number in GB (+44)" in result.output
    assert "Done: sent 2, skipped 4." in result.output
    assert "skipped: 3 invalid number, 1 repeated number" in result.output
    assert sorted(r.to for r in twilio.accepted()) == [A, B]


def test_the_phone_column_is_found_and_national_numbers_read_in_the_region(invite, twilio):
    result = invite(
        "Ann,020 7946 0018", "Bob,+1 202 555 0102", header="Name,Phone", args=["--region", "gb"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(r.to for r in twilio.accepted()) == ["+12025550102", "+442079460018"]


def test_without_a_phone_column_the_first_column_is_read(invite, twilio):
    assert invite("(202) 555-0103,Cy", header="number,name").exit_code == 0
    assert [r.to for r in twilio.accepted()] == [C]


def test_a_language_column_picks_each_numbers_language(app, invite, twilio, sms):
    rows = (f"{A},es", f"{B},EN", f"{C},de", f"{D},")  # de: not in the survey; none: default
    result = invite(*rows, header="phone,language", survey="market")
    assert result.exit_code == 0, result.output
    firsts = {r.to: r.body.split("!")[0] for r in twilio.accepted()}
    assert firsts == {
        A: "¡Gracias por comprar en el mercado",
        B: "Thanks for shopping at the market",
        C: "Thanks for shopping at the market",
        D: "Thanks for shopping at the market",
    }
    assert sms.send(A, "1").startswith("Which stall did you like best?")  # English, chosen


def test_a_file_without_header_is_refused(invite, twilio):
    result = invite(B, header=A)
    assert result.exit_code == 2
    assert "the first line must be a header" in result.output
    assert twilio.requests == []


def test_opted_out_invited_and_answering_numbers_are_skipped(invite, twilio, sms):
    sms.send(A, "STOP")
    sms.send(B, "FEEDBACK")
    invite(C)
    result = invite(A, B, C, D, args=["-v"])
    assert result.exit_code == 0, result.output
    assert "skipped: 1 opted out, 1 already in the survey, 1 already invited" in result.output
    assert f"{B}: skipped: already in the survey" in result.output
    assert [r.to for r in twilio.accepted()] == [C, D]


def test_again_invites_numbers_whose_session_ended_but_never_cuts_one_off(app, invite, twilio, sms):
    sms.send(A, "FEEDBACK")  # answering right now
    invite(B)
    age(app, B, days=2)  # past expire_after: the invitation was never answered
    result = invite(A, B, args=["--again"])
    assert result.exit_code == 0, result.output
    assert "skipped: 1 answering the survey now" in result.output
    assert [r.to for r in twilio.accepted()] == [B, B]
    assert [s.status for s in stored(app, SurveySession) if s.phone == B] == ["expired", "open"]


def test_21610_marks_the_number_opted_out(app, invite, twilio):
    twilio.script(A, 21610)
    result = invite(A, B)
    assert result.exit_code == 0, result.output
    assert "failed: 1 opted out at Twilio (21610)" in result.output
    assert [(c.phone, c.opted_out) for c in stored(app, Contact)] == [(A, True)]
    session = next(s for s in stored(app, SurveySession) if s.phone == A)
    assert session.status == "opted_out"
    message = next(m for m in stored(app, OutboundMessage) if m.phone == A)
    assert (message.sid, message.status, message.error_code) == (None, "failed", 21610)
    assert "skipped: 1 opted out" in invite(A).output
    assert len(twilio.requests) == 2


def test_an_invalid_number_leaves_no_session_and_is_tried_again_next_run(app, invite, twilio):
    twilio.script(A, 21211)
    result = invite(A, B)
    assert result.exit_code == 0, result.output
    expected = "failed: invalid number (21211): The 'To' number is not a valid phone number."
    assert f"{A}: {expected}" in result.output
    assert [s.phone for s in stored(app, SurveySession)] == [B]
    assert invite(A, B).exit_code == 0
    assert [r.to for r in twilio.accepted()] == [B, A]


def test_429_is_retried_then_sent(invite, twilio):
    twilio.script(A, 429, 429)
    assert "Done: sent 1." in invite(A).output
    assert [r.status for r in twilio.requests] == [429, 429, 201]


def test_a_5xx_fails_after_retries_and_the_others_are_sent(invite, twilio):
    twilio.script(B, 500, 503, 500, 500, 500)
    result = invite(A, B, C)
    assert result.exit_code == 0, result.output
    assert "failed: 1 HTTP 500 from Twilio after 4 tries" in result.output
    assert len([r for r in twilio.requests if r.to == B]) == 4
    assert sorted(r.to for r in twilio.accepted()) == [A, C]


def test_refused_credentials_stop_the_run(app, invite, twilio):
    twilio.script(A, 401)
    result = invite(A, B, C, args=["--concurrency", "1"])
    assert result.exit_code == 1
    assert "refused" in result.output and "not tried: 2 the run stopped" in result.output
    assert len(twilio.requests) == 1
    assert invite(A, B, C).exit_code == 0  # once fixed, every number goes
    assert sorted(r.to for r in twilio.accepted()) == [A, B, C]


def test_missing_settings_are_a_clear_error_before_anything_is_sent(app, invite, twilio):
    app.config["TWILIO_FROM_NUMBER"] = None
    result = invite(A)
    assert result.exit_code == 1
    assert "set one of TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER (" in result.output
    app.config["TWILIO_AUTH_TOKEN"] = None  # every one needed, not any one of them
    assert invite(A).output.endswith(
        "set TWILIO_AUTH_TOKEN and one of TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER "
        "(environment or .env).\n"
    )
    assert twilio.requests == [] and stored(app, SurveySession) == []


def test_dry_run_sends_nothing_and_writes_nothing(app, invite, twilio, sms):
    sms.send(B, "FEEDBACK")
    app.config["TWILIO_ACCOUNT_SID"] = None  # a dry run needs no credentials
    before = [stored(app, model) for model in (Contact, OutboundMessage, SurveySession)]
    result = invite(A, B, args=["--dry-run"])
    assert result.exit_code == 0, result.output
    assert (
        f"{A}: Thanks for visiting! 8 quick questions. Reply STOP to opt out. / What is"
        in result.output
    )
    assert "Done: would send 1, skipped 1." in result.output
    assert twilio.requests == []
    assert [stored(app, model) for model in (Contact, OutboundMessage, SurveySession)] == before


def test_sends_run_concurrently(invite, twilio):
    numbers = [f"+1202555{n:04d}" for n in range(110, 118)]
    for number in numbers:
        twilio.script(number, Together(2))  # held until another is in flight too
    assert "Done: sent 8." in invite(*numbers, args=["--concurrency", "8"]).output
    # Side by side, however busy the machine; sent one at a time, they never meet.
    assert twilio.most_waiting >= 2


NUMBERS = [f"+1202555{n:04d}" for n in range(120, 130)]


def test_an_interrupted_run_resumes_without_sending_twice(invite, twilio):
    pressed = []

    def ctrl_c_at_third(request):
        if len(twilio.accepted()) >= 3 and not pressed:
            pressed.append(request.to)
            os.kill(os.getpid(), signal.SIGINT)

    twilio.on_accept = ctrl_c_at_third
    result = invite(*NUMBERS, args=["--concurrency", "2"])
    assert result.exit_code == 130, result.output
    assert "Interrupted" in result.output
    first = len(twilio.accepted())
    assert 3 <= first < len(NUMBERS)
    twilio.on_accept = None
    result = invite(*NUMBERS)
    assert result.exit_code == 0, result.output
    assert f"skipped: {first} already invited" in result.output
    assert sorted(r.to for r in twilio.accepted()) == NUMBERS  # each exactly once


def test_a_crash_between_send_and_save_sends_those_messages_once_more(
    invite, twilio, crash, monkeypatch
):
    crash(2)
    result = invite(A, B, C, args=["--concurrency", "1"])
    assert result.exit_code == 1  # B (and any number whose sid was stored with it) is unsure
    lost = [n for n in (A, B, C) if f"{n}: not tried: error: RuntimeError: killed" in result.output]
    assert B in lost
    monkeypatch.undo()
    again = invite(A, B, C).output
    assert f"sent {len(lost)}" in again and "failed" not in again
    assert "Done: skipped 3." in invite(A, B, C).output
    # The documented window: those messages went out once more, and only once.
    assert sorted(r.to for r in twilio.accepted()) == sorted([A, B, C, *lost])


def test_a_message_is_never_sent_a_third_time(invite, twilio, crash):
    crash(1, 2)
    invite(A)
    invite(A)
    result = invite(A, args=["--again"])
    assert "skipped: 1 interrupted twice: see Twilio's message log" in result.output
    assert len(twilio.accepted()) == 2


def test_a_dropped_connection_leaves_the_message_for_the_next_run(app, invite, twilio):
    twilio.script(A, DROP)
    result = invite(A)
    assert result.exit_code == 0, result.output
    assert "failed: 1 no answer from Twilio" in result.output
    assert stored(app, OutboundMessage)[0].status == "pending"
    assert "Done: sent 1." in invite(A).output
    assert [r.status for r in twilio.requests] == [0, 201]


def test_the_environment_proxy_is_used_unless_the_host_is_excluded(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert Http("https://api.twilio.com", 4).proxied
    assert not Http("http://127.0.0.1:9999", 4).proxied
    monkeypatch.delenv("HTTPS_PROXY")
    assert not Http("https://api.twilio.com", 4).proxied


def test_a_run_started_while_another_sends_leaves_its_numbers_to_it(invite, twilio):
    second = []

    def start_another(_request):  # the first run is sending: its messages are pending
        if not second:
            second.append(None)
            second[0] = invite(*NUMBERS)

    twilio.on_accept = start_another
    first = invite(*NUMBERS, args=["--concurrency", "1"])
    twilio.on_accept = None
    assert first.exit_code == 0, first.output
    assert "Done: sent 10." in first.output
    assert second[0].exit_code == 0, second[0].output
    assert "skipped: 10 being sent by another run" in second[0].output
    assert sorted(r.to for r in twilio.accepted()) == NUMBERS  # each exactly once
    assert len(twilio.requests) == len(NUMBERS)


def test_runs_overlapping_midway_send_each_number_once(invite, twilio):
    second = []

    def start_another(_request):
        if len(twilio.accepted()) == 4 and not second:
            second.append(None)
            second[0] = invite(*NUMBERS)

    twilio.on_accept = start_another
    first = invite(*NUMBERS, args=["--concurrency", "1"])
    twilio.on_accept = None
    assert first.exit_code == 0 and second[0].exit_code == 0, first.output + second[0].output
    assert "Done: skipped 10." in second[0].output  # invited already, or on their way
    assert sorted(r.to for r in twilio.accepted()) == NUMBERS
    assert len(twilio.requests) == len(NUMBERS)


def test_a_dead_runs_messages_go_once_more_when_its_lease_is_over(
    app, invite, twilio, crash, clock, monkeypatch
):
    crash(2)
    # Killed, not stopped: the run never gets to release its lease.
    monkeypatch.setattr(Mailing, "release", lambda self: None)
    invite(A, B, C, args=["--concurrency", "1"])
    monkeypatch.undo()
    lost = [row.phone for row in stored(app, OutboundMessage) if row.sid is None]
    assert B in lost
    assert all(row.lease_until is not None for row in stored(app, OutboundMessage) if not row.sid)
    soon = invite(A, B, C)
    assert f"skipped: {len(lost)} being sent by another run" in soon.output
    accepted = len(twilio.accepted())
    assert accepted == 3
    clock.advance(LEASE.total_seconds() + 1)
    later = invite(A, B, C)
    assert f"sent {len(lost)}" in later.output and "failed" not in later.output
    assert "Done: skipped 3." in invite(A, B, C).output
    assert sorted(r.to for r in twilio.accepted()) == sorted([A, B, C, *lost])  # once more only


def test_a_run_whose_lease_ran_out_sends_nothing_it_held(invite, twilio, clock, monkeypatch):
    monkeypatch.setattr(Mailing, "renew", lambda self: None)  # the database was out of reach

    def paused(request):  # the process slept past its lease after its first message
        if len(twilio.accepted()) == 1:
            clock.advance(LEASE.total_seconds())

    twilio.on_accept = paused
    result = invite(A, B, C, args=["--concurrency", "1"])
    twilio.on_accept = None
    monkeypatch.undo()
    assert "not tried: 2 its lease ran out" in result.output
    assert len(twilio.accepted()) == 1
    assert "Done: sent 2, skipped 1." in invite(A, B, C).output  # as if never prepared
    assert sorted(r.to for r in twilio.accepted()) == [A, B, C]
