"""XLSForms imported as survey files: what maps to what, what is left out, and an SMS run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.loader import Yaml12Loader, load_survey
from bot.templates import Expr
from conftest import SMS, survey_folder
from test_conversation import answers_of
from xlsform import FormError, import_form
from xlsform.convert import FORM_SUFFIXES

FORMS = Path(__file__).parent / "forms"
PHONE = "+15551239876"


def imported(name: str) -> tuple[dict, list[str]]:
    """The survey dict a form's YAML reads back as, and its warnings as text."""
    result = import_form(FORMS / name)
    return yaml.load(result.yaml_text, Loader=Yaml12Loader), [str(w) for w in result.warnings]


# -- public forms ------------------------------------------------------------------------

PUBLIC = [
    (
        "pyxform_group.md",
        {
            "id": "pyxform_group",
            "questions": [
                {
                    "id": "family_name",
                    "type": "text",
                    "text": "What's your family name?",
                    "optional": True,
                },
                {  # pyxform's type dictionary: a phone number is a text input
                    "id": "phone_number",
                    "type": "text",
                    "text": "What's your father's phone number?",
                    "optional": True,
                },
                {
                    "id": "age",
                    "type": "number",
                    "text": "How old is your father?",
                    "integer": True,
                    "optional": True,
                },
            ],
        },
        [],
    ),
    (
        "pyxform_specify_other.md",
        {
            "id": "pyxform_specify_other",
            "questions": [
                {
                    "id": "sex",
                    "type": "choice",
                    "text": "What sex are you?",
                    "choices": [
                        {"label": "Male", "value": "male"},
                        {"label": "Female", "value": "female"},
                    ],
                    "optional": True,
                }
            ],
        },
        ["survey row 2: or_other is left out: add an Other choice and a text question"],
    ),
    (
        "pyxform_yes_or_no_question.md",
        {
            "id": "pyxform_yes_or_no_question",
            "questions": [
                {
                    "id": "good_day",
                    "type": "choice",
                    "text": "have you had a good day today?",
                    "choices": ["yes", "no"],
                    "optional": True,
                }
            ],
        },
        [],
    ),
    (
        "pyxform_loop.md",
        {
            "id": "pyxform_loop",
            "questions": [
                {
                    "id": "available_toilet_types",
                    "type": "multi",
                    "text": "What type of toilets are on the premises?",
                    "choices": [
                        {"label": "Pit latrine with slab", "value": "pit_latrine_with_slab"},
                        {
                            "label": "Pit latrine without slab/open pit",
                            "value": "open_pit_latrine",
                        },
                        {"label": "Bucket system", "value": "bucket_system"},
                    ],
                    "optional": True,
                }
            ],
        },
        [
            "survey row 2: or_other is left out: add an Other choice and a text question",
            "survey row 3: a repeat cannot be asked by SMS: it is left out with rows 4 to 5",
        ],
    ),
    (
        "odk_variables.csv",
        {
            "id": "odk_variables",
            "questions": [
                {
                    "id": "your_name",
                    "type": "text",
                    "text": "What is your name?",
                    "optional": True,
                },
                {"id": "hello_name", "type": "note", "text": "Hello, {{ answers.your_name }}."},
            ],
        },
        [],
    ),
]


@pytest.mark.parametrize(("form", "survey", "warnings"), PUBLIC)
def test_public_forms_import_as_surveys(form, survey, warnings):
    assert imported(form) == (survey, warnings)


@pytest.mark.parametrize("form", [p[0] for p in PUBLIC if p[0] != "odk_variables.csv"])
def test_imported_public_forms_load(form):
    result = import_form(FORMS / form)
    assert load_survey(result.yaml_text.encode(), form).id == result.survey_id


def test_the_file_names_the_form_it_came_from():
    text = import_form(FORMS / "pyxform_group.md").yaml_text
    assert text.splitlines()[0] == (
        "# Imported from the XLSForm pyxform_group.md by `flask surveys import`."
    )


# -- forms written for these tests ---------------------------------------------------------

