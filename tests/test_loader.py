"""Reading and checking one survey file."""

import hashlib
from datetime import timedelta
from textwrap import dedent, indent

import pytest

from bot.loader import Problem, SurveyError, load_survey

MINIMAL = """\
questions:
  - id: name
    type: text
    text: Your name?
"""


def load(text: str, path: str = "example.yaml"):
    """Load a survey from YAML text."""
    return load_survey(dedent(text).encode(), path)


def problems(text: str) -> list[Problem]:
    """The problems of a survey that must not load."""
    with pytest.raises(SurveyError) as caught:
        load(text)
    return caught.value.problems


def test_minimal_survey_gets_defaults():
    survey = load(MINIMAL, "surveys/my-poll.yml")
    assert survey.id == "my-poll"
    assert survey.path == "surveys/my-poll.yml"
    assert survey.max_retries == 2
    assert survey.expire_after == timedelta(hours=24)
    assert (survey.date_order, survey.timezone, survey.default) == ("MDY", "UTC", False)
    assert survey.questions[0].text.source == "Your name?"
    assert survey.questions[0].line == 2


def test_all_settings_are_read():
    survey = load(
        """\
        id: poll
        title: A poll
        keywords: [poll, Vote2]
        default: true
        intro: Hi
        outro: Bye {{ answers.name }}
        reminder: Still there?
        max_retries: 0
        expire_after: 1h30m
        date_order: dmy
        timezone: Europe/London
        questions:
          - id: name
            type: text
            text: Name?
        """
    )
    assert survey.keywords == ("POLL", "VOTE2")
    assert survey.default is True
    assert survey.intro.source == "Hi" and survey.reminder.source == "Still there?"
    assert survey.max_retries == 0
    assert survey.expire_after == timedelta(minutes=90)
    assert (survey.date_order, survey.timezone) == ("DMY", "Europe/London")


def test_question_keys_are_read():
    survey = load(
        """\
        questions:
          - id: pick
            type: Choice
            text: Pick one
            choices:
              - Red
              - {label: Dark blue, value: blue, aliases: [navy, 7]}
            next:
              - {if: answers.pick == "blue", goto: end}
          - id: many
            type: multi
            text: Pick some
            choices: [a, b, c]
          - id: count
            type: number
            integer: true
            min: -1.5
            max: 10
            optional: true
            when: answers.pick == "Red"
            error: Just a number, please.
            text: How many?
        """
    )
    pick, many, count = survey.questions
    assert pick.type == "choice"
    assert [(c.label, c.value, c.aliases) for c in pick.choices] == [
        ("Red", "Red", ()),
        ("Dark blue", "blue", ("navy", "7")),
    ]
    assert pick.next[0].goto == "end"
    assert pick.next[0].condition.is_true({"answers": {"pick": "blue"}})
    assert (many.min, many.max) == (1, 3)
    assert (count.min, count.max, count.integer, count.optional) == (-1.5, 10, True, True)
    assert count.error.source == "Just a number, please."
    assert not count.when.is_true({"answers": {}})


def test_yaml_1_2_scalars():
    survey = load(
        """\
        title: no
        questions:
          - id: ok
            type: choice
            text: OK?
            choices: [Yes, No, on, off, y, 12:30, 2026-11-27, 1_000]
          - id: n
            type: number
            min: 017
            max: 0x1F
            text: n?
        """
    )
    assert survey.title == "no"
    labels = [c.label for c in survey.questions[0].choices]
    assert labels == ["Yes", "No", "on", "off", "y", "12:30", "2026-11-27", "1_000"]
    assert (survey.questions[1].min, survey.questions[1].max) == (17, 31)


def test_version_is_the_hash_of_the_bytes():
    data = MINIMAL.encode()
    survey = load_survey(data, "a.yaml")
    assert survey.version == hashlib.sha256(data).hexdigest()[:12]
    assert survey.source == MINIMAL
    assert load_survey(data, "a.yaml").version == survey.version
    assert load_survey(data + b"# edited\n", "a.yaml").version != survey.version


def test_a_broken_file_reports_every_problem_at_once():
    found = problems(
        """\
        titel: Broken
        keywords: [STOP, hello, hello]
        default: yes
        max_retries: two
        questions:
          - id: Name
            type: radio
            text: Hi {{ answers.name }
          - id: q1
            type: scale
            text: rate
          - id: q1
            type: yesno
            text: ok?
            next:
              - {if: answers.q1, goto: q1}
        """
    )
    assert [(p.line, p.path) for p in found] == [
        (n, "example.yaml") for n in (1, 2, 2, 3, 4, 6, 7, 8, 10, 12, 16)
    ]
    assert str(found[0]) == 'example.yaml:1: unknown key "titel" (did you mean "title"?)'


def survey_with(question: str) -> str:
    """A survey whose second question, from line 5, is `question`."""
    return MINIMAL + indent(dedent(question), "  ")


