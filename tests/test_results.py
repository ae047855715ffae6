"""The studio's results: exact funnel figures for scripted respondents, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from conftest import survey_folder
from storage.models import SurveySession

# Branching (`next`) and `when` both skip questions: a funnel counted per
# question asked must not count those sessions against them.
FUNNEL = """\
id: funnel
title: Funnel
keywords: [FUNNEL]
max_retries: 1
questions:
  - id: color
    type: choice
    text: Which color?
    choices: [Red, Blue]
  - id: why
    type: text
    optional: true
    when: answers.color == "Blue"
    text: Why blue? (or SKIP)
  - id: size
    type: number
    min: 1
    max: 10
    text: Which size?
    next:
      - {if: answers.size > 9, goto: end, outcome: ineligible}
      - {if: answers.size > 5, goto: end}
  - id: ok
    type: yesno
    text: OK?
"""
RESPONDENTS = {  # phone: what the respondent sends, in order
    "+15550000001": ["FUNNEL", "1", "3", "yes"],  # completed, never asked why
    "+15550000002": ["FUNNEL", "2", "because"],  # stopped half way, at size
    "+15550000003": ["FUNNEL", "2", "STOP"],  # opted out at why
    "+15550000004": ["FUNNEL", "1", "RESTART"],  # abandoned at size, open again at color
    "+15550000005": ["FUNNEL", "1", "lots", "many", "yes"],  # size: re-prompted, then given up
    "+15550000006": ["FUNNEL", "2", "SKIP", "7"],  # skipped why, ended by size > 5
    "+15550000007": ["FUNNEL", "1", "BACK", "2", "x"],  # took Red back, answered Blue
}
FIELDS = ("asked", "answered", "skipped", "unanswered", "reprompts", "dropped", "waiting")
EXPECTED = {  # question: the figures in FIELDS' order
    "color": (8, 7, 0, 0, 0, 0, 1),
    "why": (4, 2, 1, 0, 0, 1, 0),
    "size": (6, 2, 0, 1, 1, 1, 2),
    "ok": (2, 2, 0, 0, 0, 0, 0),
}
AUTH = {"Authorization": "Bearer admin-secret-token"}
# A number without max, as a security tester found it: any size of number used to be stored.
SPEND = """\
id: spend
title: Spending
keywords: [SPEND]
questions:
  - {id: amount, type: number, min: 0, text: "How much did you spend, in dollars?"}
  - {id: ok, type: yesno, text: OK?}
"""


# The market example's shape: no text question at all.
NO_TEXT = """\
id: notext
keywords: [NOTEXT]
questions:
  - {id: stall, type: choice, text: Which stall?, choices: [Fruit, Fish]}
  - {id: visits, type: number, text: How many visits?}
  - {id: again, type: yesno, text: Again?}
