"""What each message costs: segments, Smart Encoding, worst cases, and the check report."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from bot.catalog import read_survey
from bot.cost import (
    as_json,
    culprits,
    format_costs,
    measure,
    over_limit,
    refused,
    smart_encode,
    survey_cost,
    survey_messages,
)
from bot.loader import Problem, load_survey

SURVEYS = Path(__file__).resolve().parent.parent / "surveys"

# 3GPP TS 23.038, table 6.2.1 (default alphabet) read row by row, without the escape
# (0x1B), and table 6.2.1.1 (its extension: form feed and ^{}\[~]|€).
GSM_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
CYRILLIC = "ж"  # one UTF-16 unit, not in GSM-7
EMOJI = "🙂"  # a surrogate pair in UTF-16


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),
        ("a" * 159 + "€", "GSM-7", 161, 2),
        # the € does not fit in the first segment's last septet: it moves whole
        ("a" * 152 + "€" + "a" * 9, "GSM-7", 163, 2),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("a" * 153 + "€" + "a" * 151, "GSM-7", 306, 2),
        (CYRILLIC * 70, "UCS-2", 70, 1),
        (CYRILLIC * 71, "UCS-2", 71, 2),
        (CYRILLIC * 134, "UCS-2", 134, 2),
        (CYRILLIC * 135, "UCS-2", 135, 3),
        ("a" * 69 + EMOJI, "UCS-2", 71, 2),
        ("a" * 68 + EMOJI, "UCS-2", 70, 1),
        # the emoji's two halves stay together in the second segment
        (CYRILLIC * 66 + EMOJI + CYRILLIC * 66, "UCS-2", 134, 3),
        (CYRILLIC * 67 + EMOJI + CYRILLIC * 65, "UCS-2", 134, 2),
        ("a" * 159 + CYRILLIC, "UCS-2", 160, 3),
        ("ç", "UCS-2", 1, 1),  # only the capital Ç is in the alphabet
        ("`", "UCS-2", 1, 1),
        ("\x1b", "UCS-2", 1, 1),  # the escape announces an extension, it is no character
    ],
)
def test_segments(text, encoding, units, segments):
    assert tuple(measure(text)) == (encoding, units, segments)


def test_the_default_alphabet_takes_one_septet_each():
    assert len(GSM_ALPHABET) == 127
    assert tuple(measure(GSM_ALPHABET)) == ("GSM-7", 127, 1)


@pytest.mark.parametrize("char", GSM_EXTENSION)
def test_an_extension_character_takes_two_septets(char):
    assert tuple(measure(char)) == ("GSM-7", 2, 1)


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("It’s ‘fine’", "It's 'fine'"),
        ("“Hello” «there»", '"Hello" "there"'),
        ("9–5 — daily", "9-5 - daily"),
        ("Wait…", "Wait..."),
        ("a\u00a0b\u2009c\u3000d", "a b c d"),
        ("zero\u200bwidth", "zerowidth"),
        ("１２ＡＢ", "12AB"),
        ("½ price‼", "1/2 price!!"),
        ("Café 🙂", "Café 🙂"),  # é is GSM-7; an emoji has no replacement
    ],
)
def test_smart_encoding(text, sent):
    assert smart_encode(text) == sent


def test_smart_encoding_makes_typography_gsm7():
    assert measure("“Don’t wait” — reply…").encoding == "UCS-2"
    assert measure(smart_encode("“Don’t wait” — reply…")).encoding == "GSM-7"


def test_culprits_name_each_character_once_with_its_replacement():
    assert culprits("It’s 🙂 and it’s done—ok") == [("’", "'"), ("🙂", None), ("—", "-")]
    assert culprits("plain {text} €") == []


def load(source: str, name: str = "s.yaml"):
    """A survey from YAML text."""
    return load_survey(textwrap.dedent(source).encode(), name)


def message(messages, what):
    """The one message called `what`."""
    [found] = [m for m in messages if m.what == what]
    return found


def example(name: str):
    """One of the example surveys."""
    return read_survey(str(SURVEYS / f"{name}.yaml"))


def test_the_intro_and_first_question_are_one_message():
    clinic = survey_messages(example("clinic-follow-up"))
    intro = (
        "Hello from Riverside Clinic. A few questions about your recent appointment help us"
        " look after you. Reply STOP to opt out."
    )
    question = "On what date was your appointment? For example 27/11 or yesterday."
    first = message(clinic, "question appointment_date")
    assert first.text == f"{intro}\n\n{question}"
    assert (first.encoding, first.units, first.segments) == ("GSM-7", 189, 2)
    assert message(clinic, "question on_time").segments == 1
    assert not first.worst_case


def test_a_piped_answer_is_counted_at_its_longest():
    feedback = survey_messages(example("visit-feedback"))
    asked = message(feedback, "question satisfaction")
    name = "x" * 40  # max_length: 40
    choices = "1. Very satisfied\n2. Satisfied\n3. Not satisfied"
    assert asked.text == f"How satisfied were you, {name}?\n{choices}"
    assert (asked.units, asked.segments, asked.worst_case) == (113, 1, True)
    assert asked.line == 17


def test_a_piped_text_answer_warns_with_its_cost_in_ucs2():
    report = survey_cost(example("visit-feedback"))
    [warning] = [w for w in report.warnings if w.line == 17]
    # help + question: 235 characters, 2 segments in GSM-7, 4 in UCS-2 (67 per segment)
    assert "answer to name" in warning.message
    assert "4 segments (235 UTF-16 units) for help satisfaction instead of 2" in warning.message


@pytest.mark.parametrize(
    ("question", "shown"),
    [
        ("{type: text, text: a}", "x" * 100),
        ("{type: text, max_length: 5, text: a}", "xxxxx"),
        ("{type: choice, choices: [Tea, Hot chocolate, Juice], text: a}", "Hot chocolate"),
        ("{type: multi, choices: [Tea, Coffee, Juice], text: a}", "Tea, Coffee and Juice"),
        ("{type: multi, choices: [Tea, Coffee], text: a}", "Tea and Coffee"),
        ("{type: yesno, text: a}", "Yes"),
        ("{type: number, min: -1000, max: 10, text: a}", "-1000"),
        ("{type: number, min: 0, max: 2.5, text: a}", "2.5"),
        ("{type: number, text: a}", "9" * 15),
        ("{type: scale, min: 0, max: 10, text: a}", "10"),
        ("{type: date, text: a}", "31 Dec 2026"),
    ],
)
def test_each_answer_stands_in_at_its_longest(question, shown):
    survey = load(
        f"""
        outro: "You said [{{{{ answers.q }}}}]"
        questions:
          - {{id: q, {question[1:]}
        """
    )
    assert message(survey_messages(survey), "outro").text == f"You said [{shown}]"


def test_templates_compare_stand_ins_as_stored_values():
    survey = load(
        """
        outro: >-
          {% if answers.pain < 4 and answers.ok == true %}Glad to hear it.{% endif %}
          {{ answers.drinks | join("+") }} {{ answers.drink | upper }}
        questions:
          - {id: pain, type: scale, min: 0, max: 10, text: "Pain?"}
          - {id: ok, type: yesno, text: "OK?"}
          - {id: drinks, type: multi, choices: [{label: Hot tea, value: tea}, Juice], text: Which}
          - {id: drink, type: choice, choices: [{label: Hot tea, value: tea}, Juice], text: One}
        """
    )
    # comparisons and filters see stored values; the stand-ins never break the template
    assert message(survey_messages(survey), "outro").text == "tea+Juice TEA"


def test_the_longer_branch_counts_whether_or_not_an_answer_is_there():
    survey = load(
        """
        outro: "Bye.{% if not answers.ok %} Sorry we could not help today.{% endif %}"
        questions:
          - {id: ok, type: yesno, text: "Did we help?"}
        """
    )
    outro = message(survey_messages(survey), "outro")
    assert outro.text == "Bye. Sorry we could not help today."
    assert outro.worst_case


def test_each_distinct_reason_is_a_re_prompt():
    messages = survey_messages(example("visit-feedback"))
    reasons = [m.text.split("\n\n")[0] for m in messages if m.what == "re-prompt visits"]
    assert reasons == [
        "Please reply with a whole number from 1 to 365.",
        "Please reply with just one whole number from 1 to 365.",
        "This question needs an answer.",
        "Please reply with text.",
    ]
    improve = [m.text.split("\n\n")[0] for m in messages if m.what == "re-prompt improve"]
    assert improve == ["Please reply with text."]  # optional: SKIP is an answer


def test_an_authors_error_replaces_the_default_reasons():
    messages = survey_messages(example("clinic-follow-up"))
    reasons = [m.text.split("\n\n")[0] for m in messages if m.what == "re-prompt pain"]
    assert reasons == [
        "Please reply with one whole number from 0 to 10, for example 3.",
        "Please reply with text.",
    ]


def test_every_kind_of_message_is_listed():
    messages = survey_messages(example("clinic-follow-up"))
    whats = {m.what for m in messages}
    assert {"question callback", "move on callback", "help callback", "reminder callback"} <= whats
    assert {"outro", "move on outro"} <= whats
    assert "move on appointment_date" not in whats  # nothing comes before the first question
    reminder = message(messages, "reminder on_time")
    assert reminder.text == (
        "Riverside Clinic here. You have not finished our follow-up questions.\n\n"
        "Were you seen within 15 minutes of your appointment time?"
    )
    assert message(messages, "move on callback").text.startswith("Let's move on.\n\nWould you")


def test_a_question_that_may_come_first_gets_the_intro():
    survey = load(
        """
        intro: Hi!
        questions:
          - {id: a, type: yesno, when: "survey.id == 'x'", text: "A?"}
          - {id: b, type: yesno, text: "B?"}
          - {id: c, type: yesno, text: "C?"}
        """
    )
    messages = survey_messages(survey)
    assert message(messages, "question b").text == "Hi!\n\nB?"
    assert message(messages, "question c").text == "C?"


def test_a_message_over_twilios_limit_is_found():
    survey = load(f"questions:\n  - {{id: q, type: text, text: {'a' * 1600}}}\n")
    over = {m.what for m in over_limit(survey_messages(survey))}
    assert "question q" not in over  # exactly 1,600 characters is allowed
    assert {"help q", "re-prompt q"} <= over


def test_an_authors_character_in_ucs2_is_named_with_its_line_and_replacement():
    survey = load(
        """
        intro: "Hi — quick poll."
        questions:
          - id: q
            type: yesno
            text: Don’t you love it? 🙂
        """
    )
    report = survey_cost(survey)
    assert message(report.messages, "question q").encoding == "UCS-2"
    assert [(w.line, w.message) for w in report.warnings] == [
        (
            2,
            '"—" (U+2014) sends 1 message in UCS-2, such as question q (1 segment); '
            'write "-" for "—", or set smart_encoding: true',
        ),
        (
            6,
            '"’" (U+2019), "🙂" (U+1F642) send 6 messages in UCS-2, such as help q (2 segments); '
            'write "\'" for "’", or set smart_encoding: true; "🙂" has no GSM-7 replacement',
        ),
    ]


def test_smart_encoding_counts_after_the_replacements():
    survey = load(
        """
        intro: "Hi — quick poll…"
        questions:
          - {id: q, type: yesno, text: "Don’t you love it?"}
        """
    )
    asked = message(survey_messages(survey, smart_encoding=True), "question q")
    assert asked.text == "Hi - quick poll...\n\nDon't you love it?"
    assert asked.encoding == "GSM-7"
    assert survey_cost(survey, smart_encoding=True).warnings == []


def test_the_json_document():
    report = survey_cost(example("visit-feedback"), languages=("en", "es"))
    broken = refused("surveys/bad.yaml", [Problem("surveys/bad.yaml", 3, "unknown key")])
    document = json.loads(json.dumps(as_json([report, broken])))
    first, second = document["surveys"]
    assert set(first) == {"id", "file", "served", "errors", "warnings", "messages"}
    assert (first["id"], first["served"], first["errors"]) == ("visit-feedback", True, [])
    assert first["file"].endswith("surveys/visit-feedback.yaml")
    assert first["warnings"][0].keys() == {"line", "message"}
    asked = next(m for m in first["messages"] if m["what"] == "question satisfaction")
    assert asked == {
        "what": "question satisfaction",
        "language": "en",
        "line": 17,
        "text": asked["text"],
        "encoding": "GSM-7",
        "units": 113,
        "segments": 1,
        "worst_case": True,
    }
    assert {m["language"] for m in first["messages"]} == {"en", "es"}
    assert second == {
        "id": "",
        "file": "surveys/bad.yaml",
        "served": False,
        "errors": [{"line": 3, "message": "unknown key"}],
        "warnings": [],
        "messages": [],
    }


def test_the_cost_table():
    report = survey_cost(example("visit-feedback"))
    table = format_costs([report]).splitlines()
    assert table[0].startswith("visit-feedback (")
    assert table[0].endswith(
        "[en]: 57 messages, all GSM-7; costliest: help satisfaction, 2 segments (235 septets)"
    )
    head = ["ask", "re-prompt", "confirm", "move", "on", "help", "reminder"]
    assert table[1].split() == head
    rows = {line.split()[0]: line.split()[1:] for line in table[2:11]}
    assert rows["name"] == ["1", "1", "-", "-", "1", "1"]
    assert rows["satisfaction"] == ["1*", "1*", "1", "1*", "2*", "1*"]
    assert rows["outro"] == ["1*", "-", "-", "1*", "-", "-"]
    assert any("print the answer to name" in line for line in table)
    assert table[-1].startswith("segments per message; u: UCS-2; *: worst case")


def test_the_cost_table_marks_ucs2_and_lists_refused_files():
    survey = load('questions:\n  - {id: q, type: yesno, text: "Ça va? 🙂"}\n', "fr.yaml")
    broken = refused("bad.yaml", [Problem("bad.yaml", 3, "unknown key")])
    table = format_costs([survey_cost(survey), broken]).splitlines()
    assert "1 in UCS-2" not in table[0] and "in UCS-2" in table[0]
    assert table[2].split()[:2] == ["q", "1u"]
    assert "bad.yaml (bad.yaml): not served" in table
    assert "  bad.yaml:3: unknown key" in table


SMART = """\
id: smart
keywords: [SMART]
smart_encoding: true
questions:
  - id: name
    type: text
    text: What’s your name — first name only…
  - id: ok
    type: yesno
    text: “{{ answers.name }}”, is that right?
"""


def test_smart_encoding_sends_and_counts_gsm7_look_alikes(tmp_path):
    survey = load_survey(SMART.encode(), "smart.yaml")
    assert survey.smart_encoding
    report = survey_cost(survey, languages=survey.languages, smart_encoding=survey.smart_encoding)
    first = next(m for m in report.messages if m.what == "question name")
    assert first.encoding == "GSM-7" and "What's your name - first name only..." in first.text
    plain = survey_cost(survey, languages=survey.languages, smart_encoding=False)
    assert next(m for m in plain.messages if m.what == "question name").encoding == "UCS-2"