BROKEN_SURVEYS = [
    # (yaml, line, part of the message)
    ("titel: x\n" + MINIMAL, 1, 'unknown key "titel" (did you mean "title"?)'),
    ("title: x\n", 1, 'missing the required key "questions"'),
    ("questions: []\n", 1, "questions is empty"),
    ("- id: a\n", 1, "must be a set of survey keys"),
    ("title: [x\n", 2, "not valid YAML"),
    ("questions:\n\t- id: x\n", 2, "indent with spaces, not tabs"),
    ("title: a: b\n" + MINIMAL, 1, 'a text containing ": " must be put in quotes'),
    ("title: a\ntitle: b\n" + MINIMAL, 2, '"title" is set twice (first on line 1)'),
    ("max_retries: two\n" + MINIMAL, 1, "max_retries must be a whole number"),
    ("max_retries: -1\n" + MINIMAL, 1, "max_retries must be 0 or more"),
    ("default: yes\n" + MINIMAL, 1, "default must be true or false"),
    ("expire_after: 3 weeks\n" + MINIMAL, 1, "expire_after must be a duration like 30m"),
    ("date_order: YMD\n" + MINIMAL, 1, "date_order must be MDY"),
    ("timezone: Mars/Olympus\n" + MINIMAL, 1, 'unknown timezone "Mars/Olympus"'),
    ("timezone: europe/london\n" + MINIMAL, 1, 'did you mean "Europe/London"'),
    ("keywords: [stop]\n" + MINIMAL, 1, 'keyword "STOP" is a command word'),
    ("keywords: [Help]\n" + MINIMAL, 1, 'keyword "HELP" is a command word'),
    ("keywords:\n  - Poll\n  - POLL\n" + MINIMAL, 3, 'keyword "POLL" is listed twice (first on'),
    ("keywords: [two words]\n" + MINIMAL, 1, "must be one word of letters and digits"),
    ("keywords: [2024]\n" + MINIMAL, 1, 'keyword "2024" needs a letter'),
    ("intro: Hi {{ name }\n" + MINIMAL, 1, "intro template does not parse"),
    ("outro: Bye {{ answers.nam }}\n" + MINIMAL, 1, 'no question "nam" (did you mean "name"?)'),
    (survey_with("- id: x\n  type: text\n  text: Hi {{ answers.name }\n"), 7, "text template does"),
    (
        survey_with("- id: x\n  type: text\n  text: |\n    Hi\n    {% if x %}\n"),
        9,
        "{% if %} is never",
    ),
    (
        survey_with("- id: x\n  type: text\n  text: '{% endif %}'\n"),
        7,
        "{% endif %} has no matching",
    ),
    (
        survey_with("- id: x\n  type: text\n  text: {{ answers.name }}\n"),
        7,
        "must be put in quotes",
    ),
    (survey_with("- id: x\n  type: text\n  text: x\n  when: answers.x = 1\n"), 8, "use =="),
    (
        survey_with("- id: x\n  type: text\n  text: x\n  error: '{{'\n"),
        8,
        "error template does not",
    ),
    (survey_with("- id: x\n  type: text\n  text: x\n  optional: no\n"), 8, "optional must be true"),
    (
        survey_with("- {id: x, type: yesno, text: x, next: [{if: x and, goto: end}]}"),
        5,
        "does not parse",
    ),
    (
        survey_with(
            "- id: x\n  type: choice\n  text: x\n  choices:\n  - {label: A, aliases: [b]}\n  - B"
        ),
        10,
        'choices 1 and 2 both use "B"',
    ),
]

