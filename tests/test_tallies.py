"""The running tallies behind the studio's results, recounted from the raw rows (issue 19).

A scripted mix of respondents (two languages, BACK, RESTART, STOP, re-prompts,
SKIP, an expired session written to again, an idle one, one ended by an
outcome, two survey versions and test sessions) writes through the webhook;
then every tally table is compared with the same figures counted here in
Python from survey_session, question_visit and answer, and the results JSON
with SPEC 9's figures counted the same way, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, select, text, update

from conftest import saved, survey_folder
from service import Inbound
from storage.models import (
    Answer,
    QuestionVisit,
    SurveySession,
    TallyAnswer,
    TallyDuration,
    TallyQuestion,
    TallySession,
)

MIX = """\
id: mix
title: Mix
languages: [en, es]
keywords: {en: [MIX], es: [MEZCLA]}
max_retries: 1
expire_after: 1h
questions:
  - id: lang
    type: language
    text: {en: "Which language?", es: "¿Qué idioma?"}
  - id: color
    type: choice
    text: {en: "Which color?", es: "¿Qué color?"}
    choices: [Red, Blue]
  - id: why
    type: text
    optional: true
    text: Why? (or SKIP)
  - id: size
    type: number
    min: 1
    max: 10
    text: Which size?
    next:
      - {if: answers.size > 8, goto: end, outcome: ineligible}
      - {if: answers.size > 5, goto: end}
  - id: ok
    type: yesno
    text: OK?
"""
TEXTS = {"why"}
FIRST = {  # phone: what the respondent sends on the first version
    "+15550000001": ["MIX", "1", "1", "because", "3", "yes"],  # completed
    "+15550000002": ["MIX", "2", "2", "porque"],  # Spanish, waiting at size
    "+15550000003": ["MEZCLA", "1", "2", "PARAR"],  # opted out in Spanish
    "+15550000004": ["MIX", "1", "1", "RESTART", "1"],  # abandoned, open again
    "+15550000005": ["MIX", "1", "1", "SKIP", "lots", "many", "yes"],  # re-prompted, given up
    "+15550000006": ["MIX", "1", "2", "x", "BACK", "y", "7"],  # an answer taken back
    "+15550000007": ["MIX", "2", "BACK", "1", "1"],  # BACK undoes the change of language
    "+15550000008": ["MIX", "1", "1"],  # will expire, then write again
    "+15550000009": ["MIX", "1"],  # will be idle past expire_after
}
SECOND = {  # on the second version
    "+15550000002": ["5", "no"],  # the first version's session goes on
    "+15550000008": ["2"],  # expired: written to after an hour
    "+15550000010": ["MIX", "1", "2", "SKIP", "9"],  # ineligible: an outcome ends it
    "+15550000011": ["MEZCLA", "2", "1", "STOP"],
    "+15550000012": ["MIX", "1", "STOP", "START", "2"],  # opted out, reopened by START (0012)
}
TESTER = ["MIX", "1", "2", "test", "4", "yes"]
AUTH = {"Authorization": "Bearer admin-secret-token"}


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the mix survey."""
    return survey_folder(tmp_path, mix=MIX)


@pytest.fixture
def played(app, sms, surveys_dir):
    """Every scripted respondent has written, on both versions, and a tester too."""
    service = app.extensions["survey_service"].ready()
    for phone, replies in FIRST.items():
        for reply in replies:
            sms.send(phone, reply)
    _age(service.engine, "+15550000008", hours=2)
    saved(surveys_dir / "mix.yaml", MIX.replace("Which size?", "What size?"))
    service.catalog.refresh()
    for phone, replies in SECOND.items():
        for reply in replies:
            sms.send(phone, reply)
    for n, reply in enumerate(TESTER):
        service.receive(Inbound("+15559990000", reply, f"SMtester{n}", test=True))
    _age(service.engine, "+15550000009", hours=2)
    return service


