"""Messages the bot starts itself: `flask invite` and `flask remind`, through Twilio's REST API.

Every message is first written as an outbound_message row ("pending"), in the same
locked transaction that starts or reminds its session, and committed; then it is
sent; then Twilio's sid and status are stored. A row with a sid was sent, so a run
that is stopped and started again sends nothing twice. The one window: a run killed
after Twilio accepted a message but before its sid was committed (sids are stored
in batches, at most RECORD_EVERY late) leaves a pending row without sid, and the
next run sends that message once more, marking it "resending" first so that it is
never sent a third time.

Runs may overlap (two `flask invite` started together, a cron job and a person):
a pending row is held by its run (`holder`) under a lease (`lease_until`, LEASE
ahead) that the run renews while it lives, and a run sends another's pending row
only once that lease is over, so only a run that died leaves rows to be sent
again. The numbers a run leaves to a live one are "skipped: being sent by another
run". A run whose own lease ran out (its process was paused, renewals failed)
sends none of those messages: another run may have taken them.

A number outside its sending window (outbound/windows.py) is decided before its
session is started, so it leaves nothing behind; one whose window closes while
its message waits for its turn (outbound/pace.py) is withdrawn the same way.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import Connection

from bot.model import OPEN
from outbound.client import SendError, Sent, Twilio
from outbound.pace import Pace
from outbound.windows import MIN_LEFT, Closed, Never, Open, Windows
from service import Service, carrier_opt_out
from storage import db as database
from storage import store
from storage.messaging import CARRIER_OPT_OUT, FAILED, INVITE, PENDING, REMINDER, RESENDING

log = logging.getLogger("survey.outbound")

DEFERRED = "deferred"  # a number outside its sending window: neither sent nor marked
WAIT_STEP = 60.0  # seconds: a long wait for a window re-reads the time this often
# A pending message is its run's this long after the run last renewed the lease,
# renewed every RENEW_EVERY seconds; the run sends it only while MARGIN of the
# lease is left (clocks of machines that share a database agree well within it).
LEASE = timedelta(minutes=5)
RENEW_EVERY = 30.0
MARGIN = timedelta(minutes=1)
BUSY = "being sent by another run"
LOST = datetime.min.replace(tzinfo=UTC)  # a lease this run no longer holds


# -- leases ----------------------------------------------------------------


class Leases:
    """The pending messages one run holds, and until when: this run's side of the lease."""

    def __init__(self) -> None:
        self.holder = uuid.uuid4().hex
        self._until: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def hold(self, message_ids: list[int], until: datetime) -> None:
        """Messages this run has just written or claimed, held until `until`."""
        with self._lock:
            self._until.update(dict.fromkeys(message_ids, until))

    def drop(self, message_ids: list[int]) -> None:
        """Messages settled (sent and stored, failed, withdrawn): nothing more to hold."""
        with self._lock:
            for message_id in message_ids:
                self._until.pop(message_id, None)

    def held(self) -> list[int]:
        """The messages this run holds now."""
        with self._lock:
            return list(self._until)

    def until(self, message_id: int) -> datetime | None:
        """When this run's lease on a message ends, as last stored; None if it holds none."""
        with self._lock:
            return self._until.get(message_id)


# -- one message -----------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A message ready to go: its stored row (None on a dry run), number, text and session."""

    message_id: int | None
    phone: str
    body: str
    session_id: int | None
    kind: str
    resend: bool = False  # an earlier run's pending message, claimed to be sent once more
    expires: datetime | None = None  # a reminder's session expires then: never later
    recontact: timedelta | None = None  # an invitation's first re-contact comes this long after


@dataclass(frozen=True)
class Outcome:
    """What came of one number: sent, would send, skipped, failed or not tried, and why."""

    phone: str
    result: str
    reason: str = ""
    detail: str = ""  # the number's own story (Twilio's message), for the report
    tried: bool = True  # False: the run ended before this number could be tried
    opens: datetime | None = None  # deferred: when the number's window opens


@dataclass(frozen=True)
class Unsent:
    """A message taken back just before it went: its number's outcome instead."""

    outcome: Outcome


