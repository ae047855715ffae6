"""Research exports (SPEC 13): SPSS and Stata files read back, Flow Results packages, codebooks.

One bilingual survey with every question type, answered under two versions,
with a question id too long for Stata; each file is read back with pyreadstat
and pandas and compared with the wide CSV of the same sessions.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import uuid
import zipfile
from datetime import date, datetime, timedelta

import pandas
import pyreadstat
import pytest
from sqlalchemy import text
from test_export import AUTH
from test_studio import sign_in

from bot import values
from bot.loader import load_survey
from conftest import saved, survey_folder
from service import Inbound
from storage import floip, research

LONG_ID = "people_living_in_your_household_today"  # 37 characters: Stata allows 32
STUDY = """\
id: study
title: Household study
languages: [en, es]
keywords: {en: [STUDY], es: [ESTUDIO]}
questions:
  - id: lang
    type: language
    text: {en: "Which language?", es: "¿Qué idioma?"}
  - id: name
    type: text
    text: {en: "Your first name?", es: "¿Tu nombre?"}
  - id: fruit
    type: choice
    text: {en: "Which fruit, {{ answers.name }}?", es: "¿Qué fruta, {{ answers.name }}?"}
    choices:
      - {label: {en: Apple, es: Manzana}, value: apple}
      - {label: {en: Pear, es: Pera}, value: pear}
      - {label: {en: Plum, es: Ciruela}, value: plum}
  - id: LONG_ID
    type: number
    integer: true
    min: 1
    max: 30
    text: {en: "How many people live with you?", es: "¿Cuántas personas viven contigo?"}
  - id: rating
    type: scale
    min: 0
    max: 10
    text: {en: "From 0 to 10?", es: "¿Del 0 al 10?"}
  - id: improve
    type: text
    optional: true
    when: answers.rating < 7
    text: {en: "What should improve?", es: "¿Qué mejorar?"}
  - id: ok
    type: yesno
    text: {en: "May we call you?", es: "¿Podemos llamarte?"}
  - id: picks
    type: multi
    text: {en: "Which colours?", es: "¿Qué colores?"}
    choices:
      - {label: {en: Red, es: Rojo}, value: red}
      - {label: {en: Green, es: Verde}, value: green}
      - {label: {en: Blue, es: Azul}, value: blue}
  - id: thanks
    type: note
    text: {en: "Almost done.", es: "Casi terminamos."}
  - id: visited
    type: date
    text: {en: "When did you last visit?", es: "¿Cuándo fue tu última visita?"}
  - id: old_q
    type: text
    optional: true
    text: {en: "Anything else?", es: "¿Algo más?"}
""".replace("LONG_ID", LONG_ID)
# The second version: fruit's choices reordered with kiwi new and plum gone, old_q gone,
# and a choice question whose whole-number values are their own codes.
SIZE = """\
  - id: size
    type: choice
    text: {en: "Which size?", es: "¿Qué tamaño?"}
    choices:
      - {label: {en: Small, es: Pequeño}, value: "5"}
      - {label: {en: Large, es: Grande}, value: "10"}
      - {label: {en: Other, es: Otro}, value: other}
"""
STUDY_2 = (
    STUDY.replace(
        "      - {label: {en: Apple, es: Manzana}, value: apple}\n"
        "      - {label: {en: Pear, es: Pera}, value: pear}\n"
        "      - {label: {en: Plum, es: Ciruela}, value: plum}\n",
        "      - {label: {en: Pear, es: Pera}, value: pear}\n"
        "      - {label: {en: Apple, es: Manzana}, value: apple}\n"
        "      - {label: {en: Kiwi, es: Kiwi}, value: kiwi}\n",
    ).split("  - id: old_q")[0]
    + SIZE
)


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the study."""
    return survey_folder(tmp_path, study=STUDY)


def answer(sms, phone: str, keyword: str, *replies: str) -> None:
    """Start the study with `keyword` and send `replies`."""
    sms.send(phone, keyword)
    for reply in replies:
        sms.send(phone, reply)


