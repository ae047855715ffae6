"""Schema migrations: old databases upgrade with every row kept; a stale one is refused."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select
from sqlmodel import SQLModel

from conftest import SMS
from storage import schema
from storage.db import make_engine
from storage.models import (
    Answer,
    Contact,
    InboundMessage,
    SurveyCase,
    SurveySession,
    SurveyVersion,
    TallyDuration,
)
from web.factory import WORKER_BOOT_ERROR, serving_app

SLOTS = importlib.import_module("storage.migrations.versions.0016_tally_slots")
# Each test builds its database from an older revision: start from an empty one.
pytestmark = pytest.mark.empty_database
FIRST = "0001"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
OLD_TABLES = [Contact, SurveyVersion, SurveySession, Answer, InboundMessage]
# survey_session columns from 0004, 0007, 0012 and 0009
ADDED_LATER = {"language", "test", "trail", "pending", "arm", "orders", "by_default"}
ADDED_LATER |= {"outcome", "disposition", "attempts", "recontact_due", "recontacts"}
OLD_REPLY = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Q2?</Message></Response>'


def fill(conn) -> None:
    """Rows as the first schema held them: an opted-out number, a session with an answer."""
    conn.execute(insert(Contact), {"phone": "+15559990001", "opted_out": True, "changed_at": NOW})
    version = {"survey_id": "old", "version": "abc123", "path": "old.yaml"}
    conn.execute(insert(SurveyVersion), version | {"source": "questions: []", "first_seen": NOW})
    session = {"phone": "+15559990002", "survey_id": "old", "survey_version": "abc123"}
    session |= {"state": "q2", "status": "open", "retries": 1, "answers": '{"q1":"Ann"}'}
    session_id = conn.execute(
        insert(SurveySession).values(session | {"started_at": NOW, "updated_at": NOW})
    ).inserted_primary_key[0]
    answer = {"session_id": session_id, "question_id": "q1", "value": '"Ann"', "raw_reply": "Ann"}
    conn.execute(insert(Answer), answer | {"answered_at": NOW, "message_sid": "SMold"})
    message = {
        "message_sid": "SMold",
        "phone": "+15559990002",
        "body": "Ann",
        "reply": OLD_REPLY,
    }
    conn.execute(insert(InboundMessage), message | {"received_at": NOW, "session_id": session_id})


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of the tables that hold old data, in the columns the first schema had."""
    with engine.connect() as conn:
        return {
            model.__tablename__: [
                tuple(row) for row in conn.execute(select(*_first_columns(model.__table__)))
            ]
            for model in OLD_TABLES
        }


def _first_columns(table) -> list:
    """The table's columns that the first migration created (later ones add to them)."""
    return [column for column in table.c if column.name not in ADDED_LATER]


@pytest.fixture
def old_engine(database_url):
    """An engine on a database created by the first migration, holding some rows."""
    engine = make_engine(database_url)
    schema.upgrade(engine, FIRST)
    with engine.begin() as conn:
        fill(conn)
    yield engine
    engine.dispose()


def at(engine) -> str | None:
    """The revision the database is at."""
    with engine.connect() as conn:
        return schema.current(conn)


def test_upgrading_to_head_keeps_every_row(old_engine):
    before = snapshot(old_engine)
    assert at(old_engine) == FIRST
    schema.upgrade(old_engine)
    assert at(old_engine) == schema.head()
    assert snapshot(old_engine) == as_text_replies(before)
    assert all(before.values())


