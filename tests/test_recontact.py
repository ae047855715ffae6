"""Re-contacts (SPEC 11): `recontact` delays, sent by `flask worker` through the pipeline."""

from __future__ import annotations

import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from conftest import survey_folder
from fake_twilio import (
    NOON_IN_NEW_YORK,
    Delay,
    clock_fixture,  # noqa: F401 (a fixture)
    crash_fixture,  # noqa: F401 (a fixture)
    invite_fixture,  # noqa: F401 (a fixture)
    sending_config,  # noqa: F401 (a fixture)
    stored,
    twilio_fixture,  # noqa: F401 (a fixture)
)
from live import start_process, stop
from outbound import recontacts as worker_module
from outbound.client import Twilio
from outbound.recontacts import Worker
from service import Service
from storage.models import OutboundMessage, SurveySession
from web.settings import SETTINGS

FLASK = str(Path(sys.executable).with_name("flask"))

CHAT = """\
title: Chat
keywords: [CHAT]
expire_after: 5d
send_window: "00:00-24:00"
recontact: [4h, 1d]
questions:
  - {id: name, type: text, text: "Your name?"}
  - {id: town, type: text, text: "Your town?"}
"""
# Office hours in New York: a re-contact due at 18:00 waits for 09:00 the next day.
OFFICE = """\
title: Office
timezone: America/New_York
send_window: "09:00-17:00"
expire_after: 5d
reminder: "Office survey: still there?"
recontact: [6h]
questions:
  - {id: name, type: text, text: "Your name?"}
"""
# A study that closes at its first complete.
STUDY = CHAT.replace("title: Chat\nkeywords: [CHAT]", "title: Study\nkeywords: [STUDY]\ntarget: 1")
NUDGE = "We would still like to hear from you.\n\nYour name?"
A, B, C = "+12025550101", "+12025550102", "+12025550103"


@pytest.fixture
def surveys_dir(tmp_path):
    """The two surveys of this module."""
    return survey_folder(tmp_path, chat=CHAT, office=OFFICE, study=STUDY)


def work(app) -> str:
    """`flask worker --once`: its output."""
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def bodies(twilio, phone: str) -> list[str]:
    """What Twilio took for a number, oldest first."""
    return [request.body for request in twilio.accepted(phone)]


def test_the_schedule_runs_until_the_first_reply(app, invite, twilio, clock, sms):
    assert invite(A, B, C, survey="chat").exit_code == 0
    work(app)
    assert len(twilio.accepted()) == 3  # nothing due yet
    sms.send(B, "Bo")  # B replied at once: no re-contact
    clock.set(NOON_IN_NEW_YORK + timedelta(hours=4, minutes=1))
    assert "sent 2" in work(app)
    assert bodies(twilio, A)[1:] == [NUDGE] and bodies(twilio, C)[1:] == [NUDGE]
    assert len(bodies(twilio, B)) == 1
    assert "Re-contacts" not in work(app)  # the same moment: nothing more is due
    sms.send(C, "Cy")  # C replies after the first re-contact: its schedule ends
    clock.set(clock.now() + timedelta(days=1))
    work(app)
    assert bodies(twilio, A)[1:] == [NUDGE, NUDGE] and len(bodies(twilio, C)) == 2
    clock.set(clock.now() + timedelta(days=2))
    work(app)
    assert len(bodies(twilio, A)) == 3  # [4h, 1d]: two re-contacts, no more
    sessions = {row.phone: row for row in stored(app, SurveySession)}
    assert [sessions[p].attempts for p in (A, B, C)] == [3, 1, 2]
    # A re-contact does not make the session any younger.
    assert sessions[A].updated_at == sessions[A].started_at
    kinds = [row.kind for row in stored(app, OutboundMessage) if row.phone == A]
    assert kinds == ["invite", "recontact", "recontact"]


def test_a_recontact_due_at_night_waits_for_the_window(app, invite, twilio, clock):
    assert invite(A, survey="office").exit_code == 0
    clock.set(NOON_IN_NEW_YORK + timedelta(hours=6, minutes=1))  # 18:01 in New York
    assert "deferred 1" in work(app)
    assert len(twilio.accepted(A)) == 1
    [session] = stored(app, SurveySession)
    opens = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # 09:00 in New York the next day
    assert session.recontact_due.replace(tzinfo=UTC) == opens
    clock.set(opens + timedelta(minutes=1))
    assert "sent 1" in work(app)
    request = twilio.accepted(A)[1]
    assert request.body == "Office survey: still there?\n\nYour name?"
    assert request.validity == 3 * 3600  # the default validity: the window is open till 17:00


def test_flask_remind_leaves_recontact_surveys_to_the_worker(app, invite, twilio, clock):
    assert invite(A, survey="chat").exit_code == 0
    clock.set(NOON_IN_NEW_YORK + timedelta(hours=25))
    result = app.test_cli_runner().invoke(args=["remind", "chat", "--after", "1h", "-v"])
    assert "re-contacted by flask worker" in result.output
    assert len(twilio.accepted(A)) == 1


def due_now(app, clock) -> None:
    """Make every invited session's re-contact due now."""
    table = SurveySession.__table__
    with app.extensions["survey_service"].engine.begin() as conn:
        conn.execute(update(table).values(recontact_due=clock.now() - timedelta(seconds=1)))