@pytest.fixture
def answered(app, sms, surveys_dir):
    """Sessions of both versions, in both languages, complete and not; one test session."""
    answer(sms, "+15550000001", "STUDY", "1", "Ana", "3", "4", "9", "yes", "1 2", "2026-11-27")
    sms.send("+15550000001", "nothing")
    answer(sms, "+15550000002", "ESTUDIO", "2", "Bea", "1", "2", "5", "Más fruta", "no", "3")
    sms.send("+15550000002", "2025-01-05")
    sms.send("+15550000002", "SALTAR")
    saved(surveys_dir / "study.yaml", STUDY_2)
    service = app.extensions["survey_service"]
    service.catalog.refresh()  # now, not in the background while a message waits
    answer(sms, "+15550000003", "STUDY", "1", "Cy", "3", "1", "10", "yes", "2", "2026-01-05")
    sms.send("+15550000003", "2")
    answer(sms, "+15550000004", "STUDY", "1", "Di")  # still open
    service.try_start("studio:0001", service.surveys.get("study"), "STtest1")
    service.receive(Inbound(phone="studio:0001", body="1", sid="STtest2", test=True))


def cli(app, *args: str):
    """`flask export study ...`, its result."""
    return app.test_cli_runner().invoke(args=["export", "study", *args])


def wide_csv(app, *args: str) -> list[dict]:
    """The wide CSV with one column per multi choice, as dicts."""
    result = cli(app, "--multi", "columns", *args)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def written(app, tmp_path, fmt: str, name: str, *args: str):
    """Run a research export to tmp_path/name; the path."""
    target = tmp_path / name
    result = cli(app, "--format", fmt, "-o", str(target), *args)
    assert result.exit_code == 0, result.output
    return target


READERS = {"spss": (pyreadstat.read_sav, "sav"), "stata": (pyreadstat.read_dta, "dta")}


def test_the_csv_has_every_session_and_both_versions(app, answered):
    rows = wide_csv(app)
    assert [r["name"] for r in rows] == ["Ana", "Bea", "Cy", "Di"]
    assert len({r["survey_version"] for r in rows}) == 2
    assert [r["fruit"] for r in rows] == ["plum", "apple", "kiwi", ""]
    assert [r["size"] for r in rows] == ["", "", "10", ""]
    assert "thanks" not in rows[0]  # a note stores nothing: no column


@pytest.mark.parametrize("fmt", ["spss", "stata"])
def test_file_reads_back_with_the_csv_rows_labels_and_codes(app, answered, tmp_path, fmt):
    read, extension = READERS[fmt]
    frame, meta = read(str(written(app, tmp_path, fmt, f"study.{extension}")))
    rows = wide_csv(app)
    names = dict(zip(rows[0], meta.column_names, strict=True))  # CSV column -> variable
    assert len(frame) == len(rows)
    for column, name in names.items():
        for row, cell in zip(rows, frame[name], strict=True):
            assert same(column, row[column], cell, meta.variable_value_labels.get(name), fmt)


def same(column: str, text: str, cell, labels: dict | None, fmt: str) -> bool:
    """Whether a file's cell holds what the CSV's text says."""
    missing = cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell is pandas.NaT
    if text == "":
        return missing or cell == ""
    if column in ("started_at", "completed_at"):
        moment = datetime.fromisoformat(text.replace("Z", ""))
        return abs(cell - moment) <= TIME_PRECISION[fmt]
    if column == "visited":
        return cell == date.fromisoformat(text)
    if labels:  # coded: the CSV's value is the label's choice
        return CODED[column](labels[cell], text)
    if isinstance(cell, float):
        return cell == float(text)
    return cell == text


# How far a time read back may be from the CSV's (docs/exports.md, "Times"): Stata
# rounds to the millisecond; SPSS's seconds since 1582, a double, step by 1.9 µs.
TIME_PRECISION = {"stata": timedelta(microseconds=500), "spss": timedelta(microseconds=1)}
CODED = {  # CSV value -> the default language's label it must have
    "lang": lambda label, value: {"en": "English", "es": "Español"}[value] == label,
    "fruit": lambda label, value: label == value.capitalize(),
    "size": lambda label, value: label == {"5": "Small", "10": "Large", "other": "Other"}[value],
    "ok": lambda label, value: label == value.capitalize(),
}
CODED |= {f"picks.{c}": lambda label, value: label == ("Picked" if value == "1" else "Not picked")
          for c in ("red", "green", "blue")}  # fmt: skip


