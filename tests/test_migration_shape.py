"""Migration 0007 on a database the previous release wrote: sessions in the middle of BACK
and of a confirmation go on; answers to a question `asked` come back; replies become text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from bot import values
from bot.loader import load_survey
from conftest import SMS, survey_folder
from storage import schema
from storage.db import make_engine
from web.factory import create_app

# Each test builds its database from an older revision: start from an empty one.
pytestmark = pytest.mark.empty_database

# The release before the session shape: whatever revision 0007 follows.
PREVIOUS = ScriptDirectory.from_config(schema._config()).get_revision("0007").down_revision
SOURCE = """\
id: words
title: Words
keywords: [WORDS]
outro: Done.
questions:
  - {id: asked, type: text, text: "Asked?"}
  - {id: trail, type: choice, text: "Trail?", choices: [Forest, Mountain]}
  - {id: pending, type: yesno, text: "Pending?"}
"""
VERSION = load_survey(SOURCE.encode(), "words.yaml").version
PROLOGUE = '<?xml version="1.0" encoding="UTF-8"?>'
OLD_REPLY = (
    PROLOGUE + "<Response><Message>Trail?\n1. Forest &amp; &lt;more&gt;</Message></Response>"
)
OLD_SID, SILENT_SID = "SM" + "a" * 32, "SM" + "b" * 32

# The tables as the previous release had them: only the columns it wrote.
SESSION = sa.table(
    "survey_session",
    *(sa.column(name) for name in ("id", "phone", "survey_id", "survey_version", "state")),
    *(sa.column(name) for name in ("status", "retries", "answers", "language")),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("started_at", "updated_at")),
    sa.column("completed_at", sa.DateTime(timezone=True)),
)
ANSWER = sa.table(
    "answer",
    *(sa.column(name) for name in ("session_id", "question_id", "value", "raw_reply")),
    sa.column("answered_at", sa.DateTime(timezone=True)),
)
INBOUND = sa.table(
    "inbound_message",
    *(sa.column(name) for name in ("message_sid", "phone", "body", "reply", "session_id")),
    sa.column("received_at", sa.DateTime(timezone=True)),
)
VERSIONS = sa.table(
    "survey_version",
    *(sa.column(name) for name in ("survey_id", "version", "path", "source")),
    sa.column("first_seen", sa.DateTime(timezone=True)),
)

# (phone, state, status, answers JSON as 0006 wrote it, answer rows): 0006 kept the BACK
# trail under "asked", over the answer to question `asked`, and a confirmation under "$confirm".
OLD_SESSIONS = [
    (
        "+15550070001",
        "pending",
        "open",
        '{"asked":[["asked","en"],["trail","en"]],"trail":"Forest"}',
        {"asked": "one", "trail": "Forest"},
    ),
    (
        "+15550070002",
        "trail",
        "open",
        '{"asked":[["asked","en"]],"$confirm":"Mountain"}',
        {"asked": "two"},
    ),
    (
        "+15550070003",
        "completed",
        "completed",
        '{"asked":"three","trail":"Forest","pending":true}',
        {"asked": "three", "trail": "Forest", "pending": True},
    ),
    (
        "+15550070004",
        "completed",
        "completed",
        '{"trail":"Forest","pending":false}',
        {"asked": "four", "trail": "Forest", "pending": False},
    ),
]


@pytest.fixture
def surveys_dir(tmp_path):
    """A folder serving the survey the old sessions are on."""
    return survey_folder(tmp_path, words=SOURCE)


@pytest.fixture
def previous(database_url):
    """A database at the previous release's schema holding the rows that release wrote."""
    engine = make_engine(database_url)
    schema.upgrade(engine, PREVIOUS)
    now = datetime.now(UTC) - timedelta(minutes=5)
    with engine.begin() as conn:
        path = {"path": "words.yaml", "source": SOURCE, "first_seen": now}
        conn.execute(VERSIONS.insert().values(survey_id="words", version=VERSION, **path))
        for phone, state, status, answers, rows in OLD_SESSIONS:
            times = {"started_at": now, "updated_at": now, "retries": 0, "language": "en"}
            times["completed_at"] = now if status == "completed" else None
            session_id = conn.execute(
                SESSION.insert()
                .values(phone=phone, survey_id="words", survey_version=VERSION, state=state)
                .values(status=status, answers=answers, **times)
                .returning(SESSION.c.id)
            ).scalar_one()
            for qid, value in rows.items():
                answer = {"question_id": qid, "value": values.dump(value), "raw_reply": "x"}
                conn.execute(
                    ANSWER.insert().values(session_id=session_id, answered_at=now, **answer)
                )
        for sid, reply in ((OLD_SID, OLD_REPLY), (SILENT_SID, PROLOGUE + "<Response />")):
            message = {"phone": OLD_SESSIONS[0][0], "body": "Forest", "reply": reply}
            conn.execute(INBOUND.insert().values(message_sid=sid, received_at=now, **message))
    schema.upgrade(engine)
    yield engine
    engine.dispose()


