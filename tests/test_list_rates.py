"""`flask surveys list` gives the studio's completion rate: an outcome's ending is no completion."""

from __future__ import annotations

import textwrap

import pytest

from conftest import survey_folder

SCREENED = textwrap.dedent(
    """\
    id: screened
    keywords: [SCREEN]
    questions:
      - id: adult
        type: yesno
        text: Are you 18 or over?
        next:
          - {if: "not answers.adult", goto: end, outcome: ineligible}
      - {id: why, type: text, text: Why did you come?}
    """
)


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the screened survey."""
    return survey_folder(tmp_path, screened=SCREENED)


def test_a_session_an_outcome_ended_is_not_a_completion(app, sms):
    for phone, replies in {"+15550000001": ["yes", "the park"], "+15550000002": ["no"]}.items():
        for reply in ["SCREEN", *replies]:
            sms.send(phone, reply)
    listed = app.test_cli_runner().invoke(args=["surveys", "list"]).output
    assert "completed 2," in listed  # both ended, as SPEC 11 keeps the status
    assert "| completion 50%" in listed  # the ineligible one is no completion
    studio = app.extensions["survey_service"]
    assert studio.summary(studio.surveys.get("screened")).completion_rate == 0.5