def _age(engine, phone: str, hours: int) -> None:
    """Make a number's open session last active `hours` ago."""
    with engine.begin() as conn:
        conn.execute(
            update(SurveySession)
            .where(SurveySession.phone == phone, SurveySession.status == "open")
            .values(updated_at=datetime.now(UTC) - timedelta(hours=hours))
        )


def rows(engine, model) -> list:
    """Every row of a table."""
    with engine.connect() as conn:
        return conn.execute(select(model)).all()


def key(session) -> tuple:
    """A session's tally key, as the migration defines it."""
    day = session.started_at.astimezone(UTC).date().isoformat()
    language, arm = session.language or "", session.arm or ""
    return (session.survey_id, session.survey_version, language, arm, bool(session.test), day)


def recount(engine) -> dict[str, Counter]:
    """Every tally, counted from the raw rows; keys as the tables hold them."""
    sessions = {s.id: s for s in rows(engine, SurveySession)}
    found = {name: Counter() for name in ("session", "question", "answer", "duration")}
    for s in sessions.values():
        if s.status != "open":  # a session is tallied once it ends
            found["session"][(*key(s), s.status, s.state, "sessions")] += 1
        # A time to complete is a completion's: never one an outcome ended (SPEC 11).
        if s.status == "completed" and s.completed_at and not s.state.startswith("end:"):
            seconds = int((s.completed_at - s.started_at).total_seconds() // 1)
            found["duration"][(*key(s), s.status, seconds, "sessions")] += 1
    for v in rows(engine, QuestionVisit):
        s = sessions[v.session_id]
        where = (*key(s), s.status, v.question_id)
        found["question"][(*where, "asked")] += 1
        found["question"][(*where, "skipped")] += v.outcome == "skipped"
        found["question"][(*where, "unanswered")] += v.outcome == "unanswered"
        found["question"][(*where, "reprompts")] += v.reprompts
    for a in rows(engine, Answer):
        s = sessions[a.session_id]
        found["question"][(*key(s), s.status, a.question_id, "answered")] += 1
        if a.question_id not in TEXTS:
            found["answer"][(*key(s), s.status, a.question_id, a.value, "answers")] += 1
    return {name: +counts for name, counts in found.items()}  # + drops the zeros


def tallies(engine) -> dict[str, Counter]:
    """Every tally as stored, in the keys `recount` uses."""
    tables = {
        "session": (TallySession, ("state",), ("sessions",)),
        "question": (
            TallyQuestion,
            ("question_id",),
            ("asked", "answered", "skipped", "unanswered", "reprompts"),
        ),
        "answer": (TallyAnswer, ("question_id", "value"), ("answers",)),
        "duration": (TallyDuration, ("seconds",), ("sessions",)),
    }
    found = {}
    for name, (model, own, counts) in tables.items():
        found[name] = Counter()
        for row in rows(engine, model):
            where = (
                row.survey_id,
                row.survey_version,
                row.language,
                row.arm,
                bool(row.test),
                row.day,
            )
            for count in counts:
                found[name][(*where, row.status, *(getattr(row, c) for c in own), count)] += (
                    getattr(row, count)
                )
        found[name] = +found[name]
    return found


def test_every_tally_equals_a_recount_of_the_rows(played):
    counted = recount(played.engine)
    assert counted["session"] and counted["question"] and counted["answer"]
    assert counted["duration"]
    assert tallies(played.engine) == counted


def test_the_migrations_count_stored_rows_as_the_triggers_do(played):
    migration = importlib.import_module("storage.migrations.versions.0011_running_tallies")
    durations = importlib.import_module("storage.migrations.versions.0013_time_to_complete")
    sqlite = played.engine.dialect.name == "sqlite"
    with played.engine.begin() as conn:
        for table in migration.TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
        for statement in migration.backfill(sqlite):
            conn.execute(text(statement))
        conn.execute(text("DELETE FROM tally_duration"))  # 0013 counts them again
        conn.execute(text(migration.backfill_durations(sqlite, durations.COMPLETIONS)))
    assert tallies(played.engine) == recount(played.engine)


def test_the_mix_reaches_every_case_the_tallies_move_for(played):
    sessions = rows(played.engine, SurveySession)
    statuses = Counter(s.status for s in sessions)
    assert set(statuses) == {"open", "completed", "opted_out", "abandoned", "expired"}
    assert len({s.survey_version for s in sessions}) == 2
    assert {s.language for s in sessions} >= {"es"} and any(s.test for s in sessions)
    visits = rows(played.engine, QuestionVisit)
    assert {v.outcome for v in visits} >= {"skipped", "unanswered"}
    assert {s.outcome for s in sessions} >= {"ineligible", None}


# -- the results JSON, against SPEC 9's figures counted from the rows ------------------------

FIELDS = ("asked", "answered", "skipped", "unanswered", "reprompts", "dropped", "waiting")


def spec_figures(engine, picked) -> dict:
    """SPEC 9's figures over the sessions `picked(session, status)` keeps, from the rows."""
    idle_before = datetime.now(UTC) - timedelta(hours=1)
    status = {}
    for s in rows(engine, SurveySession):
        expired = s.status == "open" and s.updated_at < idle_before
        status[s.id] = "expired" if expired else s.status
    sessions = {s.id: s for s in rows(engine, SurveySession) if picked(s, status[s.id])}
    found = {q: dict.fromkeys(FIELDS, 0) for q in ("lang", "color", "why", "size", "ok")}
    by_status = Counter(status[i] for i in sessions)
    for i, s in sessions.items():
        if s.state in found and status[i] in ("expired", "opted_out", "abandoned"):
            found[s.state]["dropped"] += 1
        elif s.state in found and status[i] == "open":
            found[s.state]["waiting"] += 1
    for v in rows(engine, QuestionVisit):
        if v.session_id in sessions:
            figures = found[v.question_id]
            figures["asked"] += 1
            figures["skipped"] += v.outcome == "skipped"
            figures["unanswered"] += v.outcome == "unanswered"
            figures["reprompts"] += v.reprompts
    values = Counter()
    for a in rows(engine, Answer):
        if a.session_id in sessions:
            found[a.question_id]["answered"] += 1
            values[(a.question_id, json.loads(a.value))] += 1
    return {"sessions": +by_status, "questions": found, "values": +values}


def shown(client, **query) -> dict:
    """The results JSON, in the shape `spec_figures` gives."""
    response = client.get("/studio/api/surveys/mix/results", query_string=query, headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    found = response.get_json()
    questions = {q["id"]: {f: q[f] for f in FIELDS} for q in found["questions"]}
    sessions = +Counter({k: v for k, v in found["sessions"].items() if k != "total"})
    values = Counter()
    for q in found["questions"]:
        for value, n in (q.get("counts") or {}).items():
            values[(q["id"], {"yes": True, "no": False}.get(value, value))] += n
        if "stats" in q and q["stats"]["n"]:
            values[(q["id"], "n")] += q["stats"]["n"]
    return {"sessions": sessions, "questions": questions, "values": values}


def _comparable(figures: dict) -> dict:
    """SPEC 9's figures with answer values as the JSON shows them (counts, a number's n)."""
    values = Counter()
    for (qid, value), n in figures["values"].items():
        if qid == "size":
            values[(qid, "n")] += n
        elif qid in ("color", "ok"):
            values[(qid, value)] += n
    return {**figures, "values": +values}


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"include_tests": "1"},
        {"status": "open"},
        {"status": "expired"},
        {"status": "completed"},
        {"status": "opted_out"},
        {"language": "es"},
        {"language": "en", "status": "open"},
        {"since": "2000-01-01", "until": "2999-12-31"},
        {"until": "2000-01-01"},
    ],
)
def test_the_results_equal_spec_9s_figures_counted_from_the_rows(played, client, query):
    def picked(session, status) -> bool:
        return (
            (not session.test or "include_tests" in query)
            and query.get("status", status) == status
            and query.get("language", session.language or "en") == (session.language or "en")
            and query.get("until", "2999-12-31") > "2000-01-01"
        )

    assert shown(client, **query) == _comparable(spec_figures(played.engine, picked))


