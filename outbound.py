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

import csv
import logging
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Connection

from bot.loader import parse_duration
from cli import current_bot, served_survey
from storage import db as database
from storage import store

if TYPE_CHECKING:
    from app import Bot
    from twilio_api import Twilio

log = logging.getLogger("survey.outbound")

INVITE, REMINDER = "invite", "reminder"
PENDING, RESENDING, FAILED = "pending", "resending", "failed"
OPTED_OUT_CODE = 21610  # Twilio: the number replied STOP to this sender
INTERRUPTED = 130  # exit status after Ctrl-C, as shells report SIGINT
MAX_CONCURRENCY = 64  # requests at once; Twilio answers 429 when an account sends too many


# -- Twilio ----------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """Twilio took a message: its sid and first status."""

    sid: str
    status: str


class SendError(Exception):
    """Twilio did not take a message, and what that means for the run."""

    def __init__(
        self,
        reason: str,
        code: int | None = None,
        detail: str = "",
        *,
        retry: bool = False,
        unsure: bool = False,
        fatal: bool = False,
    ):
        super().__init__(reason)
        self.reason, self.code, self.detail = reason, code, detail or reason
        self.retry = retry  # worth another try after a pause
        self.unsure = unsure  # Twilio may have taken it: keep it pending
        self.fatal = fatal  # no message can go: stop the run


def twilio_for(dry_run: bool, concurrency: int) -> Twilio | None:
    """Twilio from the app's settings (None on a dry run), or an error naming what is missing."""
    config = current_app.config
    missing = [k for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not config.get(k)]
    if not (config.get("TWILIO_MESSAGING_SERVICE_SID") or config.get("TWILIO_FROM_NUMBER")):
        missing.append("TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER")
    if missing and not dry_run:
        raise click.ClickException(
            "Cannot send through Twilio: set " + ", ".join(missing) + " (environment or .env)."
        )
    if dry_run:
        return None
    if not config.get("PUBLIC_URL"):
        click.echo("Note: PUBLIC_URL is not set, so delivery status will not be followed.")
    from twilio_api import Twilio  # here: its HTTP stack is the slowest import of any command

    return Twilio(config, concurrency)


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
class Batch:
    """What the messages of one run share: the bot, Twilio (None on a dry run), a stop flag."""

    bot: Bot
    twilio: Twilio | None
    concurrency: int = 8
    stop: threading.Event = field(default_factory=threading.Event)

    def prepare(self, chunk: list[Job]) -> list[tuple[int, Outgoing | Outcome]]:
        """Prepare several numbers in one transaction; one by one if that fails."""
        now = datetime.now(UTC)
        self.bot.library.pending.clear()
        try:
            with self._transaction([phone for _, phone, _ in chunk]) as conn:
                prepared = [(index, job(conn, now)) for index, _, job in chunk]
        except Exception as err:  # a database or programming error
            if len(chunk) > 1:  # one number's trouble must not keep the others from going
                return [one for item in chunk for one in self.prepare([item])]
            log.exception("preparing a message to %s failed", chunk[0][1])
            return [(chunk[0][0], _error(chunk[0][1], err))]
        self.bot.library.committed()
        return [(index, self._dry(message)) for index, message in prepared]

    def _transaction(self, phones: list[str]):
        """The numbers' locked transaction; on a dry run a plain read that locks nothing."""
        if self.twilio is None:
            return self.bot.engine.connect()
        return database.locked_all(self.bot.engine, phones)

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
        with self.bot.engine.begin() as conn:
            store.record_sends(db=conn, sends=rows, now=datetime.now(UTC))

    def failed(self, message: Outgoing, err: SendError) -> Outcome:
        """Store a failure: an opt-out at Twilio ends the session; a lost invite leaves none."""
        outcome = Outcome(message.phone, "failed", err.reason, err.detail)
        if err.unsure:
            return outcome  # still pending: the next run sends it once more
        now = datetime.now(UTC)
        with database.locked(self.bot.engine, message.phone) as conn:
            store.record_send(
                db=conn,
                message_id=message.message_id,
                sid=None,
                status=FAILED,
                error_code=err.code,
                now=now,
            )
            if err.code == OPTED_OUT_CODE:
                store.set_opt_out(db=conn, phone=message.phone, opted_out=True, now=now)
                if message.session_id is not None:
                    store.close_session(
                        db=conn, session_id=message.session_id, status="opted_out", now=now
                    )
            elif message.kind == INVITE and message.session_id is not None:
                # Nobody got the first question: no session in the export, and
                # the next run invites the number again.
                store.drop_unanswered_session(db=conn, session_id=message.session_id)
        return outcome

    def withdraw(self, message: Outgoing) -> None:
        """Undo a message prepared but never handed to Twilio, as if it had not been prepared."""
        with database.locked(self.bot.engine, message.phone) as conn:
            store.withdraw(
                db=conn,
                message_id=message.message_id,
                session_id=message.session_id,
                kind=message.kind,
                resend=message.resend,
            )


