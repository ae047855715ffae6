"""Filters at the ends of the calendar: 0001-01-01 and 9999-12-31 are dates like any other."""

from __future__ import annotations

import pytest
from test_export import AUTH, SURVEY, answer, cli_export, rows

from conftest import survey_folder

WIDEST = "since=0001-01-01&until=9999-12-31"


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the poll of test_export."""
    return survey_folder(tmp_path, poll=SURVEY)


@pytest.fixture
def answered(sms):
    """One respondent answered the poll."""
    answer(sms, "+15550000001", "Ana", "1,000", "1 and 3", "yes")


def test_the_csv_export_to_the_last_day_has_every_session(client, answered):
    response = client.get(f"/surveys/poll/export.csv?{WIDEST}", headers=AUTH)
    assert response.status_code == 200
    assert [row["phone"] for row in rows(response.get_data(as_text=True))] == ["+15550000001"]


@pytest.mark.parametrize("extension", ["sav", "dta", "zip", "md"])
def test_the_research_exports_to_the_last_day_answer(client, answered, extension):
    response = client.get(f"/surveys/poll/export.{extension}?{WIDEST}", headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("page", ["results", "outcomes"])
def test_the_studio_figures_to_the_last_day_count_the_session(client, answered, page):
    response = client.get(f"/studio/api/surveys/poll/{page}?{WIDEST}", headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    found = response.get_json()
    total = found["sessions"]["total"] if page == "results" else found["walk_ins"]
    assert total == 1


def test_the_commands_to_the_last_day_count_the_session(app, answered):
    assert len(rows(cli_export(app, "--since", "0001-01-01", "--until", "9999-12-31"))) == 1
    result = app.test_cli_runner().invoke(
        args=["surveys", "outcomes", "poll", "--json", "--until", "9999-12-31"]
    )
    assert result.exit_code == 0, result.output
    assert '"walk_ins": 1' in result.output
