"""The sending commands: `flask invite` and `flask remind`."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.loader import parse_duration
from outbound.client import Twilio
from outbound.numbers import NumberFileError, read_numbers, valid_region
from outbound.pipeline import (
    REMINDER,
    Mailing,
    Outcome,
    Work,
    prepare_invite,
    prepare_reminder,
    prepare_resend,
    send_all,
)
from service import Service, UnknownSurvey
from storage import store

INTERRUPTED = 130  # exit status after Ctrl-C, as shells report SIGINT
MAX_CONCURRENCY = 64  # requests at once; Twilio answers 429 when an account sends too many


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
    return Twilio(config, concurrency)


def _after(_ctx, _param, value: str) -> timedelta:
    """--after as a duration."""
    duration = parse_duration(value)
    if duration is None:
        raise click.BadParameter(f"use a duration like 30m, 24h, 2d, not {value!r}")
    return duration


def _count(n: int, thing: str) -> str:
    """`1 number`, `2 numbers`."""
    return f"{n} {thing}" + ("" if n == 1 else "s")


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


def finish(outcomes: list[Outcome], interrupted: bool, batch: Mailing) -> None:
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
    service, survey = _served(survey_id)
    batch = Mailing(service, twilio_for(dry_run, concurrency), concurrency)
    try:
        found = read_numbers(numbers, region)
    except NumberFileError as err:
        raise click.UsageError(str(err)) from None
    for problem in found.problems:
        click.echo(problem)
    work = [(n, partial(prepare_invite, batch, survey, again, n)) for n in found.numbers]
    label = ("Checking" if dry_run else "Inviting") + f" {_count(len(work), 'number')}"
    outcomes, interrupted = send_all(batch, work, label)
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
    service, survey = _served(survey_id)
    batch = Mailing(service, twilio_for(dry_run, concurrency), concurrency)
    now = datetime.now(UTC)
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
    label = ("Checking" if dry_run else "Reminding") + f" {_count(len(work), 'session')}"
    outcomes, interrupted = send_all(batch, work, label)
    report(outcomes, Counter(), verbose=verbose)
    finish(outcomes, interrupted, batch)
