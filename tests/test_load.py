"""Hundreds of respondents at once on `gunicorn -w 4`: every answer stored exactly once.

Each respondent answers a six-question text survey over HTTP. Every fifth one
sends three answers at the same moment, as a phone does after a network gap;
they must be handled one after the other. A second run kills workers with
SIGKILL in the middle of the load; the client then sends again with the same
MessageSid, as Twilio does.
"""

from __future__ import annotations

import csv
import io
import os
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from bot import values
from bot.flow import FINISHED
from conftest import survey_folder
from live import Reply, Sender, gunicorn, server_settings
from storage.models import Answer, InboundMessage, SurveySession
from web.factory import create_app

QUESTIONS = [f"q{n}" for n in range(1, 7)]
SURVEY = (
    "id: load\ntitle: Load\ndefault: true\nintro: Load test.\noutro: Done.\nquestions:\n"
    + "".join(f"  - {{id: {q}, type: text, text: 'Question {q[1:]}?'}}\n" for q in QUESTIONS)
)
RESPONDENTS = 120  # 840 messages from 32 threads at once: the suite's time bounds it
THREADS = 32  # respondents answering at the same moment
BURST = slice(1, 4)  # the answers to q2, q3 and q4, sent at once
KILL_AT = (30, 60, 90)  # finished respondents after which a worker is killed


@dataclass
class Respondent:
    """One simulated phone: what it sends and what it was answered."""

    number: int
    replies: list[Reply] = field(default_factory=list)

    @property
    def phone(self) -> str:
        """Its phone number."""
        return f"+1555{self.number:07d}"

    @property
    def answers(self) -> list[str]:
        """Its answer to each question, in order."""
        return [f"p{self.number} answer {q}" for q in QUESTIONS]

    @property
    def bursts(self) -> bool:
        """Whether it sends some answers at once."""
        return self.number % 5 == 0


@pytest.fixture
def surveys_dir(tmp_path):
    """A folder with only the load survey."""
    return survey_folder(tmp_path, load=SURVEY)


def play(sender: Sender, respondent: Respondent) -> Respondent:
    """Answer the whole survey: a first message, then every answer, some of them at once."""
    phone, answers = respondent.phone, respondent.answers
    respondent.replies.append(sender.send(phone, "hello"))
    if not respondent.bursts:
        respondent.replies += [sender.send(phone, answer) for answer in answers]
        return respondent
    respondent.replies += [sender.send(phone, answer) for answer in answers[: BURST.start]]
    with ThreadPoolExecutor(BURST.stop - BURST.start) as burst:
        respondent.replies += burst.map(lambda a: sender.send(phone, a), answers[BURST])
    respondent.replies += [sender.send(phone, answer) for answer in answers[BURST.stop :]]
    return respondent


def run_load(port: int, on_progress=lambda done: None, retry: bool = False) -> list[Respondent]:
    """Play every respondent through a bounded thread pool; `on_progress` after each one."""
    sender = Sender(port, retry=retry)
    respondents = [Respondent(n) for n in range(RESPONDENTS)]
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(play, sender, r) for r in respondents]
        for done, future in enumerate(as_completed(futures), 1):
            future.result()
            on_progress(done)
    return respondents


def check_replies(respondent: Respondent) -> None:
    """Every message got 200 and the next question, bursts each a different one."""
    assert all(r.status == 200 for r in respondent.replies), respondent.replies
    texts = [r.text for r in respondent.replies]
    expected = ["Load test.\n\nQuestion 1?"]
    expected += [f"Question {n}?" for n in range(2, len(QUESTIONS) + 1)] + ["Done."]
    if respondent.bursts:  # replies in the order sent, not handled: compare as sets
        first, last = BURST.start + 1, BURST.stop + 1
        assert sorted(texts[first:last]) == expected[first:last], texts
        texts[first:last] = expected[first:last]
    assert texts == expected


