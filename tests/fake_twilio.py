"""A fake Twilio REST API on 127.0.0.1, a clock, and helpers for the tests of sending.

The real twilio client talks to it over HTTP (TWILIO_API_URL), so what is tested is
what goes over the wire. It serves `POST /2010-04-01/Accounts/{sid}/Messages.json`,
records every request, and answers each number as scripted: an HTTP error (429,
500), a Twilio error code (21610, 21211) with a 400, a delay, or a dropped
connection; once a number's script is used up, it answers 201 like Twilio.
"""

from __future__ import annotations

import base64
import csv
import json
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select, update

from service import Clock
from storage import store
from storage.models import SurveySession

ACCOUNT_SID = "AC" + "a" * 32
FROM_NUMBER = "+15005550006"
SERVICE_SID = "MG" + "b" * 32
DROP = "drop"  # a script step: close the connection without answering
PATH = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")
MESSAGES = {  # Twilio's own wording for the errors tests script
    401: (20003, "Authenticate"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
    21211: (21211, "The 'To' number is not a valid phone number."),
    21610: (21610, "Attempt to send to unsubscribed recipient"),
    21614: (21614, "'To' number is not a valid mobile number"),
}


# A Tuesday in winter at noon in New York (17:00 in London, 09:00 in Los Angeles):
# inside the default window for every number the older sending tests use.
NOON_IN_NEW_YORK = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)


class FakeClock(Clock):
    """Starts at `start`; a wait moves it on at once instead of sleeping."""

    def __init__(self, start: datetime = NOON_IN_NEW_YORK):
        self.start = start
        self.elapsed = 0.0
        self.waits: list[float] = []  # how long each wait that ran would have slept
        # Called at each wait with (clock, stop) before it moves time: a test's hook.
        self.on_wait: Callable[[FakeClock, threading.Event], None] | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    def wait_until(self, deadline: float, stop: threading.Event) -> bool:
        if self.on_wait is not None:
            self.on_wait(self, stop)
        if stop.is_set():
            return False
        with self._lock:  # threads waiting together: time reaches the latest of their deadlines
            self.waits.append(max(0.0, deadline - self.elapsed))
            self.elapsed = max(self.elapsed, deadline)
        return True

    def set(self, moment: datetime) -> None:
        """Jump to `moment`."""
        with self._lock:
            self.elapsed = (moment - self.start).total_seconds()

    def advance(self, seconds: float) -> None:
        """Move on by `seconds`."""
        with self._lock:
            self.elapsed += seconds


@dataclass(frozen=True)
class Delay:
    """A script step: wait this long before taking the next step."""

    seconds: float


@dataclass(frozen=True)
class Later:
    """A script step: the app's clock moves on this long, as if Twilio took it to answer."""

    seconds: float


@dataclass(frozen=True)
class Together:
    """A script step: hold the request until `count` are held at once (at most `seconds`).

    Requests made side by side meet however busy the machine; requests made one at
    a time never do, and the first to give up lets every later one through at once.
    """

    count: int = 2
    seconds: float = 10.0


@dataclass
class Request:
    """One request the fake received, and how it answered."""

    account: str
    auth: tuple[str, str]
    to: str
    body: str
    from_: str | None
    service: str | None
    callback: str | None
    validity: int | None = None  # ValidityPeriod, in seconds
    at: datetime | None = None  # when it came, on the app's clock
    status: int = 0  # the HTTP status answered; 0 for a dropped connection
    sid: str | None = None