@pytest.mark.parametrize("claim_batch", [1, 3])
def test_two_workers_at_once_send_each_recontact_once(
    app, config, invite, twilio, clock, monkeypatch, claim_batch
):
    numbers = [f"+1202555{n:04d}" for n in range(200, 230)]
    assert invite(*numbers, survey="chat").exit_code == 0
    due_now(app, clock)
    monkeypatch.setattr(worker_module, "CLAIM_BATCH", claim_batch)  # claims interleave
    workers = [Worker(Service(config), Twilio(config, 4), concurrency=4) for _ in range(2)]
    try:
        threads = [threading.Thread(target=w.one_pass) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for w in workers:
            w.service.engine.dispose()
    assert {phone: len(twilio.accepted(phone)) for phone in numbers} == dict.fromkeys(numbers, 2)


def test_a_worker_killed_mid_pass_loses_nothing_and_resends_at_most_once(
    app, invite, twilio, clock, crash
):
    assert invite(A, B, C, survey="chat").exit_code == 0
    due_now(app, clock)
    crash(1)  # dies after Twilio took the first re-contact, before its sid was stored
    work(app)
    assert len(twilio.accepted()) == 6  # every re-contact went; none has its sid stored
    # A claim never used (killed between claiming and preparing): due once its lease is over.
    engine = app.extensions["survey_service"].engine
    with engine.begin() as conn:
        assert (
            worker_module.store.claim_due(
                db=conn, now=clock.now(), lease_until=clock.now() + worker_module.LEASE, limit=9
            )
            == []
        )  # nothing else is due meanwhile
    work(app)
    assert len(twilio.accepted()) == 6  # the messages on their way belong to the dead run
    clock.set(clock.now() + worker_module.LEASE + timedelta(seconds=1))
    work(app)
    assert len(twilio.accepted()) == 9  # each sent once more: Twilio takes no idempotency key
    clock.set(clock.now() + worker_module.LEASE + timedelta(seconds=1))
    work(app)
    assert len(twilio.accepted()) == 9  # never a third time


def test_flask_worker_sends_in_real_seconds_and_stops_on_sigterm(
    app, config, invite, twilio, clock, tmp_path
):
    assert invite(A, B, survey="chat").exit_code == 0
    real_now = datetime.now(UTC)
    with app.extensions["survey_service"].engine.begin() as conn:  # due in two seconds
        due = {"recontact_due": real_now + timedelta(seconds=2), "started_at": real_now}
        conn.execute(update(SurveySession.__table__).values(updated_at=real_now, **due))
    settings = {k: str(v) for k, v in config.items() if k in SETTINGS}
    log = tmp_path / "worker.log"
    process = start_process([FLASK, "--app", "app", "worker", "--every", "0.3"], settings, log)
    try:
        deadline = time.monotonic() + 30
        while len(twilio.accepted()) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        took = [r for r in twilio.requests if r.status == 201][2:]
        assert sorted(r.to for r in took) == [A, B]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        stop(process)
    assert "Worker stopped." in log.read_text()
    assert len(twilio.accepted()) == 4


def test_two_worker_processes_send_each_recontact_once(app, config, invite, twilio, tmp_path):
    numbers = [f"+1202555{n:04d}" for n in range(300, 340)]
    assert invite(*numbers, survey="chat").exit_code == 0
    real_now = datetime.now(UTC)  # the processes run on the real clock
    with app.extensions["survey_service"].engine.begin() as conn:
        due = {"recontact_due": real_now - timedelta(seconds=1), "started_at": real_now}
        conn.execute(update(SurveySession.__table__).values(updated_at=real_now, **due))
    settings = {k: str(v) for k, v in config.items() if k in SETTINGS}
    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    command = [FLASK, "--app", "app", "worker", "--once", "--concurrency", "2"]
    processes = [start_process(command, settings, log) for log in logs]
    try:
        for process, log in zip(processes, logs, strict=True):
            assert process.wait(timeout=120) == 0, log.read_text()
    finally:
        for process in processes:
            stop(process)
    assert {phone: len(twilio.accepted(phone)) for phone in numbers} == dict.fromkeys(numbers, 2)


def test_a_closed_survey_recontacts_no_one(app, invite, twilio, clock, sms):
    assert invite(A, B, survey="study").exit_code == 0
    sms.send(B, "Bo")
    sms.send(B, "Boston")  # the one complete the study wanted: it is closed
    clock.set(NOON_IN_NEW_YORK + timedelta(hours=4, minutes=1))
    assert "skipped 1" in work(app)
    assert len(bodies(twilio, A)) == 1  # the invitation only
    [session] = [row for row in stored(app, SurveySession) if row.phone == A]
    assert session.recontact_due is None  # off the schedule for good


def test_sigterm_lets_the_message_in_flight_go_and_keeps_its_sid(
    app, config, invite, twilio, tmp_path
):
    assert invite(A, survey="chat").exit_code == 0
    twilio.script(A, Delay(2.0))  # Twilio takes two seconds to answer the re-contact
    real_now = datetime.now(UTC)
    with app.extensions["survey_service"].engine.begin() as conn:
        due = {"recontact_due": real_now - timedelta(seconds=1), "started_at": real_now}
        conn.execute(update(SurveySession.__table__).values(updated_at=real_now, **due))
    settings = {k: str(v) for k, v in config.items() if k in SETTINGS}
    log = tmp_path / "worker.log"
    process = start_process([FLASK, "--app", "app", "worker", "--every", "0.3"], settings, log)
    try:
        deadline = time.monotonic() + 30
        while len(twilio.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(twilio.requests) == 2  # the re-contact is on its way
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        stop(process)
    [message] = [row for row in stored(app, OutboundMessage) if row.kind == "recontact"]
    assert (message.sid, message.status) == (twilio.accepted(A)[1].sid, "queued")