# -- invitations -----------------------------------------------------------


def _prepare_invite(batch: Batch, survey, again: bool, phone: str, conn, now):
    """Decide about one number inside its transaction; start its session if it is invited."""
    bot = batch.bot
    situation = store.situation(db=conn, phone=phone)
    if situation.opted_out:
        return skipped(phone, "opted out")
    last = store.last_invite(db=conn, phone=phone, survey_id=survey.id)
    if last is not None and last.sid is None and last.session_status == "open" and last.untouched:
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
        db=conn, phone=phone, survey_id=survey.id, active_since=now - survey.expire_after
    ):
        return skipped(phone, "answering the survey now")  # --again never cuts anyone off
    if batch.twilio is None:
        effects = bot.conversation.begin(situation, survey, now=now)
        return Outgoing(None, phone, effects.reply, None, INVITE)
    effects = bot.start(conn, phone, survey, now, situation)
    return batch.queue(conn, phone, effects.runs[-1].id, INVITE, effects.reply, now)


@dataclass
class NumberList:
    """The numbers of a CSV file in E.164, and the rows that were left out."""

    numbers: list[str] = field(default_factory=list)
    first_row: dict[str, int] = field(default_factory=dict)  # number -> where it was first
    problems: list[str] = field(default_factory=list)  # one line per row left out
    left_out: Counter = field(default_factory=Counter)  # reason -> rows

    def add(self, cell: str, line: int, region: str) -> None:
        """Add one row's number, or note why it is left out."""
        number = _e164(cell, region)
        if number is None:
            self.problems.append(f"row {line}: {cell!r} is not a valid phone number ({region})")
            self.left_out["invalid number"] += 1
        elif number in self.first_row:
            self.problems.append(f"row {line}: {number} repeats row {self.first_row[number]}")
            self.left_out["repeated number"] += 1
        else:
            self.first_row[number] = line
            self.numbers.append(number)


def read_numbers(path: Path, region: str) -> NumberList:
    """Read the `phone` column (else the first) of a CSV with a header, in E.164."""
    found = NumberList()
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = csv.reader(file, _dialect(file))
            header = [cell.strip().casefold() for cell in next(rows, [])]
            column = header.index("phone") if "phone" in header else 0
            if column == 0 and header and _e164(header[0], region):
                raise click.UsageError(f"{path}: the first line must be a header, such as `phone`.")
            for row in rows:
                if any(cell.strip() for cell in row):  # blank lines are no one's number
                    found.add(row[column] if len(row) > column else "", rows.line_num, region)
    except UnicodeDecodeError as err:
        raise click.UsageError(f"{path} is not UTF-8 text (save it as CSV UTF-8).") from err
    return found


def _dialect(file) -> type[csv.Dialect] | csv.Dialect:
    """The file's CSV dialect (commas, semicolons or tabs), sniffed from its start."""
    sample = file.read(8192)
    file.seek(0)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel  # one column, or nothing to tell from