BROKEN_QUESTIONS = [
    # (the fields of a question on line 5, part of the message)
    ("id: x, type: text", 'question "x" is missing the required key "text"'),
    ("type: text, text: x", 'missing the required key "id"'),
    ("id: x, text: x", 'missing the required key "type"'),
    ("id: x, type: radio, text: x", 'unknown question type "radio"'),
    ("id: x, type: mult, text: x", 'did you mean "multi"'),
    ("id: x, typ: text, text: x", 'unknown key "typ" (did you mean "type"?)'),
    ("id: Age, type: text, text: x", 'question id "Age" must start with a lower-case letter'),
    ("id: 2nd, type: text, text: x", 'question id "2nd" must start'),
    ("id: items, type: text, text: x", 'question id "items" is a reserved word'),
    ("id: values, type: text, text: x", 'question id "values" is a reserved word'),
    ("id: end, type: text, text: x", 'question id "end" is a reserved word'),
    ("id: name, type: text, text: x", 'question id "name" is used twice (first on line 2)'),
    ("id: x, type: choice, text: x", 'needs "choices"'),
    ("id: x, type: multi, text: x, choices: []", "choices is empty"),
    ("id: x, type: choice, text: x, choices: [a, A]", 'choices 1 and 2 both use "A"'),
    ("id: x, type: choice, text: x, choices: [{value: a}]", 'missing the required key "label"'),
    ("id: x, type: text, text: x, choices: [a]", "choices is only used by choice and multi"),
    ("id: x, type: scale, text: x, min: 1", "a scale needs both min and max (add max)"),
    ("id: x, type: scale, text: x", "a scale needs both min and max (add min and max)"),
    ("id: x, type: scale, text: x, min: 1, max: 5.5", "max must be a whole number"),
    ("id: x, type: number, text: x, min: 9, max: 1", "min (9) is larger than max (1)"),
    ("id: x, type: number, text: x, min: ten", "min must be a number"),
    (
        "id: x, type: number, text: x, max: 1e20",
        "max (1e+20) is more than a reply may be: at most 15 digits before the point, "
        "up to 999,999,999,999,999",
    ),
    ("id: x, type: number, text: x, min: -1000000000000000", "min (-1000000000000000) is more"),
    ("id: x, type: number, text: x, max: .inf", "max (inf) is more than a reply may be"),
    ("id: x, type: scale, text: x, min: 0, max: 10000000000000000", "max (10000000000000000) is"),
    ("id: x, type: scale, text: x, min: 1, max: 5, integer: true", "integer is only used by"),
    ("id: x, type: number, text: x, integer: 1", "integer must be true or false"),
    ("id: x, type: yesno, text: x, max_length: 5", "max_length is only used by text"),
    ("id: x, type: text, text: x, max_length: 0", "max_length must be 1 or more"),
    ("id: x, type: multi, text: x, choices: [a, b], max: 3", "max (3) is more than the number"),
    (
        "id: x, type: yesno, text: x, next: [{if: true, goto: nope}]",
        'goto "nope" is not a question',
    ),
    ("id: x, type: yesno, text: x, next: [{if: true, goto: name}]", "an earlier question (line 2)"),
    ("id: x, type: yesno, text: x, next: [{if: true, goto: x}]", "leads to this same question"),
    ("id: x, type: yesno, text: x, next: [{goto: end}]", 'this next entry is missing "if"'),
    ("id: x, type: yesno, text: x, next: [{if: true}]", 'this next entry is missing "goto"'),
    ("id: x, type: yesno, text: x, next: end", "next must be a list"),
]


@pytest.mark.parametrize(("text", "line", "message"), BROKEN_SURVEYS)
def test_broken_survey_is_refused_with_line_and_reason(text, line, message):
    found = problems(text)
    assert any(p.line == line and message in p.message for p in found), found


@pytest.mark.parametrize(("fields", "message"), BROKEN_QUESTIONS)
def test_broken_question_is_refused_with_line_and_reason(fields, message):
    found = problems(survey_with(f"- {{{fields}}}\n"))
    assert any(p.line == 5 and message in p.message for p in found), found


@pytest.mark.parametrize(
    ("data", "line"),
    [(b"title: caf\xe9\n", 1), (b"questions:\n  - id: \xff\n", 2), (b"title: a\x00b\n", 1)],
)
def test_bytes_that_are_not_text_are_one_problem(data, line):
    with pytest.raises(SurveyError) as caught:
        load_survey(data, "x.yaml")
    assert [p.line for p in caught.value.problems] == [line]


def test_empty_file_is_a_problem():
    assert [str(p) for p in problems("")] == [
        "example.yaml:1: the file is empty; a survey needs at least questions:"
    ]


def test_file_name_that_cannot_be_an_id_needs_an_id():
    with pytest.raises(SurveyError, match="rename the file or set id:"):
        load_survey(MINIMAL.encode(), "surveys/my survey.yaml")
    assert load_survey(("id: mine\n" + MINIMAL).encode(), "surveys/my survey.yaml").id == "mine"


def test_stored_source_rebuilds_the_same_version():
    for data in (MINIMAL.encode(), b"\xef\xbb\xbf" + MINIMAL.encode(), MINIMAL.encode() + b"\r\n"):
        survey = load_survey(data, "a.yaml")
        assert load_survey(survey.source.encode(), "a.yaml").version == survey.version


@pytest.mark.parametrize(
    ("line", "window"),
    [
        ("", "08:00-21:00"),  # the default: US rules, 8 a.m. to 9 p.m. where they live
        ('send_window: "09:30-17:00"\n', "09:30-17:00"),
        ("send_window: 9:00 - 20:00\n", "09:00-20:00"),
        ('send_window: "00:00-24:00"\n', "00:00-24:00"),
    ],
)
def test_send_window_is_read(line, window):
    assert str(load(line + MINIMAL).send_window) == window


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("8am-9pm", 'send_window must be two times like "08:00-21:00"'),
        ('"08:00"', 'send_window must be two times like "08:00-21:00"'),
        ('"08:00-25:00"', 'send_window has "25:00", which is not a time (00:00 to 24:00)'),
        ('"08:60-21:00"', 'send_window has "8:60", which is not a time'),
        ('"21:00-08:00"', "send_window must start before it ends (it cannot span midnight)"),
        ('"09:00-09:00"', "send_window must start before it ends"),
        ("[08:00, 21:00]", "send_window must be text"),
    ],
)
def test_a_bad_send_window_is_refused_with_its_line(value, message):
    found = problems(f"title: Poll\nsend_window: {value}\n" + MINIMAL)
    assert [(p.line, message in p.message) for p in found] == [(2, True)], found