CLINIC = {
    "id": "clinic_visit",
    "title": "Clinic visit",
    "keywords": ["CLINIC"],
    "questions": [
        {"id": "name", "type": "text", "text": "What is your first name?"},
        {
            "id": "smoker",
            "type": "choice",
            "text": "Do you smoke, {{ answers.name }}?",
            "choices": [{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}],
        },
        {
            "id": "cigarettes",
            "type": "number",
            "text": "How many cigarettes a day?\nReply with a number",
            "integer": True,
            "when": "(answers.smoker | default('')) == 'yes'",
        },
        {
            "id": "weight",
            "type": "number",
            "text": "Your weight in kg?",
            "optional": True,
            "when": "(answers.smoker | default('')) == 'no'",
        },
        {
            "id": "pain",
            "type": "scale",
            "text": "Pain today, from 0 to 10?",
            "min": 0,
            "max": 10,
            "when": "(answers.smoker | default('')) == 'no' and ((answers.weight is defined"
            " and answers.weight < 150) or ((answers.weight | default('') | string) == ''))",
        },
        {
            "id": "symptoms",
            "type": "multi",
            "text": "Which symptoms?",
            "choices": [
                {"label": "Cough", "value": "cough"},
                {"label": "Fever", "value": "fever"},
                {"label": "Something else", "value": "other"},
            ],
        },
        {
            "id": "other_symptom",
            "type": "text",
            "text": "Which other symptom?",
            "when": "'other' in (answers.symptoms | default([]))",
        },
    ],
}


def test_every_type_the_bot_asks_today_with_groups_and_conditions():
    assert imported("clinic_visit.md") == (
        CLINIC,
        ['survey row 2: the name "Name" is not a valid question id: renamed "name"'],
    )


def test_two_languages_with_notes_hints_constraints_and_dates():
    survey, warnings = imported("market_bilingual.xlsx")
    assert warnings == ['survey row 1: "Klingon" has no ISO 639-1 code: its columns are left out']
    assert {k: survey[k] for k in ("id", "title", "keywords", "languages")} == {
        "id": "market-survey",
        "title": "Market survey",
        "keywords": ["MARKET"],
        "languages": ["en", "es"],
    }
    by_id = {q["id"]: q for q in survey["questions"]}
    assert list(by_id) == [
        "welcome", "fruit", "kilos", "last_visit", "next_visit", "stalls", "price", "rating",
        "comment",
    ]  # fmt: skip
    assert by_id["welcome"] == {
        "id": "welcome",
        "type": "note",
        "text": {
            "en": "Welcome to the market survey.",
            "es": "Bienvenido a la encuesta del mercado.",
        },
    }
    assert by_id["fruit"]["choices"] == [
        {"label": {"en": "Apple", "es": "Manzana"}, "value": "apple"},
        {"label": {"en": "Pear", "es": "Pera"}, "value": "pear"},
    ]
    assert "optional" not in by_id["fruit"]
    assert by_id["kilos"] == {
        "id": "kilos",
        "type": "number",
        "text": {
            "en": "How many kilos a week?\nWhole kilos",
            "es": "¿Cuántos kilos por semana?\nKilos enteros",
        },
        "integer": True,
        "constraint": "(value > 0) and (value <= 50)",
        "error": {"en": "Between 1 and 50.", "es": "Entre 1 y 50."},
    }
    assert {k: by_id["last_visit"][k] for k in ("min", "max")} == {
        "min": "2020-01-01",
        "max": "today",
    }
    assert "constraint" not in by_id["last_visit"]
    assert by_id["next_visit"]["min"] == "today" and by_id["next_visit"]["optional"] is True
    assert by_id["stalls"]["text"]["en"] == "Which stalls, {{ answers.fruit }} buyer?"
    assert by_id["stalls"]["choices"][2] == {"label": {"en": "East"}, "value": "east"}
    assert by_id["stalls"]["error"] == {"en": "Two at most.", "es": "Dos como máximo."}
    assert (by_id["rating"]["min"], by_id["rating"]["max"]) == (1, 5)