def test_a_version_filter_counts_only_that_versions_sessions(played, client):
    for version in {s.survey_version for s in rows(played.engine, SurveySession)}:

        def picked(session, _status, version=version) -> bool:
            return session.survey_version == version and not session.test

        assert shown(client, version=version) == _comparable(spec_figures(played.engine, picked))


# -- concurrent writers (PostgreSQL: SQLite has one writer at a time) ------------------------

OPPOSITE = {  # phone: two writes to the same tally rows, in the other's opposite order
    "+15550000021": [("visit", "why"), ("visit", "size")],
    "+15550000022": [("visit", "size"), ("visit", "why")],
}
AND_AN_END = {  # the first one's session ends, moving every row the other is writing to
    "+15550000021": [("visit", "ok"), ("end", "abandoned")],
    "+15550000022": [("unanswer", "lang"), ("visit", "ok")],
}


def _write(conn, session_id: int, kind: str, what: str) -> None:
    """One write of a message to a session: a question asked, an answer taken back, its end."""
    if kind == "visit":
        conn.execute(insert(QuestionVisit).values(session_id=session_id, question_id=what))
    elif kind == "unanswer":
        conn.execute(
            delete(Answer).where(Answer.session_id == session_id, Answer.question_id == what)
        )
    else:
        conn.execute(
            update(SurveySession).where(SurveySession.id == session_id).values(status=what)
        )


