"""Flow Results packages (SPEC 13): the Flow Interoperability Project's format for responses.

A package is a Data Package descriptor (`datapackage.json`) with one resource
whose data is a JSON file of row arrays, one per answer: timestamp, row id,
contact id, question id, response, response metadata. Rows are written as
they are read, a batch at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection

from bot import values
from bot.model import NOTE, Question, Survey
from storage.export import Query, batches, phone_hash

SPEC_VERSION = "1.0.0-rc1"
PROFILE = "flow-results-package"
DESCRIPTOR = "datapackage.json"
FIELDS = [
    {"name": "timestamp", "title": "Timestamp", "type": "datetime"},
    {"name": "row_id", "title": "Row ID", "type": "string"},
    {"name": "contact_id", "title": "Contact ID", "type": "string"},
    {"name": "question_id", "title": "Question ID", "type": "string"},
    {"name": "response", "title": "Response", "type": "any"},
    {"name": "response_metadata", "title": "Response Metadata", "type": "object"},
]
TYPES = {
    "text": "text",
    "number": "numeric",
    "scale": "numeric",
    "choice": "select_one",
    "yesno": "select_one",
    "language": "select_one",
    "multi": "select_many",
    "date": "date",
}
YES_NO = ["yes", "no"]  # a yes/no question's choices, and its answers as responses
ANSWERS = """
SELECT a.id, s.id, s.phone, a.question_id, a.value, a.answered_at, s.orders
FROM survey_session AS s JOIN answer AS a ON a.session_id = s.id
WHERE {where} ORDER BY s.started_at, s.id, a.id
"""


def question_entry(question: Question) -> dict:
    """A question as the descriptor's `questions` describe it: type, label, type options."""
    options: dict = {}
    if question.type == "yesno":
        options["choices"] = list(YES_NO)
    elif question.choices:
        options["choices"] = [c.value for c in question.choices]
    elif TYPES[question.type] == "numeric" and _limited(question):
        options["range"] = [question.min, question.max]
    return {"type": TYPES[question.type], "label": question.text.source, "type_options": options}


def _limited(question: Question) -> bool:
    """Whether a number or scale has both limits, so a range can be given."""
    return all(isinstance(x, int | float) for x in (question.min, question.max))


def questions(versions: list[Survey]) -> dict[str, dict]:
    """Every question with answers, keyed by id: the newest version's, then older ones'.

    A question is described as its newest version asks it, its choices followed
    by values only older versions had, so that every stored answer is a valid response.
    """
    found: dict[str, dict] = {}
    for version in versions:
        for question in version.questions:
            if question.type == NOTE:
                continue
            if question.id not in found:
                found[question.id] = question_entry(question)
            choices = found[question.id]["type_options"].get("choices")
            if question.choices and choices is not None:
                choices += [c.value for c in question.choices if c.value not in choices]
    return found


def lineage_start(versions: list[Survey]) -> Survey:
    """The oldest version from which no later one changed or removed a question.

    `versions` are newest first. The package keeps its id while versions only add questions.
    """
    start = versions[0]
    for newer, older in zip(versions, versions[1:], strict=False):
        kept = questions([newer])
        if any(kept.get(qid) != entry for qid, entry in questions([older]).items()):
            break
        start = older
    return start


def package_id(key: bytes, survey_id: str, start: Survey) -> str:
    """A UUID v4 for the survey from `start` on: derived, so every export gives the same one."""
    digest = hmac.new(key, f"floip:{survey_id}:{start.version}".encode(), hashlib.sha256)
    return str(uuid.UUID(bytes=digest.digest()[:16], version=4))


def descriptor(versions: list[Survey], key: bytes, seen: dict[str, datetime], now) -> dict:
    """The package's descriptor; `seen` is when each version was first stored."""
    survey, start = versions[0], lineage_start(versions)
    return {
        "profile": PROFILE,
        "flow_results_specification_version": SPEC_VERSION,
        "name": _name(survey.id),
        "title": survey.name,
        "id": package_id(key, survey.id, start),
        "created": _timestamp(seen.get(start.version, now)),
        "modified": _timestamp(seen.get(survey.version, now)),
        "resources": [
            {
                "name": _name(f"{survey.id}-responses"),
                "path": f"{_name(survey.id)}-responses.json",
                "format": "json",
                "mediatype": "application/json",
                "encoding": "utf-8",
                "schema": {
                    "fields": FIELDS,
                    "questions": questions(versions),
                    **_language(survey.language),
                },
            }
        ],
    }