def skipped(phone: str, reason: str) -> Outcome:
    """A number that is not sent to, on purpose."""
    return Outcome(phone, "skipped", reason)


def deferred(phone: str, closed: Closed) -> Outcome:
    """A number outside its window, to be sent when it opens."""
    return Outcome(phone, DEFERRED, closed.label(), opens=closed.opens)


def never_open(phone: str, never: Never, windows: Windows) -> Outcome:
    """A number whose zones are never all inside the window at once."""
    detail = f"{windows.window} is never open at once in {' and '.join(never.zones)}"
    return Outcome(phone, "skipped", "its window never opens", detail)


def _error(phone: str, err: Exception) -> Outcome:
    """A number a database or programming error kept from being tried."""
    return Outcome(phone, "not tried", f"error: {type(err).__name__}", str(err), tried=False)


Prepare = Callable[[Connection, datetime], "Outgoing | Outcome"]  # runs in a locked transaction
Job = tuple[int, str, Prepare]  # a number's place in the run, the number, its preparation


@dataclass
class Mailing:
    """What one command's messages share: service, Twilio, stop flag, window, validity, pace."""

    service: Service
    twilio: Twilio | None
    concurrency: int = 8
    stop: threading.Event = field(default_factory=threading.Event)
    windows: Windows | None = None  # None: at any time
    validity: int | None = None  # seconds Twilio may queue a message (ValidityPeriod)
    pace: Pace | None = None  # None: as fast as Twilio takes them
    interrupted: bool = False  # Ctrl-C was pressed
    leases: Leases = field(default_factory=Leases)

    def interrupt(self, *_signal) -> None:
        """Ctrl-C: prepare and send nothing more, finish the messages on their way."""
        if not self.interrupted:
            click.echo("\nStopping once the messages on their way are sent...", err=True)
        self.interrupted = True
        self.stop.set()

    @property
    def clock(self):
        """The service's clock."""
        return self.service.clock

    def prepare(self, chunk: list[Job]) -> list[tuple[int, Outgoing | Outcome]]:
        """Prepare several numbers in one transaction; one by one if that fails."""
        now = self.clock.now()
        self.service.surveys.pending.clear()
        try:
            with self._transaction([phone for _, phone, _ in chunk]) as conn:
                prepared = [(index, job(conn, now)) for index, _, job in chunk]
        except Exception as err:  # a database or programming error
            if len(chunk) > 1:  # one number's trouble must not keep the others from going
                return [one for item in chunk for one in self.prepare([item])]
            log.exception("preparing a message to %s failed", chunk[0][1])
            return [(chunk[0][0], _error(chunk[0][1], err))]
        self.service.surveys.committed()
        ids = [m.message_id for _, m in prepared if isinstance(m, Outgoing) and m.message_id]
        self.leases.hold(ids, now + LEASE)  # committed: now they are this run's
        return [(index, self._dry(message)) for index, message in prepared]

    def _transaction(self, phones: list[str]):
        """The numbers' locked transaction; on a dry run a plain read that locks nothing."""
        if self.twilio is None:
            return self.service.engine.connect()
        return database.locked_all(self.service.engine, phones)

    def _dry(self, prepared: Outgoing | Outcome) -> Outgoing | Outcome:
        """On a dry run, what would be sent instead of a message to send."""
        if self.twilio is None and isinstance(prepared, Outgoing):
            return Outcome(prepared.phone, "would send", detail=prepared.body)
        return prepared

    def queue(self, conn, phone: str, session_id, kind: str, body: str, now) -> Outgoing:
        """Record a new message as pending (not on a dry run) and hand it over for sending."""
        message_id = None
        if self.twilio is not None:
            message_id = store.add_outbound(
                db=conn,
                phone=phone,
                session_id=session_id,
                kind=kind,
                body=body,
                now=now,
                holder=self.leases.holder,
                lease_until=now + LEASE,
            )
        return Outgoing(message_id, phone, body, session_id, kind)

    def outside(self, phone: str, now: datetime) -> Outcome | None:
        """Why a number may not be sent to now (deferred, or never open), None if it may."""
        return self._late(phone, self._verdict(phone, now))

    def _verdict(self, phone: str, now: datetime) -> Open | Closed | Never:
        """Whether the number's window is open at `now`."""
        return Open(None) if self.windows is None else self.windows.verdict(phone, now)

    def _late(self, phone: str, verdict: Open | Closed | Never) -> Outcome | None:
        """A shut window's outcome for the number: deferred, or never open."""
        if isinstance(verdict, Closed):
            return deferred(phone, verdict)
        if isinstance(verdict, Never):
            return never_open(phone, verdict, self.windows)
        return None

    def resend(self, conn, row, now) -> Outgoing | Outcome:
        """Send again, once, a message whose run stopped before Twilio's answer was stored.

        Only once that run's lease is over: a pending message of a live run is its to send.
        """
        if self.twilio is not None and not store.claim_resend(
            db=conn,
            message_id=row.id,
            now=now,
            holder=self.leases.holder,
            lease_until=now + LEASE,
        ):
            return skipped(row.phone, BUSY)
        return Outgoing(row.id, row.phone, row.body, row.session_id, row.kind, resend=True)

    def renew(self) -> None:
        """Extend this run's lease on the messages it holds (a failure: tried again later)."""
        held = self.leases.held()
        if not held:
            return
        until = self.clock.now() + LEASE
        kept: set[int] = set()
        try:
            with self.service.engine.begin() as conn:
                for start in range(0, len(held), 500):
                    kept |= store.renew_leases(
                        db=conn,
                        message_ids=held[start : start + 500],
                        holder=self.leases.holder,
                        lease_until=until,
                    )
        except Exception:
            log.exception("renewing the lease on %d messages failed", len(held))
            return
        self.leases.hold(list(kept), until)
        # Taken over by another run, or settled meanwhile: never to be sent by this one.
        self.leases.hold([i for i in held if i not in kept], LOST)

    def release(self) -> None:
        """Let the next run take at once what this run leaves unconfirmed (see `failed`)."""
        held = self.leases.held()
        if not held:
            return
        try:
            with self.service.engine.begin() as conn:
                for start in range(0, len(held), 500):
                    chunk = held[start : start + 500]
                    store.release_leases(db=conn, message_ids=chunk, holder=self.leases.holder)
        except Exception:  # the lease runs out by itself
            log.exception("releasing the lease on %d messages failed", len(held))
            return
        self.leases.drop(held)

    def send(self, message: Outgoing) -> Sent | SendError | Unsent | None:
        """Hand one message to Twilio at its turn; None if the run stopped first.

        A failure comes back as its SendError; a message whose window closed (or
        whose session expired) while it waited for its turn comes back Unsent.
        """
        if self.pace is not None and not self.pace.take(message.body, self.stop):
            return None
        until = self.leases.until(message.message_id)
        if until is not None and self.clock.now() >= until - MARGIN:
            # Unrenewed so long that another run may have taken it: never send it too.
            return Unsent(Outcome(message.phone, "not tried", "its lease ran out", tried=False))
        validity = self.validity_now(message)
        if isinstance(validity, Outcome):
            return Unsent(validity)
        try:
            return self.twilio.send(message.phone, message.body, validity)
        except SendError as err:
            if err.fatal:
                self.stop.set()  # at once, so that no other thread sends after it
            return err

    def validity_now(self, message: Outgoing) -> int | None | Outcome:
        """The message's ValidityPeriod in seconds, cut to its window and its session's life.

        Judged at the last moment: with --rate a message may wait its turn a while.
        """
        if message.expires is None and (self.windows is None or self.windows.window.always):
            return self.validity  # nothing can have closed meanwhile
        now = self.clock.now()
        verdict = self._verdict(message.phone, now)
        late = self._late(message.phone, verdict)
        if late is not None:
            return late
        if message.expires is not None and message.expires - now < MIN_LEFT:
            return skipped(message.phone, "expired")
        lefts = [
            int((end - now).total_seconds())
            for end in (verdict.closes, message.expires)
            if end is not None
        ]
        found = [n for n in (self.validity, *lefts) if n is not None]
        return min(found) if found else None

    def record(self, sent: list[tuple[Outgoing, Sent]]) -> None:
        """Store Twilio's sids and first statuses, a batch in one transaction."""
        rows = [(message.message_id, answer.sid, answer.status) for message, answer in sent]
        now = self.clock.now()
        with self.service.engine.begin() as conn:
            store.record_sends(db=conn, sends=rows, now=now)
            for message, _ in sent:  # its case begins, or hears of it (SPEC 11)
                store.sent(
                    db=conn,
                    phone=message.phone,
                    session_id=message.session_id,
                    kind=message.kind,
                    now=now,
                    recontact_after=message.recontact,
                )

    def failed(self, message: Outgoing, err: SendError) -> Outcome:
        """Store a failure: an opt-out at Twilio ends the session; a lost invite leaves none."""
        outcome = Outcome(message.phone, "failed", err.reason, err.detail)
        if err.unsure:
            return outcome  # still pending: the next run sends it once more
        now = self.clock.now()
        with database.locked(self.service.engine, message.phone) as conn:
            store.sent(
                db=conn,
                phone=message.phone,
                session_id=message.session_id,
                kind=message.kind,
                now=now,
                error_code=err.code,
            )
            store.record_send(
                db=conn,
                message_id=message.message_id,
                sid=None,
                status=FAILED,
                error_code=err.code,
                now=now,
            )
            if err.code == CARRIER_OPT_OUT:
                carrier_opt_out(conn, message.phone, now)
            elif message.kind == INVITE and message.session_id is not None:
                # Nobody got the first question: no session in the export, and
                # the next run invites the number again.
                store.drop_unanswered_session(db=conn, session_id=message.session_id)
        return outcome

    def take_back(self, message: Outgoing, unsent: Unsent) -> Outcome:
        """Undo a message that was not sent after all, and say why."""
        self.withdraw(message)
        return unsent.outcome

    def withdraw(self, message: Outgoing) -> None:
        """Undo a message prepared but never handed to Twilio, as if it had not been prepared."""
        with database.locked(self.service.engine, message.phone) as conn:
            store.withdraw(
                db=conn,
                message_id=message.message_id,
                session_id=message.session_id,
                kind=message.kind,
                resend=message.resend,
                now=self.clock.now(),
                holder=self.leases.holder,
            )