SCORED = MINIMAL + "  - {id: score, type: scale, min: 0, max: 10, text: Score}\n"

# (the questions from line 6 on, the whole message)
CHECK_MESSAGES = [
    (
        "- {id: x, type: text, text: x, when: answers.score => 3}",
        'example.yaml:6: condition "answers.score => 3" does not parse: unexpected text after '
        "the condition (to compare, use >= rather than =>)",
    ),
    (
        "- {id: x, type: text, text: x, when: answers.score =< 3}",
        'example.yaml:6: condition "answers.score =< 3" does not parse: unexpected text after '
        "the condition (to compare, use <= rather than =<)",
    ),
    (
        "- {id: x, type: text, text: x, when: '{{ answers.score }} > 3'}",
        'example.yaml:6: condition "{{ answers.score }} > 3" does not parse: a condition is '
        "written without {{ }} or {% %}, such as answers.score > 3",
    ),
    (
        "- {id: x, type: text, text: x, when: '{% if answers.score > 3 %}true{% endif %}'}",
        'example.yaml:6: condition "{% if answers.score > 3 %}true{% endif %}" does not parse: '
        "a condition is written without {{ }} or {% %}, such as answers.score > 3",
    ),
    (
        "- {id: x, type: text, text: x, when: answers.score > 3 && answers.name}",
        'example.yaml:6: condition "answers.score > 3 && answers.name" does not parse: '
        "unexpected char '&' at 18 (write and, or and not rather than &&, || and !)",
    ),
    (
        "- {id: x, type: text, text: x, when: answers.score > 3 AND answers.name}",
        'example.yaml:6: condition "answers.score > 3 AND answers.name" does not parse: '
        "unexpected text after the condition (write and, or and not in lower case)",
    ),
    (
        "- {id: x, type: yesno, text: x, next: [{if: true, goto: nope}]}\n"
        "- {id: y, type: text, text: y}",
        'example.yaml:6: goto "nope" is not a question in this survey; it can lead to y or end',
    ),
    (
        "- {id: x, type: choice, text: x, choices: []}",
        "example.yaml:6: choices is empty: list at least 2",
    ),
    (
        "- {id: x, type: multi, text: x, choices: [Tea, Tea;milk]}",
        'example.yaml:6: a multi choice\'s label may not contain ";" (it separates the picks '
        'in the export): "Tea;milk"',
    ),
    (
        "- {id: x, type: multi, text: x, choices: [{label: Tea, value: a;b}, C]}",
        'example.yaml:6: a multi choice\'s value may not contain ";" (it separates the picks '
        'in the export): "a;b"',
    ),
    (
        "- {id: x, type: text, text: x, when: answers.y}\n- {id: y, type: text, text: y}",
        'example.yaml:6: answers.y: question "y" (line 7) is not answered yet at this point; '
        "only earlier answers can be used here",
    ),
    (
        "- {id: x, type: text, text: 'You said {{ answers.x }}'}",
        'example.yaml:6: answers.x: question "x" (line 6) is not answered yet at this point; '
        "only earlier answers can be used here",
    ),
    (
        "- {id: x, type: yesno, text: x, next: [{if: answers.y, goto: end}]}\n"
        "- {id: y, type: text, text: y}",
        'example.yaml:6: answers.y: question "y" (line 7) is not answered yet at this point; '
        "only earlier answers can be used here",
    ),
    (
        "- {id: colour, type: choice, text: x, choices: [Red, Blue]}\n"
        "- {id: y, type: text, text: 'Why {{ answers.colour.label }}?'}",
        'example.yaml:7: answers.colour.label: an answer has no "label"; {{ answers.colour }} '
        "already shows a choice's label (conditions see its value)",
    ),
]


@pytest.mark.parametrize(("questions", "message"), CHECK_MESSAGES)
def test_check_messages_say_what_would_be_valid(questions, message):
    found = problems(SCORED + indent(questions + "\n", "  "))
    assert [str(p) for p in found] == [message]


def test_intro_cannot_pipe_an_answer_but_outro_and_own_branch_can():
    assert "not answered yet" in str(problems("intro: Hi {{ answers.name }}\n" + MINIMAL)[0])
    survey = load(
        "outro: Bye {{ answers.name }}\n"
        + MINIMAL
        + "  - {id: score, type: scale, min: 0, max: 10, text: Score,\n"
        + "     next: [{if: answers.score < 5, goto: end}]}\n"
        + "  - {id: why, type: text, text: 'Why {{ answers.score }}?', when: answers.name}\n"
    )
    assert [q.id for q in survey.questions] == ["name", "score", "why"]


def test_a_text_loaded_again_is_checked_again_the_same():
    # The name check once folded `x if false else ''` into '' in the parse it keeps for the
    # text: the next load of that text (another version of the file) missed answers.nosuch.
    folded = "{{ answers.name ~ (answers.nosuch if false else '') }}"
    text = MINIMAL + f'  - {{id: q, type: text, text: "{folded}"}}\n'
    first, again = problems(text), problems(text + "# edited\n")
    assert [str(p) for p in first] == [str(p) for p in again]
    assert 'there is no question "nosuch"' in str(first[0])


