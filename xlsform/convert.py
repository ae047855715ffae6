"""Turn an XLSForm (read by pyxform) into a survey file, with a warning for what is left out."""

from __future__ import annotations

import difflib
import functools
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.catalog import load_file
from bot.loader import (
    QUESTION_ID,
    RESERVED_IDS,
    SURVEY_ID,
    SurveyError,
    Yaml12Loader,
    choice_key,
)
from bot.model import COMMAND_WORDS, EXPORT_COLUMNS, TEST_COLUMN
from xlsform.languages import language_code
from xlsform.xpath import (
    MAX_DIGITS,
    XPATH_NUMBER,
    Binary,
    Call,
    Ref,
    Scope,
    Str,
    XPathError,
    parse,
    translate,
)

# pyxform's own file types (`SupportedFileTypes`), written out: pyxform and openpyxl
# are imported only to read a form (tests/test_xlsform.py checks the list).
FORM_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".md", ".csv")
# The export's own columns (SPEC 5): a question may not take their names.
TAKEN_IDS = RESERVED_IDS | {*EXPORT_COLUMNS, TEST_COLUMN}
RENAMED_SUFFIX = "_answer"  # `phone` -> `phone_answer`

# XLSForm type -> survey type, for the rows an SMS can ask.
TYPES = {
    "text": "text",
    "integer": "number",
    "decimal": "number",
    "date": "date",
    "note": "note",
    "range": "scale",
    "select_one": "choice",
    "select_multiple": "multi",
}
# What pyxform's type dictionary says a type is (control, bind type, read only) -> ours.
_PYXFORM_KINDS = {
    ("input", "string", "true()"): "note",
    ("input", "string", None): "text",
    ("input", "int", None): "integer",
    ("input", "decimal", None): "decimal",
    ("input", "date", None): "date",
    ("select1", "string", None): "select_one",
    ("select", "string", None): "select_multiple",
}
_PYXFORM_SELECTS = {"select_one": "select_one", "select_all_that_apply": "select_multiple"}


@functools.cache
def _pyxform_aliases() -> dict[str, str]:
    """Every other name pyxform gives a type the bot asks: `string` is text, `q int` integer.

    Types whose choices are in another file (`select one external`) stay left out.
    """
    from pyxform import aliases as pyxform_aliases  # imported when a form is read: see read_form
    from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

    found = {}
    for name, spec in QUESTION_TYPE_DICT.items():
        control, bind = spec.get("control", {}), spec.get("bind", {})
        key = (control.get("tag"), bind.get("type"), bind.get("readonly"))
        if (kind := _PYXFORM_KINDS.get(key)) and "external" not in name:
            found[name.lower()] = kind
    for name, canonical in pyxform_aliases.select.items():
        if (kind := _PYXFORM_SELECTS.get(canonical)) and "file" not in name:
            found[name.lower()] = kind
    return {name: kind for name, kind in found.items() if name != kind}