@pytest.mark.parametrize(
    ("question", "answers", "value", "asked_or_valid"),
    [
        ("stalls", {"kilos": 6, "fruit": "apple"}, None, True),
        ("stalls", {"kilos": 6, "fruit": "pear"}, None, False),
        ("stalls", {"kilos": 4, "fruit": "apple"}, None, False),
        ("stalls", {"fruit": "apple"}, None, False),
        ("comment", {"stalls": ["north", "south"]}, None, True),
        ("comment", {}, None, False),
        ("kilos", {}, 50, True),
        ("kilos", {}, 51, False),
        ("stalls", {}, ["north", "south", "east"], False),
        ("price", {}, 0.5, True),
    ],
)
def test_imported_conditions_decide_as_the_form_did(question, answers, value, asked_or_valid):
    survey, _ = imported("market_bilingual.xlsx")
    found = next(q for q in survey["questions"] if q["id"] == question)
    source = found["when"] if value is None else found["constraint"]
    context = {"answers": answers, "value": value}
    assert Expr.compile(source).is_true(context) is asked_or_valid


def test_what_cannot_be_carried_over_is_named_with_its_row():
    survey, warnings = imported("left_out.md")
    assert [q["id"] for q in survey["questions"]] == [
        "age", "colour", "phone_answer", "items_answer", "q_1",
    ]  # fmt: skip
    assert all("when" not in q and "constraint" not in q for q in survey["questions"])
    assert warnings == [
        'survey row 2: type "start" is left out: it is device metadata that an SMS session'
        " does not collect",
        'survey row 3: type "geopoint" is left out: a location cannot be sent by SMS',
        'survey row 4: type "image" is left out: media cannot be sent by SMS',
        'survey row 5: type "barcode" is left out: a barcode cannot be scanned by SMS',
        'survey row 6: type "calculate" is left out: the survey format has no calculations',
        'survey row 7: type "time" is left out: the survey format has no time of day',
        'survey row 8: type "select_one_from_file towns.csv" is left out: its choices are in'
        " a separate file",
        "survey row 9: a repeat cannot be asked by SMS: it is left out with rows 10 to 11",
        "survey row 12: constraint left out (regex() is not supported): any reply is accepted",
        "survey row 12: default is left out: the survey format has no default answers",
        "survey row 13: choice_filter is left out: choices cannot be filtered by SMS",
        'survey row 14: the name "phone" is not a valid question id: renamed "phone_answer"',
        "survey row 14: relevant left out (${double_age} is row 6, which is left out): the"
        " question is asked whatever the answers",
        'survey row 15: the name "items" is not a valid question id: renamed "items_answer"',
        "survey row 15: relevant left out (pulldata() is not supported): the question is"
        " asked whatever the answers",
        'survey row 16: the name "Q-1" is not a valid question id: renamed "q_1"',
        'survey row 16: relevant left out ("/data/age" is not supported): the question is'
        " asked whatever the answers",
        'survey row 17: its choice list "missing_list" is not on the choices sheet',
    ]


def test_a_renamed_question_is_renamed_where_it_is_named(tmp_path):
    form = tmp_path / "renamed.csv"
    form.write_text(
        "survey,,,,\n,type,name,label,relevant\n,integer,Status,Status?,\n"
        ",text,why,Why ${Status}?,${Status} > 2\n"
    )
    result = import_form(form)
    survey = yaml.load(result.yaml_text, Loader=Yaml12Loader)
    why = survey["questions"][1]
    assert survey["questions"][0]["id"] == "status_answer"
    assert why["text"] == "Why {{ answers.status_answer }}?"
    assert why["when"] == "answers.status_answer is defined and answers.status_answer > 2"
    assert [str(w) for w in result.warnings] == [
        'survey row 2: the name "Status" is not a valid question id: renamed "status_answer"'
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("not a form at all", "cannot be read as an XLSForm"),
        ("| survey |\n| | type | name | label |\n| | note | hi | Hello |\n", "no question"),
        ("| survey |\n| | type | name | label |\n| | geopoint | at | Where? |\n", "no question"),
    ],
)
def test_a_form_that_gives_no_survey_is_refused_in_one_line(tmp_path, content, message):
    form = tmp_path / "form.md"
    if content is not None:
        form.write_text(content)
    with pytest.raises(FormError, match=message) as caught:
        import_form(form)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_a_form_by_its_name_is_refused(tmp_path):
    (tmp_path / "form.txt").write_text("hello")
    with pytest.raises(FormError, match="not an XLSForm"):
        import_form(tmp_path / "form.txt")