def stored(engine, phone: str) -> tuple:
    """A session's answers, trail and pending value as the new columns hold them."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT answers, trail, pending FROM survey_session WHERE phone = :p"),
            {"p": phone},
        ).one()
    return values.load(row[0]), values.load(row[1]), row[2]


def test_the_trail_and_a_confirmation_leave_the_answers(previous):
    one, two, three, four = (phone for phone, *_ in OLD_SESSIONS)
    assert stored(previous, one) == (
        {"asked": "one", "trail": "Forest"},
        [["asked", "en"], ["trail", "en"]],
        None,
    )
    assert stored(previous, two) == ({"asked": "two"}, [["asked", "en"]], "Mountain")
    assert stored(previous, three) == (
        {"asked": "three", "trail": "Forest", "pending": True},
        [],
        None,
    )
    # The answer the trail had hidden is back, in the order it was given.
    assert list(stored(previous, four)[0].items()) == [
        ("asked", "four"),
        ("trail", "Forest"),
        ("pending", False),
    ]


def test_stored_replies_become_the_text_that_was_sent(previous):
    with previous.connect() as conn:
        replies = dict(
            conn.execute(sa.text("SELECT message_sid, reply FROM inbound_message")).all()
        )
    assert replies == {OLD_SID: "Trail?\n1. Forest & <more>", SILENT_SID: ""}


def test_open_sessions_go_on_where_they_were(previous, config):
    app = create_app(config)
    try:
        sms = SMS(app.test_client())
        one, two, three, four = (phone for phone, *_ in OLD_SESSIONS)
        # A redelivery of a message the old release answered gets the same reply.
        assert sms.send(one, "Forest", sid=OLD_SID) == "Trail?\n1. Forest & <more>"
        assert sms.send(one, "Forest", sid=SILENT_SID) is None
        assert sms.send(one, "back") == "Trail?\n1. Forest\n2. Mountain"
        assert sms.send(one, "back") == "Asked?"
        assert sms.send(one, "uno") == "Trail?\n1. Forest\n2. Mountain"
        assert sms.send(two, "yes") == "Pending?"  # the confirmation waiting is answered
        assert sms.send(two, "no") == "Done."
        wide = list(
            csv.DictReader(
                io.StringIO("".join(app.extensions["survey_service"].export_csv("words")))
            )
        )
        by_phone = {row["phone"]: (row["asked"], row["trail"], row["pending"]) for row in wide}
        assert by_phone == {
            one: ("uno", "", ""),
            two: ("two", "Mountain", "no"),
            three: ("three", "Forest", "yes"),
            four: ("four", "Forest", "no"),
        }
    finally:
        app.extensions["survey_service"].engine.dispose()


def test_a_downgrade_gives_the_previous_release_its_shape_back(previous):
    with previous.begin() as conn:
        command.downgrade(schema._config(conn), PREVIOUS)
    one, two, *_ = (phone for phone, *_ in OLD_SESSIONS)
    with previous.connect() as conn:
        answers = dict(conn.execute(sa.select(SESSION.c.phone, SESSION.c.answers)).all())
        replies = dict(conn.execute(sa.select(INBOUND.c.message_sid, INBOUND.c.reply)).all())
    # The trail back under "asked", where the previous release reads it (its answer in `answer`).
    assert values.load(answers[one]) == {
        "asked": [["asked", "en"], ["trail", "en"]],
        "trail": "Forest",
    }
    assert values.load(answers[two]) == {"asked": [["asked", "en"]], "$confirm": "Mountain"}
    assert replies == {OLD_SID: OLD_REPLY, SILENT_SID: PROLOGUE + "<Response />"}