TYPE_ALIASES = {  # and pyxform's own (`_type_aliases`)
    "int": "integer",
    "select one": "select_one",
    "select1": "select_one",
    "select one from": "select_one",
    "select all that apply": "select_multiple",
    "select all that apply from": "select_multiple",
    "begin group": "begin_group",
    "end group": "end_group",
    "begin repeat": "begin_repeat",
    "end repeat": "end_repeat",
    "begin loop": "begin_repeat",
    "end loop": "end_repeat",
}
# Why a type is left out, for its warning.
LEFT_OUT = {
    "a location cannot be sent by SMS": ("geopoint", "geotrace", "geoshape", "start-geopoint"),
    "media cannot be sent by SMS": ("image", "audio", "video", "file", "background-audio"),
    "a barcode cannot be scanned by SMS": ("barcode",),
    "the survey format has no calculations": ("calculate",),
    "it is device metadata that an SMS session does not collect": (
        "start", "end", "today", "deviceid", "phonenumber", "username", "simserial",
        "subscriberid", "email", "audit", "imei",
    ),
    "the survey format has no time of day": ("time", "datetime"),
}  # fmt: skip
PLAIN = "*"  # the language of a form whose columns name none
READ_SETTINGS = ("form_id", "form_title", "sms_keyword", "default_language")
# Every settings column XLSForm defines (xlsform.org): the others are misspellings.
XLSFORM_SETTINGS = frozenset(
    {*READ_SETTINGS, "set_form_title", "set_form_id", "version", "instance_name", "public_key"}
    | {"submission_url", "auto_send", "auto_delete", "style", "name", "namespaces", "prefix"}
    | {"delimiter", "allow_choice_duplicates", "clean_text_values", "sms_separator"}
    | {"sms_allow_media", "sms_date_format", "sms_datetime_format", "sms_response"}
    | {"compact_tag", "omit_instanceid", "client_editable", "entities_version"}
)
TRUE_WORDS = frozenset({"yes", "true", "true()"})
# Columns whose content is dropped, with the reason given in the warning.
DROPPED_COLUMNS = {
    "choice_filter": "choices cannot be filtered by SMS",
    "default": "the survey format has no default answers",
    "calculation": "the survey format has no calculations",
    "read_only": "every question is answered by SMS",
    "trigger": "the survey format has no triggers",
    "required_message": "a skipped required question gets the standard reason",
}
MEDIA_COLUMNS = ("image", "big-image", "audio", "video")
RANGE_DEFAULTS = {"start": "1", "end": "10", "step": "1"}  # pyxform's
REFERENCE = re.compile(r"\$\{\s*([^}\s]*)\s*\}")
JINJA_OPENERS = re.compile(r"\{(?=[{%#])")  # `{{`, `{%`, `{#` in a label are its own text
MAX_CELL = 10_000  # characters of one cell: a message is at most 1,600
MAX_FORM_BYTES = 10_000_000  # a form's file, and an .xlsx's contents unpacked


@dataclass(frozen=True)
class Warning:  # noqa: A001 - the name the CLI and the brief use: a form import's warning
    """Something in the form that was not carried over, at the sheet and row that hold it."""

    sheet: str
    row: int
    message: str

    def __str__(self) -> str:
        return f"{self.sheet} row {self.row}: {self.message}"


@dataclass(frozen=True)
class Imported:
    """A form made into a survey file's text, with its id and what was left out."""

    yaml_text: str
    survey_id: str
    warnings: list[Warning]


class FormError(Exception):
    """A form that cannot be read, or holds no question an SMS can ask."""

    def __init__(self, message: str, warnings: list[Warning] | None = None):
        super().__init__(message)
        self.warnings = warnings or []  # what was left out on the way: why nothing remains


def import_form(path: str | Path) -> Imported:
    """Read the XLSForm at `path` and make it a survey file that loads; FormError if impossible."""
    path = Path(path)
    survey, warnings = convert(read_form(path), path.stem)
    text = to_yaml(survey, path.name)
    try:  # as the bot will load it: the size first, then everything else
        load_file(text.encode(), f"{survey['id']}.yaml")
    except SurveyError as err:  # never write a file the bot refuses
        problems = "; ".join(f"line {p.line}: {p.message}" for p in err.problems)
        message = f"the survey made from {path.name} would not load ({problems})"
        raise FormError(message, warnings) from None
    return Imported(text, survey["id"], warnings)


def read_form(path: Path) -> dict[str, list[dict[str, str]]]:
    """The form's sheets as pyxform reads them: sheet name -> rows of column -> cell."""
    if path.suffix.lower() not in FORM_SUFFIXES:
        raise FormError(f"{path}: not an XLSForm (use {', '.join(FORM_SUFFIXES)})")
    if not path.is_file():  # pyxform would read the path itself as a form
        raise FormError(f"{path}: no such file")
    # Imported here: pyxform (with openpyxl and pandas) is ~60 MB and a second of every
    # command's start, and only reading a form needs it.
    from pyxform.errors import PyXFormError
    from pyxform.xls2json_backends import get_xlsform

    _within_size(path)
    try:
        data = get_xlsform(str(path), file_type=path.suffix.lower())
    except (PyXFormError, OSError, ValueError) as err:
        reason = " ".join(str(err).split())  # pyxform's messages may span lines
        raise FormError(f"{path}: cannot be read as an XLSForm ({reason})") from None
    if not data.survey:
        raise FormError(f"{path}: has no survey sheet")
    sheets = ("survey", "choices", "settings")
    return {name: [dict(row) for row in getattr(data, name) or ()] for name in sheets}


