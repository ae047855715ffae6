"""The export streams: memory stays flat however many answers there are."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import saved
from web.factory import create_app

ROOT = Path(__file__).resolve().parent.parent
SURVEY = "keywords: [BIG]\nquestions:\n  - id: note\n    type: text\n    text: Note?\n"


def seed(path: Path, sessions: int, per_session: int = 4) -> None:
    """Fill a SQLite database with `sessions` completed sessions of `per_session` answers."""
    db = sqlite3.connect(path)
    stamp = "2026-11-01 10:00:00.000000"
    db.executemany(
        "INSERT INTO survey_session (id, phone, survey_id, survey_version, state, status, "
        "retries, answers, started_at, updated_at, completed_at) "
        "VALUES (?, ?, 'big', 'v1', 'completed', 'completed', 0, '{}', ?, ?, ?)",
        ((i, f"+1555{i:07d}", stamp, stamp, stamp) for i in range(1, sessions + 1)),
    )
    db.executemany(
        "INSERT INTO answer (session_id, question_id, value, raw_reply, answered_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            (i, f"q{j}", f'"free text answer {i}-{j} with some length to it"', "raw", stamp)
            for i in range(1, sessions + 1)
            for j in range(per_session)
        ),
    )
    db.commit()
    db.close()


def export_peak_rss(database: Path, surveys: Path, output: Path) -> tuple[int, int]:
    """Run `flask export big --format long` in a fresh process: (rows written, peak RSS in KiB)."""
    code = (
        "import resource, subprocess, sys;"
        "p = subprocess.run(sys.argv[1:]);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(p.returncode)"
    )
    flask = str(Path(sys.executable).with_name("flask"))
    args = [flask, "--app", "app", "export", "big", "--format", "long", "-o", str(output)]
    env = os.environ | {"DATABASE_URL": f"sqlite:///{database}", "SURVEYS_DIR": str(surveys)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    with output.open() as f:
        rows = sum(1 for _ in f) - 1
    return rows, int(done.stdout.split()[-1])


def seeded(tmp_path: Path, survey: str = SURVEY) -> tuple[Path, dict[int, Path]]:
    """A folder with `survey`, and SQLite files at head with 250 and 30,000 sessions of it."""
    surveys_dir = tmp_path / "surveys"
    surveys_dir.mkdir()
    saved(surveys_dir / "big.yaml", survey)
    databases = {}
    for sessions in (250, 30_000):
        database = databases[sessions] = tmp_path / f"big-{sessions}.sqlite3"
        app = create_app({"DATABASE_URL": f"sqlite:///{database}", "SURVEYS_DIR": str(surveys_dir)})
        app.extensions["survey_service"].ready().close()
        seed(database, sessions)
    return surveys_dir, databases


def test_memory_stays_flat_from_1k_to_120k_answers(tmp_path):
    surveys_dir, databases = seeded(tmp_path)
    sizes = {}
    for sessions, database in databases.items():
        sizes[sessions] = export_peak_rss(database, surveys_dir, tmp_path / "out.csv")
    (small_rows, small_rss), (big_rows, big_rss) = sizes[250], sizes[30_000]
    assert (small_rows, big_rows) == (1_000, 120_000)
    # 120 times the rows: a buffering export would grow by well over 40 MB here
    # (a row held as Python objects takes some 400 bytes).
    assert big_rss - small_rss < 20 * 1024, (small_rss, big_rss)