def test_a_choice_question_may_use_a_semicolon():
    survey = load(survey_with("- {id: x, type: choice, text: x, choices: [a;b, c]}"))
    assert survey.questions[1].choices[0].value == "a;b"


# -- languages, notes, constraints and date limits (SPEC 1 and 7) ---------------------------

BILINGUAL = """\
languages: [en, es]
title: {en: Fruit, es: Fruta}
keywords: {en: [FRUIT], es: [FRUTA], fr: [FRUIT2]}
intro: {en: Hello!, es: ¡Hola!}
help: {en: Ask us anything.}
questions:
  - id: fruit
    type: choice
    text: {en: "Which fruit?", es: "¿Qué fruta?"}
    choices:
      - {label: {en: Apple, es: Manzana}, value: apple}
      - {label: {en: Pear, es: Pera}, value: pear, aliases: {es: [peras]}}
"""


def test_texts_labels_and_aliases_are_read_per_language():
    survey = load(BILINGUAL.replace(", fr: [FRUIT2]", ""))
    assert (survey.languages, survey.language) == (("en", "es"), "en")
    spanish = survey.in_language("es")
    assert (survey.title, spanish.title) == ("Fruit", "Fruta")
    assert spanish.intro.render({}) == "¡Hola!"
    assert [c.label for c in spanish.questions[0].choices] == ["Manzana", "Pera"]
    assert [c.value for c in spanish.questions[0].choices] == ["apple", "pear"]
    assert (survey.questions[0].choices[1].aliases, spanish.questions[0].choices[1].aliases) == (
        (),
        ("peras",),
    )
    assert survey.in_language("de") is survey  # a language it does not have: the default


def test_a_missing_translation_falls_back_to_the_default_with_a_warning():
    survey = load(BILINGUAL.replace(", fr: [FRUIT2]", ""))
    assert survey.in_language("es").help.render({}) == "Ask us anything."
    assert [(w.line, w.message) for w in survey.warnings] == [
        (5, "help has no translation into es: the en text is used")
    ]


@pytest.mark.parametrize(
    ("keywords", "languages"),
    [
        ("{en: [FRUIT], es: [FRUTA]}", {"FRUIT": "en", "FRUTA": "es"}),
        ("[FRUIT, FRUTA]", {"FRUIT": "en", "FRUTA": "en"}),  # a plain list: the default
        ("{en: [FRUIT, BOTH], es: [BOTH]}", {"FRUIT": "en", "BOTH": "en"}),  # listed twice
    ],
)
def test_a_keyword_starts_the_survey_in_its_language(keywords, languages):
    survey = load(BILINGUAL.replace("{en: [FRUIT], es: [FRUTA], fr: [FRUIT2]}", keywords))
    assert {word: survey.keyword_language(word) for word in survey.keywords} == languages


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (BILINGUAL, 3, 'keywords has "fr" keywords but languages is [en, es]'),
        (
            BILINGUAL.replace("es: ¡Hola!", "fr: Salut!").replace(", fr: [FRUIT2]", ""),
            4,
            'intro has a "fr" text but languages is [en, es]',
        ),
        (
            BILINGUAL.replace('{en: "Which fruit?", ', "{").replace(", fr: [FRUIT2]", ""),
            9,
            'text needs a text in the default language "en"',
        ),
        ("languages: [english]\n" + MINIMAL, 1, "each language must be a two-letter ISO 639-1"),
        ("languages: [en, es, en]\n" + MINIMAL, 1, 'language "en" is listed twice'),
        ("keywords: [ATRÁS]\n" + MINIMAL, 1, 'keyword "ATRÁS" is a command word'),
        ("keywords: [PARAR]\n" + MINIMAL, 1, 'keyword "PARAR" is a command word'),
    ],
)
def test_language_mistakes_are_refused_with_line_and_reason(text, line, message):
    found = problems(text)
    assert any(p.line == line and p.message.startswith(message) for p in found), found


def test_a_language_without_built_in_words_loads_with_a_warning():
    survey = load("languages: [en, de]\n" + MINIMAL)
    assert survey.languages == ("en", "de")
    (warning,) = survey.warnings
    assert warning.line == 1 and warning.message.startswith('"de" has no built-in words')


def test_a_language_question_lists_the_survey_languages_by_their_own_names():
    survey = load(
        """\
        languages: [pt, en, de]
        questions:
          - {id: lang, type: language, text: "Language?"}
        """
    )
    choices = survey.questions[0].choices
    assert [(c.label, c.value) for c in choices] == [
        ("Português", "pt"),
        ("English", "en"),
        ("de", "de"),  # no built-in name: its code
    ]


