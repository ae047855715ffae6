"""Any ordinary word is a question id (SPEC 1): ids the engine or storage also use for
themselves are answered, confirmed, taken back with BACK and exported like any other."""

from __future__ import annotations

import csv
import io

import pytest

from bot.loader import SurveyError, load_survey
from conftest import survey_folder

AUTH = {"Authorization": "Bearer admin-secret-token"}  # the suite's ADMIN_TOKEN (conftest)
IDS = ["asked", "trail", "pending", "back", "confirm", "state", "stat", "lang", "orders"]
SURVEY = """\
id: words
title: Words
keywords: [WORDS]
outro: Done.
questions:
  - {id: asked, type: text, text: "Asked?"}
  - {id: trail, type: choice, text: "Trail?", choices: [Forest, Mountain]}
  - {id: pending, type: yesno, text: "Pending?"}
  - {id: back, type: text, text: "Back?"}
  - {id: confirm, type: number, text: "Confirm?"}
  - {id: state, type: text, text: "State?"}
  - {id: stat, type: text, text: "Status?"}
  - {id: lang, type: text, text: "Language?"}
  - {id: orders, type: multi, text: "Orders?", choices: [Soup, Salad]}
"""
PHONE = "+15550180001"


@pytest.fixture
def surveys_dir(tmp_path):
    """A folder with the one survey of reserved-looking ids."""
    return survey_folder(tmp_path, words=SURVEY)


def export(client, fmt: str) -> list[list[str]]:
    """The survey's export as rows of cells, the head first."""
    response = client.get(f"/surveys/words/export.csv?format={fmt}", headers=AUTH)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_reserved_looking_ids_are_answered_gone_back_over_and_exported(sms, client):
    steps = [
        ("WORDS", "Asked?"),
        ("first", "Trail?\n1. Forest\n2. Mountain"),
        ("back", "Asked?"),  # BACK over `asked`: its answer taken back
        ("again", "Trail?\n1. Forest\n2. Mountain"),
        ("Mountian", 'Did you mean "Mountain"? Reply YES or NO.'),
        ("yes", "Pending?"),
        ("no", "Back?"),
        ("forward", "Confirm?"),
        ("back", "Back?"),  # BACK while at `confirm`: `back` is asked again
        ("ahead", "Confirm?"),
        ("7", "State?"),
        ("open", "Status?"),
        ("paused", "Language?"),
        ("es", "Orders?\n1. Soup\n2. Salad"),
        ("1 2", "Done."),
    ]
    for text, reply in steps:
        assert sms.send(PHONE, text) == reply, text
    head, row = export(client, "wide")
    session = dict(zip(head[: -len(IDS)], row[: -len(IDS)], strict=True))
    assert session["status"] == "completed" and session["language"] == "en"
    assert head[-len(IDS) :] == IDS  # one column per question, after the session's own
    answers = ["again", "Mountain", "no", "ahead", "7", "open", "paused", "es", "Soup;Salad"]
    assert row[-len(IDS) :] == answers
    head, *rows = export(client, "long")
    long = {cells[head.index("question_id")]: cells[head.index("value")] for cells in rows}
    assert [long[qid] for qid in IDS] == answers


@pytest.mark.parametrize("qid", ["phone", "status", "language", "arm", "order", "attempts", "test"])
def test_an_id_that_is_a_column_of_the_export_is_refused_at_its_line(qid):
    first = '  - {id: q, type: text, text: "Q?"}\n'
    text = f'questions:\n{first}  - {{id: {qid}, type: text, text: "A?"}}\n'
    with pytest.raises(SurveyError) as caught:
        load_survey(text.encode(), "s.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f's.yaml:3: question id "{qid}" is a column of the export already; '
        f'choose another, such as "{qid}_answer"'
    ]
