"""Export options (SPEC 5): labels, one column per multi choice, test sessions and their column."""

from __future__ import annotations

import re

import pytest
from test_export import AUTH, answer, cli_export, rows

from conftest import saved, survey_folder
from service import Inbound

SURVEY = """\
id: poll
title: Poll
keywords: [POLL]
questions:
  - id: fruit
    type: choice
    text: Which fruit?
    choices:
      - {label: Green apple, value: apple}
      - {label: Pear, value: pear}
  - id: picks
    type: multi
    text: Which colours?
    choices:
      - {label: Red, value: r}
      - {label: Green, value: g}
      - {label: Blue, value: b}
"""
# (CLI options, HTTP query) that ask for the same export
LABELS = (["--labels"], "labels=1")
MULTI = (["--multi", "columns"], "multi=columns")
TESTS = (["--include-tests"], "include_tests=1")


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the poll."""
    return survey_folder(tmp_path, poll=SURVEY)


@pytest.fixture
def answered(app, sms):
    """One respondent answered everything, another only the fruit; one test session."""
    answer(sms, "+15550000001", "1", "1 3")
    answer(sms, "+15550000002", "2")
    service = app.extensions["survey_service"]
    service.try_start("studio:0001", service.surveys.get("poll"), "STtest1")
    service.receive(Inbound(phone="studio:0001", body="2", sid="STtest2", test=True))


def export(app, client, way: str, options: tuple, fmt: str = "wide") -> list[dict]:
    """The export's rows, by the command line or over HTTP, with these options."""
    cli, query = ([], "") if options is None else options
    if way == "cli":
        return rows(cli_export(app, "--format", fmt, *cli))
    response = client.get(f"/surveys/poll/export.csv?format={fmt}&{query}", headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    return rows(response.get_data(as_text=True))


WAYS = ["cli", "http"]


@pytest.mark.parametrize("way", WAYS)
def test_values_by_default_labels_when_asked(app, client, answered, way):
    plain = export(app, client, way, None)
    assert [(r["fruit"], r["picks"]) for r in plain] == [("apple", "r;b"), ("pear", "")]
    labelled = export(app, client, way, LABELS)
    assert [(r["fruit"], r["picks"]) for r in labelled] == [
        ("Green apple", "Red;Blue"),
        ("Pear", ""),
    ]
    long = export(app, client, way, LABELS, fmt="long")
    assert [r["value"] for r in long] == ["Green apple", "Red;Blue", "Pear"]


@pytest.mark.parametrize("way", WAYS)
def test_multi_columns_hold_one_or_zero_and_empty_when_unanswered(app, client, answered, way):
    found = export(app, client, way, MULTI)
    assert list(found[0])[-4:] == ["fruit", "picks.r", "picks.g", "picks.b"]
    assert [(r["picks.r"], r["picks.g"], r["picks.b"]) for r in found] == [
        ("1", "0", "1"),
        ("", "", ""),
    ]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("fmt", ["wide", "long"])
def test_test_sessions_only_when_asked_with_a_test_column(app, client, answered, way, fmt):
    plain = export(app, client, way, None, fmt)
    assert "test" not in plain[0]
    assert not any(r["phone"].startswith("studio:") for r in plain)
    with_tests = export(app, client, way, TESTS, fmt)
    assert {r["phone"]: r["test"] for r in with_tests} == {
        "+15550000001": "0",
        "+15550000002": "0",
        "studio:0001": "1",
    }


def test_multi_columns_need_the_wide_format(app):
    result = app.test_cli_runner().invoke(
        args=["export", "poll", "--format", "long", "--multi", "columns"]
    )
    assert result.exit_code == 2 and "wide" in result.output


def test_a_bad_multi_option_over_http_is_a_400(client, answered):
    response = client.get("/surveys/poll/export.csv?multi=rows", headers=AUTH)
    assert response.status_code == 400 and "multi must be columns" in response.get_data(
        as_text=True
    )


@pytest.mark.sqlite_only  # refused before any SQL
def test_multi_columns_of_the_long_format_over_http_is_a_400(client, answered):
    response = client.get("/surveys/poll/export.csv?format=long&multi=columns", headers=AUTH)
    assert response.status_code == 400
    assert "multi=columns needs the wide format" in response.get_data(as_text=True)


def test_surveys_list_counts_test_sessions_only_when_asked(app, answered):
    runner = app.test_cli_runner()
    assert "sessions 2:" in runner.invoke(args=["surveys", "list"]).output
    assert "sessions 3:" in runner.invoke(args=["surveys", "list", "--include-tests"]).output


OTHER = """\
id: other
title: Other
keywords: [OTHER]
questions:
  - {id: city, type: text, text: Which city?}
"""


def hashed(app, client, way: str, survey: str, question: str, fmt: str) -> dict[str, str]:
    """{answer: hashed phone} for one question of a survey's export with hashed phones."""
    if way == "cli":
        args = ["export", survey, "--format", fmt, "--hash-phones"]
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
        text = result.stdout_bytes.decode()
    else:
        query = f"format={fmt}&hash_phones=1"
        response = client.get(f"/surveys/{survey}/export.csv?{query}", headers=AUTH)
        assert response.status_code == 200, response.get_data(as_text=True)
        text = response.get_data(as_text=True)
    if fmt == "long":
        return {r["value"]: r["phone"] for r in rows(text) if r["question_id"] == question}
    return {r[question]: r["phone"] for r in rows(text)}


@pytest.mark.parametrize("fmt", ["wide", "long"])
def test_a_number_hashes_alike_in_every_surveys_export(app, client, sms, surveys_dir, fmt):
    # SPEC 5: the same number hashes alike in every export and survey, so that
    # researchers can link one respondent's answers across surveys.
    saved(surveys_dir / "other.yaml", OTHER)
    answer(sms, "+15550000001", "1")  # a green apple
    answer(sms, "+15550000002", "2")  # a pear
    for phone, city in [("+15550000002", "Lyon"), ("+15550000001", "Oslo")]:
        sms.send(phone, "OTHER")
        sms.send(phone, city)
    apple, pear = (hashed(app, client, "cli", "other", "city", fmt)[c] for c in ("Oslo", "Lyon"))
    assert apple != pear and all(re.fullmatch(r"[0-9a-f]+", h) for h in (apple, pear))
    for way in WAYS:
        assert hashed(app, client, way, "poll", "fruit", fmt) == {"apple": apple, "pear": pear}
        assert hashed(app, client, way, "other", "city", fmt) == {"Oslo": apple, "Lyon": pear}


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("fmt", ["wide", "long"])
def test_labels_are_those_of_each_sessions_own_version(app, client, sms, surveys_dir, way, fmt):
    # SPEC 5: --labels writes the labels of the session's version, not the newest one's.
    answer(sms, "+15550000001", "1", "1 3")
    relabelled = SURVEY.replace("Green apple", "Granny Smith").replace("Blue", "Navy")
    saved(surveys_dir / "poll.yaml", relabelled)
    answer(sms, "+15550000002", "1", "1 3")
    found = export(app, client, way, LABELS, fmt)
    if fmt == "long":
        assert [r["value"] for r in found] == [
            "Green apple",
            "Red;Blue",
            "Granny Smith",
            "Red;Navy",
        ]
    else:
        assert [(r["fruit"], r["picks"]) for r in found] == [
            ("Green apple", "Red;Blue"),
            ("Granny Smith", "Red;Navy"),
        ]
    assert len({r["survey_version"] for r in found}) == 2