def expected_answers(respondent: Respondent, stored: dict[str, str]) -> dict[str, str]:
    """What must be stored: the answers as sent, a burst's in the order they were handled."""
    answers = dict(zip(QUESTIONS, respondent.answers, strict=True))
    if respondent.bursts:
        burst = QUESTIONS[BURST]
        assert sorted(stored.get(q, "") for q in burst) == sorted(answers[q] for q in burst)
        answers.update({q: stored[q] for q in burst})
    return answers


def check_database(engine, respondents: list[Respondent]) -> dict[str, dict[str, str]]:
    """One completed session per respondent holding exactly its answers; returns them."""
    with engine.connect() as conn:
        sessions = conn.execute(select(SurveySession)).all()
        rows = conn.execute(select(Answer)).all()
        handled = {row.message_sid: row.reply for row in conn.execute(select(InboundMessage))}
    assert len(sessions) == RESPONDENTS
    by_session: dict[int, dict[str, str]] = {s.id: {} for s in sessions}
    for row in rows:
        assert row.question_id not in by_session[row.session_id], "an answer stored twice"
        by_session[row.session_id][row.question_id] = values.load(row.value)
    by_phone = {s.phone: s for s in sessions}
    stored = {}
    for respondent in respondents:
        session = by_phone[respondent.phone]
        assert (session.status, session.state) == ("completed", FINISHED)
        answers = by_session[session.id]
        assert values.load(session.answers) == answers  # the JSON copy agrees with the rows
        assert answers == expected_answers(respondent, answers)
        for reply in respondent.replies:  # every acknowledged message, with the reply given
            assert handled[reply.sid] == (reply.text or "")  # stored as text, TwiML at the edge
        stored[respondent.phone] = answers
    assert len(handled) == RESPONDENTS * (len(QUESTIONS) + 1)
    return stored


def check_export(config: dict, stored: dict[str, dict[str, str]]) -> None:
    """`flask export load` has one row per respondent with exactly the stored answers."""
    result = create_app(config).test_cli_runner().invoke(args=["export", "load"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert {row["phone"]: {q: row[q] for q in QUESTIONS} for row in rows} == stored
    assert len(rows) == RESPONDENTS


@pytest.fixture
def load_config(database_url, surveys_dir):
    """Settings shared by the server and the app that checks its database afterwards."""
    return server_settings(database_url, surveys_dir)


def check_everything(load_config: dict, respondents: list[Respondent]) -> None:
    """Replies, database and export all show each answer exactly once."""
    for respondent in respondents:
        check_replies(respondent)
    app = create_app({"TESTING": True, **load_config})
    try:
        check_export(
            load_config, check_database(app.extensions["survey_service"].engine, respondents)
        )
    finally:
        app.extensions["survey_service"].engine.dispose()


def test_many_respondents_at_once(load_config, tmp_path):
    with gunicorn(load_config, tmp_path, workers=4) as server:
        started = time.monotonic()
        respondents = run_load(server.port)
        elapsed = time.monotonic() - started
    messages = sum(len(r.replies) for r in respondents)
    assert all(reply.attempts == 1 for r in respondents for reply in r.replies)
    print(f"\n{RESPONDENTS} respondents, {messages} messages in {elapsed:.1f}s on 4 workers")
    check_everything(load_config, respondents)


def test_workers_killed_during_load(load_config, tmp_path):
    with gunicorn(load_config, tmp_path, workers=4) as server:
        killed = []

        def kill_a_worker(done: int) -> None:
            """SIGKILL one worker when the given number of respondents are done."""
            if done in KILL_AT:
                victim = random.choice(server.workers())
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        respondents = run_load(server.port, on_progress=kill_a_worker, retry=True)
    resent = sum(reply.attempts - 1 for r in respondents for reply in r.replies)
    print(f"\nkilled {len(killed)} workers; {resent} requests sent again")
    assert len(killed) == len(KILL_AT)
    check_everything(load_config, respondents)
