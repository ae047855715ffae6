"""The long export, byte for byte: every awkward cell written out by hand, quoted by csv.writer."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from bot import values
from bot.model import STATUSES
from conftest import survey_folder
from storage.models import Answer, SurveySession

SURVEY = "id: poll\ntitle: Poll\nkeywords: [POLL]\nquestions:\n  - {id: q, type: text, text: Q}\n"
# (text, its cell): SPEC 5's formula guard, written out by hand. A cell beginning
# with =, +, -, @, a tab or a carriage return gets a leading ' unless it is a plain
# number: digits with an optional leading - and , or . separators, nothing else.
TEXTS = [
    ("plain", "plain"),
    ("", ""),
    (" leading space", " leading space"),
    ("a,b", "a,b"),
    ('say "hi"', 'say "hi"'),
    ('"', '"'),
    ("two\nlines", "two\nlines"),
    ("carriage\rreturn", "carriage\rreturn"),
    ("crlf\r\nend", "crlf\r\nend"),
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("+1 555", "'+1 555"),
    ("+15550000001", "'+15550000001"),  # a reply, not the phone column: a leading + is guarded
    ("-3", "-3"),
    ("+4", "'+4"),
    ("-rf", "'-rf"),
    ("1,000", "1,000"),
    ("-1,000.5", "-1,000.5"),
    ("-1.000,5", "-1.000,5"),
    ("-3.", "'-3."),
    ("+1,00", "'+1,00"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tlead tab", "'\tlead tab"),
    ("\rlead return", "'\rlead return"),
    ("'quoted already", "'quoted already"),
    ("Très bien 😀", "Très bien 😀"),
    ("back\\slash", "back\\slash"),
    ("x" * 150, "x" * 150),
    ("=" + "y" * 150, "'=" + "y" * 150),
]
# (stored value, its cell): SPEC 5's cells, then the guard on the whole cell.
VALUES = [
    *TEXTS,
    (0, "0"),
    (8, "8"),
    (-3, "-3"),
    (12345678901234567890, "12345678901234567890"),
    (1.5, "1.5"),
    (-0.25, "-0.25"),
    (1e20, "1e+20"),
    (True, "yes"),
    (False, "no"),
    (None, ""),
    (date(2025, 6, 1), "2025-06-01"),
    (["Red", "Blue"], "Red;Blue"),
    (["a,b", 'q"uote', "=x"], 'a,b;q"uote;=x'),
    (["-1", 2, True, date(2024, 2, 29)], "'-1;2;yes;2024-02-29"),
    ([], ""),
    ({"nested": [1, "two"]}, "{'nested': [1, 'two']}"),
    ({"$date": "2025-06-01", "other": 1}, "{'$date': '2025-06-01', 'other': 1}"),
]
# (phone, its cell): an E.164 number as it is; anything else the carrier sends, guarded.
PHONES = [
    ("+15550000001", "+15550000001"),
    ("+", "'+"),
    ("+1 555", "'+1 555"),
    ("+\u0661\u0662\u0663", "+\u0661\u0662\u0663"),  # Arabic-Indic digits are digits
    ("whatsapp:+15550000002", "whatsapp:+15550000002"),
    ("messenger:a,b", "messenger:a,b"),
    ("=cmd", "'=cmd"),
    ("-x", "'-x"),
    ('"quoted"', '"quoted"'),
]
PHONE_CELLS = dict(PHONES)  # any other phone here is an E.164 number, exported as it is
LONG_HEAD = (
    "session_id,phone,survey_version,question_id,value,raw_reply,answered_at,language,choice_order"
)
WHEN = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the poll."""
    return survey_folder(tmp_path, poll=SURVEY)


def seed(app, sessions: list[dict], answers: list[list[tuple]]) -> list[int]:
    """Store sessions and their (question id, value, raw reply, *cells) answers; their ids."""
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
                    for k, (qid, value, raw, *_cells) in enumerate(rows)
                ],
            )
    return ids


def expected(ids, sessions, answers, phone=lambda p: PHONE_CELLS.get(p, p)) -> str:
    """The long export as the csv module writes the cells given with each answer."""
    buffer = io.StringIO()
    buffer.write(LONG_HEAD + "\r\n")
    out = csv.writer(buffer, lineterminator="\r\n")
    for sid, session, rows in zip(ids, sessions, answers, strict=True):
        for k, (qid, _value, _raw, cell, raw_cell) in enumerate(rows):
            at = session["started_at"] + timedelta(seconds=k)
            at = at.isoformat().replace("+00:00", "Z")  # times here have microseconds
            shown = json.loads(session.get("orders") or "{}").get("choices", {}).get(qid)
            choice_order = ";".join(shown or ())
            language = session.get("language") or ""
            row = [str(sid), phone(session["phone"]), session["survey_version"], qid, cell]
            out.writerow([*row, raw_cell, at, language, choice_order])
    return buffer.getvalue()


def guarded(text: str) -> str:
    """SPEC 5's guard on a text, for texts too many to write out by hand."""
    plain = re.fullmatch(r"-?[0-9]+([.,][0-9]+)*", text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not plain else text


def long_export(app, *args: str) -> str:
    """`flask export poll --format long ...` output, exactly as written."""
    result = app.test_cli_runner().invoke(args=["export", "poll", "--format", "long", *args])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes.decode()


def session(phone: str, status: str = "completed", **more) -> dict:
    """A session row's own columns."""
    return {"phone": phone, "survey_version": "v1", "status": status} | more


def test_every_awkward_value_and_reply_matches_the_csv_module(app):
    def answer(k: int, n: int) -> tuple:
        (value, cell), (raw, raw_cell) = VALUES[k], TEXTS[(k + n) % len(TEXTS)]
        return (f"q{k}", value, raw, cell, raw_cell)

    sessions = [session(phone) for phone, _ in PHONES]
    answers = [[answer(k, n) for k in range(len(VALUES))] for n in range(len(PHONES))]
    sessions.append(session("+15550000009", survey_version='v,"2"', language="es"))
    answers.append(
        [("odd,id", "x", "x", "x", "x"), ('q"2', 1, "1", "1", "1"), ("q\n3", True, "y", "yes", "y")]
    )
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
        [
            (f"q{k}", text, raw, guarded(text), guarded(raw))
            for k in range(20)
            for text, raw in [(texts[20 * n + k], texts[-1 - 20 * n - k])]
        ]
        for n in range(20)
    ]
    ids = seed(app, sessions, answers)
    assert long_export(app) == expected(ids, sessions, answers)


def test_hashed_phones_are_keyed_hashes_per_session(app):
    sessions = [session(phone) for phone in ("+15550000001", "=cmd", "+15550000001")]
    answers = [[("q", "a", "a", "a", "a"), ("r", "b", "b", "b", "b")]] * 3
    ids = seed(app, sessions, answers)
    key = app.extensions["survey_service"].phone_hash_key()

    def hashed(phone: str) -> str:  # SPEC 5: the whole HMAC-SHA-256, in hex
        return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()

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
    answers = [
        [("q", n, str(n), str(n), str(n)), ("r", "x,y", '"x"', "x,y", '"x"')]
        for n in range(len(sessions))
    ]
    ids = seed(app, sessions, answers)
    shown = ["open", "expired", "completed", "opted_out", "expired", "abandoned"]
    keep = [n for n, name in enumerate(shown) if name == status]
    pick = lambda rows: [rows[n] for n in keep]  # noqa: E731
    assert long_export(app, "--status", status) == expected(*map(pick, (ids, sessions, answers)))
