"""py-spy profiles: where the bot's workers, or a command, spend their time."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from common import BENCH, BIN, ROOT

# Where a worker's time goes while it handles a request: the first rule whose mark is
# in a sample's stack names it (py-spy's --idle keeps samples where the worker waits).
PHASES = [
    ("gunicorn: close_graceful, waiting for the client to close", ("close_graceful (gunicorn/",)),
    ("gunicorn: writing the response to the socket", ("Response.write (gunicorn/",)),
    ("waiting for the SQLite writer gate (flock)", ("WriterGate.held (storage/db.py",)),
    (
        "BEGIN IMMEDIATE: waiting for SQLite's write lock",
        ("_sqlite_begin (storage/db.py", "Batch.read_pending (storage/hot.py"),
    ),
    ("COMMIT", ("Transaction.commit (sqlalchemy/", ".commit (storage/")),
    ("signature check", ("signature_matches (web/", "check_signature (web/")),
    ("form parsing (web/twilio_signature.py read_form)", ("read_form (web/",)),
    ("survey catalog refresh", ("Catalog.refresh (bot/",)),
    ("conversation engine (bot/: replies, templates, transitions)", ("(bot/conversation.py",)),
    ("SQL statements (storage/store.py, hot.py)", ("(storage/store.py", "(storage/hot.py")),
    ("TwiML building (web/twiml.py)", ("to_twiml (web/",)),
    (
        "db.locked() / db.Writer: pool checkout and return, BEGIN, per-phone lock",
        (
            "locked (storage/db.py",
            "Writer.__enter__ (storage/db.py",
            "Writer.__exit__ (storage/db.py",
            "Writer.transaction (storage/db.py",
        ),
    ),
    ("the rest of the service (service.py)", ("(service.py",)),
    ("the rest of the webhook (web/webhooks.py: FastSms, the view)", ("(web/webhooks.py",)),
    ("Flask / Werkzeug request handling", ("Flask.__call__ (flask/",)),
    ("gunicorn: reading and parsing the request", ("(gunicorn/http/",)),
]


def read_stacks(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw (collapsed) output: (frames from the root, samples)."""
    stacks = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def phase(frames: list[str]) -> str:
    """What a worker busy with a request is doing in one sample."""
    for name, marks in PHASES:
        if any(mark in frame for frame in frames for mark in marks):
            return name
    return "gunicorn: other"


def summarise_profile(path: Path, top: int = 20) -> dict:
    """Workers' time: idle vs handling; handling by phase and by hottest function."""
    workers = [(f, n) for f, n in read_stacks(path) if any("SyncWorker.run " in x for x in f)]
    handling = [(f, n) for f, n in workers if any("SyncWorker.handle " in x for x in f)]
    total = sum(n for _, n in handling) or 1
    phases: dict[str, int] = {}
    leaves: dict[str, int] = {}
    for frames, n in handling:
        phases[phase(frames)] = phases.get(phase(frames), 0) + n
        leaf = _function(frames[-1])
        leaves[leaf] = leaves.get(leaf, 0) + n

    def ranked(counts: dict[str, int]) -> list[tuple[str, float]]:
        best = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return [(name, round(100 * n / total, 1)) for name, n in best]

    return {
        "worker_samples": sum(n for _, n in workers),
        "handling_samples": total,
        "phases": ranked(phases),
        "self": ranked(leaves),
    }


def _function(frame: str) -> str:
    """A frame without its line number: 'function (file)'."""
    return re.sub(r":\d+\)$", ")", frame)


def py_spy() -> str | None:
    """The py-spy executable, from this venv or the PATH."""
    return shutil.which("py-spy", path=f"{BIN}:{os.environ.get('PATH', '')}")


def profile_command(name: str, command: list[str], *, gil: bool, top: int = 15, **run) -> None:
    """Run a command once more under py-spy and print where its samples go."""
    spy = py_spy()
    if spy is None:
        print("  (no profile: py-spy is not installed, see bench/requirements.txt)")
        return
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    out = results / f"profile-{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.txt"
    record = [spy, "record", "--format=raw", "--rate=100", "--nonblocking", f"--output={out}"]
    record += ["--gil"] if gil else []  # threads waiting on the network hold no GIL
    subprocess.run(
        record + ["--", *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **run
    )
    stacks = [([_function(f) for f in frames], n) for frames, n in read_stacks(out)]
    total = sum(n for _, n in stacks) or 1
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    for frames, n in stacks:
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
    kind = "samples holding the GIL" if gil else "busy samples"
    print(f"\n  profile of one more run ({kind}): {out.relative_to(ROOT)}")
    print("  on top of the stack:")
    for frame, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {100 * n / total:5.1f}%  {frame}")
    print("  inclusive, the project's own functions:")
    mine = [(f, n) for f, n in inclusive.items() if PROJECT_FRAME.search(f) and n < 0.95 * total]
    for frame, n in sorted(mine, key=lambda kv: -kv[1])[:top]:
        print(f"    {100 * n / total:5.1f}%  {frame}")


PROJECT_FRAME = re.compile(r"\((app|service)\.py\)|\((bot|storage|web|outbound)/")