# -- invitations -----------------------------------------------------------


def prepare_invite(batch: Mailing, survey, again: bool, phone: str, conn, now, *, language=None):
    """Decide about one number inside its transaction; start its session if it is invited.

    `language` is the number's code from the CSV; one the survey does not have is its default.
    """
    situation = batch.service.resolve(store.situation(db=conn, phone=phone))
    if situation.opted_out:
        return skipped(phone, "opted out")
    last = store.last_invite(db=conn, phone=phone, survey_id=survey.id, now=now)
    if last is not None and last.sid is None and last.session_status == OPEN and last.untouched:
        if last.held and last.status in (PENDING, RESENDING):
            return skipped(phone, BUSY)  # another run's, and that run is alive
        if last.status == PENDING:
            return batch.outside(phone, now) or batch.resend(conn, last, now)
        if last.status == RESENDING:
            return skipped(phone, "interrupted twice: see Twilio's message log")
    if not again:
        if last is not None and last.sid is not None:
            return skipped(phone, "already invited")
        if store.in_survey(db=conn, phone=phone, survey_id=survey.id):
            return skipped(phone, "already in the survey")
    elif store.in_survey(
        db=conn, phone=phone, survey_id=survey.id, active_since=survey.idle_before(now)
    ):
        return skipped(phone, "answering the survey now")  # --again never cuts anyone off
    late = batch.outside(phone, now)
    if late is not None:
        return late  # no session and no message: as if the number had not been reached yet
    if batch.twilio is None:
        body = batch.service.preview(situation, survey, now, language)
        return Outgoing(None, phone, body, None, INVITE)
    effects, session_id = batch.service.start(
        conn, phone, survey, now, situation, language=language
    )
    first = survey.recontact[0] if survey.recontact else None
    return replace(
        batch.queue(conn, phone, session_id, INVITE, effects.reply, now), recontact=first
    )