def test_note_constraint_and_date_limits_are_read():
    survey = load(
        """\
        questions:
          - {id: hello, type: note, text: Just so you know.}
          - id: age
            type: number
            constraint: value >= answers.get("min", 0)
            error: Too young.
            text: Age?
          - {id: born, type: date, min: 1900-01-01, max: today, text: "Born?"}
        """
    )
    note, age, born = survey.questions
    assert note.type == "note"
    assert age.constraint.is_true({"value": 20, "answers": {}})
    assert not age.constraint.is_true({"value": -1, "answers": {}})
    assert (str(born.min), born.max) == ("1900-01-01", "today")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("type: note\n    optional: true", "a note takes no reply, so optional does not apply"),
        ("type: note\n    error: No.", "a note takes no reply, so error does not apply"),
        ("type: date\n    min: yesterday", 'min must be a date like 2026-11-27, or today, not "'),
        ("type: date\n    min: 2026-12-01\n    max: 2026-11-01", "min (2026-12-01) is larger than"),
        ("type: text\n    constraint: value >", 'condition "value >" does not parse'),
        ("type: language\n    choices: [English]", "choices is only used by choice and multi"),
        ("type: text\n    min: 1", "min is only used by multi, number, scale and date questions"),
    ],
)
def test_note_constraint_and_date_mistakes_are_refused(fields, message):
    text = f"questions:\n  - id: q\n    text: Q?\n    {fields}\n"
    assert any(p.message.startswith(message) for p in problems(text)), problems(text)


# -- a condition comparing an answer with what it never holds is never true ---------------

ANSWERS = MINIMAL + (
    "  - {id: ok, type: yesno, text: OK?}\n"
    "  - id: sat\n"
    "    type: choice\n"
    "    text: Satisfied?\n"
    "    choices: [Very satisfied, Satisfied, {label: Not satisfied, value: unsatisfied}]\n"
    "  - {id: used, type: multi, text: Used?, choices: [Parking, Shop]}\n"
    "  - {id: score, type: scale, min: 0, max: 10, text: Score?}\n"
    "  - {id: code, type: choice, text: Code?, choices: [1, 2, 5]}\n"
    "  - {id: lang, type: language, text: Language?}\n"
)  # questions on lines 2 to 13; the one a test adds is on line 14


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            'answers.ok == "yes"',
            'answers.ok is a yes/no answer, true or false, never "yes": write answers.ok '
            "(or not answers.ok)",
        ),
        (
            'answers.ok != "No"',
            'answers.ok is a yes/no answer, true or false, never "No": write answers.ok '
            "(or not answers.ok)",
        ),
        (
            'answers.sat == "Not satisfied"',
            'answers.sat is never "Not satisfied": it holds the value of a choice, '
            '"Very satisfied", "Satisfied" or "unsatisfied" (did you mean "unsatisfied"?)',
        ),
        (
            'answers.sat in ["Satisfied", "very satisfied"]',
            'answers.sat is never "very satisfied": it holds the value of a choice, '
            '"Very satisfied", "Satisfied" or "unsatisfied" (did you mean "Very satisfied"?)',
        ),
        (
            "answers.code == 1",
            "answers.code is never 1: it holds the value of a choice, "
            '"1", "2" or "5" (did you mean "1"?)',
        ),
        (
            '"parking" in answers.used',
            'answers.used never holds "parking": its picks are values of its choices, '
            '"Parking" or "Shop" (did you mean "Parking"?)',
        ),
        (
            'answers.used == "Shop"',
            'answers.used is a list of picks, never "Shop": write "Shop" in answers.used',
        ),
        (
            'answers.score < "7"',
            'answers.score is a number, never the text "7": write 7 without quotes',
        ),
        (
            'answers["lang"] == "Spanish"',
            'answers.lang is never "Spanish": it holds the code of a language, "en"',
        ),
    ],
)
def test_a_condition_an_answer_can_never_meet_is_refused(condition, message):
    found = problems(ANSWERS + f"  - {{id: x, type: text, text: x, when: '{condition}'}}\n")
    assert [str(p) for p in found] == [f"example.yaml:14: {message}"]


def test_a_text_comparing_an_answer_with_what_it_never_holds_is_refused():
    text = "  - {id: x, type: text, text: '{% if answers.ok == \"no\" %}Oh{% endif %}'}\n"
    found = problems(ANSWERS + text)
    assert [(p.line, p.message.split(":")[0]) for p in found] == [
        (14, 'answers.ok is a yes/no answer, true or false, never "no"')
    ]


@pytest.mark.parametrize(
    "condition",
    [
        "answers.ok",
        "answers.ok == true",
        "not answers.ok",
        "answers.ok == none",
        'answers.sat == "unsatisfied"',
        'answers.sat != "Satisfied"',
        'answers.sat in ["Satisfied", "Very satisfied"]',
        '"Satisfied" in answers.sat',  # a substring test: it may be meant
        '"Parking" in answers.used',
        '"Shop" not in answers.used',
        "answers.score < 7",
        "answers.score >= 7.5",
        'answers.code == "5"',
        'answers.lang == "en"',
        'answers.name == "Ana"',
        "answers.sat == answers.name",
    ],
)
def test_a_condition_an_answer_can_meet_loads(condition):
    load(ANSWERS + f"  - {{id: x, type: text, text: x, when: '{condition}'}}\n")


