"""The Flow Results package and the codebook stream: memory stays flat however many sessions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_export_stream import seeded

ROOT = Path(__file__).resolve().parent.parent
SURVEY = "keywords: [BIG]\nquestions:\n" + "".join(
    f"  - id: q{j}\n    type: text\n    text: Question {j}?\n" for j in range(4)
)


def peak_rss(database: Path, surveys: Path, fmt: str, output: Path) -> int:
    """Run `flask export big --format FMT -o OUTPUT` in a fresh process: its peak RSS in KiB."""
    code = (
        "import resource, subprocess, sys;"
        "p = subprocess.run(sys.argv[1:]);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(p.returncode)"
    )
    flask = str(Path(sys.executable).with_name("flask"))
    args = [flask, "--app", "app", "export", "big", "--format", fmt, "-o", str(output)]
    env = os.environ | {"DATABASE_URL": f"sqlite:///{database}", "SURVEYS_DIR": str(surveys)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


@pytest.mark.parametrize("fmt", ["floip", "codebook"])
def test_memory_stays_flat_from_250_to_30k_sessions(tmp_path, fmt):
    surveys_dir, databases = seeded(tmp_path, SURVEY)
    peaks = {}
    for sessions, database in databases.items():
        output = tmp_path / f"out-{sessions}.{'zip' if fmt == 'floip' else 'md'}"
        peaks[sessions] = peak_rss(database, surveys_dir, fmt, output)
        if fmt == "floip":
            with zipfile.ZipFile(output) as archive:
                rows = json.loads(archive.read("big-responses.json"))
            assert len(rows) == sessions * 4
        else:
            assert f"Sessions counted: {sessions} " in output.read_text()
    # 120 times the answers: holding the rows as Python objects would grow by tens of MB.
    print("PEAKS", peaks)
    assert peaks[30_000] - peaks[250] < 20 * 1024, peaks
