"""What every measure shares: paths, settings, CPU readings, verdicts and results."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent


ROOT = BENCH.parent


BIN = Path(sys.executable).parent  # the venv that runs this script runs the servers too


HOST = "127.0.0.1"


TOKEN = "bench-auth-token"


PUBLIC_URL = "https://survey.example.org"  # only signed over, never contacted


ACCOUNT = "AC" + "b" * 32


SURVEY = "visit-feedback"


TICK = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, str(ROOT))  # the project's packages, for storage.schema


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    """The child processes of `pid`."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def system_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / TICK, total / TICK


def postgres_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL server's processes."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = stat.read_text()
            if text[text.index("(") + 1 : text.rindex(")")] == "postgres":
                total += process_cpu(int(stat.parent.name))
    return total


def check(name: str, value: float, op: str, limit: float, unit: str = "") -> dict:
    """A target with its verdict."""
    passed = value >= limit if op == ">=" else value <= limit
    return {"target": name, "value": value, "op": op, "limit": limit, "unit": unit, "pass": passed}


def report(measure_name: str, summary: dict, targets: list[dict], extra: dict) -> int:
    """Print the verdicts, save everything as JSON; 0 when every target passes."""
    print()
    for t in targets:
        verdict = "PASS" if t["pass"] else "FAIL"
        print(f"  {verdict}  {t['target']}: {t['value']:.3f}{t['unit']} ({t['op']} {t['limit']})")
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = results / f"{measure_name}-{stamp}.json"
    payload = {"measure": measure_name, "machine": machine(), "summary": summary}
    payload.update(targets=targets, **extra)
    out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"\n  saved {out.relative_to(ROOT)}")
    return 0 if all(t["pass"] for t in targets) else 1


def machine() -> dict:
    """What the figures were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?"
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "code": code_version(),
    }


def code_version() -> str:
    """The commit measured, and whether the project's files differ from it (bench/ aside)."""

    def git(*args: str) -> str:
        # --no-optional-locks: a status that never writes the index
        command = ["git", "--no-optional-locks", "-C", str(ROOT), *args]
        done = subprocess.run(command, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [
        line[3:]
        for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
        if not line[3:].startswith("bench/")
    ]
    return commit + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")


@contextlib.contextmanager
def workdir(args):
    """A temporary folder for databases, requests and logs, removed unless --keep."""
    folder = Path(tempfile.mkdtemp(prefix="bench-", dir=args.tmp))
    try:
        yield folder
    finally:
        if args.keep:
            print(f"  kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def copy_surveys(folder: Path) -> Path:
    """A private copy of the project's surveys, so edits elsewhere do not disturb a run."""
    target = folder / "surveys"
    shutil.copytree(ROOT / "surveys", target)
    return target


def header(title: str, args, **extra) -> None:
    """What is measured, and how."""
    print(f"{title}\n  machine: {machine()}")
    keys = ("rounds", "duration", "connections", "warmup")
    shown = {k: getattr(args, k) for k in keys if hasattr(args, k)}
    print(f"  settings: {shown | extra}")


def timed(command: list[str], *, limit: float, env=None, stdout=None, cwd=None) -> dict:
    """Run a command to its end: wall time, CPU time and peak RSS of that command alone.

    GNU time measures: a child of this (large) Python process would report this
    process's RSS as its own peak, since the memory is shared until exec.
    """
    with tempfile.NamedTemporaryFile("r") as usage, tempfile.TemporaryFile() as err:
        measured = ["/usr/bin/time", "-o", usage.name, "-f", "%e %M %U %S", *command]
        started = time.monotonic()
        proc = subprocess.Popen(measured, env=env, stdout=stdout, stderr=err, cwd=cwd)
        try:
            proc.wait(limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{command[0]} took more than {limit} s: killed") from None
        wall = time.monotonic() - started
        err.seek(0)
        tail = err.read()[-3000:].decode(errors="replace")
        figures = usage.read().split()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed ({proc.returncode}):\n{tail}")
    elapsed, peak_kb, user, system = (float(v) for v in figures[-4:])
    return {
        "seconds": wall,
        "time_elapsed_s": elapsed,
        "cpu_s": user + system,
        "peak_rss_mb": peak_kb / 1024,
        "stderr_tail": tail[-500:],
    }


def count_lines(path: Path) -> int:
    """Rows of a CSV file, the header included (quoted newlines read as one row)."""
    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f))
