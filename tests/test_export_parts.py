"""A big survey's long CSV read in parts by several processes (storage/export_parts.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from test_export import SURVEY, rows
from test_export_lean import lean_app
from test_export_stream import ROOT, seed
from test_export_stream import SURVEY as BIG

from conftest import saved, survey_folder
from service import Inbound, Service
from storage import dbapi, export_parts
from storage.export import Query, plain_long_csv
from web.factory import create_app

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # parts: SQLite
STAMP = "2026-11-01 10:00:00.000000"


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the poll."""
    return survey_folder(tmp_path, poll=SURVEY)


@pytest.fixture
def children(monkeypatch) -> list:
    """Every part's child process started, as it is started."""
    started, enter = [], export_parts._Child.__enter__

    def recorded(child):
        started.append(enter(child))
        return started[-1]

    monkeypatch.setattr(export_parts._Child, "__enter__", recorded)
    return started


@pytest.fixture
def db(app, sms, config):
    """A plain connection to a database of respondents who typed what breaks CSV files."""
    for number in range(12):
        phone = f"+1555000{number:04d}"
        replies = [
            ["Ana", "1,000", "1 and 3", "yes"],
            ['=HYPERLINK("x")', "-3", "2"],  # a formula, a number, unfinished
            ['He said "hi", then\nleft', "about 40"],
            [],  # started, nothing answered: no line
            ["A\x01B\x02C", "7"],  # the separators SQLite packs answers with
            ["Zoë 😀", "12", "2", "no"],
        ][number % 6]
        for body in ["POLL", *replies]:
            sms.send(phone, body)
    service = Service.of(app)
    for body in ["POLL", "Tess", "2"]:  # a test session (flask simulate)
        service.receive(Inbound("+15550000099", body, "ST" + uuid.uuid4().hex, test=True))
    plain = dbapi.connect(config["DATABASE_URL"])
    yield plain
    plain.close()


@ON_SQLITE
@pytest.mark.parametrize("parts", [2, 3, 4])
@pytest.mark.parametrize(
    ("query", "lines"),
    [
        (Query(survey_id="poll"), 31),
        (Query(survey_id="poll", include_tests=True, since=date(2020, 1, 1)), 33),
        (Query(survey_id="poll", status="completed"), 17),
        (Query(survey_id="poll", until=date(2000, 1, 1)), 1),  # no session: one process
    ],
)
def test_parts_write_the_bytes_one_process_writes(db, children, parts, query, lines):
    alone = "".join(plain_long_csv(db, query))
    assert not children
    together = "".join(export_parts.long_csv(db, query, parts=parts))
    assert together == alone
    assert together.count("\r\n") == lines
    assert len(children) == (parts - 1 if lines > 1 else 0)
    assert all(child.process.returncode == 0 for child in children)


@ON_SQLITE
def test_every_part_reads_the_same_snapshot(db, children, config):
    """A writer commits answers in turn to a session of each of 4 parts all through the export.

    What the export holds must be what was committed up to one moment: all
    answers up to some number, none after, whichever part its session is in.
    Without the write lock that the parts begin under, this fails in most runs
    (four in six, tried): a commit falls between two parts' snapshots.
    """
    path = config["DATABASE_URL"].removeprefix(dbapi.SQLITE_FILE)
    writer = _Writer(path, _sessions(db)[::3])  # the first session of each of 4 parts
    writer.start()
    try:
        writer.running.wait(5)
        text = "".join(export_parts.long_csv(db, Query(survey_id="poll"), parts=4))
        seen_while_exporting = writer.count
    finally:
        writer.stop()
    assert len(children) == 3
    ids = [row["question_id"] for row in rows(text)]
    written = sorted(int(qid[1:]) for qid in ids if qid[:1] == "w" and qid[1:].isdecimal())
    assert written == list(range(len(written)))  # one moment: a prefix of what was committed
    assert 20 <= len(written) <= seen_while_exporting


@ON_SQLITE
def test_a_part_with_no_room_fails_the_command_in_one_line(app, sms, monkeypatch, config, children):
    for body in ["POLL", "Ana", "2", "1", "yes"]:
        sms.send("+15550000001", body)
    for body in ["POLL", "Bo", "3", "2", "no"]:
        sms.send("+15550000002", body)
    monkeypatch.setattr(export_parts.tempfile, "TemporaryFile", _full_disk)
    monkeypatch.setattr(export_parts, "parts_for", lambda sessions, cores: 2)
    args = ["export", "poll", "--format", "long"]
    made = lean_app(monkeypatch, config, *args)
    result = made.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1
    assert (
        "Error: a part of the export failed: its process ended with status 1: "
        "OSError: [Errno 28] No space left on device"
    ) in result.output
    assert "Traceback" not in result.output
    assert len(children) == 1 and children[0].process.returncode == 1


@ON_SQLITE
def test_a_database_it_cannot_lock_is_read_by_one_process(db, children, config):
    """A writer holding the lock longer than the export waits: no parts, the same bytes."""
    query = Query(survey_id="poll", include_tests=True)
    alone = "".join(plain_long_csv(db, query))
    path = config["DATABASE_URL"].removeprefix(dbapi.SQLITE_FILE)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    db.raw.execute("PRAGMA busy_timeout=50")
    try:
        together = "".join(export_parts.long_csv(db, query, parts=2))
    finally:
        holder.rollback()
        holder.close()
    assert together == alone
    assert len(children) == 1 and children[0].process.returncode is not None  # stopped


