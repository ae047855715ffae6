"""The sending commands: `flask invite`, `flask remind` and `flask worker`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial, wraps
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.loader import parse_duration
from bot.model import SendWindow, Survey, parse_window
from outbound.client import MAX_VALIDITY, Twilio
from outbound.numbers import NumberFileError, read_numbers, valid_region
from outbound.pace import Pace
from outbound.pipeline import (
    DEFERRED,
    Mailing,
    Outcome,
    Work,
    plural,
    prepare_invite,
    prepare_reminder,
    prepare_resend,
    send_all,
)
from outbound.recontacts import Worker, stopping_on_signals
from outbound.windows import Windows
from service import Clock, Service, UnknownSurvey
from storage import store
from storage.messaging import REMINDER

INTERRUPTED = 130  # exit status after Ctrl-C, as shells report SIGINT
MAX_CONCURRENCY = 64  # requests at once; Twilio answers 429 when an account sends too many
VALIDITY = "3h"  # how long Twilio may queue a message by default: a late one is dropped
RESULTS = ("sent", "would send", DEFERRED, "skipped", "failed", "not tried")  # report order


def twilio_for(dry_run: bool, concurrency: int, clock: Clock) -> Twilio | None:
    """Twilio from the app's settings (None on a dry run), or an error naming what is missing."""
    config = current_app.config
    missing = [k for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not config.get(k)]
    if not (config.get("TWILIO_MESSAGING_SERVICE_SID") or config.get("TWILIO_FROM_NUMBER")):
        missing.append("one of TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER")
    if missing and not dry_run:  # each of these is needed: "a, b and one of c or d"
        needed = " and ".join(filter(None, [", ".join(missing[:-1]), missing[-1]]))
        raise click.ClickException(
            f"Cannot send through Twilio: set {needed} (environment or .env)."
        )
    if dry_run:
        return None
    if not config.get("PUBLIC_URL"):
        click.echo("Note: PUBLIC_URL is not set, so delivery status will not be followed.")
    return Twilio(config, concurrency, clock)


def _after(_ctx, _param, value: str) -> timedelta:
    """--after as a duration."""
    duration = parse_duration(value)
    if duration is None:
        raise click.BadParameter(f"use a duration like 30m, 24h, 2d, not {value!r}")
    return duration


