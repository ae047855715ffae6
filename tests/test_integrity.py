"""Never lose, double-count or interleave an answer: redeliveries, races and crashes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot import values
from conftest import message_sid, survey_folder
from live import ROOT, Sender, gunicorn, row_counts, server_settings
from service import Inbound
from storage import db as database
from storage import hot, store
from storage.models import Answer, SurveySession
from web.factory import create_app

PHONE = "+15557770001"
QUESTIONS = [f"q{n}" for n in range(1, 9)]
SURVEY = "id: steps\ntitle: Steps\ndefault: true\nintro: Hi.\noutro: Done.\nquestions:\n" + "".join(
    f"  - {{id: {q}, type: text, text: 'Question {q[1:]}?'}}\n" for q in QUESTIONS
)


@pytest.fixture
def surveys_dir(tmp_path):
    """A folder with one eight-question text survey."""
    return survey_folder(tmp_path, steps=SURVEY)


def engine_of(app):
    """The app's database engine."""
    return app.extensions["survey_service"].engine


def sessions(engine, phone: str = PHONE) -> list:
    """Every session row of `phone`, oldest first."""
    with engine.connect() as conn:
        query = select(SurveySession).where(SurveySession.phone == phone)
        return conn.execute(query.order_by(SurveySession.id)).all()


def answers(engine, phone: str = PHONE) -> dict[str, str]:
    """The answer rows of `phone`'s sessions, checked against each session's JSON copy."""
    found: dict[str, str] = {}
    with engine.connect() as conn:
        for session in sessions(engine, phone):
            query = select(Answer).where(Answer.session_id == session.id)
            rows = {a.question_id: values.load(a.value) for a in conn.execute(query)}
            assert (
                values.load(session.answers) == rows
            )  # answers only: the trail has its own column
            found |= rows
    return found


# -- the same message twice ------------------------------------------------


def test_a_redelivered_message_changes_nothing_and_gets_the_same_reply(sms, app):
    first = sms.send(PHONE, "hello", sid=message_sid("SM1"))
    assert sms.send(PHONE, "hello", sid=message_sid("SM1")) == first == "Hi.\n\nQuestion 1?"
    answered = sms.send(PHONE, "Ann", sid=message_sid("SM2"))
    counts = row_counts(engine_of(app))
    assert sms.send(PHONE, "Ann", sid=message_sid("SM2")) == answered == "Question 2?"
    assert row_counts(engine_of(app)) == counts
    assert answers(engine_of(app)) == {"q1": "Ann"}
    assert len(sessions(engine_of(app))) == 1


def test_a_late_redelivery_gets_its_own_first_reply(sms, app):
    sms.send(PHONE, "hello", sid=message_sid("SM1"))
    first = sms.send(PHONE, "one", sid=message_sid("SM2"))
    sms.send(PHONE, "two", sid=message_sid("SM3"))
    assert (
        sms.send(PHONE, "one, changed", sid=message_sid("SM2")) == first
    )  # the body is not read again
    assert answers(engine_of(app)) == {"q1": "one", "q2": "two"}
    assert sessions(engine_of(app))[0].state == "q3"


def test_a_message_sid_from_another_number_is_not_handled_again(sms, app):
    reply = sms.send(PHONE, "hello", sid=message_sid("SM1"))
    assert sms.send("+15557770002", "hello", sid=message_sid("SM1")) == reply
    assert sessions(engine_of(app), "+15557770002") == []


# -- at the same moment, on several worker processes ----------------------


@pytest.fixture
def server(database_url, surveys_dir, tmp_path):
    """`gunicorn -w 2 app:app` on this test's database: two processes race as well as four
    (each has 16 threads), and start in half the time on two cores."""
    with gunicorn(server_settings(database_url, surveys_dir), tmp_path, workers=2) as server:
        yield server


def at_once(count: int, send) -> list:
    """Call `send(i)` for i in range(count) from as many threads, released together."""
    start = threading.Barrier(count)

    def go(i):
        start.wait()
        return send(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(go, range(count)))


