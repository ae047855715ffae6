"""The load: respondents signed in advance, gunicorn servers, wrk rounds and their figures."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import statistics
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from common import (
    ACCOUNT,
    BENCH,
    BIN,
    HOST,
    PUBLIC_URL,
    ROOT,
    TOKEN,
    check,
    children,
    free_port,
    postgres_cpu,
    process_cpu,
    system_busy,
)

# Whole surveys of surveys/visit-feedback.yaml: (message, text the reply must contain).
# {name} is unique per respondent, so a reply meant for someone else is caught.
SCRIPTS = [
    [
        ("FEEDBACK", "What is your first name?"),
        ("{name}", "How satisfied were you, {name}?"),
        ("1", "How likely are you to recommend us"),
        ("9", "May we contact you about your answers?"),
        ("yes", "Which did you use?"),
        ("1,3", "How many times did you visit this year?"),
        ("3", "When was your last visit?"),
        ("yesterday", "Thanks {name}! Your answers are saved."),
    ],
    [
        ("Hi", "What is your first name?"),
        ("{name}", "How satisfied were you, {name}?"),
        ("poor", "How likely are you to recommend us"),
        ("11", "How likely are you to recommend us"),  # out of range: re-prompted
        ("4", "What should we improve?"),
        ("Shorter queues at the desk", "May we contact you about your answers?"),
        ("no", "Thanks {name}! Your answers are saved."),
    ],
    [
        ("visit", "What is your first name?"),
        ("  {name} ", "How satisfied were you, {name}?"),
        ("Satisfied", "How likely are you to recommend us"),
        ("5", "What should we improve?"),
        ("SKIP", "May we contact you about your answers?"),
        ("yep", "Which did you use?"),
        ("parking, shop", "How many times did you visit this year?"),
        ("about 12", "When was your last visit?"),
        ("03/14/2026", "Thanks {name}! Your answers are saved."),
    ],
]


MESSAGES_PER_RESPONDENT = sum(map(len, SCRIPTS)) / len(SCRIPTS)


class Numbers:
    """Phone numbers and MessageSids never used before in this run."""

    def __init__(self, first: int = 2_000_000_000):
        self.next = first
        self.run = uuid.uuid4().hex[:8]

    def phone(self) -> tuple[str, int]:
        """A fresh number and its serial."""
        self.next += 1
        return f"+1{self.next}", self.next

    def sid(self, serial: int, step: int) -> str:
        """A MessageSid unique to this run, number and step."""
        return f"SM{self.run}{serial:016d}{step:08d}"


def twilio_form(phone: str, body: str, sid: str) -> dict[str, str]:
    """An inbound message's parameters, all of those Twilio sends."""
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "US",
        "To": "+15550001111",
        "MessagingServiceSid": "MG" + "a" * 32,
        "ToZip": "",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": phone,
        "ApiVersion": "2010-04-01",
    }


def respondent_lines(numbers: Numbers, signer, serial_script: int) -> list[str]:
    """One respondent's whole survey as request lines: step, signature, form, expected text."""
    phone, serial = numbers.phone()
    name = f"Kim {serial}"
    lines = []
    for step, (message, expect) in enumerate(SCRIPTS[serial_script % len(SCRIPTS)]):
        form = twilio_form(phone, message.format(name=name), numbers.sid(serial, step))
        signature = signer.compute_signature(PUBLIC_URL + "/sms", form)
        lines.append(f"{step}\t{signature}\t{urlencode(form)}\t{expect.format(name=name)}\n")
    return lines


@dataclass
class Pools:
    """Folders of pregenerated signed requests, one file per connection, never reused."""

    workdir: Path
    connections: int
    respondents: int  # per connection
    numbers: Numbers = field(default_factory=Numbers)
    made: int = 0

    def fresh(self) -> Path:
        """A new folder of requests, with numbers and MessageSids not used before."""
        from twilio.request_validator import RequestValidator

        signer = RequestValidator(TOKEN)
        self.made += 1
        folder = self.workdir / f"pool-{self.made}"
        folder.mkdir()
        for conn in range(1, self.connections + 1):
            with open(folder / f"conn-{conn}.tsv", "w") as out:
                for k in range(self.respondents):
                    out.writelines(respondent_lines(self.numbers, signer, k))
        return folder


