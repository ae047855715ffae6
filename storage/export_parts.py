"""A big survey's long CSV on SQLite, read in parts by several processes at once (issue 19).

SQLite runs a query on one core, and the export's Python turns each row into
lines on that same core: a million answers took 1.6 s where a second core sat
idle. With at least SESSIONS_A_PART sessions a part and a core for each part,
the sessions are cut into parts in the export's order (started_at, then id).
The parent reads the first part and writes it out; each other part is read
by a child process into a temporary file without a name (in TMPDIR), which the
parent copies out after its own part, in order: the same bytes as one process
writes. A child whose parent is killed stops, and its file goes with them.

A child is a fresh interpreter (`python -m storage.export_parts`), never a
fork: SQLite's locks do not survive fork() in a process that has the file open.
Every part reads the same snapshot. The parent holds the database's write
lock (BEGIN IMMEDIATE on a connection of its own) from before its own read
transaction begins until each child's has begun, about a millisecond, so no
commit can fall between them; a message arriving then waits that long.
Anything that stops the parts being set up (a read-only file, a busy writer,
a child that cannot start) leaves the export to the parent alone.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path

from storage import dbapi
from storage.export import (
    Query,
    long_head,
    plain_long_csv,
    plain_long_lines,
    plain_probe,
    session_filter,
)
from storage.hot import dialect_driver

SESSIONS_A_PART = 10_000  # below this, starting a process costs more than it saves
MOST_PARTS = 4
ROOT = Path(__file__).resolve().parent.parent  # `-m storage.export_parts` runs from here
READY, BEGUN = "ready", "begun"  # what a child says: connected; in its snapshot
COPY_CHARS = 1 << 20
COUNT = "SELECT count(*) FROM survey_session AS s WHERE {where}"  # answered or not
CUT = (
    "SELECT s.started_at, s.id FROM survey_session AS s WHERE {where} "
    "ORDER BY s.started_at, s.id LIMIT 1 OFFSET ?"
)


def long_csv(db: dbapi.Plain, query: Query, parts: int | None = None) -> Iterator[str]:
    """`plain_long_csv`, in parts read at once where the survey is big and there are cores."""
    if db.dialect != "sqlite":
        yield from plain_long_csv(db, query)
        return
    with db.transaction():
        sessions = db.raw.execute(*_sql(COUNT, db, query)).fetchone()[0]
    parts = min(parts or parts_for(sessions, _cores()), max(sessions, 1))
    with ExitStack() as stack:
        children = _started(stack, db, parts - 1)  # they import while the cuts are found
        lines = children and _in_one_snapshot(stack, db, query, sessions, children)
        if not lines:
            stack.close()  # the children, if any, are not needed
            yield from plain_long_csv(db, query)
            return
        yield long_head(query)
        yield from lines
        for child in children:
            yield from child.lines()


def parts_for(sessions: int, cores: int) -> int:
    """How many parts to read `sessions` in with `cores` cores."""
    return max(1, min(cores, MOST_PARTS, sessions // SESSIONS_A_PART))


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def _started(stack: ExitStack, db: dbapi.Plain, count: int) -> list[_Child]:
    """`count` children started, each stopped with `stack`; none if one cannot start."""
    path, wait = _file_of(db)
    try:
        return [stack.enter_context(_Child(path, wait)) for _ in range(count)]
    except OSError:
        return []


def _file_of(db: dbapi.Plain) -> tuple[str, float]:
    """The database file's path, and the connection's wait in seconds."""
    path = db.raw.execute("PRAGMA database_list").fetchone()[2]
    (wait_ms,) = db.raw.execute("PRAGMA busy_timeout").fetchone()
    return path, wait_ms / 1000


def _cuts(db: dbapi.Plain, query: Query, sessions: int, parts: int) -> list:
    """The (started_at, id) each part starts at, in the export's order; None for the first."""
    sql, params = _sql(CUT, db, query)
    cursor = db.raw.cursor()
    cuts = [None]
    for part in range(1, parts):
        cursor.execute(sql, (*params, sessions * part // parts))
        cuts.append(tuple(cursor.fetchone()))
    return cuts


def _sql(template: str, db: dbapi.Plain, query: Query) -> tuple[str, list]:
    """A statement on the sessions `query` exports, and its parameters."""
    where, params = session_filter(query, dialect_driver(db.dialect).time)
    return template.format(where=where), params


def _in_one_snapshot(stack: ExitStack, db, query: Query, sessions: int, children) -> Iterator:
    """The parent's own lines, its snapshot the same as every child's; None if that fails."""
    path, wait = _file_of(db)
    with ExitStack() as snapshot:
        try:
            with db.transaction():  # any snapshot cuts well: each part keeps to its sessions
                cuts = _cuts(db, query, sessions, len(children) + 1)
            for child in children:
                child.expect(READY)
            with closing(sqlite3.connect(path, timeout=wait, isolation_level=None)) as lock:
                lock.execute("BEGIN IMMEDIATE")  # no commit until every part has its snapshot
                snapshot.enter_context(db.transaction())
                plain_probe(db)
                for child, start, end in zip(children, cuts[1:], [*cuts[2:], None], strict=True):
                    child.begin(replace(query, part_from=start, part_to=end))
                for child in children:
                    child.expect(BEGUN)
                lock.rollback()
        except (sqlite3.Error, OSError):  # _PartFailed too; the parent starts anew, alone
            return None
        stack.push(snapshot.pop_all())
    return plain_long_lines(db, replace(query, part_to=cuts[1]))


class _PartFailed(sqlite3.OperationalError):
    """A child that said something else than expected, or ended badly: a database fault."""


class _Child:
    """A part read by a process of its own into a temporary file."""

    def __init__(self, path: str, wait: float):
        # A file with no name, shared with the child: gone with both, even if they are killed.
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 (closed by __exit__)
        fd, parent = str(self.file.fileno()), str(os.getpid())
        self.args = [sys.executable, "-m", "storage.export_parts", path, str(wait), fd, parent]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> _Child:
        """Start the child: it imports and connects while the parent gets ready."""
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            pass_fds=(self.file.fileno(),),
        )
        return self

    def __exit__(self, *_) -> None:
        """Stop the child if it is still running, and close its file."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()
        self.file.close()

    def begin(self, part: Query) -> None:
        """Send the child its part: it begins its snapshot at once."""
        self.process.stdin.write(json.dumps(_query_json(part)) + "\n")
        self.process.stdin.flush()

    def expect(self, word: str) -> None:
        """Wait for the child to say `word`."""
        said = self.process.stdout.readline().strip()
        if said != word:
            raise _PartFailed(self._failure())

    def lines(self) -> Iterator[str]:
        """The part's lines, once the child has written them all."""
        if self.process.wait() != 0:
            raise _PartFailed(self._failure())
        self.file.seek(0)  # the child wrote from the start, moving the offset both share
        while chunk := self.file.read(COPY_CHARS):
            yield chunk

    def _failure(self) -> str:
        """What became of the child, in one line."""
        if self.process.poll() is None:
            self.process.kill()
        _, err = self.process.communicate()
        code = self.process.returncode
        said = (err or "").strip().splitlines()[-1:]
        if code < 0:
            what = f"its process was killed (signal {-code})"
        else:
            what = f"its process ended with status {code}"
        return "a part of the export failed: " + ": ".join([what, *said])


def _query_json(query: Query) -> dict:
    """The fields of a lean export's Query, as JSON."""
    fields = asdict(query)
    for name in ("since", "until"):
        fields[name] = fields[name] and fields[name].isoformat()
    return {name: fields[name] for name in _SENT}


_SENT = ("survey_id", "status", "since", "until", "arm", "include_tests", "part_from", "part_to")


def _query_of(fields: dict) -> Query:
    """The Query a child was sent."""
    for name in ("since", "until"):
        fields[name] = fields[name] and date.fromisoformat(fields[name])
    for name in ("part_from", "part_to"):
        fields[name] = fields[name] and tuple(fields[name])
    return Query(**fields)


def main(path: str, wait: str, fd: str, parent: str) -> int:
    """A child: connect, say so, read the part asked for in its own snapshot, write its lines."""
    gc.freeze()  # as the parent does: the imports' objects are never walked again
    db = dbapi.connect(dbapi.SQLITE_FILE + path, float(wait))
    if db is None:
        print(f"cannot open {path}", file=sys.stderr)
        return 1
    print(READY, flush=True)
    job = sys.stdin.readline()
    if not job:  # the parent ended before it asked for anything
        return 1
    with db.transaction(), open(int(fd), "w", encoding="utf-8", newline="") as out:
        plain_probe(db)
        print(BEGUN, flush=True)
        for chunk in plain_long_lines(db, _query_of(json.loads(job))):
            if os.getppid() != int(parent):  # the parent was killed: nobody will read it
                return 1
            out.write(chunk)
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