@pytest.mark.parametrize("fmt", ["spss", "stata"])
def test_codes_follow_the_newest_version_then_older_values(app, answered, tmp_path, fmt):
    read, extension = READERS[fmt]
    _, meta = read(str(written(app, tmp_path, fmt, f"study.{extension}")))
    labels = meta.variable_value_labels
    assert labels["fruit"] == {1: "Pear", 2: "Apple", 3: "Kiwi", 4: "Plum"}
    assert labels["size"] == {5: "Small", 10: "Large", 1: "Other"}  # whole numbers: themselves
    assert labels["ok"] == {1: "Yes", 0: "No"}
    assert labels["lang"] == {1: "English", 2: "Español"}
    assert "language" not in labels  # the session's language stays a string


@pytest.mark.sqlite_only  # labels come from the survey
@pytest.mark.parametrize("fmt", ["spss", "stata"])
def test_variable_labels_are_the_default_language_texts_untouched(app, answered, tmp_path, fmt):
    read, extension = READERS[fmt]
    _, meta = read(str(written(app, tmp_path, fmt, f"study.{extension}")))
    labels = meta.column_names_to_labels
    assert labels["fruit"] == "Which fruit, {{ answers.name }}?"
    assert labels["picks_green"] == "Green"
    assert labels["visited"] == "When did you last visit?"
    assert labels["old_q"] == "Anything else?"  # a question only the older version had


@pytest.mark.sqlite_only  # names come from the survey, not SQL
def test_names_are_valid_for_stata_and_unique(app, answered, tmp_path):
    path = written(app, tmp_path, "stata", "study.dta")
    assert path.read_bytes().startswith(b"<stata_dta><header><release>118<")  # Stata 14+
    _, meta = pyreadstat.read_dta(str(path))
    assert LONG_ID[:32] in meta.column_names
    for name in meta.column_names:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", name), name
    assert len(set(meta.column_names)) == len(meta.column_names)
    _, spss = pyreadstat.read_sav(str(written(app, tmp_path, "spss", "study.sav")))
    assert LONG_ID in spss.column_names  # SPSS allows 64 characters


def test_pandas_reads_the_same_rows_and_labels(app, answered, tmp_path):
    rows = wide_csv(app)
    stata = pandas.read_stata(written(app, tmp_path, "stata", "study.dta"))
    assert list(stata["name"]) == [r["name"] for r in rows]
    assert list(stata["fruit"].astype(object).fillna("")) == ["Plum", "Apple", "Kiwi", ""]
    spss = pandas.read_spss(written(app, tmp_path, "spss", "study.sav"))
    assert list(spss["ok"].astype(object).fillna("")) == ["Yes", "No", "Yes", ""]
    assert list(spss["picks_blue"].astype(object).fillna("")) == [
        "Not picked",
        "Picked",
        "Not picked",
        "",
    ]


@pytest.mark.parametrize("fmt", ["spss", "stata"])
def test_filters_and_test_sessions_as_in_the_csv(app, answered, tmp_path, fmt):
    read, extension = READERS[fmt]
    path = written(app, tmp_path, fmt, f"done.{extension}", "--status", "completed")
    frame, _ = read(str(path))
    assert list(frame["name"]) == ["Ana", "Bea", "Cy"]
    path = written(app, tmp_path, fmt, f"all.{extension}", "--include-tests", "--hash-phones")
    frame, _ = read(str(path))
    assert list(frame["test"]) == [0, 0, 0, 0, 1]
    assert not any(phone.startswith("+") for phone in frame["phone"])


def stored(app, session_id: int, value) -> None:
    """Make `value` a session's answer to LONG_ID, as a version without a limit stored it."""
    engine = app.extensions["survey_service"].engine
    with engine.begin() as conn:
        found = conn.execute(
            text("SELECT answers FROM survey_session WHERE id = :id"), {"id": session_id}
        )
        answers = values.load(found.scalar_one()) | {LONG_ID: value}
        conn.execute(
            text("UPDATE survey_session SET answers = :answers WHERE id = :id"),
            {"answers": values.dump(answers), "id": session_id},
        )
        conn.execute(
            text("UPDATE answer SET value = :value WHERE session_id = :id AND question_id = :q"),
            {"value": values.dump(value), "id": session_id, "q": LONG_ID},
        )


