"""CPU time per SQL statement of a message, in one process, for this tree or another checkout.

Plays the same respondents as bench/cpu.py into the WSGI app on a fresh SQLite
file, with every sqlite3 connection timing its cursors' statements, and prints
each kind of statement (its first words): how many a message runs, and the CPU
microseconds they take, the triggers they fire included.

    .venv/bin/python bench/statements.py [--root OTHER_CHECKOUT] [--respondents 600]

Run it for two checkouts to see which statements a change made dearer.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import cpu

SPENT: Counter = Counter()  # statement kind -> CPU seconds
RUNS: Counter = Counter()  # statement kind -> executions
IN_MESSAGE = [False]  # only a message's statements count: not the migrations, nor /healthz


class TimedCursor(sqlite3.Cursor):
    """A cursor that adds the CPU time of each statement to its kind's total."""

    def execute(self, sql, parameters=()):
        """Execute `sql`, timed."""
        if not IN_MESSAGE[0]:
            return super().execute(sql, parameters)
        start = time.process_time()
        try:
            return super().execute(sql, parameters)
        finally:
            kind = " ".join(sql.split())[:60]
            SPENT[kind] += time.process_time() - start
            RUNS[kind] += 1


class TimedConnection(sqlite3.Connection):
    """A connection whose cursors are timed."""

    def cursor(self, factory=TimedCursor):
        """A timed cursor."""
        return super().cursor(factory)


def timed_connect(connect):
    """sqlite3.connect, making TimedConnections."""

    def wrapper(*args, **kwargs):
        kwargs.setdefault("factory", TimedConnection)
        return connect(*args, **kwargs)

    return wrapper


def message_call(call):
    """cpu.call, recording the statements of POST /sms alone."""

    def wrapper(app, environ):
        IN_MESSAGE[0] = environ["PATH_INFO"] == "/sms"
        try:
            return call(app, environ)
        finally:
            IN_MESSAGE[0] = False

    return wrapper


def main() -> None:
    """Print the statements of a message in the checkout at --root, dearest first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(cpu.BENCH.parent), help="the checkout to measure")
    parser.add_argument("--respondents", type=int, default=600)
    args = parser.parse_args()
    # SQLAlchemy's driver connects through sqlite3.dbapi2, the checkpoint thread through sqlite3.
    sqlite3.connect = sqlite3.dbapi2.connect = timed_connect(sqlite3.dbapi2.connect)
    cpu.call = message_call(cpu.call)
    create_app = cpu.factory(Path(args.root).resolve())
    cpu.play(create_app, 20)  # warm up: imports, machines, caches
    SPENT.clear()
    RUNS.clear()
    spent, messages = cpu.play(create_app, args.respondents)
    sql = sum(SPENT.values())
    print(f"{1000 * spent / messages:.3f} ms CPU per message, {1000 * sql / messages:.3f} in SQL")
    print("  µs a message   a message   µs each   statement")
    for kind, seconds in SPENT.most_common():
        share, runs = 1e6 * seconds / messages, RUNS[kind] / messages
        print(f"  {share:12.1f} {runs:11.2f} {1e6 * seconds / RUNS[kind]:9.1f}   {kind}")


if __name__ == "__main__":
    sys.exit(main())