class FakeTwilio:
    """The fake API: start it, point TWILIO_API_URL at `url`, script numbers, read `requests`."""

    def __init__(self, clock: FakeClock | None = None):
        self.clock = clock  # the app's clock, to note when each request came
        self.requests: list[Request] = []
        self.on_accept: Callable[[Request], None] | None = None  # called after each 201
        self._scripts: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self._held = threading.Condition(self._lock)  # requests held by a Together step
        self._apart = False  # a Together step gave up: requests come one at a time
        self.waiting = 0  # requests inside a Delay or a Together step now
        self.most_waiting = 0  # the most there ever were at once: sends made side by side
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        """The base URL to use instead of https://api.twilio.com."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeTwilio:
        serve = partial(self.server.serve_forever, poll_interval=0.01)  # quick to shut down
        threading.Thread(target=serve, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def settings(self, service: bool = False) -> dict:
        """App settings that send through this fake, from a number or a Messaging Service."""
        sender = {"TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID} if service else {}
        return {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_FROM_NUMBER": None if service else FROM_NUMBER,
            "TWILIO_API_URL": self.url,
            "TWILIO_RETRY_DELAY": 0.001,
            **sender,
        }

    def script(self, to: str, *steps) -> None:
        """Answer the next requests for `to` with these steps: 429, 500, 21610, Delay(s),
        Later(s), Together(n), DROP."""
        with self._lock:
            self._scripts[to].extend(steps)

    def accepted(self, to: str | None = None) -> list[Request]:
        """The requests answered 201, for one number or all."""
        return [r for r in self.requests if r.status == 201 and to in (None, r.to)]

    def answer(self, request: Request) -> tuple[int, dict] | None:
        """The status and JSON for one request (None: drop it), following its number's script."""
        with self._lock:
            request.at = self.clock.now() if self.clock is not None else None
            self.requests.append(request)
        while True:
            with self._lock:
                script = self._scripts[request.to]
                step = script.popleft() if script else None
            if isinstance(step, Delay):
                self._delay(step.seconds)
                continue
            if isinstance(step, Together):
                self._together(step)
                continue
            if isinstance(step, Later):
                self.clock.advance(step.seconds)
                continue
            if step == DROP:
                return None
            if step is None:
                return self._accept(request)
            request.status = 400 if step >= 10000 else step
            code, message = MESSAGES[step]
            return request.status, {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": request.status,
            }

    def _delay(self, seconds: float) -> None:
        """Hold a request back, counting how many are held at once."""
        with self._lock:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        time.sleep(seconds)
        with self._lock:
            self.waiting -= 1

    def _together(self, step: Together) -> None:
        """Hold a request until `step.count` are held at once, or until it gives up."""
        with self._held:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
            self._held.notify_all()
            met = lambda: self.most_waiting >= step.count or self._apart  # noqa: E731
            self._apart |= not self._held.wait_for(met, step.seconds)
            self.waiting -= 1

    def _accept(self, request: Request) -> tuple[int, dict]:
        """Take the message as Twilio does: 201 and the message resource."""
        request.status, request.sid = 201, "SM" + uuid.uuid4().hex
        if self.on_accept is not None:
            self.on_accept(request)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        uri = f"/2010-04-01/Accounts/{request.account}/Messages/{request.sid}"
        return 201, {
            "account_sid": request.account,
            "api_version": "2010-04-01",
            "body": request.body,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": request.from_,
            "messaging_service_sid": request.service,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": request.sid,
            # With a Messaging Service and no From, Twilio first says "accepted".
            "status": "accepted" if request.service and not request.from_ else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": request.to,
            "uri": f"{uri}.json",
        }


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    """A request handler class that serves `fake`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            match = PATH.match(self.path)
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
            if match is None:
                self._reply(404, {"code": 20404, "message": "Not found", "status": 404})
                return
            one = {name: values[0] for name, values in form.items()}
            request = Request(
                account=match[1],
                auth=_basic_auth(self.headers.get("Authorization", "")),
                to=one.get("To"),
                body=one.get("Body"),
                from_=one.get("From"),
                service=one.get("MessagingServiceSid"),
                callback=one.get("StatusCallback"),
                validity=int(one["ValidityPeriod"]) if "ValidityPeriod" in one else None,
            )
            answer = fake.answer(request)
            if answer is None:
                self.close_connection = True  # the client sees the connection drop
                return
            self._reply(*answer)

        def _reply(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass  # keep test output clean

    return Handler


def _basic_auth(header: str) -> tuple[str, str]:
    """(user, password) from an Authorization: Basic header."""
    if not header.startswith("Basic "):
        return ("", "")
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return (user, password)


# Fixtures for the test modules of sending, which import them by these names.


@pytest.fixture(name="clock")
def clock_fixture():
    """The app's clock: noon in New York until a test moves it."""
    return FakeClock()


@pytest.fixture(name="twilio")
def twilio_fixture(clock):
    """The fake Twilio API, served for one test."""
    with FakeTwilio(clock) as fake:
        yield fake


@pytest.fixture(name="config")
def sending_config(config, twilio, clock):
    """The test settings, sending through the fake Twilio, on the test's clock."""
    return {**config, **twilio.settings(), "CLOCK": clock}


@pytest.fixture(name="invite")
def invite_fixture(app, tmp_path):
    """Run `flask invite` on a CSV of these rows (header `phone` unless given)."""

    def run(*rows: str, args=(), header="phone", survey="visit-feedback"):
        path = write_numbers(tmp_path / "numbers.csv", *rows, header=header)
        return app.test_cli_runner().invoke(args=["invite", survey, path, *args])

    return run


@pytest.fixture(name="crash")
def crash_fixture(monkeypatch):
    """Make the run die right after Twilio took these (1-based) sends, before their sids are stored.

    Sids are stored a batch at a time, so the whole batch holding such a send is lost.
    """

    def crash_at(*sends: int):
        record_sends, count = store.record_sends, [0]

        def dying(*, db, sends: list, now):
            hit = False
            for _ in sends:
                count[0] += 1
                hit = hit or count[0] in crashing
            if hit:
                raise RuntimeError("killed before the sid was saved")
            record_sends(db=db, sends=sends, now=now)

        crashing = sends
        monkeypatch.setattr(store, "record_sends", dying)

    return crash_at


# -- helpers for the tests of sending ---------------------------------------


def write_numbers(path, *rows: str, header: str = "phone") -> str:
    """A CSV of numbers with a header line; each row is one line of cells (commas allowed)."""
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header.split(","))
        for row in rows:
            writer.writerow(row.split(","))
    return str(path)


def stored(app, model) -> list:
    """Every row of one table, oldest first."""
    table = model.__table__
    with app.extensions["survey_service"].engine.connect() as conn:
        return conn.execute(select(table).order_by(*table.primary_key.columns)).all()


def age(app, phone: str, **delta) -> None:
    """Move a number's sessions back in time, as if they had been idle for `delta`."""
    table = SurveySession.__table__
    shift = timedelta(**delta)
    with app.extensions["survey_service"].engine.begin() as conn:
        rows = conn.execute(select(table).where(table.c.phone == phone)).all()
        for row in rows:  # in Python: SQLite has no date arithmetic on stored times
            conn.execute(
                update(table)
                .where(table.c.id == row.id)
                .values(started_at=row.started_at - shift, updated_at=row.updated_at - shift)
            )
