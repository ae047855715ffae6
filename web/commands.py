"""The web side's commands: `flask surveys`, `flask simulate`, `flask export`, `flask db`.

The sending commands (`flask invite`, `flask remind`) are registered by `outbound`.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from uuid import uuid4

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot import catalog as survey_catalog
from bot.checking import check_report, over_segments, unreadable
from bot.cost import as_json, format_costs
from bot.design import count_of
from bot.model import COMPLETED, STATUSES
from bot.survey_schema import MODELINE, SCHEMA_FILE, survey_schema
from service import RESEARCH, Inbound, Service, UnknownSurvey
from storage import db as database
from storage import schema, store
from storage.results import Summary
from web import lean
from web.context import current_service
from xlsform import FormError, import_form

surveys_cli = AppGroup("surveys", help="Check, list, import and describe survey files.")
db_cli = AppGroup("db", help="Database schema migrations.")


def init_app(app: Flask) -> None:
    """Register the commands on `app`."""
    app.cli.add_command(surveys_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(simulate)
    app.cli.add_command(export_command)


def database_faults_in_one_line(group: click.Group) -> None:
    """Make every command of `group` say a database fault in one line (exit 1), no traceback.

    A database that does not open (a SQLite file's missing folder, a PostgreSQL
    server that is down) or that is behind the code's schema stops any command
    that needs it; the operator gets what is wrong and what to do.
    """
    for command in group.commands.values():
        if isinstance(command, click.Group):
            database_faults_in_one_line(command)
        elif command.callback is not None:
            command.callback = _faults_in_one_line(command.callback)


def _faults_in_one_line(callback):
    """`callback`, with SchemaBehind and the driver's errors made a ClickException."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except schema.SchemaBehind as err:
            raise click.ClickException(str(err)) from None
        except DBAPIError as err:
            url = current_app.config["DATABASE_URL"]
            raise click.ClickException(database.unusable(url, err)) from None

    return run


def served_survey(survey_id: str):
    """A served survey by id, or a clear usage error."""
    try:
        return current_service().surveys.served(survey_id)
    except UnknownSurvey as err:
        raise click.UsageError(str(err)) from None


