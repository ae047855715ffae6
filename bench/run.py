"""On-demand benchmarks of the SMS survey bot (GitHub issue 5); see bench/README.md.

    .venv/bin/python bench/run.py throughput [--db postgresql://...]
    .venv/bin/python bench/run.py bigdb | export | results | invite | surveyfiles | profile
    .venv/bin/python bench/run.py loading [--big]

Everything runs on 127.0.0.1 in a temporary folder; servers are started and
stopped here, and every run is bounded in time. Results are printed and saved
as JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import filecmp
import json
import math
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from common import (
    ACCOUNT,
    BENCH,
    BIN,
    HOST,
    ROOT,
    SURVEY,
    check,
    copy_surveys,
    count_lines,
    free_port,
    header,
    report,
    timed,
    workdir,
)
from loadgen import (
    SERVER_THREADS,
    Contender,
    Pools,
    alternate,
    bare_spec,
    bot_env,
    bot_spec,
    load_checks,
    measure,
    medians,
    pool_size,
    print_summary,
    require_signatures,
    round_line,
    servers,
)
from loading import add_parser as add_loading
from outcomes import add_parsers as add_outcomes
from profiling import profile_command, py_spy, summarise_profile
from research import add_parser as add_research
from seeding import (
    BEFORE_TALLIES,
    LONG_JOIN,
    count_tallies,
    create_schema,
    database,
    seed,
    survey_version,
)

from web.factory import create_app


def cmd_throughput(args) -> int:
    """Bot vs bare app, alternating rounds: req/s and latency ratios.

    `--compare CHECKOUT` also serves the bot of another checkout (a worktree at
    main, say) on a database of its own, in the same rounds: before and after
    side by side, each as a ratio to the same bare app.
    """
    kind = "postgresql" if args.db else "sqlite"
    workers = f"{args.workers} {'sync ' if args.threads == 1 else ''}worker(s) each"
    header(f"throughput ({kind}, {workers}, signatures on)", args, **compared(args))
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(workdir(args))
        url = stack.enter_context(database(args.db, folder, "throughput"))
        surveys = copy_surveys(folder)
        pools = Pools(
            folder, args.connections, pool_size(args.pool_rate, args.duration, args.connections)
        )
        specs = [bot_spec("bot", url, surveys, folder)]
        if args.compare:
            other = stack.enter_context(database(args.db, folder, "compared"))
            specs.append(bot_spec("compared", other, surveys, folder, Path(args.compare)))
        started = stack.enter_context(servers(*specs, bare_spec(folder)))
        for bot in started[:-1]:
            require_signatures(bot)
        modes = ["bot"] * (len(started) - 1) + ["bare"]
        contenders = [Contender(s, m, pools) for s, m in zip(started, modes, strict=True)]
        rounds = alternate(contenders, args)
    names = [s.name for s in started]
    s = {name: medians(rounds, name) for name in names}
    ratio = s["bot"]["rps"] / s["bare"]["rps"]
    p99_ratio = s["bot"]["p99_ms"] / s["bare"]["p99_ms"]
    cpu_ratio = s["bare"]["cpu_ms_per_req"] / s["bot"]["cpu_ms_per_req"]
    summary = {**s, "rps_ratio": ratio, "p99_ratio": p99_ratio, "database": kind}
    summary["cpu_per_req_ratio"] = cpu_ratio
    print_summary(s)
    print(
        f"  CPU per request (server + database), bare/bot: {cpu_ratio:.3f} (req/s bot/bare"
        " if both were CPU-bound on the same cores)"
    )
    if args.compare:
        summary["compared"] = side_by_side(s)
    targets = [
        check(f"inbound SMS/s bot/bare ({kind})", ratio, ">=", 0.3 if args.db else 0.5),
        check("p99 latency bot/bare", p99_ratio, "<=", 3.0),
        *load_checks(s),
    ]
    return report(f"throughput-{kind}", summary, targets, {"rounds": rounds, "args": vars(args)})


def compared(args) -> dict:
    """The header's note of the other checkout and its commit, when there is one."""
    if not args.compare:
        return {}
    commit = subprocess.run(
        ["git", "-C", args.compare, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {"compared": f"{args.compare} at {commit or 'no commit'}"}


def side_by_side(s: dict) -> dict:
    """Print and return both bots' ratios to the bare app, and this one's to the other's."""
    figures = {}
    for name in ("bot", "compared"):
        figures[name] = {
            "rps_ratio": s[name]["rps"] / s["bare"]["rps"],
            "p99_ratio": s[name]["p99_ms"] / s["bare"]["p99_ms"],
            "cpu_ms_per_req": s[name]["cpu_ms_per_req"],
        }
        f = figures[name]
        print(
            f"  {name:<9} ÷ bare: req/s {f['rps_ratio']:.3f}, p99 {f['p99_ratio']:.2f}, "
            f"CPU {f['cpu_ms_per_req']:.2f} ms/req"
        )
    change = s["bot"]["cpu_ms_per_req"] / s["compared"]["cpu_ms_per_req"] - 1
    print(f"  this checkout's CPU per request against the compared one: {change:+.1%}")
    return figures


def cmd_bigdb(args) -> int:
    """Median webhook latency with 1,000,000 stored sessions vs an empty database (SQLite)."""
    header("bigdb (sqlite)", args, sessions=args.sessions)
    big_name = f"bot-{args.sessions // 1000}k" if args.sessions < 1_000_000 else "bot-1M"
    with workdir(args) as folder:
        surveys = copy_surveys(folder)
        empty, big = folder / "empty.sqlite3", folder / "big.sqlite3"
        create_schema(f"sqlite:///{empty}")
        create_schema(f"sqlite:///{big}", BEFORE_TALLIES)
        version = survey_version(surveys / f"{SURVEY}.yaml")
        seeded = seed(big, version, args.sessions, expired_every=10, inbound=not args.no_inbound)
        seeded["tallies_s"] = count_tallies(f"sqlite:///{big}")
        print(f"  seeded: {seeded}", flush=True)
        pools = Pools(
            folder, args.connections, pool_size(args.pool_rate, args.duration, args.connections)
        )
        specs = (
            bot_spec("bot-empty", f"sqlite:///{empty}", surveys, folder),
            bot_spec(big_name, f"sqlite:///{big}", surveys, folder),
        )
        with servers(*specs) as (on_empty, on_big):
            require_signatures(on_empty)
            require_signatures(on_big)
            rounds = alternate(
                [Contender(on_empty, "bot", pools), Contender(on_big, "bot", pools)], args
            )
    s = {name: medians(rounds, name) for name in ("bot-empty", big_name)}
    print_summary(s)
    ratio = s[big_name]["p50_ms"] / s["bot-empty"]["p50_ms"]
    summary = {**s, "p50_ratio": ratio, "seeded": seeded}
    targets = [
        check(f"median latency {args.sessions:,} sessions / empty", ratio, "<=", 1.2),
        *load_checks(s),
    ]
    return report("bigdb", summary, targets, {"rounds": rounds, "args": vars(args)})


BASELINE = "SELECT status, count(*) FROM survey_session WHERE survey_id = ? GROUP BY status"


def cmd_results(args) -> int:
    """The studio's results JSON of 1,000,000 sessions vs one GROUP BY status (SQLite)."""
    header("results (sqlite)", args, sessions=args.sessions)
    with workdir(args) as folder:
        surveys = copy_surveys(folder)
        path = folder / "results.sqlite3"
        create_schema(f"sqlite:///{path}", BEFORE_TALLIES)
        version = survey_version(surveys / f"{SURVEY}.yaml")
        seeded = seed(path, version, args.sessions, expired_every=10, inbound=False)
        seeded["tallies_s"] = count_tallies(f"sqlite:///{path}")  # migration 0011 on them
        print(f"  seeded: {seeded}", flush=True)
        times = {"results JSON": [], "GROUP BY status": []}
        app = create_app(
            {"DATABASE_URL": f"sqlite:///{path}", "SURVEYS_DIR": str(surveys), "ADMIN_TOKEN": "b"}
        )
        client, engine = app.test_client(), app.extensions["survey_service"].ready().engine
        url, auth = f"/studio/api/surveys/{SURVEY}/results", {"Authorization": "Bearer b"}
        for number in range(1, args.rounds + 1):
            started = time.perf_counter()
            response = client.get(url, headers=auth)
            times["results JSON"].append(time.perf_counter() - started)
            assert response.status_code == 200, response.get_data(as_text=True)
            with engine.connect() as conn:
                started = time.perf_counter()
                conn.exec_driver_sql(BASELINE, (SURVEY,)).fetchall()
                times["GROUP BY status"].append(time.perf_counter() - started)
            print(
                f"  round {number}: results {times['results JSON'][-1]:.3f} s, "
                f"GROUP BY status {times['GROUP BY status'][-1]:.3f} s",
                flush=True,
            )
        found = response.get_json()
        engine.dispose()
    med = {name: statistics.median(runs) for name, runs in times.items()}
    ratio = med["results JSON"] / med["GROUP BY status"]
    print(f"\n  medians: {med}; sessions counted {found['sessions']['total']:,}")
    targets = [
        check("results JSON / GROUP BY status", ratio, "<=", 5.0),
        check("sessions counted", found["sessions"]["total"], ">=", args.sessions),
    ]
    summary = {"medians_s": med, "ratio": ratio, "seeded": seeded, "results": found}
    return report("results", summary, targets, {"times": times, "args": vars(args)})


def cmd_export(args) -> int:
    """`flask export --format long` of 1,000,000 answers vs `sqlite3 -csv` of the same join."""
    header("export (sqlite)", args, answers=args.answers)
    with workdir(args) as folder:
        surveys = copy_surveys(folder)
        path = folder / "export.sqlite3"
        create_schema(f"sqlite:///{path}", BEFORE_TALLIES)
        sessions = math.ceil(args.answers / 8)
        seeded = seed(
            path,
            survey_version(surveys / f"{SURVEY}.yaml"),
            sessions,
            expired_every=0,
            inbound=False,
        )
        seeded["tallies_s"] = count_tallies(f"sqlite:///{path}")
        print(f"  seeded: {seeded}", flush=True)
        env = bot_env(f"sqlite:///{path}", surveys)
        flask_out, sqlite_out = folder / "flask.csv", folder / "sqlite3.csv"
        flask = [
            str(BIN / "flask"),
            "--app",
            "app",
            "export",
            SURVEY,
            "--format",
            "long",
            "-o",
            str(flask_out),
        ]
        runs = {"flask export": [], "sqlite3 -csv": []}
        compared = folder / "compared.csv"
        if args.compare:  # the same command in another checkout, in each round
            runs[args.compare] = []
        for number in range(1, args.rounds + 1):
            exports = [("flask export", flask, ROOT)]
            if args.compare:  # which goes first alternates, round by round
                exports.append((args.compare, [*flask[:-1], str(compared)], args.compare))
                exports = exports[:: 1 if number % 2 else -1]
            for name, command, cwd in exports:
                runs[name].append(timed(command, limit=600, env=env, cwd=cwd))
            result = runs["flask export"][-1]
            if args.compare:
                print(f"  round {number}: {args.compare} {runs[args.compare][-1]['seconds']:.2f} s")
            with open(sqlite_out, "w") as out:
                runs["sqlite3 -csv"].append(
                    timed(
                        ["sqlite3", "-csv", "-header", str(path), LONG_JOIN], limit=600, stdout=out
                    )
                )
            dump = runs["sqlite3 -csv"][-1]
            print(
                f"  round {number}: flask export {result['seconds']:.2f} s, peak RSS "
                f"{result['peak_rss_mb']:.0f} MB; sqlite3 -csv {dump['seconds']:.2f} s",
                flush=True,
            )
        rows = {"flask export": count_lines(flask_out), "sqlite3 -csv": count_lines(sqlite_out)}
        if args.compare:
            rows[args.compare] = count_lines(compared)
            same = filecmp.cmp(flask_out, compared, shallow=False)
        figures = ("seconds", "cpu_s", "peak_rss_mb")
        med = {k: {m: statistics.median(r[m] for r in v) for m in figures} for k, v in runs.items()}
        ratio = med["flask export"]["seconds"] / med["sqlite3 -csv"]["seconds"]
        peak = max(r["peak_rss_mb"] for r in runs["flask export"])
        print("\n  medians:")
        for name, m in med.items():
            print(
                f"  {name:<14} {m['seconds']:6.2f} s  CPU {m['cpu_s']:6.2f} s  "
                f"peak RSS {m['peak_rss_mb']:5.1f} MB  rows {rows[name] - 1}"
            )
        print("\n  time ratios to sqlite3 -csv, each round:")
        dumps = [run["seconds"] for run in runs["sqlite3 -csv"]]
        for name, each in runs.items():
            ratios = (run["seconds"] / dump for run, dump in zip(each, dumps, strict=True))
            print(f"  {name:<14} " + " ".join(f"{r:.2f}" for r in ratios))
        if args.profile:
            profile_command("export", flask, gil=False, env=env, cwd=ROOT)
    targets = [
        check("export time / sqlite3 -csv", ratio, "<=", 1.5),
        check("export peak RSS", peak, "<=", 64, " MB"),
        check("rows exported", rows["flask export"] - 1, ">=", args.answers),
    ]
    if args.compare:  # the two checkouts' exports, byte for byte
        targets.append(check(f"differs from {args.compare}", int(not same), "<=", 0))
    summary = {"medians": med, "ratio": ratio, "peak_rss_mb": peak, "rows": rows, "seeded": seeded}
    return report("export", summary, targets, {"runs": runs, "args": vars(args)})


AREA_CODES = ("212", "310", "415", "617", "312", "206", "305", "404", "512", "720")


def write_numbers(path: Path, count: int) -> None:
    """A CSV of `count` distinct, valid US numbers with a `phone` column."""
    import phonenumbers

    written, k = set(), 0
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["name", "phone"])
        while len(written) < count:
            k += 1
            area, exchange = AREA_CODES[k % len(AREA_CODES)], 200 + (k // 10000) % 700
            number = f"+1{area}{exchange}{k % 10000:04d}"
            if number in written or not phonenumbers.is_valid_number(phonenumbers.parse(number)):
                continue
            written.add(number)
            out.writerow([f"Resident {k}", number])


@contextlib.contextmanager
def fake_twilio(delay: float, folder: Path):
    """The fake Messages API on a free port; yields its base URL."""
    port = free_port()
    with open(folder / "fake-twilio.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(BENCH / "fake_twilio.py"), f"--port={port}", f"--delay={delay}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _fake_stats(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the fake Twilio API did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def _fake_stats(base: str) -> dict | None:
    """What the fake API has been sent, None while it is not answering."""
    try:
        with urllib.request.urlopen(base + "/_bench/stats", timeout=5) as r:
            return json.loads(r.read())
    except OSError:
        return None


def cmd_invite(args) -> int:
    """`flask invite` of 10,000 numbers against a fake Twilio answering after 50 ms."""
    header("invite", args, numbers=args.numbers, concurrency=args.concurrency, delay=args.delay)
    flask = [str(BIN / "flask"), "--app", "app", "invite"]
    with workdir(args) as folder:
        surveys = copy_surveys(folder)
        url = f"sqlite:///{folder / 'invite.sqlite3'}"
        create_schema(url)
        env = bot_env(url, surveys)
        env.update(TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_FROM_NUMBER="+15550001111")
        usage = subprocess.run(
            flask + ["--help"], env=env, cwd=ROOT, capture_output=True, text=True
        )
        if usage.returncode != 0 or "--concurrency" not in usage.stdout:
            print("\n  `flask invite SURVEY FILE.csv --concurrency N` is not available yet:")
            print("  " + (usage.stdout + usage.stderr).strip().replace("\n", "\n  ")[-1500:])
            return 2
        numbers = folder / "numbers.csv"
        write_numbers(numbers, args.numbers)
        with fake_twilio(args.delay, folder) as base:
            env["TWILIO_API_URL"] = base
            # Throughput with no sending window (any hour) and no --rate: the target's terms.
            command = flask + [
                SURVEY,
                str(numbers),
                f"--concurrency={args.concurrency}",
                "--window=00:00-24:00",
            ]
            with open(folder / "invite.out", "w") as out:
                result = timed(command, limit=args.limit, env=env, stdout=out, cwd=ROOT)
            stats = _fake_stats(base)
            rate = stats["messages"] / result["seconds"]
            print(
                f"\n  {stats['messages']} messages in {result['seconds']:.2f} s: {rate:.0f} msg/s"
            )
            print(
                f"  fake API: {stats}; invite process: CPU {result['cpu_s']:.1f} s, "
                f"peak RSS {result['peak_rss_mb']:.0f} MB"
            )
            if args.profile:
                with sqlite3.connect(folder / "invite.sqlite3") as db:  # invite everyone again
                    for table in ("outbound_message", "answer", "survey_session"):
                        db.execute(f"DELETE FROM {table}")
                profile_command("invite", command, gil=True, env=env, cwd=ROOT)
    targets = [
        check("invite msg/s", rate, ">=", 500, " msg/s"),
        check("numbers reached", stats["distinct_numbers"], ">=", args.numbers),
        check("numbers sent twice", stats["repeats"], "<=", 0),
    ]
    summary = {"msg_per_s": rate, "fake_api": stats, "invite": result}
    return report("invite", summary, targets, {"args": vars(args)})


def extra_surveys(target: Path, total: int) -> None:
    """Fill `target` up to `total` valid survey files: copies of visit-feedback, renamed."""
    source = (ROOT / "surveys" / f"{SURVEY}.yaml").read_text()
    have = len(list(target.glob("*.y*ml")))
    for n in range(1, total - have + 1):
        text = re.sub(r"(?m)^id: .*$", f"id: extra-{n:03d}", source)
        text = re.sub(r"(?m)^keywords: .*$", f"keywords: [EXTRA{n:03d}]", text)
        text = re.sub(r"(?m)^default: .*$", "default: false", text)
        (target / f"extra-{n:03d}.yaml").write_text(text)
    past = time.time() - 3600  # files that sit in the folder, not ones being edited now
    for path in [*target.iterdir(), target]:
        os.utime(path, (past, past))


def cmd_surveyfiles(args) -> int:
    """Throughput with 3 vs 200 survey files in SURVEYS_DIR (checked on every message)."""
    header(f"surveyfiles (sqlite, 3 vs {args.files} files)", args)
    with workdir(args) as folder:
        few = copy_surveys(folder)
        many = folder / f"surveys-{args.files}"
        shutil.copytree(few, many)
        extra_surveys(many, args.files)
        extra_surveys(few, 0)  # same mtimes in the past
        pools = Pools(
            folder, args.connections, pool_size(args.pool_rate, args.duration, args.connections)
        )
        specs = (
            bot_spec("bot-3-files", f"sqlite:///{folder / 'few.sqlite3'}", few, folder),
            bot_spec(
                f"bot-{args.files}-files", f"sqlite:///{folder / 'many.sqlite3'}", many, folder
            ),
        )
        with servers(*specs) as (a, b):
            require_signatures(a)
            require_signatures(b)
            rounds = alternate([Contender(a, "bot", pools), Contender(b, "bot", pools)], args)
    s = {name: medians(rounds, name) for name in (a.name, b.name)}
    print_summary(s)
    ratio = s[b.name]["rps"] / s[a.name]["rps"]
    cpu_ratio = s[b.name]["cpu_ms_per_req"] / s[a.name]["cpu_ms_per_req"]
    summary = {**s, "rps_ratio": ratio, "cpu_per_req_ratio": cpu_ratio}
    targets = [
        check(f"req/s with {args.files} files / with 3 (no measurable cost)", ratio, ">=", 0.95),
        # the bot may leave a core idle, where a per-message cost would not show in req/s
        check(f"server CPU per request, {args.files} files / 3", cpu_ratio, "<=", 1.05),
        *load_checks(s),
    ]
    return report("surveyfiles", summary, targets, {"rounds": rounds, "args": vars(args)})


def cmd_profile(args) -> int:
    """py-spy on the bot's workers under the throughput load; where the time goes."""
    spy = py_spy()
    if spy is None:
        print("py-spy is not installed: .venv/bin/pip install -r bench/requirements.txt")
        return 2
    header("profile (bot under load, py-spy on both workers)", args)
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    out = results / f"profile-{datetime.now().strftime('%Y%m%d-%H%M%S')}.txt"
    with workdir(args) as folder, database(args.db, folder, "profile") as url:
        pools = Pools(
            folder, args.connections, pool_size(args.pool_rate, args.duration, args.connections)
        )
        with servers(bot_spec("bot", url, copy_surveys(folder), folder)) as (bot,):
            require_signatures(bot)
            measure(bot, pools.fresh(), "bot", args, args.warmup or 1)
            command = [spy, "record", f"--pid={bot.proc.pid}", "--subprocesses"]
            command += [] if args.cpu else ["--idle"]  # with --idle: waiting counts too
            command += ["--format=raw", f"--rate={args.rate}", f"--duration={args.duration}"]
            # --native needs to pause the workers to unwind C frames; else sample without pausing
            command += [f"--output={out}"] + (["--native"] if args.native else ["--nonblocking"])
            spying = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(1)  # py-spy attaches
            result = measure(bot, pools.fresh(), "bot", args, args.duration - 2)
            result.update(round=1, attempt=1, disturbed=False)
            print(round_line(result))
            spying.wait(args.duration + 30)
            if spying.returncode != 0 or not out.exists():
                print(f"  py-spy failed: {spying.stderr.read().decode()[-2000:]}")
                return 1
    summary = summarise_profile(out)
    busy = summary["handling_samples"] / max(summary["worker_samples"], 1)
    print(f"\n  raw stacks: {out.relative_to(ROOT)}")
    if args.cpu:
        print(f"  {100 * busy:.0f}% of the workers' CPU samples handled a request; of those:")
    else:
        print(f"  workers had a request in hand {100 * busy:.0f}% of the time; of that time:")
    for title, key in (("by phase", "phases"), ("by function on top of the stack", "self")):
        print(f"\n  {title}:")
        for name, share in summary[key]:
            print(f"    {share:5.1f}%  {name}")
    (results / (out.stem + ".json")).write_text(json.dumps({"round": result, **summary}, indent=2))
    return 0


def load_options(parser: argparse.ArgumentParser, rounds=3, duration=15, connections=4) -> None:
    """The options of the measures that drive servers with wrk."""
    parser.add_argument("--rounds", type=int, default=rounds, help="rounds per server")
    parser.add_argument("--duration", type=int, default=duration, help="seconds per round")
    parser.add_argument(
        "--connections",
        type=int,
        default=connections,
        help="concurrent connections (wrk runs one thread per connection)",
    )
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load before round 1")
    parser.add_argument(
        "--max-other",
        type=float,
        default=0.2,
        help="cores other processes may use during a round before it is run again",
    )
    parser.add_argument("--retries", type=int, default=2, help="reruns of a disturbed round")
    parser.add_argument(
        "--wrk-nice",
        type=int,
        default=-10,
        help="wrk's nice value: ahead of the servers, so it reads each reply and closes at once",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60,
        help="seconds to wait, before each round, for other processes to leave the CPUs idle",
    )
    parser.add_argument(
        "--pool-rate",
        type=float,
        default=1500,
        help="req/s the pregenerated requests must last for (bot rounds stop when they run out)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker for both apps (1: sync workers; 16: the project's gthread setup)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="gunicorn workers for both apps (1: no second process writing the same file)",
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one measure."""
    parser = argparse.ArgumentParser(description="Benchmarks of the SMS survey bot (issue 5).")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--tmp", default=None, help="where the temporary folder goes")
    sub = parser.add_subparsers(dest="measure", required=True)

    p = sub.add_parser("throughput", help="bot vs bare Flask app, req/s and latency")
    load_options(p)
    p.add_argument("--db", help="postgresql://... (a temporary schema is made and dropped)")
    p.add_argument(
        "--compare", help="another checkout whose bot runs in the same rounds (a worktree at main)"
    )
    p.set_defaults(run=cmd_throughput)

    p = sub.add_parser("bigdb", help="median latency with 1,000,000 sessions vs empty")
    load_options(p, duration=10, connections=1)
    p.add_argument("--sessions", type=int, default=1_000_000)
    p.add_argument("--no-inbound", action="store_true", help="seed no inbound_message rows")
    p.set_defaults(run=cmd_bigdb)

    p = sub.add_parser("export", help="flask export of 1,000,000 answers vs sqlite3 -csv")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--answers", type=int, default=1_000_000)
    p.add_argument("--profile", action="store_true", help="then one more run under py-spy")
    p.add_argument(
        "--compare",
        metavar="CHECKOUT",
        help="also time the export of another checkout (a worktree at main, say) in each round",
    )
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("results", help="studio results of 1,000,000 sessions vs GROUP BY status")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--sessions", type=int, default=1_000_000)
    p.set_defaults(run=cmd_results)

    p = sub.add_parser("invite", help="flask invite of 10,000 numbers against a fake Twilio")
    p.add_argument("--numbers", type=int, default=10_000)
    p.add_argument("--concurrency", type=int, default=64, help="flask invite --concurrency")
    p.add_argument("--delay", type=float, default=0.05, help="the fake API's answer delay (s)")
    p.add_argument("--limit", type=float, default=300, help="seconds before the run is killed")
    p.add_argument("--profile", action="store_true", help="then one more run under py-spy")
    p.set_defaults(run=cmd_invite)

    p = sub.add_parser("profile", help="py-spy profile of the bot's workers under load")
    load_options(p, duration=20)
    p.add_argument("--db", help="postgresql://... (a temporary schema is made and dropped)")
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument("--native", action="store_true", help="C frames too (SQLite, psycopg)")
    p.add_argument("--cpu", action="store_true", help="only samples on a CPU (no waiting)")
    p.set_defaults(run=cmd_profile)

    p = sub.add_parser("surveyfiles", help="throughput with 3 vs 200 survey files")
    load_options(p)
    p.add_argument("--files", type=int, default=200)
    p.set_defaults(run=cmd_surveyfiles)

    add_loading(sub)
    add_research(sub)
    add_outcomes(sub)

    args = parser.parse_args(argv)
    # a SIGTERM (timeout, kill) unwinds like an exception, so every server started is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not shutil.which("wrk") and args.measure in (
        "throughput",
        "bigdb",
        "surveyfiles",
        "profile",
    ):
        parser.error("wrk is not installed: apt-get install -y wrk")
    if not shutil.which("sqlite3") and args.measure == "export":
        parser.error("sqlite3 is not installed: apt-get install -y sqlite3")
    if not os.path.exists("/usr/bin/time") and args.measure in (
        "export",
        "invite",
        "research",
        "worker",
    ):
        parser.error("GNU time is not installed: apt-get install -y time")
    SERVER_THREADS["threads"] = getattr(args, "threads", 1)
    SERVER_THREADS["workers"] = getattr(args, "workers", 2)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