"""


@pytest.fixture
def surveys_dir(tmp_path):
    """The funnel survey, one without a text question, and the spending one."""
    return survey_folder(tmp_path, funnel=FUNNEL, notext=NO_TEXT, spend=SPEND)


@pytest.fixture
def answered(sms):
    """Every scripted respondent has sent their messages."""
    for phone, replies in RESPONDENTS.items():
        for reply in replies:
            sms.send(phone, reply)


def results(client, survey: str = "funnel", **query) -> dict:
    """The results API's JSON for a survey, the funnel survey unless said."""
    address = f"/studio/api/surveys/{survey}/results"
    response = client.get(address, query_string=query, headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def figures(found: dict) -> dict[str, tuple[int, ...]]:
    """Each question's funnel figures, in FIELDS' order."""
    return {q["id"]: tuple(q[name] for name in FIELDS) for q in found["questions"]}


def test_funnel_figures_count_each_question_where_it_was_asked(client, answered):
    found = results(client)
    assert found["sessions"] == {
        "total": 8,
        "open": 3,
        "completed": 3,
        "opted_out": 1,
        "expired": 0,
        "abandoned": 1,
    }
    assert figures(found) == EXPECTED
    assert found["completion_rate"] == 0.6  # 3 completed of 5 no longer open


def test_answers_are_counted_in_the_surveys_order(client, answered):
    by_id = {q["id"]: q for q in results(client)["questions"]}
    assert list(by_id) == ["color", "why", "size", "ok"]
    assert list(by_id["color"]["counts"].items()) == [("Red", 3), ("Blue", 4)]
    assert list(by_id["ok"]["counts"].items()) == [("yes", 2), ("no", 0)]
    assert by_id["size"]["stats"] == {"n": 2, "min": 3, "max": 7, "mean": 5, "median": 5}
    assert [text for text, _ in by_id["why"]["latest"]] == ["x", "because"]


def test_a_survey_without_text_questions_counts_its_answers(client, sms):
    for phone, replies in {"+15550000011": ["1", "4", "yes"], "+15550000012": ["2", "2"]}.items():
        for reply in ["NOTEXT", *replies]:
            sms.send(phone, reply)
    response = client.get("/studio/api/surveys/notext/results", headers=AUTH)
    by_id = {q["id"]: q for q in response.get_json()["questions"]}
    assert by_id["stall"]["counts"] == {"Fruit": 1, "Fish": 1}
    assert by_id["visits"]["stats"] == {"n": 2, "min": 2, "max": 4, "mean": 3, "median": 3}
    assert by_id["again"]["counts"] == {"yes": 1, "no": 0}


@pytest.mark.parametrize(
    ("query", "total", "color_asked"),
    [
        ({"status": "completed"}, 3, 3),
        ({"status": "open"}, 3, 3),
        ({"status": "abandoned"}, 1, 1),
        ({"language": "en"}, 8, 8),
        ({"language": "es"}, 0, 0),
        ({"since": "2000-01-01", "until": "2999-12-31"}, 8, 8),
        ({"until": "2000-01-01"}, 0, 0),
    ],
)
def test_filters_pick_the_sessions_counted(client, answered, query, total, color_asked):
    found = results(client, **query)
    assert found["sessions"]["total"] == total
    assert figures(found)["color"][0] == color_asked


def test_an_idle_session_counts_as_expired_where_it_stopped(app, client, answered):
    engine = app.extensions["survey_service"].ready().engine
    with engine.begin() as conn:
        conn.execute(
            update(SurveySession)
            .where(SurveySession.phone == "+15550000002")
            .values(updated_at=datetime.now(UTC) - timedelta(days=2))
        )
    found = results(client)
    assert found["sessions"]["expired"] == 1 and found["sessions"]["open"] == 2
    size = figures(found)["size"]
    assert (size[5], size[6]) == (2, 1)  # dropped and waiting: one moved from one to the other


def test_a_session_on_the_try_page_is_left_out_unless_asked(app, client, answered):
    service = app.extensions["survey_service"]
    service.try_start("studio:abc", service.surveys.get("funnel"), "STtry1")
    assert results(client)["sessions"]["total"] == 8
    with_tests = results(client, include_tests="1")
    assert with_tests["sessions"]["total"] == 9
    assert figures(with_tests)["color"][0] == 9


def test_a_version_filter_keeps_that_versions_sessions(app, client, answered, surveys_dir):
    version = app.extensions["survey_service"].surveys.get("funnel").version
    assert results(client, version=version)["sessions"]["total"] == 8
    assert results(client, version="000000000000")["sessions"]["total"] == 0


def test_the_median_time_to_complete_is_over_completed_sessions(app, client, answered, sms):
    for reply in ("FUNNEL", "1", "10"):  # ineligible: an outcome ends it, never a completion
        sms.send("+15550000008", reply)
    engine = app.extensions["survey_service"].ready().engine
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    took = {"+15550000001": 60, "+15550000005": 125, "+15550000006": 300, "+15550000002": 9}
    took["+15550000008"] = 1
    with engine.begin() as conn:
        for phone, seconds in took.items():  # 2 is still open and 8 ineligible: not counted
            conn.execute(
                update(SurveySession)
                .where(SurveySession.phone == phone)
                .values(started_at=start, completed_at=start + timedelta(seconds=seconds))
            )
    assert results(client)["median_seconds_to_complete"] == 125


TOO_LONG = "Please reply with a number of at most 15 digits, like 42.\n\n"
ASKED = "How much did you spend, in dollars?"


@pytest.mark.parametrize("reply", ["1" + "0" * 309, "1" + "0" * 309 + ".5", "1000000000000000"])
def test_a_number_too_long_to_keep_is_asked_again_and_not_stored(client, sms, reply):
    assert sms.send("+15550000101", "SPEND") == ASKED
    assert sms.send("+15550000101", reply) == TOO_LONG + ASKED
    assert sms.send("+15550000101", "999,999,999,999,999") == "OK?"
    sms.send("+15550000101", "yes")
    amount = results(client, survey="spend")["questions"][0]
    assert (amount["answered"], amount["reprompts"]) == (1, 1)
    assert amount["stats"]["max"] == 999_999_999_999_999


STORED_BY_AN_OLDER_VERSION = ["10", "20", "1" + "0" * 309, "Infinity", "NaN"]
SET_ANSWER = """
UPDATE answer SET value = :value
WHERE question_id = 'amount' AND session_id = (SELECT id FROM survey_session WHERE phone = :phone)
"""
SET_ANSWERS = "UPDATE survey_session SET answers = :answers WHERE phone = :phone"


@pytest.fixture
def stored_by_an_older_version(app, sms):
    """Five completed sessions whose amounts an older version stored, as its JSON wrote
    them: 10, 20, 1 and 309 zeros, Infinity (from `1`, 309 zeros and `.5`), NaN."""
    engine = app.extensions["survey_service"].ready().engine
    for n, value in enumerate(STORED_BY_AN_OLDER_VERSION):
        phone = f"+1555000020{n}"
        for reply in ("SPEND", "10", "yes"):
            sms.send(phone, reply)
        with engine.begin() as conn:  # the answer's row and the session's answers both
            conn.execute(text(SET_ANSWER), {"value": value, "phone": phone})
            answers = f'{{"amount":{value},"ok":true}}'
            conn.execute(text(SET_ANSWERS), {"answers": answers, "phone": phone})


def test_stats_leave_out_a_stored_number_too_long_or_not_finite(client, stored_by_an_older_version):
    amount = results(client, survey="spend")["questions"][0]
    assert amount["answered"] == 5
    assert amount["stats"] == {"n": 2, "min": 10, "max": 20, "mean": 15, "median": 15}


def test_the_results_page_shows_a_survey_with_such_numbers(client, stored_by_an_older_version):
    from test_studio import sign_in  # here: test_studio imports this module

    assert sign_in(client).status_code == 302
    page = client.get("/studio/surveys/spend")
    assert page.status_code == 200
    assert "How much did you spend" in page.get_data(as_text=True)


def test_the_csv_keeps_a_long_number_and_leaves_infinity_empty(client, stored_by_an_older_version):
    response = client.get("/surveys/spend/export.csv", headers=AUTH)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["amount"] for row in rows] == ["10", "20", "1" + "0" * 309, "", ""]