def test_a_stored_version_with_an_impossible_condition_keeps_loading():
    text = ANSWERS + "  - {id: x, type: text, text: x, when: 'answers.ok == \"yes\"'}\n"
    load_survey(text.encode(), "example.yaml", limits=False)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (
            "min: today, max: 2020-01-01",
            "max (2020-01-01) is already past, so with min: today no date is accepted",
        ),
        (
            "min: 2999-01-01, max: today",
            "min (2999-01-01) is still to come, so with max: today no date is accepted",
        ),
    ],
)
def test_date_limits_that_leave_no_date_today_are_warned_about(bounds, message):
    survey = load(MINIMAL + f"  - {{id: d, type: date, text: When?, {bounds}}}\n")
    assert [(w.line, w.message) for w in survey.warnings] == [(5, message)]


def test_date_limits_around_today_load_without_a_warning():
    survey = load(MINIMAL + "  - {id: d, type: date, text: When?, min: 2020-01-01, max: today}\n")
    assert survey.warnings == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (  # a question's key that lost its indentation
            MINIMAL.replace("  - id: name\n", "  - id: pick\n    type: choice\n")
            + "choices: [Red, Blue]\n",
            'example.yaml:6: unknown key "choices": it is a question\'s key; indent it under '
            "its question, in line with the question's id",
        ),
        (  # a survey key indented under a question
            MINIMAL + "    keywords: [POLL]\n",
            'example.yaml:5: unknown key "keywords": it is a survey key; write it at the '
            "start of a line, as title: is",
        ),
        (  # YAML 1.1's merge key
            "base: &base {type: scale, min: 1, max: 5}\n"
            "questions:\n  - id: taste\n    <<: *base\n    text: Taste?\n",
            'example.yaml:1: unknown key "base"',
        ),
    ],
)
def test_a_key_in_the_wrong_place_says_where_it_belongs(text, message):
    assert message in [str(p)[: len(message)] for p in problems(text)]


def test_a_merge_key_says_to_write_the_keys_out():
    text = "questions:\n  - &q {id: taste, type: text, text: Taste?}\n  - <<: *q\n    id: look\n"
    assert str(problems(text)[0]) == (
        'example.yaml:3: unknown key "<<": survey files have no merge keys (YAML 1.2); '
        "write each key out"
    )


@pytest.mark.parametrize(
    "text",
    [
        "questions:\n  - id: a\n    type: text\n    text: A?\n  -id: b\n    type: text\n",
        "title: T\nquestions:\n  - id: a\n    type: text\n    text: A?\n  -id: b\n    type: text\n",
        "questions:\n  -id: b\n    type: text\n    text: B?\n",
    ],
)
def test_a_list_item_without_a_space_after_its_dash_is_named(text):
    line = text.splitlines().index("  -id: b") + 1
    assert [str(p) for p in problems(text)] == [
        f'example.yaml:{line}: not valid YAML: put a space after the "-" that starts a list '
        'item ("- id", not "-id")'
    ]


# -- ordering (<, >, <=, >=) an answer with what it cannot be ordered with ---------------