def pool_size(rate: float, duration: float, connections: int) -> int:
    """Respondents per connection for `rate` requests/s over `duration` seconds, with margin."""
    return math.ceil(rate * duration * 1.25 / connections / MESSAGES_PER_RESPONDENT) + 2


# Threads per worker and workers for every server of a run; 1 thread: gunicorn's sync workers.
SERVER_THREADS = {"threads": 1, "workers": 2}


class Server:
    """gunicorn with sync workers on 127.0.0.1, started and stopped by the bench.

    Every server gets the same settings from the command line and an empty
    config file: the project's gunicorn.conf.py (gthread, 16 threads) would
    otherwise apply to the bot alone, which runs from the project's folder,
    and gunicorn turns sync workers into gthread ones when threads > 1.
    """

    def __init__(self, name: str, target: str, chdir: Path, env: dict, workdir: Path):
        workers = SERVER_THREADS["workers"]
        self.name, self.port, self.workers = name, free_port(), workers
        self.log_path = workdir / f"{name}.log"
        config = workdir / "gunicorn-bench.conf.py"
        config.write_text("# the bench's servers: settings from the command line only\n")
        threads = SERVER_THREADS["threads"]
        command = [
            str(BIN / "gunicorn"),
            f"--config={config}",
            f"--workers={workers}",
            f"--worker-class={'sync' if threads == 1 else 'gthread'}",
            f"--threads={threads}",
            f"--bind={HOST}:{self.port}",
            f"--chdir={chdir}",
            "--timeout=120",
            target,
        ]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready()

    def _wait_ready(self, limit: float = 60) -> None:
        """Wait until every worker is up and /healthz answers 200."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            if len(children(self.proc.pid)) == self.workers and self._healthy():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{self.log_path.read_text()[-3000:]}")

    def _healthy(self) -> bool:
        """Whether GET /healthz answers 200."""
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.port}/healthz", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def pids(self) -> list[int]:
        """The master and its workers."""
        return [self.proc.pid, *children(self.proc.pid)]

    def worker_pids(self) -> list[int]:
        """The workers only."""
        return children(self.proc.pid)

    def cpu(self) -> float:
        """CPU seconds used so far by the master and the current workers."""
        return sum(process_cpu(pid) for pid in self.pids())

    def stop(self) -> None:
        """Graceful stop; kill the process group this bench created if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


@contextlib.contextmanager
def servers(*specs):
    """Start servers from (name, target, chdir, env, workdir) and stop them all at the end."""
    started: list[Server] = []
    try:
        for spec in specs:
            started.append(Server(*spec))
        yield started
    finally:
        for server in started:
            server.stop()


