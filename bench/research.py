"""`bench/run.py research`: each research export's time and peak memory beside the CSV's.

Seeds N sessions of visit-feedback (default 100,000, 8 answers each, every
name different so texts do not all share one string), then runs `flask export`
once per format in a fresh process under GNU time, in alternating rounds:
wide CSV with `--multi columns` (the same variables), spss, stata, floip
(a .zip) and codebook. Prints seconds and peak RSS per format and checks the
row counts of the CSV, SPSS and Stata files.
"""

from __future__ import annotations

import sqlite3
import statistics

import pyreadstat
from common import (
    BIN,
    ROOT,
    SURVEY,
    check,
    copy_surveys,
    count_lines,
    header,
    report,
    timed,
    workdir,
)
from loadgen import bot_env
from seeding import create_schema, seed, survey_version

CSV = "csv (wide, multi columns)"
FORMATS = {  # name -> (flask export options, output file)
    CSV: (["--format", "wide", "--multi", "columns"], "wide.csv"),
    "spss": (["--format", "spss"], "export.sav"),
    "stata": (["--format", "stata"], "export.dta"),
    "floip": (["--format", "floip"], "package.zip"),
    "codebook": (["--format", "codebook"], "codebook.md"),
}
OUTPUTS = (("csv", "wide.csv"), ("spss", "export.sav"), ("stata", "export.dta"))  # rows checked
LIMIT_S = 1800  # one export, killed after this


def cmd_research(args) -> int:
    """Time and peak RSS of each format, `args.rounds` times in alternation."""
    header("research exports (sqlite)", args, sessions=args.sessions)
    with workdir(args) as folder:
        surveys = copy_surveys(folder)
        path = folder / "research.sqlite3"
        create_schema(f"sqlite:///{path}")
        version = survey_version(surveys / f"{SURVEY}.yaml")
        seeded = seed(path, version, args.sessions, expired_every=10, inbound=False)
        _distinct_names(path)
        print(f"  seeded: {seeded}", flush=True)
        env = bot_env(f"sqlite:///{path}", surveys)
        chosen = {n: f for n, f in FORMATS.items() if args.only is None or n.startswith(args.only)}
        runs = {name: [] for name in chosen}
        for number in range(1, args.rounds + 1):
            for name, (options, output) in chosen.items():
                command = [str(BIN / "flask"), "--app", "app", "export", SURVEY, *options]
                result = timed(
                    [*command, "-o", str(folder / output)], limit=LIMIT_S, env=env, cwd=ROOT
                )
                runs[name].append(result)
                print(
                    f"  round {number}: {name:<26} {result['seconds']:7.2f} s  "
                    f"peak RSS {result['peak_rss_mb']:7.1f} MB",
                    flush=True,
                )
        rows = {
            name: _rows(folder / output, name)
            for name, output in OUTPUTS
            if (folder / output).exists()
        }
    figures = ("seconds", "cpu_s", "peak_rss_mb")
    med = {k: {m: statistics.median(r[m] for r in v) for m in figures} for k, v in runs.items()}
    print("\n  medians:")
    for name, m in med.items():
        print(f"  {name:<26} {m['seconds']:7.2f} s  peak RSS {m['peak_rss_mb']:7.1f} MB")
    targets = [check(f"{name} rows", count, "==", args.sessions) for name, count in rows.items()]
    if "floip" in med and CSV in med:
        ratio = med["floip"]["seconds"] / med[CSV]["seconds"]
        targets.append(check("floip time / csv", ratio, "<=", 5))
    summary = {"medians": med, "rows": rows, "seeded": seeded}
    return report("research", summary, targets, {"runs": runs, "args": vars(args)})


def _distinct_names(path) -> None:
    """Give every seeded session its own name, as real answers would have."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        """UPDATE survey_session SET answers = replace(answers, '"Seed"', '"Seed ' || id || '"')"""
    )
    db.execute(
        """UPDATE answer SET value = '"Seed ' || session_id || '"' WHERE question_id = 'name'"""
    )
    db.close()


def _rows(path, fmt: str) -> int:
    """Rows of the CSV, or of a .sav or .dta file from its metadata alone."""
    if fmt == "csv":
        return count_lines(path) - 1
    read = pyreadstat.read_sav if fmt == "spss" else pyreadstat.read_dta
    _, meta = read(str(path), metadataonly=True)
    return meta.number_rows


def add_parser(sub) -> None:
    """The `research` measure's command line."""
    p = sub.add_parser("research", help="SPSS, Stata, Flow Results, codebook vs the wide CSV")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--sessions", type=int, default=100_000)
    p.add_argument("--only", help="only the formats whose name starts with this (csv, spss...)")
    p.set_defaults(run=cmd_research)