def test_copies_of_one_message_at_once_are_handled_once(server, app):
    sender = Sender(server.port)
    sender.send(PHONE, "hello")
    replies = at_once(8, lambda _: sender.send(PHONE, "Ann", sid=message_sid("SMsame")))
    assert {(r.status, r.text) for r in replies} == {(200, "Question 2?")}
    assert len({r.twiml for r in replies}) == 1
    assert answers(engine_of(app)) == {"q1": "Ann"}
    assert row_counts(engine_of(app))["inbound_message"] == 2


def test_first_messages_of_a_new_number_at_once_make_one_session(server, app):
    sender = Sender(server.port)
    bodies = [f"message {i}" for i in range(6)]
    replies = at_once(6, lambda i: sender.send(PHONE, bodies[i]))
    assert all(r.status == 200 for r in replies)
    # One message started the survey; the other five answered q1..q5 one after another.
    expected = ["Hi.\n\nQuestion 1?"] + [f"Question {n}?" for n in range(2, 7)]
    assert sorted(r.text for r in replies) == sorted(expected)
    (session,) = sessions(engine_of(app))
    stored = answers(engine_of(app))
    assert list(stored) == QUESTIONS[:5] and session.state == "q6"
    assert len(set(stored.values())) == 5 and set(stored.values()) < set(bodies)


# -- one phone at a time ----------------------------------------------------


def test_one_phone_waits_for_the_message_before_it(app):
    engine, order = engine_of(app), []
    app.extensions["survey_service"].ready()
    holding = threading.Event()

    def first():
        with database.locked(engine, PHONE):
            holding.set()
            time.sleep(0.3)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait()
    with database.locked(engine, PHONE):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: one writer
def test_other_phones_go_on_in_parallel_on_postgresql(app):
    engine = app.extensions["survey_service"].ready().engine
    with database.locked(engine, PHONE):
        started = time.monotonic()
        with database.locked(engine, "+15557770002"):
            pass
        assert time.monotonic() - started < 1


def test_no_answer_lost_when_one_process_sends_many_at_once(app):
    bot = app.extensions["survey_service"]
    bot.receive(Inbound(phone=PHONE, body="hello", sid="SM0"))
    at_once(8, lambda i: bot.receive(Inbound(phone=PHONE, body=f"answer {i}", sid=f"SM{i + 1}")))
    stored = answers(engine_of(app))
    assert sorted(stored.values()) == sorted(f"answer {i}" for i in range(8))
    assert sessions(engine_of(app))[0].status == "completed"