def bot_env(database_url: str, surveys_dir: Path) -> dict:
    """The bot's environment: signatures checked, nothing from the caller's own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "FLASK_"))}
    env.update(
        DATABASE_URL=database_url,
        SURVEYS_DIR=str(surveys_dir),
        TWILIO_AUTH_TOKEN=TOKEN,
        PUBLIC_URL=PUBLIC_URL,
        PYTHONDONTWRITEBYTECODE="1",
    )
    for key in ("ADMIN_TOKEN", "TWILIO_VALIDATE", "TRUSTED_PROXIES"):
        env.pop(key, None)
    return env


def bot_spec(name: str, database_url: str, surveys_dir: Path, workdir: Path, root: Path = ROOT):
    """A Server spec for the bot: `gunicorn app:app` from a checkout's root (this one's)."""
    return (name, "app:app", root, bot_env(database_url, surveys_dir), workdir)


def require_signatures(server: Server) -> None:
    """Refuse to measure a bot that does not check X-Twilio-Signature (it must answer 403)."""
    form = twilio_form("+15550000000", "hello", "SM" + uuid.uuid4().hex)
    request = urllib.request.Request(
        f"http://{HOST}:{server.port}/sms",
        data=urlencode(form).encode(),
        headers={
            "X-Twilio-Signature": "forged",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
    if status != 403:
        raise RuntimeError(f"{server.name} answered {status} to a forged signature, not 403")


def bare_spec(workdir: Path):
    """A Server spec for the bare Flask app, under the same gunicorn settings."""
    return ("bare", "bare_app:app", BENCH, dict(os.environ), workdir)


def run_wrk(port: int, pool: Path, mode: str, args, duration: float) -> dict:
    """Drive one server with wrk for `duration` seconds; wrk's result and its own CPU."""
    latencies = pool.parent / f"latencies-{uuid.uuid4().hex[:8]}.txt"
    connections = args.connections
    command = ["nice", f"-n{args.wrk_nice}"] if args.wrk_nice else []
    command += [
        "wrk",
        f"--threads={connections}",
        f"--connections={connections}",
        f"--duration={int(duration)}s",
        "--timeout=30s",
        f"--script={BENCH / 'respondent.lua'}",
        f"http://{HOST}:{port}",
        "--",
        str(pool),
        mode,
        str(latencies),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{out}\n{err}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["wrk_cpu_s"] = usage.ru_utime + usage.ru_stime
    result.update(percentiles(sorted(int(v) for v in latencies.read_text().split())))
    latencies.unlink()
    return result


def percentiles(values: list[int]) -> dict:
    """p50, p90, p99 and max of sorted latencies in microseconds, as milliseconds."""
    if not values:
        return {"p50_ms": math.nan, "p90_ms": math.nan, "p99_ms": math.nan, "max_ms": math.nan}

    def at(p: float) -> float:
        return values[min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1)] / 1000

    return {"p50_ms": at(50), "p90_ms": at(90), "p99_ms": at(99), "max_ms": values[-1] / 1000}


def measure(server: Server, pool: Path, mode: str, args, duration: float) -> dict:
    """One round against `server`: throughput, latency and who used the CPU."""
    pg = bool(getattr(args, "db", None))
    db_before = postgres_cpu() if pg else 0.0
    server_before, (busy_before, total_before) = server.cpu(), system_busy()
    result = run_wrk(server.port, pool, mode, args, duration)
    server_after, (busy_after, total_after) = server.cpu(), system_busy()
    db_after = postgres_cpu() if pg else 0.0
    seconds = result["duration_us"] / 1e6
    result.update(
        name=server.name,
        rps=result["ok"] / seconds,
        wrk_cpu=result["wrk_cpu_s"] / seconds,
        server_cpu=(server_after - server_before) / seconds,
        db_cpu=(db_after - db_before) / seconds,
        machine_busy=(busy_after - busy_before) / seconds,
        cores=round((total_after - total_before) / seconds),
    )
    served = max(result["responses"], 1)
    result["cpu_ms_per_req"] = 1000 * (server_after - server_before + db_after - db_before) / served
    ours = result["wrk_cpu"] + result["server_cpu"] + result["db_cpu"]
    result["other_cpu"] = max(0.0, result["machine_busy"] - ours)
    return result


@dataclass
class Contender:
    """A server in an alternating comparison and where its requests come from."""

    server: Server
    mode: str  # bot: fresh numbers every round, replies checked; bare: cycled, 200 checked
    pools: Pools
    bare_pool: Path | None = None

    def pool(self) -> Path:
        """The requests for its next round."""
        if self.mode == "bot":
            return self.pools.fresh()
        if self.bare_pool is None:
            self.bare_pool = self.pools.fresh()
        return self.bare_pool


