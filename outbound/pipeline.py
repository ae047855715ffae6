"""Messages the bot starts itself: `flask invite` and `flask remind`, through Twilio's REST API.

Every message is first written as an outbound_message row ("pending"), in the same
locked transaction that starts or reminds its session, and committed; then it is
sent; then Twilio's sid and status are stored. A row with a sid was sent, so a run
that is stopped and started again sends nothing twice. The one window: a run killed
after Twilio accepted a message but before its sid was committed (sids are stored
in batches, at most RECORD_EVERY late) leaves a pending row without sid, and the
next run sends that message once more, marking it "resending" first so that it is
never sent a third time.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import click
from sqlalchemy import Connection

from bot.model import OPEN
from outbound.client import SendError, Sent, Twilio
from service import CARRIER_OPT_OUT, Service, carrier_opt_out
from storage import db as database
from storage import store

log = logging.getLogger("survey.outbound")

INVITE, REMINDER = "invite", "reminder"
PENDING, RESENDING, FAILED = "pending", "resending", "failed"


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


@dataclass(frozen=True)
class Outcome:
    """What came of one number: sent, would send, skipped, failed or not tried, and why."""

    phone: str
    result: str
    reason: str = ""
    detail: str = ""  # the number's own story (Twilio's message), for the report
    tried: bool = True  # False: the run ended before this number could be tried


def skipped(phone: str, reason: str) -> Outcome:
    """A number that is not sent to, on purpose."""
    return Outcome(phone, "skipped", reason)


def _error(phone: str, err: Exception) -> Outcome:
    """A number a database or programming error kept from being tried."""
    return Outcome(phone, "not tried", f"error: {type(err).__name__}", str(err), tried=False)


Prepare = Callable[[Connection, datetime], "Outgoing | Outcome"]  # runs in a locked transaction
Job = tuple[int, str, Prepare]  # a number's place in the run, the number, its preparation


@dataclass
class Mailing:
    """What one command's messages share: the service, Twilio (None on a dry run), a stop flag."""

    service: Service
    twilio: Twilio | None
    concurrency: int = 8
    stop: threading.Event = field(default_factory=threading.Event)

    def prepare(self, chunk: list[Job]) -> list[tuple[int, Outgoing | Outcome]]:
        """Prepare several numbers in one transaction; one by one if that fails."""
        now = datetime.now(UTC)
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
                db=conn, phone=phone, session_id=session_id, kind=kind, body=body, now=now
            )
        return Outgoing(message_id, phone, body, session_id, kind)

    def resend(self, conn, row, now) -> Outgoing | Outcome:
        """Send again, once, a message whose run stopped before Twilio's answer was stored."""
        if self.twilio is not None and not store.claim_resend(db=conn, message_id=row.id, now=now):
            return skipped(row.phone, "being sent by another run")
        return Outgoing(row.id, row.phone, row.body, row.session_id, row.kind, resend=True)

    def send(self, message: Outgoing) -> Sent | SendError:
        """Hand one message to Twilio; a failure comes back as its SendError."""
        try:
            return self.twilio.send(message.phone, message.body)
        except SendError as err:
            if err.fatal:
                self.stop.set()  # at once, so that no other thread sends after it
            return err

    def record(self, sent: list[tuple[Outgoing, Sent]]) -> None:
        """Store Twilio's sids and first statuses, a batch in one transaction."""
        rows = [(message.message_id, answer.sid, answer.status) for message, answer in sent]
        with self.service.engine.begin() as conn:
            store.record_sends(db=conn, sends=rows, now=datetime.now(UTC))

    def failed(self, message: Outgoing, err: SendError) -> Outcome:
        """Store a failure: an opt-out at Twilio ends the session; a lost invite leaves none."""
        outcome = Outcome(message.phone, "failed", err.reason, err.detail)
        if err.unsure:
            return outcome  # still pending: the next run sends it once more
        now = datetime.now(UTC)
        with database.locked(self.service.engine, message.phone) as conn:
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

    def withdraw(self, message: Outgoing) -> None:
        """Undo a message prepared but never handed to Twilio, as if it had not been prepared."""
        with database.locked(self.service.engine, message.phone) as conn:
            store.withdraw(
                db=conn,
                message_id=message.message_id,
                session_id=message.session_id,
                kind=message.kind,
                resend=message.resend,
            )


# -- invitations -----------------------------------------------------------