# -- answered by SMS -----------------------------------------------------------------------


@pytest.fixture
def surveys_dir(tmp_path):
    """A surveys folder holding only the imported clinic form."""
    result = import_form(FORMS / "clinic_visit.md")
    return survey_folder(tmp_path, **{result.survey_id: result.yaml_text})


def test_an_imported_form_is_answered_by_sms_skipping_what_is_not_relevant(app, sms):
    assert sms.send(PHONE, "CLINIC").endswith("What is your first name?")
    assert sms.send(PHONE, "Ada") == "Do you smoke, Ada?\n1. Yes\n2. No"
    assert sms.send(PHONE, "yes") == "How many cigarettes a day?\nReply with a number"
    # The vitals group is relevant only for non-smokers: straight to symptoms.
    assert sms.send(PHONE, "about 5").startswith("Which symptoms?\n1. Cough")
    assert sms.send(PHONE, "1, 3") == "Which other symptom?"
    sms.send(PHONE, "Headache")
    assert answers_of(app, PHONE) == {
        "name": '"Ada"',
        "smoker": '"yes"',
        "cigarettes": "5",
        "symptoms": '["cough","other"]',
        "other_symptom": '"Headache"',
    }


def test_an_imported_group_and_optional_question_by_sms(app, sms):
    sms.send(PHONE, "CLINIC")
    sms.send(PHONE, "Bo")
    assert sms.send(PHONE, "2") == "Your weight in kg?"
    assert sms.send(PHONE, "SKIP") == "Pain today, from 0 to 10?"
    assert sms.send(PHONE, "3").startswith("Which symptoms?")
    sms.send(PHONE, "fever")
    assert answers_of(app, PHONE) == {
        "name": '"Bo"',
        "smoker": '"no"',
        "pain": "3",
        "symptoms": '["fever"]',
    }


# -- flask surveys import --------------------------------------------------------------------


def import_cli(app, *args: str):
    """`flask surveys import ...` through Flask's CLI runner."""
    return app.test_cli_runner().invoke(args=["surveys", "import", *map(str, args)])


def test_import_writes_a_survey_that_is_served(app, surveys_dir):
    (surveys_dir / "survey.schema.json").write_text("{}")  # the folder points editors at it
    result = import_cli(app, FORMS / "pyxform_group.md")  # no form_id: named after its file
    assert result.exit_code == 0, result.output
    written = surveys_dir / "pyxform_group.yaml"
    assert f"Wrote {written} (survey pyxform_group)" in result.output
    assert written.read_text().startswith(
        "# yaml-language-server: $schema=survey.schema.json\n# Imported from the XLSForm"
    )
    check = app.test_cli_runner().invoke(args=["surveys", "check", str(written)])
    assert check.exit_code == 0, check.output


def test_import_prints_each_warning_with_sheet_and_row(app, tmp_path):
    out = tmp_path / "left.yaml"
    result = import_cli(app, FORMS / "left_out.md", "-o", out)
    assert result.exit_code == 0, result.output
    assert f'{FORMS / "left_out.md"}: survey row 3: type "geopoint" is left out' in result.output
    assert out.read_text().startswith("# Imported from the XLSForm left_out.md")


def test_import_refuses_to_overwrite_without_force(app, tmp_path):
    out = tmp_path / "mine.yaml"
    out.write_text("questions: []\n")
    result = import_cli(app, FORMS / "clinic_visit.md", "-o", out)
    assert result.exit_code == 2
    assert f"{out} exists; add --force to overwrite it." in result.output
    assert out.read_text() == "questions: []\n"
    assert import_cli(app, FORMS / "clinic_visit.md", "-o", out, "--force").exit_code == 0
    assert out.read_text().startswith("# Imported")


def test_import_of_an_unreadable_form_is_one_line_and_exit_1(app, tmp_path):
    result = import_cli(app, tmp_path / "nope.xlsx", "-o", tmp_path / "x.yaml")
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'nope.xlsx'}: no such file\n"
    assert not (tmp_path / "x.yaml").exists()


