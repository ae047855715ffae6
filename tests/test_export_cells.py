"""The long export, byte for byte: every awkward cell as csv.writer and values.py make it."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from bot import values
from bot.model import STATUSES
from conftest import survey_folder
from storage import export
from storage.models import Answer, SurveySession

SURVEY = "id: poll\ntitle: Poll\nkeywords: [POLL]\nquestions:\n  - {id: q, type: text, text: Q}\n"
TEXTS = [
    "plain",
    "",
    " leading space",
    "a,b",
    'say "hi"',
    '"',
    "two\nlines",
    "carriage\rreturn",
    "crlf\r\nend",
    "=1+1",
    '=HYPERLINK("http://x")',
    "+1 555",
    "+15550000001",
    "-3",
    "+4",
    "-rf",
    "1,000",
    "-1,000.5",
    "+1,00",
    "@SUM(A1)",
    "\tlead tab",
    "\rlead return",
    "'quoted already",
    "Très bien 😀",
    "back\\slash",
    "x" * 150,
    "=" + "y" * 150,
]
VALUES = [
    *TEXTS,
    0,
    8,
    -3,
    12345678901234567890,
    1.5,
    -0.25,
    1e20,
    True,
    False,
    None,
    date(2025, 6, 1),
    ["Red", "Blue"],
    ["a,b", 'q"uote', "=x"],
    ["-1", 2, True, date(2024, 2, 29)],
    [],
    {"nested": [1, "two"]},
    {"$date": "2025-06-01", "other": 1},
]
PHONES = [
    "+15550000001",
    "+",
    "+1 555",
    "+\u0661\u0662\u0663",  # Arabic-Indic digits are digits to the formula guard too
    "whatsapp:+15550000002",
    "messenger:a,b",
    "=cmd",
    "-x",
    '"quoted"',
]
WHEN = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the poll."""
    return survey_folder(tmp_path, poll=SURVEY)


def seed(app, sessions: list[dict], answers: list[list[tuple[str, object, str]]]) -> list[int]:
    """Store sessions and their (question id, value, raw reply) answers; their ids."""
    bot = app.extensions["survey_service"].ready()
    base = {"survey_id": "poll", "state": "q", "retries": 0, "answers": "{}"}
    ids = []
    with bot.engine.begin() as conn:
        for number, (session, rows) in enumerate(zip(sessions, answers, strict=True)):
            started = session.setdefault("started_at", WHEN + timedelta(minutes=number))
            row = base | {"updated_at": started} | session
            result = conn.execute(SurveySession.__table__.insert().values(**row))
            ids.append(result.inserted_primary_key[0])
            if not rows:
                continue
            conn.execute(
                Answer.__table__.insert(),
                [
                    {
                        "session_id": ids[-1],
                        "question_id": qid,
                        "value": values.dump(value),
                        "raw_reply": raw,
                        "answered_at": started + timedelta(seconds=k),
                    }
                    for k, (qid, value, raw) in enumerate(rows)
                ],
            )
    return ids


def expected(ids, sessions, answers, phone=lambda p: values.safe_cell(p)) -> str:
    """The long export as the csv module writes it, cell by cell from values.py."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow(export.LONG_HEAD)
    for sid, session, rows in zip(ids, sessions, answers, strict=True):
        for k, (qid, value, raw) in enumerate(rows):
            at = session["started_at"] + timedelta(seconds=k)
            at = at.isoformat().replace("+00:00", "Z")  # times here have microseconds
            cell = values.safe_cell(values.to_cell(values.load(values.dump(value))))
            row = [str(sid), phone(session["phone"]), session["survey_version"], qid, cell]
            shown = (values.load(session.get("orders") or "{}").get("choices") or {}).get(qid)
            choice_order = ";".join(shown or ())
            out.writerow(
                [*row, values.safe_cell(raw), at, session.get("language") or "", choice_order]
            )
    return buffer.getvalue()


def long_export(app, *args: str) -> str:
    """`flask export poll --format long ...` output, exactly as written."""
    result = app.test_cli_runner().invoke(args=["export", "poll", "--format", "long", *args])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes.decode()


def session(phone: str, status: str = "completed", **more) -> dict:
    """A session row's own columns."""
    return {"phone": phone, "survey_version": "v1", "status": status} | more


def test_every_awkward_value_and_reply_matches_the_csv_module(app):
    sessions = [session(phone) for phone in PHONES]
    answers = [
        [(f"q{k}", value, TEXTS[(k + n) % len(TEXTS)]) for k, value in enumerate(VALUES)]
        for n in range(len(PHONES))
    ]
    sessions.append(session("+15550000009", survey_version='v,"2"', language="es"))
    answers.append([("odd,id", "x", "x"), ('q"2', 1, "1"), ("q\n3", True, "yes")])
    sessions.insert(2, session("+15550000010"))  # unanswered sessions write no line
    answers.insert(2, [])
    sessions.insert(0, session("+15550000011"))
    answers.insert(0, [])
    ids = seed(app, sessions, answers)
    assert long_export(app) == expected(ids, sessions, answers)


def test_random_texts_match_the_csv_module(app):
    alphabet = "ab ,\"\r\n=+-@\t'1.é😀\\"
    pick = random.Random(5).choice
    texts = ["".join(pick(alphabet) for _ in range(n % 7)) for n in range(400)]
    sessions = [session(f"+1555{n:07d}") for n in range(20)]
    answers = [
        [(f"q{k}", texts[20 * n + k], texts[-1 - 20 * n - k]) for k in range(20)] for n in range(20)
    ]
    ids = seed(app, sessions, answers)
    assert long_export(app) == expected(ids, sessions, answers)


def test_hashed_phones_are_keyed_hashes_per_session(app):
    sessions = [session(phone) for phone in ("+15550000001", "=cmd", "+15550000001")]
    answers = [[("q", "a", "a"), ("r", "b", "b")]] * 3
    ids = seed(app, sessions, answers)
    key = app.extensions["survey_service"].phone_hash_key()

    def hashed(phone: str) -> str:
        return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()[:16]

    assert long_export(app, "--hash-phones") == expected(ids, sessions, answers, hashed)


@pytest.mark.parametrize("status", STATUSES)
def test_each_status_filter_keeps_exactly_its_sessions(app, status):
    idle = datetime.now(UTC) - timedelta(days=30)
    now = datetime.now(UTC)
    sessions = [
        session("+15550000001", "open", updated_at=now),
        session("+15550000002", "open", updated_at=idle),  # idle: shown as expired
        session("+15550000003", "completed", completed_at=now),
        session("+15550000004", "opted_out"),
        session("+15550000005", "expired"),
        session("+15550000006", "abandoned"),
    ]
    answers = [[("q", n, str(n)), ("r", "x,y", '"x"')] for n in range(len(sessions))]
    ids = seed(app, sessions, answers)
    shown = ["open", "expired", "completed", "opted_out", "expired", "abandoned"]
    keep = [n for n, name in enumerate(shown) if name == status]
    pick = lambda rows: [rows[n] for n in keep]  # noqa: E731
    assert long_export(app, "--status", status) == expected(*map(pick, (ids, sessions, answers)))