# -- reminders -------------------------------------------------------------


def prepare_reminder(batch: Mailing, session_id: int, phone: str, idle_before, conn, now):
    """Check one session inside its number's transaction and queue its reminder."""
    found = _open_session(batch, conn, session_id, phone, now)
    if isinstance(found, Outcome):
        return found
    run, expires = found
    if batch.service.surveys.version(run.survey_id, run.version).recontact:
        return skipped(phone, "re-contacted by flask worker (recontact)")
    body = batch.service.reminder(run, now)
    if body is None:
        return skipped(phone, "its question is gone")
    late = batch.outside(phone, now)
    if late is not None:
        return late
    # Only reminded_at is set: a reminder does not make the session any younger.
    if batch.twilio is not None and not store.claim_reminder(
        db=conn, session_id=session_id, idle_before=idle_before, now=now
    ):
        return skipped(phone, "reminded or answered meanwhile")
    return replace(batch.queue(conn, phone, session_id, REMINDER, body, now), expires=expires)


def prepare_resend(batch: Mailing, row, conn, now):
    """Send again, once, a reminder whose command stopped before Twilio's answer was stored."""
    found = _open_session(batch, conn, row.session_id, row.phone, now)
    if isinstance(found, Outcome):
        return found
    _run, expires = found
    resent = batch.outside(row.phone, now) or batch.resend(conn, row, now)
    return replace(resent, expires=expires) if isinstance(resent, Outgoing) else resent