def _e164(text: str, region: str) -> str | None:
    """A phone number in E.164 form, or None when it is not a valid number."""
    import phonenumbers  # here: only the sending commands need it (a cached lookup per call)

    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- reminders -------------------------------------------------------------


def _prepare_reminder(batch: Batch, session_id: int, phone: str, idle_before, conn, now):
    """Check one session inside its number's transaction and queue its reminder."""
    run = _open_run(batch, conn, session_id, phone, now)
    if isinstance(run, Outcome):
        return run
    body = batch.bot.conversation.remind(run)
    if body is None:
        return skipped(phone, "its question is gone")
    if batch.twilio is not None and not store.claim_reminder(
        db=conn, session_id=session_id, idle_before=idle_before, now=now
    ):
        return skipped(phone, "reminded or answered meanwhile")
    return batch.queue(conn, phone, session_id, REMINDER, body, now)


def _prepare_resend(batch: Batch, row, conn, now):
    """Send again, once, a reminder whose run stopped before Twilio's answer was stored."""
    run = _open_run(batch, conn, row.session_id, row.phone, now)
    return run if isinstance(run, Outcome) else batch.resend(conn, row, now)


def _open_run(batch: Batch, conn, session_id: int, phone: str, now):
    """The session as the engine's Run if it is still open, unexpired and may be written to."""
    situation = store.situation(db=conn, phone=phone)
    run = situation.run
    if situation.opted_out:
        return skipped(phone, "opted out")
    if run is None or run.id != session_id:
        return skipped(phone, "finished meanwhile")
    survey = batch.bot.library.version(run.survey_id, run.version)
    if survey is None or now - run.updated_at > survey.expire_after:
        return skipped(phone, "expired")
    return run


def _after(_ctx, _param, value: str) -> timedelta:
    """--after as a duration."""
    duration = parse_duration(value)
    if duration is None:
        raise click.BadParameter(f"use a duration like 30m, 24h, 2d, not {value!r}")
    return duration


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

    def __init__(self, batch: Batch, work: Work):
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


def run_all(batch: Batch, work: Work, label: str) -> tuple[list[Outcome], bool]:
    """Run the jobs with a progress bar: (outcomes in order, interrupted?)."""
    pipeline = Pipeline(batch, work)
    with (
        click.progressbar(length=len(work), label=label, item_show_func=_counts) as bar,
        _on_ctrl_c(pipeline.interrupt),
    ):
        outcomes = pipeline.run(bar)
    return outcomes, pipeline.interrupted


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


def _count(n: int, thing: str) -> str:
    """`1 number`, `2 numbers`."""
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _counts(tally: Counter | None) -> str | None:
    """The progress bar's running counts."""
    return ", ".join(f"{result} {n}" for result, n in sorted(tally.items())) if tally else None


def report(outcomes: list[Outcome], left_out: Counter, *, verbose: bool) -> None:
    """A line per number worth a look, then the totals by result and reason."""
    for outcome in outcomes:
        if outcome.result == "would send":
            lines = [line for line in outcome.detail.splitlines() if line.strip()]
            click.echo(f"{outcome.phone}: " + " / ".join(lines))
        elif outcome.detail or (verbose and outcome.result == "skipped"):
            # The reason, then the detail when there is one that says more.
            why = ": ".join(dict.fromkeys(filter(None, (outcome.reason, outcome.detail))))
            click.echo(f"{outcome.phone}: {outcome.result}: {why}")
    by_result: dict[str, Counter] = {}
    for outcome in outcomes:
        by_result.setdefault(outcome.result, Counter())[outcome.reason] += 1
    if left_out:
        by_result.setdefault("skipped", Counter()).update(left_out)
    order = [r for r in ("sent", "would send", "skipped", "failed", "not tried") if r in by_result]
    totals = ", ".join(f"{r} {sum(by_result[r].values())}" for r in order)
    click.echo(f"Done: {totals or 'nothing to send'}.")
    for result in ("skipped", "failed", "not tried"):
        if result in by_result:
            reasons = ", ".join(f"{n} {why}" for why, n in by_result[result].most_common())
            click.echo(f"  {result}: {reasons}")