ISO_639_3 = {"en": "eng", "es": "spa", "fr": "fra", "pt": "por"}  # the built-in languages


def _language(code: str) -> dict:
    """The labels' language as the specification wants it (ISO 639-3), when it is known."""
    return {"language": ISO_639_3[code]} if code in ISO_639_3 else {}


def _name(text: str) -> str:
    """A Data Package name: lower case letters, digits, `.`, `_` and `-`."""
    return re.sub(r"[^a-z0-9._-]", "-", text.lower())


def _timestamp(moment: datetime | str) -> str:
    """RFC 3339 with the offset written `+00:00` (the specification asks for it, not `Z`)."""
    if isinstance(moment, str):  # SQLite's stored UTC text
        return moment.replace(" ", "T", 1) + "+00:00"
    return moment.astimezone(UTC).isoformat()


def responses(db: Connection, query: Query, known: dict[str, dict], key: bytes) -> Iterator[str]:
    """The responses file's text, a batch of rows at a time: a JSON array of row arrays.

    Rows come grouped by session: its contact id and shown orders are made once.
    Each row is written as text (ids, times and stored answers are JSON already):
    json.dumps on every field cost three times the reading.
    """
    yield "["
    first, shown, session, contact = True, _Shown(), None, ""
    names = {qid: _json(qid) for qid in known}
    for batch in batches(db, ANSWERS, query, []):
        lines = []
        for row_id, session_id, phone, qid, stored, at, orders in batch:
            if qid not in known:  # a question no loadable version describes
                continue
            if session_id != session:
                session, contact = session_id, f'"{phone_hash(phone, key)}"'
            order = shown.choice_order(session_id, orders, qid)
            metadata = f',"choice_order":{_json(order)}' if order else ""
            lines.append(
                f'["{_timestamp(at)}","{row_id}",{contact},{names[qid]},{_response(stored)},'
                f'{{"session_id":{session_id}{metadata}}}]'
            )
        if lines:
            yield ("\n" if first else ",\n") + ",\n".join(lines)
            first = False
    yield "\n]\n"


def _json(value) -> str:
    """Compact JSON text, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _response(stored: str) -> str:
    """A stored answer's JSON as a response's: already JSON but for yes/no, dates, and inf
    and nan (JSON has none: null, as the CSV leaves them empty)."""
    if stored in _CONVERTED:
        return _CONVERTED[stored]
    if stored in _NOT_FINITE:  # stored before number replies had a limit
        return "null"
    if stored in ("true", "false") or stored.startswith("{"):
        if len(_CONVERTED) > 10_000:
            _CONVERTED.clear()
        _CONVERTED[stored] = _json(response(values.load(stored)))
        return _CONVERTED[stored]
    return stored


_CONVERTED: dict[str, str] = {}  # stored yes/no and dates repeat: each converted once
_NOT_FINITE = frozenset({"Infinity", "-Infinity", "NaN"})  # as Python's json writes them


class _Shown:
    """The orders a session saw (issue 22), read once per session as its answers go by."""

    def __init__(self):
        self.session, self.choices = None, {}

    def choice_order(self, session_id: int, orders: str | None, qid: str) -> list | None:
        """The values in the order shown, when this question's choices were shuffled."""
        if session_id != self.session:
            self.session = session_id
            self.choices = (json.loads(orders) if orders else {}).get("choices") or {}
        return self.choices.get(qid) or None


def response(value):
    """A stored answer as a Flow Results response: yes/no as `yes`/`no`, dates ISO."""
    if isinstance(value, bool):
        return YES_NO[0] if value else YES_NO[1]
    if isinstance(value, date):
        return value.isoformat()
    return value


def zipped(target: Path) -> bool:
    """Whether a package goes into a `.zip` file at `target` (else into a folder)."""
    return target.suffix.lower() == ".zip"


def write(target: Path, made: dict, rows: Iterator[str]) -> None:
    """Write the package: into a `.zip` file, else into a folder (made if missing)."""
    data = json.dumps(made, indent=2, ensure_ascii=False) + "\n"
    path = made["resources"][0]["path"]
    if zipped(target):
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(DESCRIPTOR, data)
            with archive.open(path, "w", force_zip64=True) as out:
                for chunk in rows:
                    out.write(chunk.encode())
        return
    target.mkdir(parents=True, exist_ok=True)
    (target / DESCRIPTOR).write_text(data, encoding="utf-8")
    with (target / path).open("w", encoding="utf-8") as out:
        out.writelines(rows)
