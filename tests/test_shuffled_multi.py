"""A multi question with shuffled choices stores its picks in choice order (SPEC 1, 12)."""

from __future__ import annotations

import json
import textwrap

import pytest
from sqlalchemy import text

from conftest import survey_folder

SURVEY = textwrap.dedent(
    """\
    id: topics
    keywords: [TOPICS]
    questions:
      - id: topics
        type: multi
        text: Topics?
        shuffle_choices: true
        choices: [Parking, Restaurant, Shop]
    """
)
IN_ORDER = ["Parking", "Restaurant", "Shop"]


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the topics survey."""
    return survey_folder(tmp_path, topics=SURVEY)


def stored_picks(app, phone: str) -> list[str]:
    """The topics answer a number's latest session stored."""
    with app.extensions["survey_service"].engine.connect() as conn:
        row = conn.execute(
            text("SELECT answers FROM survey_session WHERE phone = :p ORDER BY id DESC LIMIT 1"),
            {"p": phone},
        ).one()
    return json.loads(row.answers)["topics"]


def test_picks_are_stored_in_choice_order_whatever_order_they_were_shown_in(app, sms):
    orders = set()
    for n in range(12):
        phone = f"+1555000{n:04d}"
        asked = sms.send(phone, "TOPICS")
        shown = [line.split(". ", 1)[1] for line in asked.splitlines() if line[:1].isdigit()]
        orders.add(tuple(shown))
        sms.send(phone, "3 1")  # the last and the first as shown
        picked = {shown[0], shown[2]}
        assert stored_picks(app, phone) == [c for c in IN_ORDER if c in picked], shown
    assert len(orders) > 1  # the choices were shuffled, or the test says nothing
