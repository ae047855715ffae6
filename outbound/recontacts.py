"""`flask worker`: sends the re-contacts that fall due (SPEC 11, survey key `recontact`).

A pass claims due sessions a batch at a time (`store.claim_due`: one UPDATE on
the indexed `recontact_due`, with SKIP LOCKED on PostgreSQL), which moves them
a lease ahead so that other workers pass them by. Each claimed session is then
checked in its number's locked transaction and its re-contact recorded as a
pending message before it goes, exactly as `flask remind` does (outbound/
pipeline.py): window, pace, validity, 429 retries and 21610 alike.

Killed at any point, a worker loses nothing: a claim it never used is due
again once its lease is over; a message it recorded but never confirmed sent
is sent once more by a later pass (Twilio's API takes no idempotency key), and
never a third time.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from functools import partial

from outbound.pace import Pace
from outbound.pipeline import (
    DEFERRED,
    Mailing,
    Outcome,
    Pipeline,
    Work,
    _open_session,
    prepare_resend,
    skipped,
)
from outbound.windows import Windows
from service import Service
from storage import store
from storage.messaging import RECONTACT

# How long a claim, or a message on its way, is this worker's before another may take it:
# far longer than a message waits for its turn (a prepared chunk at the slowest pace).
LEASE = timedelta(minutes=10)
CLAIM_BATCH = 1000  # sessions claimed per transaction: memory stays flat however many are due


class _NoBar:
    """The progress bar Pipeline updates, for a worker that prints a line per pass."""

    def update(self, _steps: int, _tally=None) -> None:
        """Nothing to draw."""


class Worker:
    """Runs passes over the due re-contacts until stopped."""

    def __init__(
        self,
        service: Service,
        twilio,
        *,
        concurrency: int = 8,
        validity: int | None = None,
        rate: float | None = None,
    ):
        self.service = service
        self.twilio = twilio
        self.concurrency = concurrency
        self.validity = validity
        self.stop = threading.Event()
        self.pace = None if rate is None else Pace(rate, service.clock)

    @property
    def clock(self):
        """The service's clock."""
        return self.service.clock

    def run(self, every: float, once: bool, report=print) -> None:
        """Pass after pass, `every` seconds apart, until stopped (or after one with `once`)."""
        while not self.stop.is_set():
            tally = self.one_pass()
            if tally:
                report("Re-contacts: " + ", ".join(f"{k} {n}" for k, n in sorted(tally.items())))
            if once:
                return
            self.clock.wait_until(self.clock.monotonic() + every, self.stop)

    def one_pass(self) -> Counter:
        """Send what a stopped worker left on its way, then every re-contact due now."""
        tally: Counter = Counter()
        now = self.clock.now()
        with self.service.engine.connect() as conn:
            left = store.left_in_flight(db=conn, kind=RECONTACT, before=now - LEASE)
        with self.service.engine.connect() as conn:
            keys = [store.session_version(db=conn, session_id=row.session_id) for row in left]
        pairs = zip(keys, left, strict=True)
        self._send_groups([(key, row.phone, partial(_resend, row)) for key, row in pairs])
        while not self.stop.is_set():
            now = self.clock.now()
            lease_until = now + LEASE
            with self.service.engine.begin() as conn:
                claimed = store.claim_due(
                    db=conn, now=now, lease_until=lease_until, limit=CLAIM_BATCH
                )
            if not claimed:
                break
            jobs = [
                ((survey_id, version), phone, partial(prepare_recontact, sid, phone, lease_until))
                for sid, phone, survey_id, version in claimed
            ]
            tally += self._send_groups(jobs)
        return tally

    def _send_groups(self, jobs: list) -> Counter:
        """Send jobs ((survey id, version), phone, job(batch, conn, now)) a version at a time.

        Each version has its own window and time zone, so each gets its own Mailing;
        they share the pace, the stop flag and Twilio.
        """
        tally: Counter = Counter()
        groups: dict[tuple, Work] = {}
        for key, phone, job in jobs:
            groups.setdefault(key, []).append((phone, job))
        for key, work in groups.items():
            batch = self._mailing(key)
            bound: Work = [(phone, partial(job, batch)) for phone, job in work]
            for outcome in Pipeline(batch, bound).run(_NoBar()):
                tally[outcome.result] += 1
        return tally

    def _mailing(self, key: tuple[str, str] | None) -> Mailing:
        """A Mailing with the window of one survey version (none: the default window)."""
        survey = self.service.surveys.version(*key) if key else None
        windows = Windows(survey.send_window, survey.timezone) if survey else None
        return Mailing(
            self.service,
            self.twilio,
            self.concurrency,
            stop=self.stop,
            windows=windows,
            validity=self.validity,
            pace=self.pace,
        )


def _resend(row, batch: Mailing, conn, now):
    """A message a stopped worker left pending: sent once more, never twice more."""
    return prepare_resend(batch, row, conn, now)


def prepare_recontact(session_id: int, phone: str, lease_until, batch: Mailing, conn, now):
    """Check a claimed session in its number's transaction, and queue its re-contact.

    A session that ended, expired or had its reply meanwhile leaves the schedule;
    one outside its window is due again when the window opens.
    """
    found = _open_session(batch, conn, session_id, phone, now)
    if isinstance(found, Outcome):
        store.recontact_later(db=conn, session_id=session_id, due=None)
        return found
    run, expires = found
    survey = batch.service.surveys.version(run.survey_id, run.version)
    if batch.service.closed(survey):  # SPEC 12: a survey at its target re-contacts no one
        store.recontact_later(db=conn, session_id=session_id, due=None)
        return skipped(phone, "the survey is closed")
    sent = store.recontacts_sent(db=conn, session_id=session_id)
    if sent >= len(survey.recontact):
        store.recontact_later(db=conn, session_id=session_id, due=None)
        return skipped(phone, "no re-contact left")
    late = batch.outside(phone, now)
    if late is not None:
        opens = late.opens if late.result == DEFERRED else None
        store.recontact_later(db=conn, session_id=session_id, due=opens)
        return late
    body = batch.service.reminder(run, now, recontact=True)
    if body is None:
        store.recontact_later(db=conn, session_id=session_id, due=None)
        return skipped(phone, "its question is gone")
    after = sent + 1
    next_due = now + survey.recontact[after] if after < len(survey.recontact) else None
    if not store.take_recontact(
        db=conn, session_id=session_id, lease_until=lease_until, next_due=next_due
    ):
        return skipped(phone, "taken by another worker")
    return replace(batch.queue(conn, phone, session_id, RECONTACT, body, now), expires=expires)


@contextmanager
def stopping_on_signals(worker: Worker):
    """SIGTERM and Ctrl-C stop the worker once the message in flight is sent."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stop = lambda *_: worker.stop.set()  # noqa: E731 (a handler)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