def _open_session(batch: Mailing, conn, session_id: int, phone: str, now):
    """The session as the engine's Run and when it expires, if it is open and unexpired."""
    situation = store.situation(db=conn, phone=phone)
    run = situation.run
    if situation.opted_out:
        return skipped(phone, "opted out")
    if run is None or run.id != session_id:
        return skipped(phone, "finished meanwhile")
    survey = batch.service.surveys.version(run.survey_id, run.version)
    if survey is None or survey.expired(run.updated_at, now):
        return skipped(phone, "expired")
    return run, survey.expires(run.updated_at)


# -- a run -----------------------------------------------------------------

Work = list[tuple[str, Prepare]]  # (phone, its preparation) in the order to report them
CHUNK = 50  # numbers prepared per transaction: far fewer commits, a short queue of prepared ones
RECORD_EVERY = 0.05  # seconds: a sid waits at most this long to be stored with others
RECORD_BATCH = 200  # or once this many are waiting
END = object()  # the preparing thread is done; with it comes how many numbers it handed on


class Pipeline:
    """One run in three stages, so that a message costs little CPU under the GIL.

    A thread prepares the numbers a chunk per transaction, `concurrency` threads
    hand the messages to Twilio, and the calling thread stores Twilio's answers
    a batch per transaction and keeps the progress bar. A message prepared but
    not yet handed to Twilio when the run stops is withdrawn, so the next run
    starts it afresh.
    """

    def __init__(self, batch: Mailing, work: Work, tally: Tally | None = None, hold: bool = False):
        self.batch, self.work = batch, work
        self.outcomes: list[Outcome | None] = [None] * len(work)
        self.ready: queue.Queue = queue.Queue(maxsize=batch.concurrency)
        self.done: queue.Queue = queue.Queue()
        self.tally = Tally() if tally is None else tally  # shared by the rounds of one command
        self.hold = hold  # deferred numbers wait for a later round: not done yet

    def run(self, bar) -> list[Outcome]:
        """Run the three stages to the end; every number's outcome, in order."""
        threads = [threading.Thread(target=self._prepare, name="prepare")]
        threads += [
            threading.Thread(target=self._send, name=f"send-{n}")
            for n in range(self.batch.concurrency)
        ]
        for thread in threads:
            thread.start()
        try:
            self._collect(bar)
        finally:
            for thread in threads:
                thread.join()
            self.batch.release()
        why = "interrupted" if self.batch.interrupted else "the run stopped"
        return [
            outcome or Outcome(phone, "not tried", why, tried=False)
            for (phone, _), outcome in zip(self.work, self.outcomes, strict=True)
        ]

    def _prepare(self) -> None:
        """Stage 1: prepare the numbers, a chunk per transaction, until the run stops."""
        handed = 0
        try:
            for start in range(0, len(self.work), CHUNK):
                if self.batch.stop.is_set():
                    break
                chunk = self.work[start : start + CHUNK]
                jobs = [(start + n, phone, job) for n, (phone, job) in enumerate(chunk)]
                for index, prepared in self.batch.prepare(jobs):
                    handed += 1
                    if isinstance(prepared, Outgoing):
                        self.ready.put((index, prepared))
                    else:
                        self.done.put((index, prepared, None))
        finally:
            for _ in range(self.batch.concurrency):
                self.ready.put(None)
            self.done.put((END, handed, None))

    def _send(self) -> None:
        """Stage 2: hand prepared messages to Twilio; once the run stops, hand them back."""
        while (item := self.ready.get()) is not None:
            index, message = item
            if self.batch.stop.is_set():
                self.done.put((index, message, None))  # never sent: to be withdrawn
                continue
            try:
                answer = self.batch.send(message)
            except Exception as err:  # a programming error: report it, go on
                log.exception("sending to %s failed", message.phone)
                answer = _error(message.phone, err)
            self.done.put((index, message, answer))

    def _collect(self, bar) -> None:
        """Stage 3: store what came of each message, batching the sids Twilio gave."""
        expected, received, sent, due = None, 0, [], 0.0
        renew = self.batch.clock.monotonic() + RENEW_EVERY
        while expected is None or received < expected:
            if self.batch.clock.monotonic() >= renew:  # the run is alive: its messages stay its
                self.batch.renew()
                renew = self.batch.clock.monotonic() + RENEW_EVERY
            try:
                index, message, answer = self.done.get(timeout=RECORD_EVERY)
            except queue.Empty:
                index = None
            if index is END:
                expected = message
            elif index is not None:
                received += 1
                if isinstance(answer, Sent):
                    due = due if sent else time.monotonic() + RECORD_EVERY
                    sent.append((index, message, answer))
                else:
                    self._finish(index, self._settle(message, answer), bar)
            if len(sent) >= RECORD_BATCH or (sent and time.monotonic() >= due):
                self._record(sent, bar)
        self._record(sent, bar)

    def _settle(self, message: Outgoing | Outcome, answer) -> Outcome:
        """The outcome of a number that Twilio did not take."""
        if isinstance(message, Outcome):
            return message  # decided while preparing: skipped, would send, an error
        unsure = isinstance(answer, SendError) and answer.unsure
        if not unsure and not isinstance(answer, Outcome):
            # Settled; an unsure one stays held until the run ends, then is released.
            self.batch.leases.drop([message.message_id])
        if answer is None:
            why = "interrupted" if self.batch.interrupted else "the run stopped"
            return self._guarded(message, lambda: self.batch.withdraw(message), why)
        if isinstance(answer, Unsent):
            return self._guarded(message, lambda: self.batch.take_back(message, answer))
        if isinstance(answer, SendError):
            return self._guarded(message, lambda: self.batch.failed(message, answer))
        return answer  # an error Outcome from the sending thread

    def _guarded(self, message: Outgoing, store_it, why: str = "") -> Outcome:
        """Run a database step for one message; an error there is that number's outcome."""
        try:
            outcome = store_it()
        except Exception as err:
            log.exception("storing what came of %s failed", message.phone)
            return _error(message.phone, err)
        return outcome or Outcome(message.phone, "not tried", why, tried=False)

    def _record(self, sent: list, bar) -> None:
        """Store the waiting sids in one transaction and count those numbers as sent."""
        if not sent:
            return
        try:
            self.batch.record([(message, answer) for _, message, answer in sent])
        except Exception as err:  # sent, but the sids are lost: the next run sends once more
            log.exception("storing %d sids failed", len(sent))
            outcomes = [(index, _error(message.phone, err)) for index, message, _ in sent]
        else:
            outcomes = [(index, Outcome(message.phone, "sent")) for index, message, _ in sent]
            self.batch.leases.drop([message.message_id for _, message, _ in sent])
        sent.clear()
        for index, outcome in outcomes:
            self._finish(index, outcome, bar)

    def _finish(self, index: int, outcome: Outcome, bar) -> None:
        """Keep a number's outcome and show it in the progress bar."""
        self.outcomes[index] = outcome
        if self.hold and outcome.result == DEFERRED:
            return  # not done: it waits for its window in a later round
        self.tally[outcome.result] += 1
        bar.update(1, self.tally)