@pytest.mark.parametrize(
    ("sessions", "cores", "parts"),
    [(0, 2, 1), (19_999, 2, 1), (20_000, 2, 2), (1_000_000, 2, 2), (30_000, 1, 1)]
    + [(30_000, 8, 3), (1_000_000, 64, 4)],
)
def test_parts_only_where_a_survey_is_big_and_there_are_cores(sessions, cores, parts):
    assert export_parts.parts_for(sessions, cores) == parts


def _sessions(db: dbapi.Plain) -> list[int]:
    """The poll's sessions, in the export's order."""
    ids = db.raw.execute(
        "SELECT id FROM survey_session WHERE survey_id = 'poll' AND NOT test "
        "ORDER BY started_at, id"
    ).fetchall()
    return [row[0] for row in ids]


class _Writer(threading.Thread):
    """Commits answer w0, w1, w2... in turn to each of `sessions`, one a transaction."""

    def __init__(self, path: str, sessions: list[int]):
        super().__init__(daemon=True)
        self.path, self.sessions = path, sessions
        self.count, self.running, self.stopping = 0, threading.Event(), threading.Event()

    def run(self) -> None:
        """Write until stopped."""
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")  # as the app's: commits as often as it can
        while not self.stopping.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO answer (session_id, question_id, value, raw_reply, answered_at) "
                "VALUES (?, ?, '\"x\"', 'x', ?)",
                (self.sessions[self.count % len(self.sessions)], f"w{self.count}", STAMP),
            )
            conn.execute("COMMIT")
            self.count += 1
            if self.count == 20:
                self.running.set()
        conn.close()

    def stop(self) -> None:
        """Stop writing and wait for the thread."""
        self.stopping.set()
        self.join()


@ON_SQLITE
def test_the_lean_command_reads_in_parts(app, sms, monkeypatch, config, children):
    for number in range(5):
        for body in ["POLL", f"N{number}", "2", "1", "yes"]:
            sms.send(f"+1555000000{number}", body)
    args = ["export", "poll", "--format", "long"]
    whole = app.test_cli_runner().invoke(args=args)
    monkeypatch.setattr(export_parts, "parts_for", lambda sessions, cores: 3)
    made = lean_app(monkeypatch, config, *args)
    result = made.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == whole.stdout_bytes
    assert len(children) == 2


def test_a_killed_export_leaves_no_part_running_nor_a_file(tmp_path):
    database, scratch = _big(tmp_path), tmp_path / "scratch"
    scratch.mkdir()
    env = _env(database) | {"TMPDIR": str(scratch)}  # where the parts' files would go
    export = subprocess.Popen(
        _flask_export(os.devnull), cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    try:
        assert _soon(lambda: _parts_of(database)), "no part was started"
    finally:
        export.kill()
        export.wait()
    assert _soon(lambda: not _parts_of(database)), "a part's process kept running"
    assert not any(scratch.iterdir())


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    """`flask export ... | head -1`: the pipe closes while the export writes."""
    database = _big(tmp_path)
    export = subprocess.Popen(
        _flask_export("-"),
        cwd=ROOT,
        env=_env(database),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert export.stdout.readline().startswith(b"session_id,phone,")
        export.stdout.close()
        _, err = export.communicate(timeout=60)
    finally:
        export.kill()
        export.wait()
    assert b"Traceback" not in err and b"Exception ignored" not in err, err.decode()
    assert _soon(lambda: not _parts_of(database)), "a part's process kept running"


def _big(tmp_path: Path) -> Path:
    """A SQLite file at head with enough sessions of one survey for two parts."""
    surveys = tmp_path / "surveys"
    surveys.mkdir()
    saved(surveys / "big.yaml", BIG)
    database = tmp_path / "big.sqlite3"
    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "SURVEYS_DIR": str(surveys)})
    app.extensions["survey_service"].ready().close()
    seed(database, 2 * export_parts.SESSIONS_A_PART, per_session=1)
    return database


def _env(database: Path) -> dict:
    """The environment of a `flask` command on `database`."""
    surveys = database.parent / "surveys"
    return os.environ | {"DATABASE_URL": f"sqlite:///{database}", "SURVEYS_DIR": str(surveys)}


def _flask_export(output: str) -> list[str]:
    """`flask export big --format long -o OUTPUT`."""
    flask = str(Path(sys.executable).with_name("flask"))
    return [flask, "--app", "app", "export", "big", "--format", "long", "-o", output]


def _full_disk(*args, **kwargs):
    """A file whose every write fails as on a full disk (ENOSPC)."""
    return open("/dev/full", "w+")  # noqa: SIM115 (closed by the part's __exit__)


def _soon(check, limit: float = 10) -> bool:
    """Whether `check()` holds within `limit` seconds."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def _parts_of(database: Path) -> list[int]:
    """The processes reading a part of an export of `database`."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            line = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:  # ended meanwhile
            continue
        if b"storage.export_parts" in line and str(database).encode() in line:
            found.append(int(proc.name))
    return found