@pytest.mark.parametrize("fmt", ["spss", "stata"])
def test_a_stored_number_no_reply_can_give_now_is_missing(app, client, answered, tmp_path, fmt):
    stored(app, 1, 10**309)  # Ana's: `1` and 309 zeros, once accepted
    stored(app, 2, math.inf)  # Bea's: `1`, 309 zeros and `.5`, once stored as Infinity
    read, extension = READERS[fmt]
    assert client.get(f"/surveys/study/export.{extension}", headers=AUTH).status_code == 200
    frame, meta = read(str(written(app, tmp_path, fmt, f"study.{extension}")))
    name = dict(zip(wide_csv(app)[0], meta.column_names, strict=True))[LONG_ID]
    assert list(frame["name"]) == ["Ana", "Bea", "Cy", "Di"]
    assert [None if math.isnan(n) else n for n in frame[name]] == [None, None, 1, None]


@pytest.mark.sqlite_only  # refused before any SQL
def test_research_formats_need_a_path_and_take_no_labels(app, answered):
    result = cli(app, "--format", "spss")
    assert result.exit_code == 2 and "-o PATH" in result.output
    result = cli(app, "--format", "stata", "-o", "x.dta", "--labels")
    assert result.exit_code == 2 and "value labels" in result.output


# -- Flow Results ------------------------------------------------------------

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00")
FIELDS = [
    ("timestamp", "datetime"),
    ("row_id", "string"),
    ("contact_id", "string"),
    ("question_id", "string"),
    ("response", "any"),
    ("response_metadata", "object"),
]


def package(path) -> tuple[dict, list]:
    """(descriptor, response rows) of a package folder or .zip."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            made = json.loads(archive.read("datapackage.json"))
            data = archive.read(made["resources"][0]["path"])
    else:
        made = json.loads((path / "datapackage.json").read_text())
        data = (path / made["resources"][0]["path"]).read_bytes()
    return made, json.loads(data)


def test_flow_results_descriptor_field_by_field(app, answered, tmp_path):
    made, _ = package(written(app, tmp_path, "floip", "study.zip"))
    assert made["profile"] == "flow-results-package"
    assert made["flow_results_specification_version"] == "1.0.0-rc1"
    assert RFC3339.fullmatch(made["created"]) and RFC3339.fullmatch(made["modified"])
    # The second version changed fruit's choices: the package's id began with it.
    assert made["created"] == made["modified"]
    assert uuid.UUID(made["id"]).version == 4
    assert re.fullmatch(r"[a-z0-9._-]+", made["name"]) and made["title"] == "Household study"
    (resource,) = made["resources"]
    assert "data" not in resource and resource["path"].endswith(".json")
    schema = resource["schema"]
    assert [(f["name"], f["type"]) for f in schema["fields"]] == FIELDS
    assert schema["language"] == "eng"
    questions = schema["questions"]
    assert list(questions) == [
        "lang", "name", "fruit", LONG_ID, "rating", "improve", "ok", "picks", "visited",
        "size", "old_q",
    ]  # fmt: skip
    types = {qid: q["type"] for qid, q in questions.items()}
    assert types == {
        "lang": "select_one", "name": "text", "fruit": "select_one", LONG_ID: "numeric",
        "rating": "numeric", "improve": "text", "ok": "select_one", "picks": "select_many",
        "visited": "date", "size": "select_one", "old_q": "text",
    }  # fmt: skip
    assert questions["fruit"]["type_options"] == {"choices": ["pear", "apple", "kiwi", "plum"]}
    assert questions["ok"]["type_options"] == {"choices": ["yes", "no"]}
    assert questions["lang"]["type_options"] == {"choices": ["en", "es"]}
    assert questions[LONG_ID]["type_options"] == {"range": [1, 30]}
    assert questions["rating"]["type_options"] == {"range": [0, 10]}
    assert questions["fruit"]["label"] == "Which fruit, {{ answers.name }}?"
    assert all(q["type_options"] == {} for q in (questions["name"], questions["visited"]))


def test_flow_results_rows_field_by_field(app, answered, tmp_path):
    made, rows = package(written(app, tmp_path, "floip", "study"))
    questions = made["resources"][0]["schema"]["questions"]
    long = list(csv.DictReader(io.StringIO(cli(app, "--format", "long").stdout)))
    assert len(rows) == len(long)  # every answer, test sessions left out
    assert len({row[1] for row in rows}) == len(rows)  # row ids unique
    phones = {r["session_id"]: r["phone"] for r in long}
    contacts = {}
    for row, line in zip(rows, long, strict=True):
        timestamp, row_id, contact, qid, response, metadata = row
        assert RFC3339.fullmatch(timestamp), timestamp
        assert timestamp[:19] == line["answered_at"][:19]
        assert qid == line["question_id"] and qid in questions
        assert metadata == {"session_id": int(line["session_id"])} and isinstance(row_id, str)
        assert re.fullmatch(r"[0-9a-f]{64}", contact) and contact != phones[line["session_id"]]
        assert contacts.setdefault(line["phone"], contact) == contact  # one per number
        assert valid(questions[qid], response), (qid, response)
    assert len(set(contacts.values())) == 4
    by_question = {row[3]: row[4] for row in rows if row[5]["session_id"] == 1}
    assert by_question["picks"] == ["red", "green"] and by_question["ok"] == "yes"
    assert by_question["visited"] == "2026-11-27" and by_question[LONG_ID] == 4


def test_flow_results_responses_stay_json_with_infinity_stored(app, answered, tmp_path):
    stored(app, 1, math.inf)  # `1`, 309 zeros and `.5`, before number replies had a limit
    stored(app, 2, -math.inf)
    target = written(app, tmp_path, "floip", "study")
    made, _ = package(target)
    data = (target / made["resources"][0]["path"]).read_text()

    def strict(constant):  # Python's json reads Infinity and NaN; JSON has no such thing
        raise ValueError(constant)

    rows = json.loads(data, parse_constant=strict)
    by_session = {row[5]["session_id"]: row[4] for row in rows if row[3] == LONG_ID}
    assert by_session == {1: None, 2: None, 3: 1}


def valid(question: dict, response) -> bool:
    """Whether a response has the form its question's type asks for (the specification)."""
    kind, options = question["type"], question["type_options"]
    choices = options.get("choices")
    if kind == "select_one":
        return isinstance(response, str) and (response in choices or choices is None)
    if kind == "select_many":
        return isinstance(response, list) and all(isinstance(r, str) for r in response)
    if kind == "numeric":
        low, high = options.get("range", [-math.inf, math.inf])
        return isinstance(response, int | float) and low <= response <= high
    if kind == "date":
        return bool(re.fullmatch(r"\d{4}-\d\d-\d\d", response))
    return isinstance(response, str)