def as_text_replies(snapshot: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """A snapshot with its TwiML replies as the text they carried (migration 0007)."""
    messages = [
        tuple("Q2?" if cell == OLD_REPLY else cell for cell in row)
        for row in snapshot["inbound_message"]
    ]
    return snapshot | {"inbound_message": messages}


def test_migrations_build_exactly_the_models(old_engine):
    schema.upgrade(old_engine)
    with old_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # PostgreSQL's tallies also have the slot their writer took (0016), which no model names.
    slotted = set(SLOTS.tallies.TABLES) if old_engine.dialect.name == "postgresql" else set()
    assert sorted((d[0], d[2], d[3].name) for d in differences) == [
        ("remove_column", table, SLOTS.SLOT) for table in sorted(slotted)
    ]


def test_the_head_the_fast_start_checks_is_the_newest_migration():
    assert schema.head() == schema.HEAD, "set storage.dbapi.HEAD to the new migration"


def test_a_fresh_database_is_created_at_head(app):
    engine = app.extensions["survey_service"].ready().engine
    assert at(engine) == schema.head()
    with engine.connect() as conn:
        assert {m.__tablename__ for m in OLD_TABLES} <= set(inspect(conn).get_table_names())


@pytest.fixture
def stale_app(app, old_engine):
    """The test app on a database still at the first migration."""
    return app


def test_the_app_refuses_a_schema_that_is_behind(stale_app, old_engine):
    with pytest.raises(schema.SchemaBehind, match=f"at {FIRST}.*run `flask db upgrade`"):
        stale_app.extensions["survey_service"].ready()
    client = stale_app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "flask db upgrade" in response.get_data(as_text=True)
    sms = SMS(client)
    assert (
        sms.post({"From": "+15559990003", "MessageSid": "SM" + "e" * 32, "Body": "hi"}).status_code
        == 503
    )
    assert at(old_engine) == FIRST  # nothing upgraded behind the operator's back


def test_serving_refuses_to_start_on_a_schema_that_is_behind(
    old_engine, config, monkeypatch, capsys
):
    for name in ("DATABASE_URL", "SURVEYS_DIR", "TWILIO_AUTH_TOKEN"):
        monkeypatch.setenv(name, config[name])
    with pytest.raises(SystemExit) as stopped:  # one line, no traceback (SPEC 4)
        serving_app()
    assert stopped.value.code == WORKER_BOOT_ERROR  # a WSGI server's worker: gunicorn stops
    assert capsys.readouterr().err == (
        f"Refusing to serve: The database schema is at {FIRST}, this code needs "
        f"{schema.head()}: back up the database, then run `flask db upgrade`.\n"
    )


def test_flask_db_upgrade_brings_the_schema_to_head(stale_app, old_engine):
    before = snapshot(old_engine)
    runner = stale_app.test_cli_runner()
    assert (
        f"database: {FIRST}; code: {schema.head()}" in runner.invoke(args=["db", "current"]).output
    )
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"Database schema at {schema.head()}." in result.output
    assert snapshot(old_engine) == as_text_replies(before)
    assert "Thanks for visiting" in SMS(stale_app.test_client()).send("+15559990003", "hi")


def test_upgrading_makes_a_case_of_each_number_in_each_survey(old_engine):
    schema.upgrade(old_engine)
    with old_engine.connect() as conn:
        cases = conn.execute(select(SurveyCase.__table__)).all()
    # The old session answered a question and is open: a break-off if it ended now (SPEC 11).
    [case] = cases
    assert (case.survey_id, case.phone, case.walk_in, case.code) == (
        "old",
        "+15559990002",
        True,
        "2.12",
    )
    assert case.active_at is not None


def test_upgrading_leaves_sessions_an_outcome_ended_out_of_the_time_to_complete(old_engine):
    schema.upgrade(old_engine, "0009")  # its triggers counted every completed session's time
    sqlite = old_engine.dialect.name == "sqlite"  # and SQLite's a float's: 59 s for 60
    session = {"phone": "+15559990003", "survey_id": "old", "survey_version": "abc123"}
    session |= {"status": "completed", "retries": 0, "answers": "{}", "started_at": NOW}
    with old_engine.begin() as conn:
        for state, seconds in (("end", 60), ("end:ineligible", 5)):
            done = NOW + timedelta(seconds=seconds)
            conn.execute(
                insert(SurveySession).values(
                    session | {"state": state, "updated_at": done, "completed_at": done}
                )
            )
    assert durations(old_engine) == [(5, 1), (60 - sqlite, 1)]
    schema.upgrade(old_engine)
    assert durations(old_engine) == [(60, 1)]
    with old_engine.begin() as conn:  # down again: counted as 0009 counted them
        command.downgrade(schema._config(conn), "0009")
    assert durations(old_engine) == [(5, 1), (60 - sqlite, 1)]


def durations(engine) -> list[tuple]:
    """The tallied times to complete: (seconds, sessions), none at zero."""
    with engine.connect() as conn:
        rows = conn.execute(select(TallyDuration.seconds, TallyDuration.sessions))
        return sorted(row for row in rows if row[1])