ORDERED = ANSWERS + (
    "  - {id: day, type: date, text: When?}\n"
    "  - {id: stars, type: choice, text: Stars?, choices: [1, 2, 3, 4, 5]}\n"
)  # questions on lines 2 to 15; the one a test adds is on line 16


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            "answers.stars > 3",
            'answers.stars holds the value of a choice, "1", "2", "3", "4" or "5", a text, '
            'never a number (> 3 is never true): write answers.stars in ["4", "5"]',
        ),
        (
            "3 < answers.stars",
            'answers.stars holds the value of a choice, "1", "2", "3", "4" or "5", a text, '
            'never a number (> 3 is never true): write answers.stars in ["4", "5"]',
        ),
        (
            "answers.stars <= 2",
            'answers.stars holds the value of a choice, "1", "2", "3", "4" or "5", a text, '
            'never a number (<= 2 is never true): write answers.stars in ["1", "2"]',
        ),
        (
            "2 >= answers.stars",
            'answers.stars holds the value of a choice, "1", "2", "3", "4" or "5", a text, '
            'never a number (<= 2 is never true): write answers.stars in ["1", "2"]',
        ),
        (
            "answers.stars > 5",
            'answers.stars holds the value of a choice, "1", "2", "3", "4" or "5", a text, '
            "never a number (> 5 is never true); no choice is > 5",
        ),
        (
            'answers.stars >= "3"',
            'answers.stars holds the value of a choice, a text, so >= "3" compares it '
            "alphabetically, not by the order of the choices: "
            'write answers.stars in ["3", "4", "5"]',
        ),
        (
            '"3" > answers.stars',
            'answers.stars holds the value of a choice, a text, so < "3" compares it '
            "alphabetically, not by the order of the choices: "
            'write answers.stars in ["1", "2"]',
        ),
        (
            'answers.sat < "satisfied"',  # by place, from the choice it names in any case
            'answers.sat holds the value of a choice, a text, so < "satisfied" compares it '
            "alphabetically, not by the order of the choices: "
            'write answers.sat in ["Very satisfied"]',
        ),
        (
            'answers.sat > "b"',
            'answers.sat holds the value of a choice, a text, so > "b" compares it '
            "alphabetically, not by the order of the choices: compare it with == or in",
        ),
        (
            "answers.sat >= 2",
            'answers.sat holds the value of a choice, "Very satisfied", "Satisfied" or '
            '"unsatisfied", a text, never a number (>= 2 is never true): '
            "compare it with == or in",
        ),
        (
            "answers.code > -1",
            'answers.code holds the value of a choice, "1", "2" or "5", a text, never a number '
            '(> -1 is never true): write answers.code in ["1", "2", "5"]',
        ),
        (
            "answers.used > 1",
            "answers.used is a list of picks, never a number (> 1 is never true): "
            "to count the picks, write answers.used | length > 1",
        ),
        (
            "1 >= answers.used",
            "answers.used is a list of picks, never a number (<= 1 is never true): "
            "to count the picks, write answers.used | length <= 1",
        ),
        (
            'answers.used < "Shop"',
            'answers.used is a list of picks, never ordered (< "Shop" is never true): '
            'write "Shop" in answers.used',
        ),
        (
            'answers.ok >= "yes"',
            'answers.ok is a yes/no answer, true or false, never "yes": write answers.ok '
            "(or not answers.ok)",
        ),
        (
            'answers.day > "2026-01-01"',
            'answers.day is a date, never the text "2026-01-01": compare it with today or '
            'another date answer, or write answers.day.isoformat() > "2026-01-01"',
        ),
        (
            '"2026-01-01" >= answers.day',
            'answers.day is a date, never the text "2026-01-01": compare it with today or '
            'another date answer, or write answers.day.isoformat() <= "2026-01-01"',
        ),
        (
            'answers.day == "2026-01-01"',
            'answers.day is a date, never the text "2026-01-01": compare it with today or '
            'another date answer, or write answers.day.isoformat() == "2026-01-01"',
        ),
        (
            "answers.day < 2026",
            "answers.day is a date, never the number 2026: compare it with today or another "
            "date answer, or a part of it, such as answers.day.year < 2026",
        ),
        (
            "2026 < answers.day",
            "answers.day is a date, never the number 2026: compare it with today or another "
            "date answer, or a part of it, such as answers.day.year > 2026",
        ),
        (
            "answers.name >= 18",
            "answers.name is a text, never a number (>= 18 is never true): make it a number "
            "question, or write answers.name | float >= 18",
        ),
        (
            "answers.name == 18",
            'answers.name is a text, never the number 18: write "18" in quotes',
        ),
        (
            'answers.lang > "en"',
            'answers.lang holds the code of a language, "en", which have no order (> "en"): '
            'compare it with == or in, such as answers.lang == "en"',
        ),
    ],
)
def test_an_order_an_answer_never_meets_as_written_is_refused(condition, message):
    found = problems(ORDERED + f"  - {{id: x, type: text, text: x, when: '{condition}'}}\n")
    assert [str(p) for p in found] == [f"example.yaml:16: {message}"]


def test_a_text_ordering_a_choice_by_number_is_refused():
    text = "  - {id: x, type: text, text: '{% if answers.stars >= 4 %}Thanks!{% endif %}'}\n"
    assert [(p.line, p.message.split(" (")[0]) for p in problems(ORDERED + text)] == [
        (
            16,
            'answers.stars holds the value of a choice, "1", "2", "3", "4" or "5", a text, '
            "never a number",
        )
    ]


@pytest.mark.parametrize(
    "condition",
    [
        "answers.score > 7",
        "3 < answers.score",
        "answers.score >= -1",
        "1 < answers.score < 5",
        "answers.score <= 7.5",
        "answers.day > today",
        "today >= answers.day",
        "answers.day < answers.day",
        'answers.day.isoformat() > "2026-01-01"',
        "answers.day.year >= 2026",
        "(answers.day - today).days > 3",
        'answers.name > "M"',
        'answers.stars in ["4", "5"]',
        "answers.used | length > 1",
        "answers.stars | int > 3",
        "answers.day == none",
        'answers.name == "18"',
        "answers.ok > 0",  # yes and no are 1 and 0 to a comparison: it works as meant
        "1 > answers.ok",
    ],
)
def test_an_order_an_answer_can_meet_loads(condition):
    load(ORDERED + f"  - {{id: x, type: text, text: x, when: '{condition}'}}\n")


def test_a_stored_version_with_an_impossible_order_keeps_loading():
    text = ORDERED + "  - {id: x, type: text, text: x, when: 'answers.stars > 3'}\n"
    load_survey(text.encode(), "example.yaml", limits=False)