def _window(_ctx, _param, value: str | None) -> SendWindow | None:
    """--window as hours in the recipient's local time."""
    try:
        return None if value is None else parse_window(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def _validity(_ctx, _param, value: str) -> int:
    """--validity as whole seconds within Twilio's bounds."""
    duration = parse_duration(value)
    if duration is None or not 1 <= duration.total_seconds() <= MAX_VALIDITY:
        raise click.BadParameter(
            f"use a duration from 1s to {MAX_VALIDITY // 3600}h (Twilio's limit), not {value!r}"
        )
    return int(duration.total_seconds())


def report(outcomes: list[Outcome], left_out: Counter, *, verbose: bool) -> None:
    """A line per number worth a look, then the totals by result and reason."""
    for outcome in outcomes:
        if outcome.result == "would send":
            lines = [line for line in outcome.detail.splitlines() if line.strip()]
            click.echo(f"{outcome.phone}: " + " / ".join(lines))
        elif outcome.detail or (verbose and outcome.result in ("skipped", DEFERRED)):
            # The reason, then the detail when there is one that says more.
            why = ": ".join(dict.fromkeys(filter(None, (outcome.reason, outcome.detail))))
            click.echo(f"{outcome.phone}: {outcome.result}: {why}")
    by_result: dict[str, Counter] = {}
    for outcome in sorted(outcomes, key=_opening):  # deferred numbers' reasons: soonest first
        by_result.setdefault(outcome.result, Counter())[outcome.reason] += 1
    if left_out:
        by_result.setdefault("skipped", Counter()).update(left_out)
    order = [r for r in RESULTS if r in by_result]
    totals = ", ".join(f"{r} {sum(by_result[r].values())}" for r in order)
    click.echo(f"Done: {totals or 'nothing to send'}.")
    for result in RESULTS[2:]:
        if result in by_result:
            reasons = ", ".join(f"{n} {why}" for why, n in by_result[result].most_common())
            click.echo(f"  {result}: {reasons}")
    if DEFERRED in by_result:
        click.echo(
            "Deferred numbers got nothing yet and are not marked: run the same command again"
            " once their window opens (or add --wait)."
        )


def finish(outcomes: list[Outcome], interrupted: bool, batch: Mailing) -> None:
    """Exit 0 only when every number could be tried."""
    if interrupted:
        click.echo("Interrupted. Run the same command again to go on: nothing is sent twice.")
        raise SystemExit(INTERRUPTED)
    if batch.stop.is_set():
        click.echo("Stopped: Twilio refused TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
    if any(not outcome.tried for outcome in outcomes):
        raise SystemExit(1)


@dataclass(frozen=True)
class Sending:
    """How a command sends: the options every sending command has."""

    concurrency: int
    dry_run: bool
    verbose: bool
    window: SendWindow | None  # None: the survey's send_window
    wait: bool
    rate: float | None
    validity: int  # seconds

    def mailing(self, service: Service, survey: Survey) -> Mailing:
        """The run's Mailing: Twilio, the window in force, the validity and the pace."""
        if self.wait and self.dry_run:
            raise click.UsageError("--wait sends when windows open; a dry run sends nothing.")
        window = self.window or survey.send_window
        twilio = twilio_for(self.dry_run, self.concurrency, service.clock)
        pace = None if self.rate is None else Pace(self.rate, service.clock)
        click.echo(_terms(window, survey.timezone, self.validity, self.rate))
        windows = Windows(window, survey.timezone)
        return Mailing(
            service, twilio, self.concurrency, windows=windows, validity=self.validity, pace=pace
        )


def _terms(window: SendWindow, timezone: str, validity: int, rate: float | None) -> str:
    """The run's window, validity and pace, in one line."""
    where = "at any time" if window.always else f"{window} local time (no zone: {timezone})"
    pace = f"at most {rate:g} segments a second" if rate else "no rate limit"
    return f"Sending {where}; each message valid {timedelta(seconds=validity)}; {pace}."


def _opening(outcome: Outcome) -> datetime:
    """When a deferred number's window opens; the earliest moment for any other outcome."""
    return outcome.opens or datetime.min.replace(tzinfo=UTC)


def sending_options(command):
    """The options every sending command has, given to it as one `sending` argument."""

    @wraps(command)
    def run(*args, concurrency, dry_run, verbose, window, wait, rate, validity, **kwargs):
        sending = Sending(concurrency, dry_run, verbose, window, wait, rate, validity)
        return command(*args, sending=sending, **kwargs)

    options = [
        click.option(
            "--concurrency",
            type=click.IntRange(1, MAX_CONCURRENCY),
            default=8,
            show_default=True,
            help="How many messages are sent at once.",
        ),
        click.option(
            "--dry-run", is_flag=True, help="Show what would be sent; send and change nothing."
        ),
        click.option(
            "-v", "--verbose", is_flag=True, help="List every skipped or deferred number."
        ),
        click.option(
            "--window",
            metavar="HH:MM-HH:MM",
            callback=_window,
            help="Send only then, in each recipient's local time (default: the survey's "
            "send_window, else 08:00-21:00; 00:00-24:00 for any time).",
        ),
        click.option(
            "--wait",
            is_flag=True,
            help="Keep running and send each number outside its window when it opens.",
        ),
        click.option(
            "--rate",
            type=click.FloatRange(0, min_open=True),
            help="At most this many message segments a second (long code 1, toll-free 3, "
            "short code 100).",
        ),
        click.option(
            "--validity",
            default=VALIDITY,
            show_default=True,
            callback=_validity,
            help="How long Twilio may queue a message before dropping it (never past the "
            "recipient's window).",
        ),
    ]
    for option in reversed(options):
        run = option(run)
    return run


def _region(_ctx, _param, value: str) -> str:
    """--region as a known two-letter country code."""
    region = valid_region(value)
    if region is None:
        raise click.BadParameter(f"{value!r} is not a two-letter country code such as US or GB")
    return region


def _served(survey_id: str):
    """The current app's service and a served survey, or a clear usage error."""
    service = Service.of(current_app)
    try:
        return service, service.surveys.served(survey_id)
    except UnknownSurvey as err:
        raise click.UsageError(str(err)) from None


@click.command("invite", short_help="Start SURVEY by SMS for each number in NUMBERS.csv.")
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
def invite(survey_id, numbers, region, again, sending: Sending) -> None:
    """Start SURVEY for each number in NUMBERS.csv (its `phone` column) by SMS."""
    service, survey = _served(survey_id)
    if service.closed(survey):
        raise click.ClickException(
            f"Survey {survey.id!r} is closed: it has its target of {survey.target} completes. "
            "Nothing was sent."
        )
    try:
        found = read_numbers(numbers, region)
    except NumberFileError as err:
        raise click.UsageError(str(err)) from None
    batch = sending.mailing(service, survey)
    for problem in found.problems:
        click.echo(problem)
    work = [
        (n, partial(prepare_invite, batch, survey, again, n, language=found.languages.get(n)))
        for n in found.numbers
    ]
    label = ("Checking" if sending.dry_run else "Inviting") + f" {plural(len(work), 'number')}"
    outcomes, interrupted = send_all(batch, work, label, sending.wait)
    report(outcomes, found.left_out, verbose=sending.verbose)
    finish(outcomes, interrupted, batch)


@click.command("remind", short_help="Remind the sessions of SURVEY idle for --after.")
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
def remind(survey_id, after, sending: Sending) -> None:
    """Send each unfinished session of SURVEY, idle --after, one reminder and its question."""
    service, survey = _served(survey_id)
    batch = sending.mailing(service, survey)
    now = service.clock.now()
    longest = max(s.expire_after for s in [survey, *service.surveys.history(survey.id)])
    if after >= longest:
        click.echo(f"Note: sessions expire after {longest}, so none is idle for {after}.")
    with service.engine.connect() as conn:
        unsent = store.unsent(db=conn, survey_id=survey.id, kind=REMINDER)
        idle = store.reminder_candidates(
            db=conn, survey_id=survey.id, idle_before=now - after, active_since=now - longest
        )
    work: Work = [(row.phone, partial(prepare_resend, batch, row)) for row in unsent]
    idle_before = now - after
    work += [
        (row.phone, partial(prepare_reminder, batch, row.id, row.phone, idle_before))
        for row in idle
    ]
    label = ("Checking" if sending.dry_run else "Reminding") + f" {plural(len(work), 'session')}"
    outcomes, interrupted = send_all(batch, work, label, sending.wait)
    report(outcomes, Counter(), verbose=sending.verbose)
    finish(outcomes, interrupted, batch)


@click.command("worker", short_help="Send the re-contacts that fall due, until stopped.")
@with_appcontext
@click.option(
    "--every",
    type=click.FloatRange(0, min_open=True),
    default=30,
    show_default=True,
    help="Seconds between two passes over the due re-contacts.",
)
@click.option("--once", is_flag=True, help="Make one pass and exit (for cron).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, MAX_CONCURRENCY),
    default=8,
    show_default=True,
    help="How many messages are sent at once.",
)
@click.option(
    "--rate",
    type=click.FloatRange(0, min_open=True),
    help="At most this many message segments a second (long code 1, toll-free 3, short code 100).",
)
@click.option(
    "--validity",
    default=VALIDITY,
    show_default=True,
    callback=_validity,
    help="How long Twilio may queue a message before dropping it (never past the "
    "recipient's window).",
)
def worker(every, once, concurrency, rate, validity) -> None:
    """Send each survey's `recontact` messages as they fall due (SPEC 11).

    Runs until SIGTERM or Ctrl-C, which let the message in flight go and exit 0.
    Several workers, on one machine or several sharing PostgreSQL, never send one
    re-contact twice.
    """
    service = Service.of(current_app)
    twilio = twilio_for(False, concurrency, service.clock)
    runner = Worker(service, twilio, concurrency=concurrency, validity=validity, rate=rate)
    click.echo(
        "Worker: sending re-contacts " + ("once." if once else f"every {every:g} s; Ctrl-C stops.")
    )
    with stopping_on_signals(runner):
        runner.run(every, once, report=click.echo)
    click.echo("Worker stopped.")