def test_a_decision_made_ahead_is_made_again_when_the_number_moved_on(app, monkeypatch):
    bot = app.extensions["survey_service"]
    bot.receive(Inbound(phone=PHONE, body="hello", sid="SM0"))
    real = database.Writer.transaction

    def late(writer):
        """Handle another message of the number after this one's read ahead, before its lock."""
        if not late.done:
            late.done = True
            bot.receive(Inbound(phone=PHONE, body="first", sid="SM1"))
        return real(writer)

    late.done = False
    monkeypatch.setattr(database.Writer, "transaction", late)
    assert "Question 3?" in bot.receive(Inbound(phone=PHONE, body="second", sid="SM2"))
    assert answers(engine_of(app)) == {"q1": "first", "q2": "second"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_that_fails_to_prepare_leaves_the_pool(app, monkeypatch):
    bot = app.extensions["survey_service"]
    bot.ready().engine.dispose()  # connections that have not prepared the statements yet
    driver = hot.Driver("postgresql")
    monkeypatch.setattr(driver, "prepare", "PREPARE broken AS SELECT * FROM no_such_table")
    monkeypatch.setitem(hot._DRIVERS, "postgresql", driver)
    with pytest.raises(Exception, match="no_such_table"):
        bot.receive(Inbound(phone=PHONE, body="hello", sid="SM0"))
    monkeypatch.undo()
    with engine_of(app).connect() as conn:  # no connection left in autocommit mode
        assert conn.connection.dbapi_connection.autocommit is False
    assert bot.receive(Inbound(phone=PHONE, body="hello", sid="SM0")).count("Hi.") == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_other_statements_on_the_pool_never_drop_the_webhooks_prepared_ones(app):
    bot = app.extensions["survey_service"].ready()
    bot.engine.dispose()
    assert "Hi." in bot.receive(Inbound(phone=PHONE, body="hello", sid="SM0"))  # prepares them
    for _ in range(2):  # psycopg would prepare a query run 5 times, then DEALLOCATE ALL
        with bot.engine.connect() as conn:  # on the ROLLBACK that returns it to the pool
            for _ in range(6):
                conn.execute(text("SELECT count(*) FROM survey_session")).scalar()
    assert "Question 2?" in bot.receive(Inbound(phone=PHONE, body="first", sid="SM1"))


# -- crashes ----------------------------------------------------------------

# A worker that writes a whole answer, then hangs before its commit until it is killed.
CRASHING_WORKER = """
import sys, time
from service import Inbound
from storage import store
from web.factory import create_app

write = store.apply

def hang(**changes):
    write(**changes)
    print("written", flush=True)
    time.sleep(60)

store.apply = hang
app = create_app({"TESTING": True, "DATABASE_URL": sys.argv[1], "SURVEYS_DIR": sys.argv[2]})
app.extensions["survey_service"].receive(Inbound(phone=sys.argv[3], body="Bob", sid=sys.argv[4]))
"""


def test_a_worker_killed_mid_transaction_leaves_nothing_half_written(sms, app, config):
    sms.send(PHONE, "hello", sid=message_sid("SM1"))
    before = (row_counts(engine_of(app)), sessions(engine_of(app)))
    args = [sys.executable, "-c", CRASHING_WORKER, config["DATABASE_URL"], config["SURVEYS_DIR"]]
    worker = subprocess.Popen(
        [*args, PHONE, message_sid("SMcrash")], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout.readline() == "written\n"
    finally:
        worker.kill()
        worker.wait()
    assert (row_counts(engine_of(app)), sessions(engine_of(app))) == before
    started = time.monotonic()
    assert sms.send(PHONE, "Bob", sid=message_sid("SMcrash")) == "Question 2?"  # Twilio's retry
    assert time.monotonic() - started < 5  # the dead worker's lock went with it
    assert answers(engine_of(app)) == {"q1": "Bob"}


def test_an_error_mid_message_rolls_everything_back(sms, app, monkeypatch):
    sms.send(PHONE, "hello", sid=message_sid("SM1"))
    before = (row_counts(engine_of(app)), sessions(engine_of(app)))

    write = store.apply

    def fail(**changes):
        write(**changes)  # everything written, then the commit never comes
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "apply", fail)
    with pytest.raises(RuntimeError):
        sms.send(PHONE, "Bob", sid=message_sid("SM2"))
    assert (row_counts(engine_of(app)), sessions(engine_of(app))) == before
    monkeypatch.undo()
    assert sms.send(PHONE, "Bob", sid=message_sid("SM2")) == "Question 2?"


def test_sqlite_commits_survive_a_process_crash(tmp_path):
    """WAL with synchronous=NORMAL: a commit is in the WAL file before it returns."""
    engine = database.make_engine(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
    engine.dispose()


# -- health ------------------------------------------------------------------


def test_healthz_answers_when_the_database_does(client):
    assert client.get("/healthz").status_code == 200


@pytest.mark.sqlite_only  # its own missing SQLite file, whatever the suite's database
def test_healthz_fails_when_the_database_does_not_answer(config, tmp_path):
    broken = create_app(config | {"DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir.sqlite3"})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert "Database unavailable" in response.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_log_is_checkpointed_off_the_request_path(app, sms):
    engine = engine_of(app)
    sms.send(PHONE, "hello")
    checkpointer = database._GATES[os.path.abspath(engine.url.database)].checkpointer
    assert checkpointer.active and checkpointer._thread.is_alive()  # this database's own thread
    with database.locked(engine, PHONE) as conn:
        pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pages == 20_000  # not SQLite's 1,000: a commit checkpoints only if the thread lags
    # Only a checkpoint copies the log into the database file: the thread does, every 0.25 s.
    database_file = Path(engine.url.database)
    deadline = time.monotonic() + 5
    while PHONE.encode() not in database_file.read_bytes():
        assert time.monotonic() < deadline, "the message never left the write-ahead log"
        time.sleep(0.05)
