"""The CSV export: columns, formats, formula-safe cells, filters, hashing, the HTTP endpoint."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from conftest import saved, survey_folder
from storage.models import SurveySession

SURVEY = """\
id: poll
title: Poll
keywords: [POLL]
questions:
  - id: name
    type: text
    text: Name?
  - id: count
    type: number
    text: How many?
  - id: picks
    type: multi
    text: Which?
    choices: [Red, Green, Blue]
  - id: ok
    type: yesno
    text: OK?
"""
AUTH = {"Authorization": "Bearer admin-secret-token"}


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the poll."""
    return survey_folder(tmp_path, poll=SURVEY)


def answer(sms, phone: str, *replies: str) -> None:
    """Start the poll and send `replies`."""
    sms.send(phone, "POLL")
    for reply in replies:
        sms.send(phone, reply)


def rows(text: str) -> list[dict]:
    """CSV text as dicts."""
    return list(csv.DictReader(io.StringIO(text)))


def cli_export(app, *args: str) -> str:
    """`flask export poll ...` output."""
    result = app.test_cli_runner().invoke(args=["export", "poll", *args])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes.decode()


def test_wide_export_columns_and_values(app, sms):
    answer(sms, "+15550000001", "Ana", "1,000", "1 and 3", "yes")
    text = cli_export(app)
    header = text.splitlines()[0]
    assert header == (
        "session_id,phone,survey_version,status,started_at,completed_at,language,arm,order,"
        "disposition,attempts,name,count,picks,ok"
    )
    (row,) = rows(text)
    assert row["phone"] == "+15550000001" and row["status"] == "completed"
    assert (row["disposition"], row["attempts"]) == ("1.1", "0")  # a walk-in: no attempts
    assert row["language"] == "en"  # the survey's default: it lists no languages
    assert (row["name"], row["count"], row["picks"], row["ok"]) == (
        "Ana",
        "1000",
        "Red;Blue",
        "yes",
    )
    assert row["started_at"].endswith("Z") and row["completed_at"].endswith("Z")
    assert text.endswith("\r\n")


def test_long_export_keeps_raw_replies(app, sms):
    answer(sms, "+15550000002", "Bea", "about 40")
    long = rows(cli_export(app, "--format", "long"))
    assert [(r["question_id"], r["value"], r["raw_reply"]) for r in long] == [
        ("name", "Bea", "Bea"),
        ("count", "40", "about 40"),
    ]
    assert {r["language"] for r in long} == {"en"}
    assert set(long[0]) == {
        "session_id",
        "phone",
        "survey_version",
        "question_id",
        "value",
        "raw_reply",
        "answered_at",
        "language",
        "choice_order",
    }


@pytest.mark.parametrize(
    ("reply", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555", "'+1 555"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-rf", "'-rf"),
        ("-3", "-3"),
        ("+4", "'+4"),  # SPEC 5: a plain number may lead with -, not +
        ('He said "hi", then left\nfor good', 'He said "hi", then left\nfor good'),
        ("Très bien 😀", "Très bien 😀"),
    ],
)
def test_cells_are_formula_safe_and_quoted(app, sms, reply, cell):
    answer(sms, "+15550000003", reply)
    (row,) = rows(cli_export(app))
    assert row["name"] == cell
    (first,) = [r for r in rows(cli_export(app, "--format", "long")) if r["question_id"] == "name"]
    assert first["raw_reply"] == cell


def test_status_filter_and_idle_sessions_show_as_expired(app, sms):
    answer(sms, "+15550000004", "Cy", "1", "1", "no")
    answer(sms, "+15550000005", "Di")
    answer(sms, "+15550000006", "Ed")
    engine = app.extensions["survey_service"].engine
    with engine.begin() as conn:
        conn.execute(
            SurveySession.__table__.update()
            .where(SurveySession.__table__.c.phone == "+15550000006")
            .values(updated_at=datetime.now(UTC) - timedelta(days=2))
        )
    statuses = {r["phone"]: r["status"] for r in rows(cli_export(app))}
    assert statuses == {
        "+15550000004": "completed",
        "+15550000005": "open",
        "+15550000006": "expired",
    }
    assert [r["phone"] for r in rows(cli_export(app, "--status", "expired"))] == ["+15550000006"]
    assert [r["phone"] for r in rows(cli_export(app, "--status", "open"))] == ["+15550000005"]


def test_since_and_until_filter_by_session_start(app, sms):
    answer(sms, "+15550000007", "Flo")
    today = datetime.now(UTC).date()
    assert len(rows(cli_export(app, "--since", today.isoformat()))) == 1
    assert rows(cli_export(app, "--until", (today - timedelta(days=1)).isoformat())) == []
    assert rows(cli_export(app, "--since", (today + timedelta(days=1)).isoformat())) == []


def test_hashed_phones_hide_numbers_and_stay_stable(app, sms):
    answer(sms, "+15550000008", "Gil")
    answer(sms, "+15550000009", "Hu")
    first = cli_export(app, "--hash-phones")
    assert "+1555" not in first
    again = cli_export(app, "--hash-phones")
    assert [r["phone"] for r in rows(first)] == [r["phone"] for r in rows(again)]
    assert len({r["phone"] for r in rows(first)}) == 2


def test_export_includes_questions_of_older_versions(app, sms, surveys_dir):
    answer(sms, "+15550000010", "Ivy")
    saved(surveys_dir / "poll.yaml", SURVEY.replace("id: name", "id: first_name"))
    answer(sms, "+15550000011", "Jo")
    text = cli_export(app)
    assert text.splitlines()[0].endswith("first_name,count,picks,ok,name")
    versions = {r["survey_version"] for r in rows(text)}
    assert len(versions) == 2


def test_http_export_requires_the_admin_token(client, sms):
    answer(sms, "+15550000012", "Kai")
    assert client.get("/surveys/poll/export.csv").status_code == 401
    wrong = client.get("/surveys/poll/export.csv", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert client.get("/surveys/nope/export.csv", headers=AUTH).status_code == 404
    ok = client.get("/surveys/poll/export.csv?format=long&hash_phones=1", headers=AUTH)
    assert ok.status_code == 200 and ok.mimetype == "text/csv"
    body = ok.get_data(as_text=True)
    assert "Kai" in body and "+15550000012" not in body
    bad = client.get("/surveys/poll/export.csv?since=yesterday", headers=AUTH)
    assert bad.status_code == 400 and "ISO date" in bad.get_data(as_text=True)


def test_http_export_is_disabled_without_a_token(app, config):
    config["ADMIN_TOKEN"] = ""
    from web.factory import create_app

    client = create_app(config).test_client()
    response = client.get("/surveys/poll/export.csv", headers=AUTH)
    assert response.status_code == 404 and "disabled" in response.get_data(as_text=True)
