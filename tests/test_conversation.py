"""Conversations through the webhook and a database: what the engine's tests cannot show.

The engine's behaviour, command by command, is tested without Flask or a database
in test_engine.py (tests/engine/cases.yaml); these tests check the wiring: what is
stored, versions kept across edits and restarts, opt-out state in the contact table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from conftest import SMS, saved, survey_folder
from service import Inbound
from storage import store
from storage.models import Answer, Contact, SurveySession, SurveyVersion
from web.factory import create_app

EVERYTHING = """\
id: everything
title: Everything
keywords: [ALL, EVERY]
default: true
intro: Hello! A few questions.
outro: Thanks{% if answers.name %} {{ answers.name }}{% endif %}!
max_retries: 1
questions:
  - id: name
    type: text
    text: Your first name?
    max_length: 20
  - id: mood
    type: choice
    text: How are you, {{ answers.name }}?
    choices:
      - Very good
      - Good
      - {label: Not good, value: bad, aliases: [poor, awful]}
  - id: score
    type: scale
    min: 0
    max: 10
    text: Score from 0 to 10?
  - id: why
    type: text
    when: answers.score < 7
    optional: true
    text: Why so low? (or SKIP)
  - id: more
    type: yesno
    text: More questions?
    next:
      - {if: not answers.more, goto: end}
  - id: topics
    type: multi
    text: Which topics?
    choices: [Parking, Food, Shop]
  - id: visits
    type: number
    integer: true
    min: 1
    max: 365
    text: How many visits?
  - id: last
    type: date
    text: Last visit?
"""

OTHER = """\
id: other
title: Other survey
keywords: [OTHER]
questions:
  - id: ok
    type: yesno
    text: Is this the other survey?
"""

PHONE = "+15551230001"


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the surveys of this module."""
    return survey_folder(tmp_path, everything=EVERYTHING, other=OTHER)


def answers_of(app, phone=PHONE) -> dict:
    """question id -> stored JSON value of the phone's latest session."""
    engine = app.extensions["survey_service"].engine
    with engine.connect() as conn:
        session_id = conn.execute(
            select(SurveySession.id)
            .where(SurveySession.phone == phone)
            .order_by(SurveySession.id.desc())
        ).first()[0]
        rows = conn.execute(
            select(Answer.question_id, Answer.value).where(Answer.session_id == session_id)
        )
        return {qid: value for qid, value in rows}


def sessions_of(app, phone=PHONE) -> list[tuple[str, str]]:
    """(survey_id, status) of every session of a phone, oldest first."""
    engine = app.extensions["survey_service"].engine
    with engine.connect() as conn:
        rows = conn.execute(
            select(SurveySession.survey_id, SurveySession.status)
            .where(SurveySession.phone == phone)
            .order_by(SurveySession.id)
        )
        return [tuple(r) for r in rows]


def test_full_survey_every_type(app, sms):
    first = sms.send(PHONE, "hi")
    assert first.startswith("Hello! A few questions.")
    assert first.endswith("Your first name?")
    assert sms.send(PHONE, "  Ada  ") == "How are you, Ada?\n1. Very good\n2. Good\n3. Not good"
    assert sms.send(PHONE, "3️⃣") == "Score from 0 to 10?"
    assert sms.send(PHONE, "6/10") == "Why so low? (or SKIP)"
    assert sms.send(PHONE, "Too slow") == "More questions?"
    assert sms.send(PHONE, "yep").startswith("Which topics?\n1. Parking")
    assert sms.send(PHONE, "1 and 3") == "How many visits?"
    assert sms.send(PHONE, "about 12") == "Last visit?"
    assert sms.send(PHONE, "2026-11-01") == "Thanks Ada!"
    assert answers_of(app) == {
        "name": '"Ada"',
        "mood": '"bad"',
        "score": "6",
        "why": '"Too slow"',
        "more": "true",
        "topics": '["Parking","Shop"]',
        "visits": "12",
        "last": '{"$date":"2026-11-01"}',
    }
    assert sessions_of(app) == [("everything", "completed")]


def test_stop_opts_out_and_silences_until_start(app, sms):
    sms.send(PHONE, "ALL")
    assert sms.send(PHONE, "stop") is None
    assert sessions_of(app) == [("everything", "opted_out")]
    assert sms.send(PHONE, "hello?") is None
    assert sms.send(PHONE, "ALL") is None
    reply = sms.send(PHONE, "yes")  # soon after the STOP: the session reopens where it was
    assert "subscribed" in reply and reply.endswith("Your first name?")
    assert sessions_of(app) == [("everything", "open")]
    engine = app.extensions["survey_service"].engine
    with engine.connect() as conn:
        assert (
            conn.execute(select(Contact.opted_out).where(Contact.phone == PHONE)).scalar() is False
        )
    assert sms.send(PHONE, "Ann").startswith("How are you, Ann?")


def test_the_default_survey_yields_to_a_keyword_until_it_holds_an_answer(app, sms):
    assert sms.send(PHONE, "hi").endswith("Your first name?")
    assert sms.send(PHONE, "OTHER") == "Is this the other survey?"
    assert sessions_of(app) == [("everything", "abandoned"), ("other", "open")]
    assert sms.send("+15551230002", "ALL").endswith("Your first name?")  # by its keyword
    assert sms.send("+15551230002", "OTHER").startswith("How are you, OTHER?")  # an answer