def _within_size(path: Path) -> None:
    """FormError for a form over MAX_FORM_BYTES, on disk or (a workbook) unpacked."""
    size = path.stat().st_size
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as packed:
                size = max(size, sum(member.file_size for member in packed.infolist()))
        except (zipfile.BadZipFile, OSError):
            pass  # pyxform says what is wrong with it
    if size > MAX_FORM_BYTES:
        raise FormError(f"{path}: over {MAX_FORM_BYTES:,} bytes, too big for a survey")


# -- reading rows --------------------------------------------------------------------------


@dataclass
class Row:
    """One row of a sheet: its number as the spreadsheet shows it, and its cells."""

    sheet: str
    number: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        """The cell of a column without a language, or ''."""
        return self.cells.get(column, "").strip()


def rows_of(book: dict, sheet: str) -> list[Row]:
    """The non-empty rows of a sheet; row 1 is the header, so data starts at row 2.

    FormError for a cell over MAX_CELL characters: no survey text is that long.
    """
    found = []
    for index, cells in enumerate(book.get(sheet, ())):
        if cells:
            row = Row(sheet, index + 2, {_column(k): str(v) for k, v in cells.items()})
            if any(len(value) > MAX_CELL for value in row.cells.values()):
                raise FormError(f"{sheet} row {row.number}: a cell over {MAX_CELL:,} characters")
            found.append(row)
    return found


COLUMN_ALIASES = {
    "relevance": "relevant",
    "caption": "label",
    "constraining_message": "constraint_message",
    "list name": "list_name",
    "calculate": "calculation",
    "readonly": "read_only",
    "jr:constraintmsg": "constraint_message",
}


def _column(header: str) -> str:
    """A header in one spelling: `Label :: English (en)` -> `label::English (en)`."""
    base, _, language = header.replace("::", "\0").replace(":", "\0").partition("\0")
    base = " ".join(base.split()).lower()
    base = COLUMN_ALIASES.get(base, base)
    return f"{base}::{language.strip()}" if language.strip() else base


# -- the conversion ------------------------------------------------------------------------


def convert(book: dict, fallback_id: str) -> tuple[dict[str, Any], list[Warning]]:
    """The survey (as the dict a survey file holds) and the warnings, from a form's sheets."""
    converter = _Converter(book)
    survey = converter.settings(fallback_id)
    questions = converter.questions()
    sheets = ("settings", "survey", "choices")
    warnings = sorted(converter.warnings, key=lambda w: (sheets.index(w.sheet), w.row))
    if not any(q["type"] != "note" for q in questions):
        raise FormError("no question in this form can be asked by SMS", warnings)
    if len(converter.languages) > 1 or converter.languages[:1] not in ([], ["en"]):
        survey["languages"] = converter.languages
    survey["questions"] = questions
    return survey, warnings


@dataclass
class _Question:
    """A row that becomes a question: its row, survey type and id."""

    row: Row
    type: str
    id: str
    groups: tuple[str | None, ...]  # the `when` of each enclosing group (None: none)


