"""`bench/run.py outcomes` and `bench/run.py worker` (issue 21).

outcomes: the report of 1,000,000 cases (the studio's API: dispositions and
rates) against one plain GROUP BY over the same cases; target <= 5x.
worker: one `flask worker --once` pass over 100,000 due re-contacts against the
fake Twilio API, and one over a tenth as many: peak memory stays flat.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import BIN, ROOT, check, copy_surveys, header, report, timed, workdir
from seeding import create_schema, survey_version

from web.factory import create_app

SURVEY = "recall"
RECALL = """\
title: Recall
expire_after: 5d
send_window: "00:00-24:00"
recontact: [1h, 1d]
questions:
  - {id: name, type: text, text: "Your name?"}
"""
CODES = ("1.1", "1.2", "2.11", "2.12", "3.19", "3.20", "4.10", "4.30")
BASELINE = "SELECT code, count(*) FROM survey_case WHERE survey_id = ? GROUP BY code"
ACCOUNT = "AC" + "b" * 32
TOKEN = "bench-admin-token-of-32-chars-xx"  # the studio refuses short tokens


def seed_cases(path: Path, cases: int) -> None:
    """`cases` cases of one survey, codes spread over the table, a tenth walk-ins and open."""
    code = "CASE k % {} {} END".format(
        len(CODES), " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(CODES))
    )
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    db.execute(
        f"""INSERT INTO survey_case (survey_id, phone, walk_in, created_at, code, answered,
                partial, replied, active_at)
        WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {cases})
        SELECT '{SURVEY}', '+1' || (3000000000 + k), k % 10 = 0, '2026-01-01 00:00:00.000000',
            {code}, 0, 0, 0,
            CASE WHEN k % 10 = 1 THEN '2099-01-01 00:00:00.000000' END
        FROM n"""
    )
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()


def cmd_outcomes(args) -> int:
    """The outcomes JSON of 1,000,000 cases vs one GROUP BY code (SQLite)."""
    header("outcomes (sqlite)", args, cases=args.cases)
    with workdir(args) as folder:
        surveys = copy_surveys(folder)
        (surveys / f"{SURVEY}.yaml").write_text(RECALL)
        path = folder / "outcomes.sqlite3"
        create_schema(f"sqlite:///{path}")
        started = time.monotonic()
        seed_cases(path, args.cases)
        print(f"  seeded {args.cases:,} cases in {time.monotonic() - started:.1f} s", flush=True)
        app = create_app(
            {"DATABASE_URL": f"sqlite:///{path}", "SURVEYS_DIR": str(surveys), "ADMIN_TOKEN": TOKEN}
        )
        client, engine = app.test_client(), app.extensions["survey_service"].ready().engine
        url, auth = f"/studio/api/surveys/{SURVEY}/outcomes", {"Authorization": "Bearer " + TOKEN}
        times = {"outcomes JSON": [], "GROUP BY code": []}
        for number in range(1, args.rounds + 1):
            started = time.perf_counter()
            response = client.get(url + "?walk_ins=1", headers=auth)
            times["outcomes JSON"].append(time.perf_counter() - started)
            assert response.status_code == 200, response.get_data(as_text=True)
            with engine.connect() as conn:
                started = time.perf_counter()
                conn.exec_driver_sql(BASELINE, (SURVEY,)).fetchall()
                times["GROUP BY code"].append(time.perf_counter() - started)
            print(
                f"  round {number}: outcomes {times['outcomes JSON'][-1]:.3f} s, "
                f"GROUP BY code {times['GROUP BY code'][-1]:.3f} s",
                flush=True,
            )
        found = response.get_json()
        engine.dispose()
    med = {name: statistics.median(runs) for name, runs in times.items()}
    ratio = med["outcomes JSON"] / med["GROUP BY code"]
    print(f"\n  medians: {med}; cases {found['cases']:,}, interim {found['interim']:,}")
    targets = [
        check("outcomes JSON / GROUP BY code", ratio, "<=", 5.0),
        check("cases counted", found["cases"], ">=", args.cases),
    ]
    summary = {"medians_s": med, "ratio": ratio, "report": found}
    return report("outcomes", summary, targets, {"times": times, "args": vars(args)})


def seed_due(path: Path, version: str, sessions: int) -> None:
    """`sessions` open invited sessions whose first re-contact is due now."""
    now = datetime.now(UTC)
    stamp = (now - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S.%f")
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    db.execute("DELETE FROM outbound_message")
    db.execute("DELETE FROM survey_session")
    db.execute(
        f"""INSERT INTO survey_session (id, phone, survey_id, survey_version, state, status,
                retries, answers, trail, started_at, updated_at, recontact_due)
        WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {sessions})
        SELECT k, '+1202' || (2000000 + k), '{SURVEY}', '{version}', 'name', 'open', 0, '{{}}',
            '[]', '{stamp}', '{stamp}', '{stamp}'
        FROM n"""
    )
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()


def cmd_worker(args) -> int:
    """`flask worker --once` over N due re-contacts and over N/10: time, peak RSS, repeats."""
    from loadgen import bot_env
    from run import _fake_stats, fake_twilio

    header("worker (sqlite)", args, sessions=args.sessions, delay=args.delay)
    rows = {}
    with workdir(args) as folder:
        surveys = copy_surveys(folder)
        (surveys / f"{SURVEY}.yaml").write_text(RECALL)
        version = survey_version(surveys / f"{SURVEY}.yaml")
        path = folder / "worker.sqlite3"
        url = f"sqlite:///{path}"
        create_schema(url)
        env = bot_env(url, surveys)
        env.update(TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_FROM_NUMBER="+15550001111")
        command = [str(BIN / "flask"), "--app", "app", "worker", "--once"]
        command += [f"--concurrency={args.concurrency}"]
        for count in (args.sessions // 10, args.sessions):
            seed_due(path, version, count)
            with fake_twilio(args.delay, folder) as base:
                env["TWILIO_API_URL"] = base
                with open(folder / f"worker-{count}.out", "w") as out:
                    result = timed(command, limit=args.limit, env=env, stdout=out, cwd=ROOT)
                stats = _fake_stats(base)
            rate = stats["messages"] / result["seconds"]
            rows[count] = {"worker": result, "fake_api": stats, "msg_per_s": rate}
            print(
                f"  {count:,} due: {stats['messages']:,} sent in {result['seconds']:.1f} s "
                f"({rate:.0f}/s), peak RSS {result['peak_rss_mb']:.0f} MB, "
                f"repeats {stats['repeats']}",
                flush=True,
            )
    small, big = rows[args.sessions // 10], rows[args.sessions]
    growth = big["worker"]["peak_rss_mb"] / small["worker"]["peak_rss_mb"]
    targets = [
        check("re-contacts sent", big["fake_api"]["distinct_numbers"], ">=", args.sessions),
        check("sent twice", big["fake_api"]["repeats"], "<=", 0),
        check("peak RSS, 10x the due re-contacts", growth, "<=", 1.25, "x"),
    ]
    return report("worker", {str(k): v for k, v in rows.items()}, targets, {"args": vars(args)})


def add_parsers(sub) -> None:
    """The `outcomes` and `worker` measures' command lines."""
    p = sub.add_parser("outcomes", help="outcomes of 1,000,000 cases vs GROUP BY code")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--cases", type=int, default=1_000_000)
    p.set_defaults(run=cmd_outcomes)
    p = sub.add_parser("worker", help="flask worker --once over 100,000 due re-contacts")
    p.add_argument("--sessions", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--delay", type=float, default=0.05, help="the fake API's answer delay (s)")
    p.add_argument("--limit", type=float, default=1800, help="seconds before a run is killed")
    p.set_defaults(run=cmd_worker)