def test_older_choice_values_stay_valid_responses(app, answered, tmp_path):
    made, rows = package(written(app, tmp_path, "floip", "study.zip"))
    fruit = made["resources"][0]["schema"]["questions"]["fruit"]
    plum = [row for row in rows if row[3] == "fruit" and row[4] == "plum"]
    assert plum  # answered under the first version, which had plum
    assert fruit["type_options"]["choices"] == ["pear", "apple", "kiwi", "plum"]


@pytest.mark.sqlite_only  # the end-to-end test runs on both
def test_shuffled_choices_are_in_the_rows_metadata(app, answered, tmp_path):
    shown = {"questions": [], "choices": {"fruit": ["kiwi", "apple", "pear"]}}
    engine = app.extensions["survey_service"].engine
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE survey_session SET orders = :orders WHERE id = 3"),
            {"orders": json.dumps(shown)},
        )
    _, rows = package(written(app, tmp_path, "floip", "study.zip"))
    metadata = {(row[5]["session_id"], row[3]): row[5] for row in rows}
    assert metadata[3, "fruit"] == {"session_id": 3, "choice_order": ["kiwi", "apple", "pear"]}
    assert metadata[3, "picks"] == {"session_id": 3}  # not shuffled for this session
    assert metadata[1, "fruit"] == {"session_id": 1}