def prepare_invite(batch: Mailing, survey, again: bool, phone: str, conn, now):
    """Decide about one number inside its transaction; start its session if it is invited."""
    situation = store.situation(db=conn, phone=phone)
    if situation.opted_out:
        return skipped(phone, "opted out")
    last = store.last_invite(db=conn, phone=phone, survey_id=survey.id)
    if last is not None and last.sid is None and last.session_status == OPEN and last.untouched:
        if last.status == PENDING:
            return batch.resend(conn, last, now)
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
    if batch.twilio is None:
        effects = batch.service.conversation.begin(situation, survey, now=now)
        return Outgoing(None, phone, effects.reply, None, INVITE)
    effects, session_id = batch.service.start(conn, phone, survey, now, situation)
    return batch.queue(conn, phone, session_id, INVITE, effects.reply, now)


# -- reminders -------------------------------------------------------------


def prepare_reminder(batch: Mailing, session_id: int, phone: str, idle_before, conn, now):
    """Check one session inside its number's transaction and queue its reminder."""
    run = _open_session(batch, conn, session_id, phone, now)
    if isinstance(run, Outcome):
        return run
    body = batch.service.conversation.remind(run)
    if body is None:
        return skipped(phone, "its question is gone")
    if batch.twilio is not None and not store.claim_reminder(
        db=conn, session_id=session_id, idle_before=idle_before, now=now
    ):
        return skipped(phone, "reminded or answered meanwhile")
    return batch.queue(conn, phone, session_id, REMINDER, body, now)


def prepare_resend(batch: Mailing, row, conn, now):
    """Send again, once, a reminder whose command stopped before Twilio's answer was stored."""
    run = _open_session(batch, conn, row.session_id, row.phone, now)
    return run if isinstance(run, Outcome) else batch.resend(conn, row, now)


def _open_session(batch: Mailing, conn, session_id: int, phone: str, now):
    """The session as the engine's Run if it is still open, unexpired and may be written to."""
    situation = store.situation(db=conn, phone=phone)
    run = situation.run
    if situation.opted_out:
        return skipped(phone, "opted out")
    if run is None or run.id != session_id:
        return skipped(phone, "finished meanwhile")
    survey = batch.service.surveys.version(run.survey_id, run.version)
    if survey is None or survey.expired(run.updated_at, now):
        return skipped(phone, "expired")
    return run


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

    def __init__(self, batch: Mailing, work: Work):
        self.batch, self.work = batch, work
        self.outcomes: list[Outcome | None] = [None] * len(work)
        self.ready: queue.Queue = queue.Queue(maxsize=batch.concurrency)
        self.done: queue.Queue = queue.Queue()
        self.tally: Counter = Counter()
        self.interrupted = False

    def run(self, bar) -> list[Outcome]:
        """Run the three stages to the end; every number's outcome, in order."""
        threads = [threading.Thread(target=self._prepare, name="prepare")]
        threads += [
            threading.Thread(target=self._send, name=f"send-{n}")
            for n in range(self.batch.concurrency)
        ]
        for thread in threads:
            thread.start()
        self._collect(bar)
        for thread in threads:
            thread.join()
        why = "interrupted" if self.interrupted else "the run stopped"
        return [
            outcome or Outcome(phone, "not tried", why, tried=False)
            for (phone, _), outcome in zip(self.work, self.outcomes, strict=True)
        ]

    def interrupt(self, *_signal) -> None:
        """Ctrl-C: prepare and send nothing more, finish the messages on their way."""
        if not self.interrupted:
            click.echo("\nStopping once the messages on their way are sent...", err=True)
        self.interrupted = True
        self.batch.stop.set()

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
        while expected is None or received < expected:
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
        if answer is None:
            why = "interrupted" if self.interrupted else "the run stopped"
            return self._guarded(message, lambda: self.batch.withdraw(message), why)
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
        sent.clear()
        for index, outcome in outcomes:
            self._finish(index, outcome, bar)

    def _finish(self, index: int, outcome: Outcome, bar) -> None:
        """Keep a number's outcome and show it in the progress bar."""
        self.outcomes[index] = outcome
        self.tally[outcome.result] += 1
        bar.update(1, self.tally)


def send_all(batch: Mailing, work: Work, label: str) -> tuple[list[Outcome], bool]:
    """Run the jobs with a progress bar: (outcomes in order, interrupted?)."""
    pipeline = Pipeline(batch, work)
    with (
        click.progressbar(length=len(work), label=label, item_show_func=_counts) as bar,
        _on_ctrl_c(pipeline.interrupt),
    ):
        outcomes = pipeline.run(bar)
    return outcomes, pipeline.interrupted


def _counts(tally: Counter | None) -> str | None:
    """The progress bar's running counts."""
    return ", ".join(f"{result} {n}" for result, n in sorted(tally.items())) if tally else None


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