class Tally(Counter):
    """Numbers by result so far, and what waits for its window: the progress bar's text."""

    waiting: str = ""

    def __str__(self) -> str:
        counts = [f"{result} {n}" for result, n in sorted(self.items())]
        return ", ".join(counts + ([self.waiting] if self.waiting else []))


def send_all(
    batch: Mailing, work: Work, label: str, wait: bool = False
) -> tuple[list[Outcome], bool]:
    """Run the jobs with a progress bar: (outcomes in order, interrupted?).

    With `wait`, numbers outside their window wait for it in later rounds, each
    run when the earliest waiting window opens, until none is left or Ctrl-C.
    """
    tally = Tally()
    outcomes: list = [None] * len(work)
    todo = list(range(len(work)))
    with (
        click.progressbar(
            length=len(work),
            label=label,
            item_show_func=_counts,
            show_eta=not wait,  # a guess from the pace so far, which hours of waiting make wrong
        ) as bar,
        _on_ctrl_c(batch.interrupt),
    ):
        while todo:
            found = Pipeline(batch, [work[i] for i in todo], tally, hold=wait).run(bar)
            for index, outcome in zip(todo, found, strict=True):
                outcomes[index] = outcome
            todo = _wait_for_windows(batch, outcomes, tally, bar) if wait else []
    return outcomes, batch.interrupted