def alternate(contenders: list[Contender], args) -> list[dict]:
    """Warm every server up, then run rounds in turn: a, b, a, b, ...

    This machine may be shared: a round during which other processes used more
    than --max-other cores is run again (up to --retries times) and kept flagged.
    """
    for c in contenders:
        if args.warmup:
            measure(c.server, c.pool(), c.mode, args, args.warmup)
    rounds = []
    for number in range(1, args.rounds + 1):
        for c in contenders:
            for attempt in range(args.retries + 1):
                wait_quiet(args.max_other, args.quiet_wait)
                result = measure(c.server, c.pool(), c.mode, args, args.duration)
                result.update(round=number, attempt=attempt + 1)
                result["disturbed"] = result["other_cpu"] > args.max_other
                print(round_line(result), flush=True)
                if not result["disturbed"]:
                    break
            rounds.append(result)
    return rounds


def wait_quiet(limit: float, patience: float) -> bool:
    """Wait (at most `patience` s) until the machine is idle: less than `limit` cores busy."""
    deadline = time.monotonic() + patience
    while True:
        busy_before, total_before = system_busy()
        time.sleep(1)
        busy_after, total_after = system_busy()
        share = (busy_after - busy_before) / max(total_after - total_before, 1e-9)
        busy = share * (os.cpu_count() or 1)
        if busy < limit:
            return True
        if time.monotonic() > deadline:
            print(f"  (machine still busy: {busy:.2f} cores used by others; going on)")
            return False


def round_line(r: dict) -> str:
    """One round as a line of the report."""
    flags = ""
    if r["fail"] or r["lost"]:
        flags += f"  FAILURES {r['fail']} lost {r['lost']}"
    if r["exhausted"]:
        flags += "  POOL EXHAUSTED (raise --pool-rate)"
    if r["disturbed"]:
        flags += "  DISTURBED by other processes"
    db = f" db {r['db_cpu']:.2f}," if r["db_cpu"] else ""
    return (
        f"  round {r['round']}.{r['attempt']} {r['name']:<12} {r['rps']:7.1f} req/s"
        f"  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  CPU (cores): server"
        f" {r['server_cpu']:.2f},{db} wrk {r['wrk_cpu']:.2f}, other {r['other_cpu']:.2f},"
        f" idle {r['cores'] - r['machine_busy']:.2f}{flags}"
    )


def medians(rounds: list[dict], name: str) -> dict:
    """The median of each figure over the rounds of one server."""
    mine = [r for r in rounds if r["name"] == name]
    keys = ("rps", "p50_ms", "p99_ms", "cpu_ms_per_req", "server_cpu", "db_cpu", "wrk_cpu")
    keys += ("other_cpu",)
    summary = {k: statistics.median(r[k] for r in mine) for k in keys}
    summary["spread_rps"] = [min(r["rps"] for r in mine), max(r["rps"] for r in mine)]
    summary["fail"] = sum(r["fail"] + r["lost"] for r in mine)
    summary["exhausted"] = sum(r["exhausted"] for r in mine)
    summary["disturbed_rounds"] = sum(r["disturbed"] for r in mine)
    summary["requests_ok"] = sum(r["ok"] for r in mine)
    return summary


def load_checks(summaries: dict[str, dict]) -> list[dict]:
    """Targets every load measure has: no failed reply, no exhausted pool."""
    failures = sum(s["fail"] for s in summaries.values())
    exhausted = sum(s["exhausted"] for s in summaries.values())
    return [
        check("wrong or missing replies", failures, "<=", 0),
        check("rounds that ran out of pregenerated requests", exhausted, "<=", 0),
    ]


def print_summary(s: dict[str, dict]) -> None:
    """The medians of each server."""
    print("\n  medians:")
    for name, m in s.items():
        print(
            f"  {name:<12} {m['rps']:8.1f} req/s (rounds {m['spread_rps'][0]:.0f}-"
            f"{m['spread_rps'][1]:.0f})  p50 {m['p50_ms']:.2f} ms  p99 {m['p99_ms']:.2f} ms"
            f"  CPU: server {m['server_cpu']:.2f} cores, {m['cpu_ms_per_req']:.2f} ms/req;"
            f" wrk {m['wrk_cpu']:.2f} cores"
        )