def test_edit_while_answering_keeps_the_started_version(app, sms, surveys_dir):
    sms.send(PHONE, "OTHER")
    saved(surveys_dir / "other.yaml", OTHER.replace("Is this the other survey?", "Changed?"))
    assert sms.send("+15551239999", "OTHER") == "Changed?"  # new sessions: new version
    assert sms.send(PHONE, "yes") == "Thank you!"  # the old session finishes on its version
    engine = app.extensions["survey_service"].engine
    with engine.connect() as conn:
        versions = conn.execute(select(SurveySession.survey_version)).scalars().all()
    assert len(set(versions)) == 2


def test_dates_use_the_survey_calendar(app, sms, surveys_dir):
    dmy = EVERYTHING.replace("max_retries: 1\n", "max_retries: 1\ndate_order: DMY\n")
    saved(surveys_dir / "everything.yaml", dmy)
    for reply in ["ALL", "Lu", "1", "9", "yes", "1", "3"]:
        sms.send(PHONE, reply)
    assert "like" in sms.send(PHONE, "11/27")  # no 27th month under DMY: refused, never swapped
    sms.send(PHONE, "27/11")
    year = datetime.now(UTC).year
    assert answers_of(app)["last"] == f'{{"$date":"{year}-11-27"}}'


def test_multi_with_min_zero_accepts_none(app, sms, surveys_dir):
    saved(
        surveys_dir / "zero.yaml",
        "keywords: [ZERO]\nquestions:\n  - id: used\n    type: multi\n    min: 0\n"
        "    text: Which? (or NONE)\n    choices: [Bus, Tram]\n",
    )
    assert sms.send(PHONE, "ZERO").startswith("Which? (or NONE)")
    assert sms.send(PHONE, "none") == "Thank you!"
    assert answers_of(app) == {"used": "[]"}


def test_survey_source_is_stored_even_if_the_first_session_rolled_back(app, monkeypatch):
    bot = app.extensions["survey_service"]
    real = store.apply
    monkeypatch.setattr(store, "apply", lambda **kw: real(**kw) / 0)  # fails after writing
    with pytest.raises(ZeroDivisionError):
        bot.receive(Inbound(phone=PHONE, body="OTHER", sid="SM-first"))
    monkeypatch.setattr(store, "apply", real)
    bot.receive(Inbound(phone=PHONE, body="OTHER", sid="SM-second"))
    with bot.engine.connect() as conn:
        stored = conn.execute(select(SurveyVersion.survey_id)).scalars().all()
    assert stored == ["other"]


def test_restart_without_open_session_starts_the_latest_survey_again(app, sms):
    sms.send(PHONE, "OTHER")
    sms.send(PHONE, "yes")  # completed
    assert sms.send(PHONE, "restart") == "Is this the other survey?"
    assert sessions_of(app) == [("other", "completed"), ("other", "open")]


def test_restart_for_a_new_number_starts_the_default_survey(app, sms):
    assert sms.send(PHONE, "RESTART").endswith("Your first name?")


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_every_opt_in_word_opts_back_in(app, sms, word):
    sms.send(PHONE, "stop")
    assert "subscribed" in sms.send(PHONE, word)
    assert sms.send(PHONE, "OTHER") == "Is this the other survey?"


def test_a_restarted_bot_finishes_sessions_on_their_old_version(app, config, sms, surveys_dir):
    sms.send(PHONE, "OTHER")
    saved(surveys_dir / "other.yaml", OTHER.replace("type: yesno", "type: number"))
    restarted = create_app(config)  # a new process knows only the file's new version
    try:
        replies = SMS(restarted.test_client())
        assert replies.send(PHONE, "yes") == "Thank you!"  # still the yes/no question
        assert answers_of(restarted) == {"ok": "true"}
    finally:
        restarted.extensions["survey_service"].engine.dispose()


def test_hot_path_times_read_back_through_sqlalchemy(app, sms):
    before = datetime.now(UTC)
    sms.send(PHONE, "OTHER")
    engine = app.extensions["survey_service"].engine
    with engine.connect() as conn:
        started = conn.execute(select(SurveySession.started_at)).scalar_one()
        raw = conn.exec_driver_sql("SELECT started_at FROM survey_session").scalar_one()
    assert before <= started <= datetime.now(UTC)
    if engine.dialect.name == "sqlite":  # the text SQLAlchemy itself writes and compares
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", raw)


def test_restart_of_a_survey_whose_file_is_gone_starts_the_default(app, sms, surveys_dir):
    # SPEC 2: RESTART of a survey whose file is gone acts as with no open session.
    sms.send(PHONE, "OTHER")
    (surveys_dir / "other.yaml").unlink()
    assert sms.send(PHONE, "restart") == "Hello! A few questions.\n\nYour first name?"
    assert sessions_of(app) == [("other", "abandoned"), ("everything", "open")]


def test_restart_of_a_gone_survey_with_no_default_ends_it_and_lists_keywords(app, sms, surveys_dir):
    saved(surveys_dir / "everything.yaml", EVERYTHING.replace("default: true\n", ""))
    sms.send(PHONE, "OTHER")
    (surveys_dir / "other.yaml").unlink()
    assert sms.send(PHONE, "restart") == "Text ALL for Everything."
    assert sessions_of(app) == [("other", "abandoned")]
    # As with no open session: the next message starts nothing and answers nothing.
    assert sms.send(PHONE, "yes") == "Text ALL for Everything."
    assert sessions_of(app) == [("other", "abandoned")]