def test_the_package_id_lasts_while_versions_only_add_questions():
    first = load_survey(STUDY.encode(), "study.yaml")
    added = load_survey((STUDY + SIZE).encode(), "study.yaml")
    changed = load_survey((STUDY + SIZE).replace("From 0 to 10?", "0 to 10?").encode(), "x.yaml")
    key = b"k" * 32
    ids = [
        floip.package_id(key, "study", floip.lineage_start(newest_first))
        for newest_first in ([first], [added, first], [changed, added, first])
    ]
    assert ids[0] == ids[1] != ids[2]
    assert all(uuid.UUID(made).version == 4 for made in ids)
    assert floip.package_id(b"other key" * 4, "study", first) != ids[0]  # another installation


@pytest.mark.sqlite_only  # the rows' SQL is tested on both
def test_the_package_id_is_stable_and_hashes_are_the_csvs(app, answered, tmp_path):
    first, _ = package(written(app, tmp_path, "floip", "one.zip"))
    again, rows = package(written(app, tmp_path, "floip", "two"))
    assert first["id"] == again["id"]
    hashed = list(csv.DictReader(io.StringIO(cli(app, "--format", "long", "--hash-phones").stdout)))
    assert [row[2] for row in rows] == [line["phone"] for line in hashed]


@pytest.mark.sqlite_only  # the same package as the field-by-field tests
def test_frictionless_validates_the_package(app, answered, tmp_path):
    """The package as a Data Package, and every row against the six fields' types.

    frictionless reads `profile` as the address of a profile to fetch; the Flow
    Results profile has none, so the copy checked here says `data-package`. It
    also needs telling that the rows are a table without a header row.
    """
    frictionless = pytest.importorskip("frictionless")
    folder = written(app, tmp_path, "floip", "study")
    made = json.loads((folder / "datapackage.json").read_text())
    made["profile"] = "data-package"
    made["resources"][0] |= {"type": "table", "dialect": {"header": False}}
    report = frictionless.Package(made, basepath=str(folder)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    _, rows = package(folder)
    assert report.tasks[0].stats["rows"] == len(rows) > 0
    rows[0][0] = "yesterday"  # and it does see a bad row
    (folder / made["resources"][0]["path"]).write_text(json.dumps(rows))
    assert not frictionless.Package(made, basepath=str(folder)).validate().valid


# -- codebook ----------------------------------------------------------------


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of a text: rows of cells, without the separator line."""
    found, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(set(c) <= {"-"} for c in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def test_codebook_lists_every_variable_in_export_order(app, answered, tmp_path):
    text = written(app, tmp_path, "codebook", "study.md").read_text()
    _, stata = pyreadstat.read_dta(str(written(app, tmp_path, "stata", "study.dta")))
    _, spss = pyreadstat.read_sav(str(written(app, tmp_path, "spss", "study.sav")))
    columns = list(wide_csv(app)[0])
    variables = tables(text)[0]
    assert variables[0] == ["#", "CSV column", "SPSS", "Stata", "type", "label"]
    assert [r[1].strip("`") for r in variables[1:]] == columns
    assert [r[2].strip("`") for r in variables[1:]] == spss.column_names
    assert [r[3].strip("`") for r in variables[1:]] == stata.column_names
    assert text.startswith("# Codebook: Household study\n")
    assert "`en` (English), `es` (Español)" in text


def test_codebook_entries_match_the_survey(app, answered, tmp_path):
    text = written(app, tmp_path, "codebook", "study.md").read_text()
    entry = section(text, "fruit")
    assert "- Label (en): Which fruit, {{ answers.name }}?" in entry
    assert "- Label (es): ¿Qué fruta, {{ answers.name }}?" in entry
    assert "- Asked: always" in entry and "- Answered: 3 of 4 sessions" in entry
    (codes,) = tables(entry)
    assert codes == [
        ["code", "value", "en", "es", "sessions"],
        ["1", "pear", "Pear", "Pera", "0"],
        ["2", "apple", "Apple", "Manzana", "1"],
        ["3", "kiwi", "Kiwi", "Kiwi", "1"],
        ["4", "plum", "Plum", "Ciruela", "1"],
    ]
    assert "- Limits: 1 to 30" in section(text, LONG_ID)
    improve = section(text, "improve")
    assert "- Asked: when `answers.rating < 7`" in improve and "Answered: 1 of 4" in improve
    assert "- Not in versions" in section(text, "old_q")
    (picked,) = tables(section(text, "picks.green"))
    assert picked[1:] == [["1", "green", "Picked", "Picked", "2"], ["0", "", "Not picked",
                          "Not picked", "1"]]  # fmt: skip


def test_codebook_counts_match_the_csv(app, answered, tmp_path):
    text = written(app, tmp_path, "codebook", "study.md").read_text()
    rows = wide_csv(app)
    for qid in ("name", "fruit", LONG_ID, "rating", "improve", "ok", "visited", "size", "old_q"):
        count = sum(1 for r in rows if r[qid] != "")
        assert f"- Answered: {count} of {len(rows)} sessions" in section(text, qid), qid


def section(text: str, column: str) -> str:
    """A variable's entry in the codebook."""
    start = re.search(rf"^### \d+\. `{re.escape(column)}`$", text, re.M)
    assert start, column
    end = text.find("\n### ", start.end())
    return text[start.end() : end if end >= 0 else None]


# -- over HTTP and in the studio ---------------------------------------------


@pytest.mark.parametrize("extension", ["sav", "dta", "zip", "md"])
def test_http_exports_need_the_token_and_take_filters(client, answered, tmp_path, extension):
    url = f"/surveys/study/export.{extension}"
    assert client.get(url).status_code == 401
    assert client.get("/surveys/nope/export." + extension, headers=AUTH).status_code == 404
    assert client.get(url + "?status=bogus", headers=AUTH).status_code == 400
    response = client.get(url + "?status=completed", headers=AUTH)
    assert response.status_code == 200
    assert f'filename="study.{extension}"' in response.headers["Content-Disposition"]
    path = tmp_path / f"got.{extension}"
    path.write_bytes(response.get_data())
    if extension in ("sav", "dta"):
        frame, _ = READERS["spss" if extension == "sav" else "stata"][0](str(path))
        assert list(frame["name"]) == ["Ana", "Bea", "Cy"]
    elif extension == "zip":
        _, rows = package(path)
        assert {row[5]["session_id"] for row in rows} == {1, 2, 3}
    else:
        assert "Sessions counted: 3 (status completed" in path.read_text()


@pytest.mark.sqlite_only  # refused before any SQL
@pytest.mark.parametrize("extension", ["sav", "dta", "zip", "md"])
def test_labels_over_http_are_a_400_as_on_the_command_line(client, answered, extension):
    response = client.get(f"/surveys/study/export.{extension}?labels=1", headers=AUTH)
    assert response.status_code == 400
    assert "labels=1 is for the CSV" in response.get_data(as_text=True)
    assert (
        client.get(f"/surveys/study/export.{extension}?labels=0", headers=AUTH).status_code == 200
    )


@pytest.mark.sqlite_only  # a header, not SQL
def test_the_codebook_is_markdown_in_utf8_said_once(client, answered):
    response = client.get("/surveys/study/export.md", headers=AUTH)
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert "¿Qué fruta" in response.get_data().decode("utf-8")


@pytest.mark.sqlite_only  # refused before any SQL
def test_unknown_extension_is_a_404(client, answered):
    assert client.get("/surveys/study/export.xlsx", headers=AUTH).status_code == 404


@pytest.mark.sqlite_only  # links, not SQL
def test_studio_links_to_every_export_with_the_filters(client, answered):
    assert sign_in(client).status_code == 302
    page = client.get("/studio/surveys/study?status=completed").get_data(as_text=True)
    for extension in ("csv", "sav", "dta", "zip", "md"):
        assert f"/surveys/study/export.{extension}?status=completed" in page, extension


# -- names and codes, as pure functions ----------------------------------------


@pytest.mark.parametrize(
    ("columns", "spss", "stata"),
    [
        (["in", "with", "long"], ["in", "with_", "long"], ["in_", "with_", "long_"]),
        (["picks.Café", "2nd"], ["picks_Cafe", "v2nd"], ["picks_Cafe", "v2nd"]),
        (["a" * 40, "a" * 40 + "b"], ["a" * 40, "a" * 40 + "b"], ["a" * 32, "a" * 30 + "_2"]),
        (["Q", "q"], ["Q", "q_2"], ["Q", "q"]),  # SPSS does not tell case apart
        (["t.x", "t_x"], ["t_x", "t_x_2"], ["t_x", "t_x_2"]),
    ],
)
def test_names_are_valid_and_unique_per_format(columns, spss, stata):
    assert research.unique_names(columns, research.SPSS) == spss
    assert research.unique_names(columns, research.STATA) == stata


@pytest.mark.parametrize(
    ("values", "codes"),
    [
        (["a", "b", "c"], {"a": 1, "b": 2, "c": 3}),
        (["5", "10", "other"], {"5": 5, "10": 10, "other": 1}),
        (["1", "x", "2", "y"], {"1": 1, "2": 2, "x": 3, "y": 4}),
    ],
)
def test_choice_codes(values, codes):
    assert research.choice_codes(values) == codes


def test_labels_are_cut_without_splitting_a_character():
    assert research.cut("¿Qué?\n tal", 100) == "¿Qué? tal"
    assert research.cut("é" * 50, 81) == "é" * 40  # 80 bytes: the 41st would be split


SHUFFLED = """\
id: shuffled
keywords: [SHUFFLE]
questions:
  - id: brand
    type: choice
    shuffle_choices: true
    text: Which brand?
    choices: [Acme, Bolt, Crest, {label: None of these, value: none, fixed: true}]
  - id: why
    type: text
    text: Why?
"""


def test_choice_order_is_what_the_respondent_was_shown(app, sms, surveys_dir, tmp_path):
    saved(surveys_dir / "shuffled.yaml", SHUFFLED)
    app.extensions["survey_service"].catalog.refresh()
    shown = sms.send("+15550000009", "SHUFFLE")
    sms.send("+15550000009", "1")
    sms.send("+15550000009", "because")
    result = app.test_cli_runner().invoke(
        args=["export", "shuffled", "--format", "floip", "-o", str(tmp_path / "s.zip")]
    )
    assert result.exit_code == 0, result.output
    _, rows = package(tmp_path / "s.zip")
    brand, why = rows
    order = brand[5]["choice_order"]
    assert sorted(order) == ["Acme", "Bolt", "Crest", "none"] and order[-1] == "none"
    labels = {"Acme": "Acme", "Bolt": "Bolt", "Crest": "Crest", "none": "None of these"}
    assert [labels[value] for value in order] == re.findall(r"^\d\. (.+)$", shown, re.M)
    assert brand[4] == order[0]  # "1" picked the first choice shown
    assert why[5] == {"session_id": brand[5]["session_id"]}


def pspp_or_skip() -> str:
    """PSPP, the free SPSS, as an independent reader of .sav files (Debian's pspp)."""
    found = shutil.which("pspp")
    if found is None:
        reason = "pspp is not installed (apt-get install pspp)"
        if os.environ.get("CI") == "true" or os.environ.get("REQUIRE_PSPP") == "1":
            pytest.fail(reason + " (CI or REQUIRE_PSPP=1)")
        pytest.skip(reason)
    return found


@pytest.mark.sqlite_only  # the same file as the pyreadstat tests, read by another program
def test_pspp_reads_the_sav_without_a_warning(app, answered, tmp_path):
    pspp = pspp_or_skip()
    path = written(app, tmp_path, "spss", "study.sav")
    syntax = tmp_path / "read.sps"
    syntax.write_text(
        f"GET FILE='{path}'.\n"
        "FREQUENCIES /VARIABLES=fruit ok.\n"
        "LIST /VARIABLES=session_id name visited picks_red started_at.\n"
    )
    out = tmp_path / "out.csv"
    done = subprocess.run(
        [pspp, "-O", "format=csv", "-o", str(out), str(syntax)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = done.stdout + done.stderr  # pspp also echoes its tables to the terminal
    assert done.returncode == 0 and "warning" not in said and "error" not in said, said
    text = out.read_text()
    for line in ("Valid,Apple,1,", ",Kiwi,1,", ",Plum,1,", "Valid,No,1,", ",Yes,2,"):
        assert line in text, line
    listed = text.split("Table: Data List\n")[1].splitlines()
    assert listed[0] == "session_id,name,visited,picks_red,started_at"
    assert listed[1].startswith("1,Ana,27-NOV-2026,1,")  # whole numbers without decimals
    assert re.fullmatch(r"\d\d-[A-Z]{3}-\d{4} \d\d:\d\d:\d\d\.\d{3}", listed[1].split(",")[-1])
    assert listed[4].startswith("4,Di,.,.,")  # missing