def test_every_type_alias_pyxform_lists_is_asked():
    survey, warnings = imported("type_aliases.md")
    assert [(q["id"], q["type"]) for q in survey["questions"]] == [
        ("name", "text"), ("town", "text"), ("street", "text"), ("age", "number"),
        ("share", "number"), ("weight", "number"), ("born", "date"), ("thanks", "note"),
        ("colour", "choice"), ("colours", "multi"), ("shade", "choice"),
    ]  # fmt: skip
    assert warnings == []
    load_survey(import_form(FORMS / "type_aliases.md").yaml_text.encode(), "aliases.yaml")


def test_a_notes_relevant_and_its_groups_are_kept_by_sms(make_client, tmp_path):
    result = import_form(FORMS / "consent_notes.md")
    assert result.warnings == []
    (tmp_path / "consent").mkdir()
    folder = survey_folder(tmp_path / "consent", consent=result.yaml_text)
    sms = SMS(make_client(SURVEYS_DIR=str(folder)))
    assert sms.send(PHONE, "CONSENT").startswith("Do you agree to take part?")
    assert sms.send(PHONE, "yes") == "Thank you for agreeing.\n\nYour name?"
    assert sms.send("+15551230077", "CONSENT").startswith("Do you agree")
    refused = "Since you did not give consent, we will not proceed\n\nThank you!"
    assert sms.send("+15551230077", "no") == refused


def test_choices_told_apart_only_by_a_filter_are_made_unique_and_load():
    survey, warnings = imported("cascading.md")
    city = survey["questions"][1]["choices"]
    assert [c["value"] for c in city] == [
        "springfield",
        "chicago",
        "other",
        "other_mo",
        "chicago_2",
    ]
    assert [c["label"] for c in city][3:] == ["Other (other_mo)", "Chicago (North)"]
    assert warnings == [
        'survey row 3: 3 choices of "city" shared a name or label with another: repeats are'
        " left out, the rest made unique by their name",
        "survey row 3: choice_filter is left out: choices cannot be filtered by SMS",
    ]


def test_an_import_that_would_not_load_exits_1_saying_why(app, tmp_path):
    form = tmp_path / "semi.md"
    form.write_text(
        "| survey |\n| | type | name | label |\n| | select_multiple fruit | fruit | Fruit? |\n"
        "| choices |\n| | list_name | name | label |\n| | fruit | a;b | A and B |\n"
        "| | fruit | c | C |\n"
    )
    result = import_cli(app, form, "-o", tmp_path / "semi.yaml")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith(
        "Error: the survey made from semi.md would not load (line 9: a multi choice's value"
        ' may not contain ";"'
    ), result.output
    assert not (tmp_path / "semi.yaml").exists()


def test_a_form_with_nothing_to_ask_says_what_was_left_out_first(app, tmp_path):
    form = tmp_path / "repeat.md"
    form.write_text(
        "| survey |\n| | type | name | label |\n| | begin_repeat | kids | Kids |\n"
        "| | text | kid | Name? |\n| | integer | kid_age | Age? |\n| | end_repeat | | |\n"
    )
    result = import_cli(app, form)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{form}: survey row 2: a repeat cannot be asked by SMS: it is left out with rows 3 to 5",
        "Error: no question in this form can be asked by SMS",
    ]


def test_a_misspelled_settings_column_is_warned_about(tmp_path):
    form = tmp_path / "typo.md"
    form.write_text(
        "| survey |\n| | type | name | label |\n| | text | name | Name? |\n"
        "| settings |\n| | form_tittle | version |\n| | My form | 3 |\n"
    )
    result = import_form(form)
    assert [str(w) for w in result.warnings] == [
        'settings row 2: settings column "form_tittle" is not an XLSForm setting (did you mean'
        ' "form_title"?)'
    ]


def test_the_form_suffixes_written_out_are_pyxforms_own():
    from pyxform.xls2json_backends import SupportedFileTypes

    assert tuple(t.value for t in SupportedFileTypes) == FORM_SUFFIXES