def _wait_for_windows(batch: Mailing, outcomes: list[Outcome], tally: Tally, bar) -> list[int]:
    """Wait for the earliest window of the deferred numbers; those whose window has opened."""
    waiting = [i for i, outcome in enumerate(outcomes) if outcome.result == DEFERRED]
    if not waiting or batch.stop.is_set():
        return []
    first = min((outcomes[i] for i in waiting), key=lambda outcome: outcome.opens)
    several = len(waiting) > 1
    tally.waiting = f"{plural(len(waiting), 'number')} waiting" + (
        f", the first {first.reason}" if several else f" {first.reason}"
    )
    bar.update(0, tally)
    bar.render_progress()  # update() draws only after a step, and waiting is none
    if not bar.file.isatty():  # no bar on the screen (a log, a pipe): say it on a line instead
        click.echo(f"{tally.waiting[0].upper()}{tally.waiting[1:]}.")
    if not _sleep_until(batch, first.opens):
        return []
    tally.waiting = ""
    now = batch.clock.now()
    return [i for i in waiting if outcomes[i].opens <= now]


def _sleep_until(batch: Mailing, moment: datetime) -> bool:
    """Wait until `moment` on the service's clock; False on Ctrl-C or a stopped run."""
    clock = batch.clock
    while (left := (moment - clock.now()).total_seconds()) > 0:
        # In steps, so that a machine that slept (and a monotonic clock that paused) catches up.
        if not clock.wait_until(clock.monotonic() + min(left, WAIT_STEP), batch.stop):
            return False
    return not batch.stop.is_set()


def plural(n: int, thing: str) -> str:
    """`1 number`, `2 numbers`."""
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _counts(tally: Tally | None) -> str | None:
    """The progress bar's running counts."""
    return (str(tally) or None) if tally is not None else None


@contextmanager
def _on_ctrl_c(handler):
    """Call `handler` on SIGINT instead of raising KeyboardInterrupt wherever the run is."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