def finish(outcomes: list[Outcome], interrupted: bool, batch: Batch) -> None:
    """Exit 0 only when every number could be tried."""
    if interrupted:
        click.echo("Interrupted. Run the same command again to go on: nothing is sent twice.")
        raise SystemExit(INTERRUPTED)
    if batch.stop.is_set():
        click.echo("Stopped: Twilio refused TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
    if any(not outcome.tried for outcome in outcomes):
        raise SystemExit(1)


def sending_options(command):
    """The options every sending command has."""
    command = click.option(
        "--concurrency",
        type=click.IntRange(1, MAX_CONCURRENCY),
        default=8,
        show_default=True,
        help="How many messages are sent at once.",
    )(command)
    command = click.option(
        "--dry-run", is_flag=True, help="Show what would be sent; send and change nothing."
    )(command)
    return click.option("-v", "--verbose", is_flag=True, help="List every skipped number.")(command)


def _region(_ctx, _param, value: str) -> str:
    """--region as a known two-letter country code."""
    import phonenumbers

    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise click.BadParameter(f"{value!r} is not a two-letter country code such as US or GB")
    return region


@click.command("invite")
@with_appcontext
@click.argument("survey_id", metavar="SURVEY")
@click.argument(
    "numbers", metavar="NUMBERS.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--region",
    default="US",
    show_default=True,
    callback=_region,
    help="Country of numbers written without +country code.",
)
@click.option(
    "--again",
    is_flag=True,
    help="Also invite numbers already in the survey (not those answering it now).",
)
@sending_options
def invite(survey_id, numbers, region, again, concurrency, dry_run, verbose) -> None:
    """Start SURVEY for each number in NUMBERS.csv (its `phone` column) by SMS."""
    bot, survey = current_bot(), served_survey(survey_id)
    batch = Batch(bot, twilio_for(dry_run, concurrency), concurrency)
    found = read_numbers(numbers, region)
    for problem in found.problems:
        click.echo(problem)
    work = [(n, partial(_prepare_invite, batch, survey, again, n)) for n in found.numbers]
    label = ("Checking" if dry_run else "Inviting") + f" {_count(len(work), 'number')}"
    outcomes, interrupted = run_all(batch, work, label)
    report(outcomes, found.left_out, verbose=verbose)
    finish(outcomes, interrupted, batch)


@click.command("remind")
@with_appcontext
@click.argument("survey_id", metavar="SURVEY")
@click.option(
    "--after",
    default="24h",
    show_default=True,
    callback=_after,
    help="Remind sessions idle at least this long (30m, 24h, 2d).",
)
@sending_options
def remind(survey_id, after, concurrency, dry_run, verbose) -> None:
    """Send each unfinished session of SURVEY, idle --after, one reminder and its question."""
    bot, survey = current_bot(), served_survey(survey_id)
    batch = Batch(bot, twilio_for(dry_run, concurrency), concurrency)
    now = datetime.now(UTC)
    longest = max(s.expire_after for s in [survey, *bot.library.history(survey.id)])
    if after >= longest:
        click.echo(f"Note: sessions expire after {longest}, so none is idle for {after}.")
    with bot.engine.connect() as conn:
        unsent = store.unsent(db=conn, survey_id=survey.id, kind=REMINDER)
        idle = store.reminder_candidates(
            db=conn, survey_id=survey.id, idle_before=now - after, active_since=now - longest
        )
    work: Work = [(row.phone, partial(_prepare_resend, batch, row)) for row in unsent]
    idle_before = now - after
    work += [
        (row.phone, partial(_prepare_reminder, batch, row.id, row.phone, idle_before))
        for row in idle
    ]
    label = ("Checking" if dry_run else "Reminding") + f" {_count(len(work), 'session')}"
    outcomes, interrupted = run_all(batch, work, label)
    report(outcomes, Counter(), verbose=verbose)
    finish(outcomes, interrupted, batch)
