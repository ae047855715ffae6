"""Databases for the measures: fresh ones, and large ones filled with bulk SQL."""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import time
import uuid
from pathlib import Path

from common import SURVEY


@contextlib.contextmanager
def database(url: str | None, workdir: Path, name: str):
    """A fresh database URL: a SQLite file in `workdir`, or a new schema on PostgreSQL."""
    if not url:
        yield f"sqlite:///{workdir / (name + '.sqlite3')}"
        return
    from sqlalchemy import create_engine, text

    url = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)
    schema = f"bench_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


# Bulk seeding goes in before the results' running tallies exist (their triggers would
# count row by row); `count_tallies` then counts the seeded rows as the migration does.
BEFORE_TALLIES = "0011-1"


def create_schema(url: str, revision: str | None = None) -> None:
    """The app's own schema on an empty database (as the app's first start would make it).

    With `revision`, the schema as that migration left it.
    """
    from storage import db, schema

    engine = db.make_engine(url)
    if revision:
        schema.upgrade(engine, revision)
    else:
        schema.ensure_current(engine)
    engine.dispose()


def count_tallies(url: str) -> float:
    """Upgrade a database seeded at BEFORE_TALLIES to the newest schema; the seconds it took."""
    from storage import db, schema

    started = time.monotonic()
    engine = db.make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    if url.startswith("sqlite:///"):  # the file as seeding left it: nothing in the log to copy
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return round(time.monotonic() - started, 1)


def survey_version(path: Path) -> str:
    """A survey file's version as the app computes it: 12 hex digits of its SHA-256."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


SEED_QUESTIONS = """
    q(j, qid, value, raw) AS (VALUES
        (1, 'name', '"Seed"', 'Seed'),
        (2, 'satisfaction', '"Satisfied"', '2'),
        (3, 'recommend', '8', '8'),
        (4, 'contact_ok', 'true', 'yes'),
        (5, 'topics', '["Parking","Shop"]', '1,3'),
        (6, 'visits', '4', '4'),
        (7, 'last_visit', '{"$date":"2025-06-01"}', 'June 1'),
        (8, 'improve', '"More parking"', 'More parking'))
"""


SEED_ANSWERS_JSON = (
    '{"name":"Seed","satisfaction":"Satisfied","recommend":8,"contact_ok":true,'
    '"topics":["Parking","Shop"],"visits":4,"last_visit":{"$date":"2025-06-01"}}'
)


SEED_REPLY = "How many times did you visit this year?"  # replies are stored as text


def seed(path: Path, version: str, sessions: int, *, expired_every: int, inbound: bool) -> dict:
    """Fill a database made by the app's schema with `sessions` sessions and their answers.

    Bulk SQL in SQLite itself: sessions one minute apart, each completed with 8
    answers, except every `expired_every`-th session, expired after 3 answers, and
    the question visits of each; with `inbound`, the inbound_message row of every
    message too (the start and each answer).
    """
    started = time.monotonic()
    ts = "strftime('%Y-%m-%d %H:%M:%S', '2025-01-01', '+' || (k * 60 + {d}) || ' seconds')"
    expired = f"(k % {expired_every} = 0)" if expired_every else "0"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-400000")
    db.execute("BEGIN")
    db.execute(
        f"""INSERT INTO survey_session (id, phone, survey_id, survey_version, state, status,
                retries, answers, started_at, updated_at, completed_at)
        WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {sessions})
        SELECT k, '+1' || (3000000000 + k), '{SURVEY}', '{version}',
            CASE WHEN {expired} THEN 'contact_ok' ELSE 'completed' END,
            CASE WHEN {expired} THEN 'expired' ELSE 'completed' END,
            0, '{SEED_ANSWERS_JSON}', {ts.format(d=0)} || '.000000', {ts.format(d=40)} || '.000000',
            CASE WHEN {expired} THEN NULL ELSE {ts.format(d=40)} || '.000000' END
        FROM n"""
    )
    answers = f"""
        WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {sessions}),
        {SEED_QUESTIONS}
        SELECT k, j, qid, value, raw, {ts.format(d="j * 5")} || '.000000' AS at,
            'SM' || printf('%032x', k * 16 + j) AS sid
        FROM n CROSS JOIN q WHERE j <= CASE WHEN {expired} THEN 3 ELSE 8 END"""
    db.execute(
        f"""INSERT INTO answer (session_id, question_id, value, raw_reply, answered_at,
                message_sid) SELECT k, qid, value, raw, at, sid FROM ({answers})"""
    )
    db.execute(  # the studio's funnel: each question asked, and where expired ones stopped
        f"""INSERT INTO question_visit (session_id, question_id, reprompts)
        SELECT k, qid, CASE WHEN j = 3 AND k % 7 = 0 THEN 1 ELSE 0 END FROM ({answers})"""
    )
    db.execute(
        """INSERT INTO question_visit (session_id, question_id, reprompts)
        SELECT id, state, 0 FROM survey_session WHERE status = 'expired'"""
    )
    if inbound:
        db.execute(
            f"""INSERT INTO inbound_message (message_sid, phone, body, received_at, reply,
                    session_id)
            WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {sessions})
            SELECT 'SM' || printf('%032x', k * 16), '+1' || (3000000000 + k), 'FEEDBACK',
                {ts.format(d=0)} || '.000000', '{SEED_REPLY}', k FROM n"""
        )
        db.execute(
            f"""INSERT INTO inbound_message (message_sid, phone, body, received_at, reply,
                    session_id)
            SELECT sid, '+1' || (3000000000 + k), raw, at, '{SEED_REPLY}', k FROM ({answers})"""
        )
    db.execute("COMMIT")
    counts = {
        table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("survey_session", "answer", "question_visit", "inbound_message")
    }
    db.execute("PRAGMA journal_mode=WAL")  # as the app leaves it
    db.close()
    counts["seconds"] = round(time.monotonic() - started, 1)
    counts["file_mb"] = round(path.stat().st_size / 1e6)
    return counts


LONG_JOIN = f"""SELECT s.id AS session_id, s.phone, s.survey_version, a.question_id, a.value,
    a.raw_reply, a.answered_at
FROM survey_session s JOIN answer a ON a.session_id = s.id
WHERE s.survey_id = '{SURVEY}'
ORDER BY s.started_at, s.id, a.id;"""