@dataclass
class _Converter:
    """Reads a form's sheets into a survey, collecting warnings on the way."""

    book: dict
    warnings: list[Warning] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    columns: dict[str, str | None] = field(default_factory=dict)  # column language -> code
    left_out: dict[str, Row] = field(default_factory=dict)  # names of rows left out
    _rows: dict[str, list[Row]] = field(default_factory=dict)  # each sheet's rows, read once
    _lists: dict[str, list[Row]] | None = None  # choice rows by list name
    # The ids (by form name) and types of the questions read so far, for groups' conditions.
    before: tuple[dict, dict] = field(default_factory=lambda: ({}, {}))

    def rows(self, sheet: str) -> list[Row]:
        """A sheet's rows, read once: every lookup after the first is linear, not the sheet."""
        if sheet not in self._rows:
            self._rows[sheet] = rows_of(self.book, sheet)
        return self._rows[sheet]

    def choice_rows(self, list_name: str) -> list[Row]:
        """The rows of one choice list, from an index made once."""
        if self._lists is None:
            self._lists = {}
            for row in self.rows("choices"):
                self._lists.setdefault(row.get("list_name"), []).append(row)
        return self._lists.get(list_name, [])

    def warn(self, row: Row | tuple[str, int], message: str) -> None:
        """Record a warning at a row (or at a sheet and row number)."""
        sheet, number = (row.sheet, row.number) if isinstance(row, Row) else row
        self.warnings.append(Warning(sheet, number, message))

    # settings ---------------------------------------------------------------------------

    def settings(self, fallback_id: str) -> dict[str, Any]:
        """id, title and keywords from the settings sheet; the languages in use."""
        rows = self.rows("settings")
        setting = rows[0] if rows else Row("settings", 2, {})
        self.check_setting_columns(setting)
        survey: dict[str, Any] = {"id": self.survey_id(setting, fallback_id)}
        if title := setting.get("form_title"):
            survey["title"] = title
        if keywords := self.keywords(setting):
            survey["keywords"] = keywords
        self.find_languages(setting)
        return survey

    def check_setting_columns(self, setting: Row) -> None:
        """Warn about a settings column XLSForm does not know: a misspelling is never silent."""
        for column in setting.cells:
            if column.partition("::")[0] not in XLSFORM_SETTINGS:
                close = difflib.get_close_matches(column, READ_SETTINGS, n=1, cutoff=0.7)
                hint = f' (did you mean "{close[0]}"?)' if close else ""
                self.warn(setting, f'settings column "{column}" is not an XLSForm setting{hint}')

    def survey_id(self, setting: Row, fallback_id: str) -> str:
        """form_id (else the file's name), made a valid survey id."""
        wanted = setting.get("form_id") or fallback_id
        survey_id = re.sub(r"[^A-Za-z0-9._-]+", "-", wanted).strip("-._") or "imported"
        if not SURVEY_ID.fullmatch(wanted):
            self.warn(setting, f'the form id "{wanted}" is not a valid survey id: "{survey_id}"')
        return survey_id

    def keywords(self, setting: Row) -> list[str]:
        """sms_keyword's words, upper case, without command words (the bot keeps those)."""
        words = [w.upper() for w in re.split(r"[\s,;]+", setting.get("sms_keyword")) if w]
        for word in words:
            if word.lower() in COMMAND_WORDS:
                self.warn(setting, f'the keyword "{word}" is a command word; left out')
        return [w for w in words if w.lower() not in COMMAND_WORDS]

    def find_languages(self, setting: Row) -> None:
        """Map each language column to a code; the default language comes first."""
        default = setting.get("default_language")
        default_code = language_code(default) if default else None
        if default and not default_code:
            self.warn(setting, f'default_language "{default}" has no ISO 639-1 code; ignored')
        for sheet in ("survey", "choices"):
            for column in self.language_columns(sheet):
                self.add_language_column(sheet, column)
        codes = [c for c in self.columns.values() if c]
        if default_code:
            codes.insert(0, default_code)
        elif codes and self.has_plain("label"):
            message = f"the plain label column has no language: it is read as {codes[0]}"
            self.warn(("survey", 1), message + " (set default_language in settings)")
        self.languages = list(dict.fromkeys(codes))
        self.columns[""] = self.languages[0] if self.languages else PLAIN

    def language_columns(self, sheet: str) -> list[str]:
        """The languages named in a sheet's translatable columns, in column order."""
        found = []
        for cells in self.book.get(sheet, ()):
            for header in map(_column, cells):
                base, _, language = header.partition("::")
                if language and base in ("label", "hint", "constraint_message"):
                    found.append(language)
        return list(dict.fromkeys(found))

    def add_language_column(self, sheet: str, language: str) -> None:
        """Record one language column's code, warning when it has none or repeats one."""
        if language in self.columns:
            return
        code = language_code(language)
        if code is None:
            self.warn((sheet, 1), f'"{language}" has no ISO 639-1 code: its columns are left out')
        elif code in self.columns.values():
            self.warn((sheet, 1), f'"{language}" is a second column for "{code}": left out')
            code = None
        self.columns[language] = code

    def has_plain(self, column: str) -> bool:
        """Whether a column without a language holds anything on the survey sheet."""
        return any(row.get(column) for row in self.rows("survey"))

    # texts ------------------------------------------------------------------------------

    def texts(self, row: Row, column: str) -> dict[str, str]:
        """A translatable column's cells by language code (the plain one fills the default)."""
        found: dict[str, str] = {}
        for header, value in row.cells.items():
            base, _, language = header.partition("::")
            code = self.columns.get(language)
            if base != column or not code or not value.strip():
                continue
            if language:  # a column for the language wins over the plain one
                found[code] = value.strip()
            else:
                found.setdefault(code, value.strip())
        return found

    def text(self, texts: dict[str, str]) -> str | dict[str, str] | None:
        """One text, or a map by language when the survey has several."""
        if not texts:
            return None
        if len(self.languages) > 1:
            return {code: texts[code] for code in self.languages if code in texts}
        return next(iter(texts.values()))

    def template(self, row: Row, source: str, ids: dict[str, str]) -> str:
        """A label as a survey text: `${x}` -> `{{ answers.x }}`, Jinja's own marks kept."""
        escaped = _as_text(source)

        def answer(match: re.Match) -> str:
            if match[1] in ids:
                return f"{{{{ answers.{ids[match[1]]} }}}}"
            self.warn(row, f"{match[0]} in a label {self.unknown(match[1])}; left out")
            return ""

        return REFERENCE.sub(answer, escaped)

    def unknown(self, name: str) -> str:
        """Why a name cannot be used: it is left out, or is not asked before."""
        if name in self.left_out:
            return f"is row {self.left_out[name].number}, which is left out"
        return "is not a question asked before this one"

    # questions --------------------------------------------------------------------------

    def questions(self) -> list[dict[str, Any]]:
        """Every question an SMS can ask, in order, groups flattened."""
        found = self.rows_to_questions(self.rows("survey"))
        ids: dict[str, str] = {}
        types: dict[str, str] = {}
        made = []
        for item in found:
            # The live maps, not copies (quadratic in rows): a condition is translated
            # at once, while they hold only the questions before this one.
            question = self.question(item, Scope(ids, types), ids)
            if question is not None:
                made.append(question)
                if item.type != "note":
                    ids[item.row.get("name")] = item.id
                    types[item.id] = item.type
        return made

    def rows_to_questions(self, rows: list[Row]) -> list[_Question]:
        """The rows that become questions, with their groups' conditions; warn for the rest."""
        found: list[_Question] = []
        groups: list[str | None] = []
        repeat: list[Row] = []  # the open repeat's rows, its begin_repeat first
        depth = 0
        taken: set[str] = set()
        self.before = ({}, {})
        for row in rows:
            kind = self.kind(row)
            if repeat:
                depth += {"begin_repeat": 1, "end_repeat": -1}.get(kind, 0)
                repeat.append(row)
                if depth == 0:
                    self.left_out_repeat(repeat)
                    repeat = []
            elif kind == "begin_repeat":
                repeat, depth = [row], 1
            elif kind in ("begin_group", "end_group"):
                self.group(row, kind, groups, found)
            elif kind in TYPES:
                name = self.question_id(row, taken)
                found.append(_Question(row, TYPES[kind], name, tuple(groups)))
                self.before[1][name] = TYPES[kind]
                if TYPES[kind] != "note":
                    self.before[0][row.get("name")] = name
            else:
                self.left_out_row(row, self.why_left_out(kind, row))
        if repeat:  # a repeat never closed runs to the end of the sheet
            self.left_out_repeat(repeat)
        return found

    def left_out_repeat(self, rows: list[Row]) -> None:
        """One warning for a repeat and every row in it (their names are left out too)."""
        for row in rows[1:]:
            if name := row.get("name"):
                self.left_out[name] = row
        inside = f"rows {rows[1].number} to {rows[-1].number}" if len(rows) > 1 else "nothing"
        self.left_out_row(rows[0], f"a repeat cannot be asked by SMS: it is left out with {inside}")

    def group(self, row: Row, kind: str, groups: list, found: list[_Question]) -> None:
        """Open or close a group; its `relevant` joins its questions' `when`."""
        if kind == "end_group":
            if groups:
                groups.pop()
            else:
                self.warn(row, "end_group without a begin_group; ignored")
            return
        asked = "the group's questions are asked whatever the answers"
        groups.append(self.condition(row, "relevant", Scope(*self.before), asked))

    def kind(self, row: Row) -> str:
        """The row's type, in one spelling: `select one from x` -> `select_one`."""
        return parse_type(row.get("type"))[0]

    def why_left_out(self, kind: str, row: Row) -> str:
        """The warning for a row whose type is left out."""
        if not kind:
            return "it has no type"
        reason = next((why for why, kinds in LEFT_OUT.items() if kind in kinds), None)
        if kind.endswith("_from_file") or kind.endswith("_external"):
            reason = "its choices are in a separate file"
        return f'type "{row.get("type")}" is left out: {reason or "SMS cannot ask it"}'

    def left_out_row(self, row: Row, message: str) -> None:
        """Warn about a row that is left out, and remember its name for references to it."""
        if name := row.get("name"):
            self.left_out[name] = row
        self.warn(row, message)

    def question_id(self, row: Row, taken: set[str]) -> str:
        """The row's name as a valid, unused question id, warning when it had to change."""
        name = row.get("name")
        wanted = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "question"
        if not wanted[0].isalpha():
            wanted = "q_" + wanted
        if wanted in TAKEN_IDS:
            wanted += RENAMED_SUFFIX
        qid, count = wanted, 1
        while qid in taken:
            count += 1
            qid = f"{wanted}_{count}"
        taken.add(qid)
        if qid != name or not QUESTION_ID.fullmatch(name):
            self.warn(row, f'the name "{name}" is not a valid question id: renamed "{qid}"')
        return qid

    def question(self, item: _Question, scope: Scope, ids: dict[str, str]) -> dict | None:
        """The survey question for one row, or None (with a warning) if it cannot be made."""
        row = item.row
        question: dict[str, Any] = {"id": item.id, "type": item.type}
        question["text"] = self.question_text(row, ids)
        if item.type in ("choice", "multi"):
            if not (choices := self.choices(row)):
                return None
            question["choices"] = choices
        if item.type == "scale":
            question.update(self.range(row))
        if self.kind(row) == "integer":
            question["integer"] = True
        if item.type != "note":
            question.update(self.rules(item, scope))
        elif when := self.when(item, scope, "the note is sent whatever the answers"):
            question["when"] = when  # "Since you did not give consent..." only to those who did not
        self.dropped_columns(row)
        return question

    def question_text(self, row: Row, ids: dict[str, str]) -> str | dict[str, str]:
        """The label, with the hint as a second line, in each language."""
        labels, hints = self.texts(row, "label"), self.texts(row, "hint")
        if not labels:
            self.warn(row, "it has no label: its name is its text")
            labels = {code: row.get("name") for code in self.languages or [PLAIN]}
        joined = {
            code: self.template(row, "\n".join(filter(None, (label, hints.get(code)))), ids)
            for code, label in labels.items()
        }
        return self.text(joined)

    def rules(self, item: _Question, scope: Scope) -> dict[str, Any]:
        """optional, when, constraint (or a date's min and max) and error."""
        row, found = item.row, {}
        required = row.get("required")
        if required.lower() not in TRUE_WORDS:
            found["optional"] = True
            if required and required.lower() not in ("no", "false", "false()"):
                self.warn(
                    row, f'required "{required}" is not a yes or no: the question is optional'
                )
        if when := self.when(item, scope, "the question is asked whatever the answers"):
            found["when"] = when
        current = Scope(scope.ids, scope.types, item.type)
        found.update(self.constraint(row, current, item.type))
        return found

    def when(self, item: _Question, scope: Scope, meaning: str) -> str | None:
        """The row's `relevant` joined with its groups', or None when nothing limits it."""
        conditions = [*item.groups, self.condition(item.row, "relevant", scope, meaning)]
        if conditions := [c for c in conditions if c]:
            return " and ".join(_bracket_or(c, len(conditions)) for c in conditions)
        return None

    def condition(self, row: Row, column: str, scope: Scope, meaning: str) -> str | None:
        """A translated expression, or None (warning when one was there but cannot be)."""
        source = row.get(column)
        if not source:
            return None
        try:
            return translate(source, scope)
        except XPathError as err:
            name = err.part[2:-1] if err.part.startswith("${") else None
            unknown = name is not None and name not in scope.ids
            reason = f"{err.part} {self.unknown(name)}" if unknown else str(err)
            self.warn(row, f"{column} left out ({reason}): {meaning}")
            return None

    def constraint(self, row: Row, scope: Scope, qtype: str) -> dict[str, Any]:
        """constraint and error; a date's bounds against today or a date become min/max."""
        found: dict[str, Any] = {}
        source = row.get("constraint")
        bounds = date_bounds(source) if source and qtype == "date" else None
        if bounds:
            found.update(bounds)
        elif translated := self.condition(row, "constraint", scope, "any reply is accepted"):
            found["constraint"] = translated
        messages = {
            code: _as_text(text) for code, text in self.texts(row, "constraint_message").items()
        }
        if found and (error := self.text(messages)):
            found["error"] = error
        return found

    def range(self, row: Row) -> dict[str, Any]:
        """min and max of a range's scale from its parameters (pyxform's defaults otherwise)."""
        given = dict(re.findall(r"(\w+)\s*=\s*([-\d.]+)", row.get("parameters")))
        for name, number in list(given.items()):
            if sum(c.isdigit() for c in number) > MAX_DIGITS or not XPATH_NUMBER.fullmatch(number):
                self.warn(
                    row, f"{name}={number[:20]} is not a number of at most {MAX_DIGITS} digits"
                )
                del given[name]
        params = RANGE_DEFAULTS | given
        low, high = float(params["start"]), float(params["end"])
        if params["step"] not in ("1", "1.0"):
            self.warn(row, f"step {params['step']} is not carried over: every whole number counts")
        if low > high:
            self.warn(row, "start is larger than end: the scale runs from end to start")
            low, high = high, low
        if not (low.is_integer() and high.is_integer()):
            self.warn(row, "a scale takes whole numbers: its bounds are rounded inwards")
        return {"min": int(-(-low // 1)), "max": int(high // 1)}

    def choices(self, row: Row) -> list | None:
        """The choices of a select row's list, each `name` as its value."""
        _, list_name, or_other = parse_type(row.get("type"))
        if or_other:
            self.warn(row, "or_other is left out: add an Other choice and a text question")
        rows = self.choice_rows(list_name)
        if not rows:
            self.left_out_row(row, f'its choice list "{list_name}" is not on the choices sheet')
            return None
        choices, changed = _unique([self.choice(r) for r in rows])
        if changed:  # a list the form told apart with choice_filter, shown whole by SMS
            self.warn(
                row,
                f'{changed} choices of "{list_name}" shared a name or label with another: '
                "repeats are left out, the rest made unique by their name",
            )
        return choices

    def choice(self, row: Row) -> str | dict[str, Any]:
        """One choice: a plain label when it is its own value, else {label, value}."""
        value = row.get("name")
        label = self.text(self.texts(row, "label")) or value
        self.media(row)
        return label if label == value else _Flow(label=label, value=value)

    def dropped_columns(self, row: Row) -> None:
        """Warn about each filled column whose effect cannot be carried over."""
        for column, why in DROPPED_COLUMNS.items():
            if row.get(column) and not (column == "calculation" and self.kind(row) == "calculate"):
                self.warn(row, f"{column} is left out: {why}")
        self.media(row)

    def media(self, row: Row) -> None:
        """Warn about each media column (in any language) a row fills."""
        for column in MEDIA_COLUMNS:
            if any(k.partition("::")[0] == column for k in row.cells):
                self.warn(row, f"{column} is left out: media cannot be sent by SMS")


def _unique(choices: list) -> tuple[list, int]:
    """Choices whose labels and values lead to one choice each, and how many were changed.

    A choice repeating an earlier one's value and label is left out; a repeated value
    gets a number (`springfield_2`); a label another choice uses gets its value added.
    """
    kept: list = []
    owners: dict[str, int] = {}  # each label and value, as replies compare them -> choice
    changed = 0
    for choice in choices:
        label, value = (choice, choice) if isinstance(choice, str) else choice.values()
        labels = label if isinstance(label, dict) else {"": label}
        if any(_same(earlier, labels, value) for earlier in kept):
            changed += 1
            continue
        new_value, count = value, 1
        while choice_key(new_value) in owners:
            count += 1
            new_value = f"{value}_{count}"
        new_labels = {
            code: text if choice_key(text) not in owners else f"{text} ({new_value})"
            for code, text in labels.items()
        }
        changed += new_value != value or new_labels != labels
        index = len(kept)
        for text in (new_value, *new_labels.values()):
            owners.setdefault(choice_key(text), index)
        made_label = new_labels.get("", new_labels)
        kept.append(
            made_label if made_label == new_value else _Flow(label=made_label, value=new_value)
        )
    return kept, changed


def _same(earlier, labels: dict, value: str) -> bool:
    """Whether an earlier choice has this value and these labels."""
    if isinstance(earlier, str):
        return earlier == value and labels == {"": value}
    old = earlier["label"] if isinstance(earlier["label"], dict) else {"": earlier["label"]}
    return earlier["value"] == value and old == labels


def _as_text(source: str) -> str:
    """Imported text as a survey template that shows it as it is: Jinja's marks escaped."""
    return JINJA_OPENERS.sub("{{ '{' }}", source)


def _bracket_or(condition: str, joined: int) -> str:
    """A condition to be joined with `and`: bracketed when it holds an `or`."""
    return f"({condition})" if joined > 1 and " or " in condition else condition


@functools.cache
def _type_aliases() -> dict[str, str]:
    """Every other spelling of a type: pyxform's and XLSForm's."""
    return {**_pyxform_aliases(), **TYPE_ALIASES}


def parse_type(cell: str) -> tuple[str, str, bool]:
    """(type in one spelling, its choice list, or_other) of a type cell."""
    text = " ".join(cell.split())
    aliases = _type_aliases()
    for alias in sorted(aliases, key=len, reverse=True):
        if text.lower() == alias or text.lower().startswith(alias + " "):
            kind, rest = aliases[alias], text[len(alias) :].split()
            break
    else:
        kind, rest = (text.split()[0].lower(), text.split()[1:]) if text else ("", [])
    lowered = [word.lower() for word in rest]
    or_other = lowered[-1:] == ["or_other"] or lowered[-3:] == ["or", "specify", "other"]
    return kind, rest[0] if rest else "", or_other


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_BOUND_KEYS = {"<=": "max", ">=": "min"}


def date_bounds(source: str) -> dict[str, str] | None:
    """min/max from a date constraint such as `. >= '2020-01-01' and . <= today()`, or None."""
    try:
        tree = parse(source)
    except XPathError:
        return None
    parts, bounds = [tree], {}
    while parts:
        part = parts.pop()
        if isinstance(part, Binary) and part.op == "and":
            parts += [part.left, part.right]
        elif (bound := _date_bound(part)) and bound[0] not in bounds:
            bounds[bound[0]] = bound[1]
        else:
            return None
    return dict(sorted(bounds.items(), key=lambda b: b[0] != "min"))


def _date_bound(part: object) -> tuple[str, str] | None:
    """("min" or "max", "today" or a date) for `. >= X` / `. <= X`, else None."""
    if not (isinstance(part, Binary) and part.op in DATE_BOUND_KEYS and part.left == Ref(None)):
        return None
    if part.right == Call("today", ()):
        return DATE_BOUND_KEYS[part.op], "today"
    if isinstance(part.right, Str) and ISO_DATE.fullmatch(part.right.value):
        return DATE_BOUND_KEYS[part.op], part.right.value
    return None


# -- writing YAML --------------------------------------------------------------------------


class _Flow(dict):
    """A mapping written on one line: `{label: Apple, value: apple}`."""


_RESOLVER = Yaml12Loader("")  # how the bot will read a plain scalar back


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """Writes survey files as an author would: texts readable, choices on one line each.

    libyaml's emitter where there is one: PyYAML's own took most of an import's time.
    """


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    """Multi-line texts as blocks; quotes wherever YAML 1.2 would read something else."""
    if "\n" in text:
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    plain_tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    style = None if plain_tag == "tag:yaml.org,2002:str" else "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(
    _Flow, lambda d, m: d.represent_mapping("tag:yaml.org,2002:map", m, flow_style=True)
)


def to_yaml(survey: dict[str, Any], form_name: str) -> str:
    """The survey file's text, headed by a comment naming the form it came from."""
    body = yaml.dump(
        survey, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, indent=2
    )
    head = f"# Imported from the XLSForm {form_name} by `flask surveys import`.\n"
    return head + "# Edit this file from now on: see docs/importing.md.\n" + body