def _at_once(engine, writes: dict[str, list], sessions: dict[str, int]) -> list[Exception]:
    """Each phone's writes in a transaction of its own, all started together and each
    going on to its second write only once every transaction made its first; the errors."""
    meet, errors = threading.Barrier(len(writes), timeout=10), []

    def writer(phone: str) -> None:
        try:
            with engine.begin() as conn:
                for n, (kind, what) in enumerate(writes[phone]):
                    if n:
                        meet.wait()  # times out if another transaction waits for this one
                    _write(conn, sessions[phone], kind, what)
        except Exception as error:  # noqa: BLE001 - what the test reports
            meet.abort()
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(phone,)) for phone in writes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    return errors


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_messages_writing_the_same_tallies_in_opposite_orders_neither_wait_nor_deadlock(app, sms):
    service = app.extensions["survey_service"].ready()
    for phone in OPPOSITE:
        sms.send(phone, "MIX")
        sms.send(phone, "1")
    with service.engine.connect() as conn:
        sessions = dict(conn.execute(select(SurveySession.phone, SurveySession.id)).all())
    assert _at_once(service.engine, OPPOSITE, sessions) == []
    assert _at_once(service.engine, AND_AN_END, sessions) == []
    assert tallies(service.engine) == recount(service.engine)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_respondents_answering_at_once_are_all_counted(app):
    service = app.extensions["survey_service"].ready()
    scripts = [*FIRST.values(), *SECOND.values()]
    errors = []

    def respondent(worker: int) -> None:
        try:
            for n in range(12):  # each worker's own numbers, every script in its turn
                phone, script = f"+1555100{worker:02d}{n:02d}", scripts[(worker + n) % len(scripts)]
                for step, reply in enumerate(script):
                    service.receive(Inbound(phone, reply, f"SM{worker:02d}{n:02d}{step:02d}"))
        except Exception as error:  # noqa: BLE001 - what the test reports
            errors.append(error)

    threads = [threading.Thread(target=respondent, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads) and errors == []
    counted = recount(service.engine)
    assert sum(counted["session"].values()) > 30  # nearly half of them ended, many at once
    assert tallies(service.engine) == counted
