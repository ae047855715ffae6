"""A real `gunicorn app:app` on 127.0.0.1, and a client that posts signed messages to it."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import http.client
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import text
from twilio.request_validator import RequestValidator

from conftest import TOKEN, reply_text
from web.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PUBLIC_URL = "https://survey.example.org"
# What a client sees when the worker serving its request dies: it sends again.
DROPPED = (ConnectionError, http.client.HTTPException, TimeoutError)
# gunicorn says "Listening at: http://127.0.0.1:PORT", `flask run` "Running on http://...".
LISTENING = re.compile(rb"(?:Listening at|Running on):? http://127\.0\.0\.1:(\d+)")


def server_env(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without any app or Flask setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS and not k.startswith("FLASK_")}
    return env | settings


def start_gunicorn(settings: dict[str, str], log: Path, workers: int = 4) -> subprocess.Popen:
    """Start `gunicorn app:app` from the repository root on a free port, logging to `log`."""
    args = [GUNICORN, "-w", str(workers), "-b", "127.0.0.1:0", "--no-control-socket", "app:app"]
    return start_process(args, settings, log)


def refused_to_start(settings: dict[str, str], log: Path, workers: int = 4) -> list[str]:
    """The log lines of `gunicorn app:app` that must refuse to start (exit 1 within 60 s)."""
    process = start_gunicorn(settings, log, workers)
    try:
        assert process.wait(timeout=60) == 1
    finally:
        stop(process)
    return log.read_text().splitlines()


def start_process(
    args: list[str], settings: dict[str, str], log: Path, cwd: Path = ROOT
) -> subprocess.Popen:
    """Start a server command from `cwd` (the repository root), logging to `log`.

    The server is told to stop (SIGTERM) if the test run itself dies, killed
    or timed out before its fixtures could stop it: no server outlives it.
    """
    with log.open("wb") as out:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=server_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_stop_with_parent,
        )


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_PR_SET_PDEATHSIG = 1  # Linux prctl(2): a signal for this process when its parent dies


def _stop_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process ends (Linux only)."""
    if sys.platform.startswith("linux"):
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop(process: subprocess.Popen, quit_signal: int = signal.SIGQUIT) -> None:
    """Stop a gunicorn master and wait for it; kill it, and any worker left, if it lingers.

    A master killed outright leaves its workers serving: they are killed too,
    so that no test leaves a server behind. `quit_signal`: gunicorn's SIGQUIT
    is its quick shutdown; `flask run` has no handler of its own, and a shell
    that starts the suite in the background has it ignore SIGQUIT.
    """
    if process.poll() is None:
        process.send_signal(quit_signal)  # quick shutdown: the tests' requests are done
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            workers = children(process.pid)
            process.kill()
            process.wait()
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def listening_port(process: subprocess.Popen, log: Path, timeout: float = 20) -> int:
    """The port gunicorn bound, read from its log once it says so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_bytes())
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError("gunicorn did not start:\n" + log.read_text(errors="replace"))


@dataclass
class Server:
    """A running gunicorn: its master process, port and log."""

    process: subprocess.Popen
    port: int
    log: Path

    def get(self, path: str) -> tuple[int, str]:
        """GET `path`; (status, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def workers(self) -> list[int]:
        """The pids of the master's worker processes, from /proc."""
        return children(self.process.pid)

    def wait_healthy(self, timeout: float = 30) -> None:
        """Wait until /healthz answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except DROPPED:
                pass
            assert self.process.poll() is None, self.log.read_text(errors="replace")
            time.sleep(0.1)
        raise AssertionError("no healthy worker:\n" + self.log.read_text(errors="replace"))


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (a scan of /proc, no psutil needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        # Fields after the parenthesised command name: state, then the parent's pid.
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


@contextmanager
def gunicorn(settings: dict[str, str], tmp_path: Path, workers: int = 4):
    """A healthy `gunicorn -w WORKERS app:app` with `settings`, stopped afterwards."""
    log = tmp_path / f"gunicorn-{uuid.uuid4().hex[:6]}.log"
    with serving(start_gunicorn(settings, log, workers), log) as server:
        yield server


@contextmanager
def flask_run(settings: dict[str, str], tmp_path: Path):
    """A healthy `flask --app app run` on a free port, stopped afterwards."""
    log = tmp_path / f"flask-{uuid.uuid4().hex[:6]}.log"
    flask = str(Path(sys.executable).with_name("flask"))
    args = [flask, "--app", "app", "run", "--host", "127.0.0.1", "--port", "0"]
    with serving(start_process(args, settings, log), log, signal.SIGTERM) as server:
        yield server


@contextmanager
def serving(process: subprocess.Popen, log: Path, quit_signal: int = signal.SIGQUIT):
    """The server `process` once healthy; stopped afterwards with `quit_signal`."""
    try:
        server = Server(process, listening_port(process, log), log)
        server.wait_healthy()
        yield server
    finally:
        stop(process, quit_signal)


def server_settings(database_url: str, surveys_dir: Path) -> dict[str, str]:
    """The settings of a verified server on a test database."""
    return {
        "DATABASE_URL": database_url,
        "SURVEYS_DIR": str(surveys_dir),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_URL": PUBLIC_URL,
    }


@dataclass
class Reply:
    """What the server answered to one message, and how many sends it took."""

    sid: str
    status: int
    twiml: str
    attempts: int

    @property
    def text(self) -> str | None:
        """The reply's message text."""
        return reply_text(self.twiml)


class Sender:
    """Posts signed inbound messages to a live server, as Twilio would."""

    def __init__(self, port: int, retry: bool = False, token: str = TOKEN, timeout: float = 60):
        self.port = port
        self.retry = retry  # send again (same MessageSid) when a worker dies mid-request
        self.validator = RequestValidator(token)
        self.timeout = timeout  # seconds to wait for an answer

    def send(self, phone: str, body: str, sid: str | None = None) -> Reply:
        """Send one SMS and return the reply (retrying dropped requests if asked to)."""
        sid = sid or "SM" + uuid.uuid4().hex
        form = {"From": phone, "To": "+15550001111", "Body": body, "MessageSid": sid}
        for attempt in range(1, 21):
            try:
                status, twiml = self.post("/sms", form)
            except DROPPED:
                if not self.retry:
                    raise
                time.sleep(0.05 * attempt)
                continue
            return Reply(sid, status, twiml, attempt)
        raise AssertionError(f"{sid} was dropped 20 times")

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        """POST a signed form; (status, body)."""
        signature = self.validator.compute_signature(PUBLIC_URL + path, form)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request("POST", path, body=urlencode(form), headers=headers)
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()


TABLES = ("inbound_message", "answer", "survey_session")


def row_counts(engine) -> dict[str, int]:
    """How many rows the tables that messages write hold."""
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
