"""The web side's commands: `flask surveys`, `flask simulate`, `flask export`, `flask db`.

The sending commands (`flask invite`, `flask remind`) are registered by `outbound`.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from uuid import uuid4

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from bot.catalog import check_files
from bot.model import STATUSES
from service import Inbound, Service, UnknownSurvey
from storage import db as database
from storage import schema, store
from web.context import current_service
from web.twiml import message_text

surveys_cli = AppGroup("surveys", help="Check and list the survey files.")
db_cli = AppGroup("db", help="Database schema migrations.")


def init_app(app: Flask) -> None:
    """Register the commands on `app`."""
    app.cli.add_command(surveys_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(simulate)
    app.cli.add_command(export_command)


def served_survey(survey_id: str):
    """A served survey by id, or a clear usage error."""
    try:
        return current_service().surveys.served(survey_id)
    except UnknownSurvey as err:
        raise click.UsageError(str(err)) from None


@surveys_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def check(paths: tuple[str, ...]) -> None:
    """Validate survey files (default: the surveys folder); exit 1 if any is broken."""
    targets = list(paths) or [current_app.config["SURVEYS_DIR"]]
    problems = check_files(targets)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo("All surveys are fine.")


@surveys_cli.command("list")
@click.option("--include-tests", is_flag=True, help="Count test sessions too.")
def list_surveys(include_tests: bool) -> None:
    """Show the loaded surveys with keywords, questions and response counts."""
    service = current_service()
    service.catalog.refresh()
    now = datetime.now(UTC)
    with service.engine.connect() as conn:
        for survey in service.surveys.surveys():
            counts = store.status_counts(
                db=conn,
                survey_id=survey.id,
                idle_before=survey.idle_before(now),
                include_tests=include_tests,
            )
            click.echo(_summary(survey, counts))
    for problem in service.catalog.problems():
        click.echo(f"not served: {problem}", err=True)


def _summary(survey, counts: dict[str, int]) -> str:
    """One survey's line in `flask surveys list`."""
    started = sum(counts.values())
    rate = f"{100 * counts.get('completed', 0) / started:.0f}%" if started else "-"
    keywords = ", ".join(survey.keywords) or "(no keyword)"
    default = " [default]" if survey.default else ""
    return (
        f"{survey.id}{default}: {survey.name} | keywords: {keywords} | "
        f"languages: {', '.join(survey.languages)} | "
        f"{len(survey.questions)} questions | version {survey.version} | "
        f"started {started}, completed {counts.get('completed', 0)}, "
        f"opted out {counts.get('opted_out', 0)}, expired {counts.get('expired', 0)}, "
        f"open {counts.get('open', 0)} | completion {rate}"
    )


@click.command("simulate")
@with_appcontext
@click.argument("survey_id")
@click.option("--phone", default="+15555550100", show_default=True, help="The number to play.")
@click.option("--language", default=None, help="A language code of the survey (its default).")
def simulate(survey_id: str, phone: str, language: str | None) -> None:
    """Answer a survey in the terminal, through the same engine and storage as SMS."""
    service, survey = current_service(), served_survey(survey_id)
    now = datetime.now(UTC)
    with database.locked(service.engine, phone) as conn:
        effects, _ = service.start(conn, phone, survey, now, test=True, language=language)
    click.echo(f"[{survey.name}: you are {phone}. Ctrl-D to leave.]")
    _say(effects.reply)
    while True:
        line = click.prompt("you", default="", show_default=False, prompt_suffix="> ")
        sid = f"SM{uuid4().hex}"  # each typed line is a new message, in Twilio's form
        _say(message_text(service.receive(Inbound(phone=phone, body=line, sid=sid, test=True))))
        if service.situation(phone).run is None:
            click.echo(f"[The survey is over: see `flask export {survey.id} --include-tests`.]")
            return


def _say(text: str | None) -> None:
    """Print the bot's reply, or say that it sent nothing."""
    click.echo(f"bot> {text}" if text else "[no reply]")


@click.command("export")
@with_appcontext
@click.argument("survey_id")
@click.option("--format", "fmt", type=click.Choice(["wide", "long"]), default="wide")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8", lazy=True), default="-")
@click.option("--status", type=click.Choice(STATUSES), help="Only sessions in this status.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Sessions started on/after.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Sessions started on/before.")
@click.option("--hash-phones", is_flag=True, help="Replace numbers with a keyed hash.")
@click.option("--labels", is_flag=True, help="Choices' labels instead of their values.")
@click.option("--multi", type=click.Choice(["columns"]), help="One 1/0 column per multi choice.")
@click.option("--include-tests", is_flag=True, help="Test sessions too, with a test column.")
def export_command(survey_id, fmt, output, status, since, until, hash_phones, **options) -> None:
    """Write the answers of a survey as CSV (stdout, or -o FILE)."""
    if options["multi"] and fmt != "wide":
        raise click.UsageError("--multi columns needs the wide format.")
    try:
        chunks = current_service().export_csv(
            survey_id,
            fmt=fmt,
            status=status,
            since=since and since.date(),
            until=until and until.date(),
            hash_phones=hash_phones,
            labels=options["labels"],
            multi_columns=options["multi"] == "columns",
            include_tests=options["include_tests"],
        )
    except UnknownSurvey as err:
        raise click.UsageError(str(err)) from None
    for chunk in chunks:
        output.write(chunk)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply schema migrations (back up first); keeps every stored answer."""
    engine = Service.of(current_app, check_schema=False).engine
    schema.upgrade(engine, revision)
    with engine.connect() as conn:
        click.echo(f"Database schema at {schema.current(conn)}.")


@db_cli.command("current")
def db_current() -> None:
    """Show the database's schema revision and the code's."""
    engine = Service.of(current_app, check_schema=False).engine
    with engine.connect() as conn:
        click.echo(f"database: {schema.current(conn) or 'empty'}; code: {schema.head()}")