@surveys_cli.command("check", short_help="Check files against the folder; warnings, costs.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True), metavar="[PATH]...")
@click.option("--json", "as_json_", is_flag=True, help="Print one JSON document instead of text.")
@click.option(
    "--max-segments",
    type=click.IntRange(min=1),
    metavar="N",
    help="Exit 1 if a message's worst case is over N segments.  [default: no limit]",
)
def check(paths: tuple[str, ...], as_json_: bool, max_segments: int | None) -> None:
    """Check survey files against the whole folder, with warnings and message costs."""
    folder = _shown(current_app.config["SURVEYS_DIR"])
    faults = _unreadable(folder, paths)
    reports = check_report(list(paths), folder, *_recorded_claims())
    problems = [p for report in reports for p in report.errors]
    too_long = over_segments(reports, max_segments) if max_segments else []
    if as_json_:
        document = as_json(reports)
        if faults:  # what kept the check from being whole: the reports alone would not say
            document["errors"] = [{"folder": path, "message": why} for path, why in faults]
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        faulty = [f"{path}: {why}" for path, why in faults]
        _print_check(reports, faulty + problems + too_long, paths or [f"{folder} (SURVEYS_DIR)"])
    if faults or problems or too_long:
        sys.exit(1)


def _unreadable(folder: str, paths: tuple[str, ...]) -> list[tuple[str, str]]:
    """(folder, why) for the surveys folder and each folder named that cannot be read.

    SPEC 3: a surveys folder that cannot be read is a fault, not a folder without
    surveys; a typo in SURVEYS_DIR must not pass as "no problems".
    """
    named = [path for path in paths if os.path.isdir(path)]
    return [
        (path, f"the surveys folder (SURVEYS_DIR) cannot be read: {why}")
        for path, why in unreadable([folder])
    ] + [(path, f"the folder cannot be read: {why}") for path, why in unreadable(named)]


def _recorded_claims() -> tuple[dict, set]:
    """Which files serve what, and the versions with sessions; none if the database cannot say.

    A check needs no database: without one, conflicts are judged as at a first start.
    """
    try:  # the service's served surveys stay unloaded: their problems would be logged
        return Service.of(current_app, check_schema=False).recorded_claims()
    except (schema.SchemaBehind, SQLAlchemyError) as err:
        reason = str(err).splitlines()[0]
        click.echo(f"Note: the database cannot say which files are served ({reason}).", err=True)
        return {}, set()


def _print_check(reports, problems, checked) -> None:
    """Problems first, one `file:line: message` each, then the cost table and warnings."""
    for problem in problems:
        click.echo(str(problem))
    # A refused file's errors are listed above; its warnings come with the others.
    costs = format_costs(
        report if report.served else replace(report, errors=[])
        for report in reports
        if report.served or report.warnings
    )
    if costs:
        click.echo(("\n" if problems else "") + costs)
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
    elif not reports:  # an empty folder is no fault, but which one was looked in may be
        click.echo(f"No survey files in {', '.join(checked)}.")
    else:
        count = len(reports)
        click.echo(f"No problems in {count} survey file{'' if count == 1 else 's'}.")


def _shown(path: str) -> str:
    """A path as `surveys check` shows it: relative to the current folder when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


@surveys_cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of a survey file, for editors."""
    click.echo(schema_text())


def schema_text() -> str:
    """The schema as the repository keeps it in surveys/survey.schema.json."""
    return json.dumps(survey_schema(), indent=2, ensure_ascii=False)


@surveys_cli.command("import")
@click.argument("form", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="The survey file to write.  [default: SURVEYS_DIR/<the form's id>.yaml]",
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def import_command(form: str, output: str | None, force: bool) -> None:
    """Make an XLSForm (.xlsx, .xls, .csv, .md) into a survey file."""
    try:
        imported = import_form(form)
    except FormError as err:
        for warning in err.warnings:  # what was left out: why nothing (that loads) remains
            click.echo(f"{form}: {warning}", err=True)
        click.echo(f"Error: {err}", err=True)
        sys.exit(1)
    folder = current_app.config["SURVEYS_DIR"]
    target = Path(output or os.path.join(folder, f"{imported.survey_id}.yaml"))
    if target.exists() and not force:
        raise click.UsageError(f"{_shown(str(target))} exists; add --force to overwrite it.")
    for warning in imported.warnings:
        click.echo(f"{form}: {warning}", err=True)
    head = MODELINE + "\n" if (target.parent / SCHEMA_FILE).exists() else ""
    target.write_text(head + imported.yaml_text, encoding="utf-8")
    shown = _shown(str(target))
    click.echo(f"Wrote {shown} (survey {imported.survey_id}): `flask surveys check {shown}`.")


@surveys_cli.command("list")
@click.option(
    "--include-tests",
    is_flag=True,
    help="Count test sessions (flask simulate, the studio's try page) too.",
)
def list_surveys(include_tests: bool) -> None:
    """List every survey, retired ones too, with its sessions by status."""
    with _loading_quietly():
        service = current_service()
        service.catalog.refresh()
    served = service.surveys.surveys()
    stored = sorted(service.stored_surveys())
    retired = [service.surveys.find(i) for i in stored if service.surveys.get(i) is None]
    for survey in served + retired:
        # The studio's figures: a session an outcome or a full quota ended is no completion.
        summary = service.summary(survey, tests=include_tests)
        line = _summary(survey, summary, retired=survey in retired)
        click.echo(line + _standing(service.standing(survey)))
    for problem in service.catalog.problems():
        click.echo(f"not served: {problem}", err=True)


@contextmanager
def _loading_quietly():
    """The catalog's warnings held back while it loads: the command lists each problem itself.

    A loader's own failure (an error, not a warning) still shows.
    """
    logger = logging.getLogger(survey_catalog.__name__)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _summary(survey, summary: Summary, retired: bool) -> str:
    """One survey's line in `flask surveys list`: what it is, then its sessions."""
    if retired:
        what = f"{survey.id} [retired: its file is gone]: {survey.name}"
    else:
        default = " [default]" if survey.default else ""
        keywords = ", ".join(survey.keywords) or "(no keyword)"
        what = f"{survey.id}{default}: {survey.name} | keywords: {keywords}"
    return (
        f"{what} | languages: {', '.join(survey.languages)} | "
        f"{_questions(len(survey.questions))} | version {survey.version} | {_sessions(summary)}"
    )


def _questions(n: int) -> str:
    """`1 question`, `21 questions`."""
    return f"{n} question" + ("" if n == 1 else "s")


def _standing(rows: list[tuple[str, int, int]]) -> str:
    """` | target 3/400 | quota answers.gender == 'f' 2/2 full`: what a study still wants."""
    return "".join(
        f" | {what if what == 'target' else 'quota ' + what} {count_of(count, wanted)}"
        for what, count, wanted in rows
    )


def _sessions(summary: Summary) -> str:
    """Sessions by status, all five adding up to the total, and the completion rate."""
    counts, rate = summary.sessions, summary.completion_rate
    by_status = ", ".join(f"{s.replace('_', ' ')} {counts.get(s, 0)}" for s in STATUSES)
    shown = "-" if rate is None else f"{100 * rate:.0f}%"
    return f"sessions {counts['total']}: {by_status} | completion {shown}"


class _Share(click.FloatRange):
    """A number from 0 to 1; FloatRange alone lets `nan` through (it fails no comparison)."""

    def convert(self, value, param, ctx):
        """The number, or click's usage error for nan."""
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number from 0 to 1.", param, ctx)
        return number


@surveys_cli.command("outcomes", short_help="AAPOR dispositions and response rates.")
@click.argument("survey_id", metavar="SURVEY")
@click.option("--json", "as_json_", is_flag=True, help="Print one JSON document instead of text.")
@click.option(
    "--e",
    "e",
    type=_Share(0, 1),
    help="The share of unknown-eligibility cases taken as eligible.  [default: estimated]",
)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Cases begun on/after.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Cases begun on/before.")
@click.option("--arm", help="Only the cases of this experiment arm.")
@click.option("--include-walk-ins", is_flag=True, help="Count walk-ins (keyword starts) too.")
def outcomes_command(survey_id, as_json_, e, since, until, arm, include_walk_ins) -> None:
    """Print every disposition (AAPOR codes) and the sixteen outcome rates of SURVEY."""
    try:
        report = current_service().outcomes(
            survey_id,
            e=e,
            walk_ins=include_walk_ins,
            since=since and since.date(),
            until=until and until.date(),
            arm=arm,
        )
    except UnknownSurvey as err:
        raise click.UsageError(str(err)) from None
    click.echo(json.dumps(report, indent=2) if as_json_ else outcomes_text(report))


def outcomes_text(report: dict) -> str:
    """The report as a table of codes, then the rates, for a terminal."""
    walk_ins = f"{report['walk_ins']} walk-ins"
    lines = [
        f"{report['survey']}: {report['cases']} cases ({report['interim']} interim; {walk_ins})",
        "",
        f"{'code':<6} {'disposition':<20} {'cases':>7} {'interim':>8}",
    ]
    for row in report["dispositions"]:
        lines.append(f"{row['code']:<6} {row['name']:<20} {row['count']:>7} {row['interim']:>8}")
    lines += ["", f"e = {report['e']:.4f}"]
    for name, value in report["rates"].items():
        lines.append(f"{name:<6} {'-' if value is None else f'{value:.4f}':>7}")
    if report.get("quotas"):
        lines += ["", "Target and quotas (completes COUNT/TARGET):"]
        for quota in report["quotas"]:
            lines.append(f"  {quota['when']}: {count_of(quota['count'], quota['target'])}")
    return "\n".join(lines)


TEST_PHONE = "+15555550100"  # a fictional number (555-01xx) for simulated sessions
OPTED_OUT_NOTE = "[{phone} is opted out: type START to opt in again. Ctrl-D to leave.]"


@click.command("simulate")
@with_appcontext
@click.argument("survey")
@click.option(
    "--phone",
    default=TEST_PHONE,
    show_default=True,
    help="The test number to play; a number with real sessions is refused.",
)
@click.option(
    "--language",
    metavar="CODE",
    help="The language to answer in, one of the survey's.  [default: its first]",
)
@click.option(
    "--arm",
    metavar="ID",
    help="The study arm to take, one of the survey's arms.  [default: drawn at random]",
)
def simulate(survey: str, phone: str, language: str | None, arm: str | None) -> None:
    """Answer a survey in the terminal; its sessions are test sessions."""
    service, found = current_service(), served_survey(survey)
    _refuse_real_number(service, phone)
    if language is not None and language not in found.languages:
        languages = ", ".join(found.languages)
        raise click.UsageError(f"Survey {found.id!r} has no language {language!r} ({languages}).")
    if arm is not None and arm not in (ids := [a.id for a in found.arms]):
        arms = ", ".join(ids) or "it has none"
        raise click.UsageError(f"Survey {found.id!r} has no arm {arm!r} ({arms}).")
    click.echo(f"[{found.name}: you are {phone}, a test number. Ctrl-D to leave.]")
    if service.situation(phone, test=True).opted_out:
        click.echo(OPTED_OUT_NOTE.format(phone=phone))
    else:
        with database.locked(service.engine, phone) as conn:
            effects, _ = service.start(
                conn, phone, found, service.clock.now(), test=True, language=language, arm=arm
            )
        _say(effects.reply)
    _converse(service, phone, found)


def _refuse_real_number(service, phone: str) -> None:
    """A usage error for a number that has real sessions: a test must not touch them."""
    with service.engine.connect() as conn:
        if store.has_real_sessions(db=conn, phone=phone):
            raise click.UsageError(
                f"{phone} has real sessions; simulate with a number that has none (--phone)."
            )


def _converse(service, phone: str, survey) -> None:
    """Read typed lines as messages until the survey is completed or input ends."""
    while True:
        try:
            line = click.prompt("you", default="", show_default=False, prompt_suffix="> ")
        except click.Abort:  # Ctrl-D or Ctrl-C: leaving is not an error
            click.echo()
            return
        sid = f"SM{uuid4().hex}"  # each typed line is a new message, in Twilio's form
        _say(service.receive(Inbound(phone, line, sid, test=True)))
        now = service.situation(phone, test=True)
        if now.opted_out:
            click.echo(OPTED_OUT_NOTE.format(phone=phone))
        elif now.run is None and now.latest_status == COMPLETED:
            click.echo(f"[The survey is over: see `flask export {survey.id} --include-tests`.]")
            return


def _say(text: str | None) -> None:
    """Print the bot's reply, or say that it sent nothing."""
    click.echo(f"bot> {text}" if text else "[no reply]")


@click.command("export")
@with_appcontext
@lean.export_options
def export_command(
    survey_id, fmt, output, arm, status, since, until, hash_phones, **options
) -> None:
    """Export answers as CSV, SPSS, Stata, Flow Results or a codebook.

    CSV goes to stdout unless -o PATH; spss, stata, floip and codebook write
    the file (or folder) at PATH. Each has the same filters.
    """
    filters = {"arm": arm, "status": status, "since": since and since.date()}
    filters["until"] = until and until.date()
    if fmt in RESEARCH:
        _export_research(survey_id, fmt, output, hash_phones, options, filters)
        return
    if options["multi"] and fmt != "wide":
        raise click.UsageError("--multi columns needs the wide format.")
    try:
        chunks = current_service().export_csv(
            survey_id,
            fmt=fmt,
            hash_phones=hash_phones,
            labels=options["labels"],
            multi_columns=options["multi"] == "columns",
            include_tests=options["include_tests"],
            **filters,
        )
    except UnknownSurvey as err:
        raise click.UsageError(str(err)) from None
    with click.open_file(output, "w", encoding="utf-8", lazy=True) as out:
        for chunk in chunks:
            out.write(chunk)


def _export_research(survey_id, fmt, output, hash_phones, options, filters) -> None:
    """Write a research export to the path given; usage errors for what it cannot do."""
    if output == "-":
        raise click.UsageError(f"--format {fmt} writes a file: give its path with -o PATH.")
    if options["labels"]:
        raise click.UsageError(f"--labels is for the CSV: --format {fmt} has value labels.")
    try:
        current_service().export_research(
            survey_id,
            Path(output),
            fmt=fmt,
            hash_phones=hash_phones,
            include_tests=options["include_tests"],
            **filters,
        )
    except UnknownSurvey as err:
        raise click.UsageError(str(err)) from None
    except OSError as err:
        raise click.UsageError(f"Cannot write {output}: {err.strerror or err}.") from None
    click.echo(f"Wrote {output} ({fmt}).", err=True)


@db_cli.command("upgrade", short_help="Apply schema migrations, keeping every answer.")
@click.argument("revision", default="head", metavar="[REVISION]")
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
