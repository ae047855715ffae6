"""`flask export SURVEY --format long`, lean: the CSV straight from the database (issue 19).

The `flask` command loads `app.py` before it runs any command. Building the
whole app imports the conversation engine, the studio, Twilio's sending and
SQLModel's tables: 1.4 s and 30 MB that a long CSV never uses, since its rows
need no survey definition. So `app.py` asks `export_app()` first. When this
process is `flask export` of a long CSV of a survey with sessions, it gets
a Flask app with the same settings and this one command, and nothing else is
imported: not even SQLAlchemy, since the rows come from one plain DB-API
connection with the engine's settings (storage/dbapi.py). Every other command,
option, survey or database URL gets the whole app (`web.factory`), whose
`flask export` does all of it.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click
from dotenv import load_dotenv
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from bot.model import EXPIRED, OPEN, STATUSES
from storage import dbapi, export, export_parts
from storage.research import FORMATS as RESEARCH
from web import settings

CSV_FORMATS = ("wide", "long")
EXTENSION = "lean_export"  # app.extensions: the connection (dbapi.Plain) it reads with
OPTIONS = (
    click.argument("survey_id", metavar="SURVEY"),
    click.option(
        "--format",
        "fmt",
        type=click.Choice([*CSV_FORMATS, *RESEARCH]),
        default="wide",
        show_default=True,
        help="wide: a CSV row per session; long: a CSV row per answer; spss (.sav), stata "
        "(.dta), floip (a Flow Results package: a folder, or PATH.zip), codebook (Markdown): "
        "-o PATH.",
    ),
    click.option(
        "-o",
        "--output",
        type=click.Path(allow_dash=True),
        default="-",
        metavar="PATH",
        help="Write to PATH (required for spss, stata, floip, codebook).  [default: stdout]",
    ),
    click.option("--arm", metavar="ID", help="Only sessions of this experiment arm."),
    click.option("--status", type=click.Choice(STATUSES), help="Only sessions in this status."),
    click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Sessions started on/after."),
    click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Sessions started on/before."),
    click.option("--hash-phones", is_flag=True, help="Replace numbers with a keyed hash."),
    click.option("--labels", is_flag=True, help="Choices' labels instead of their values (CSV)."),
    click.option(
        "--multi",
        type=click.Choice(["columns"]),
        help="One 1/0 column per multi choice (wide CSV).",
    ),
    click.option("--include-tests", is_flag=True, help="Test sessions too, with a test column."),
)


def export_options(command):
    """`flask export`'s arguments and options, the same for the lean command and the whole one."""
    for option in reversed(OPTIONS):
        command = option(command)
    return command


def _write(output: str, chunks) -> None:
    """Write CSV chunks to a path, or to stdout for `-`."""
    with click.open_file(output, "w", encoding="utf-8", lazy=True) as out:
        for chunk in chunks:
            out.write(chunk)


@click.command("export")
@with_appcontext
@export_options
def lean_export(survey_id, fmt, output, arm, status, since, until, **options) -> None:
    """Export a survey's answers as a long CSV, read straight from the database."""
    query = export.Query(
        survey_id=survey_id,
        arm=arm,
        status=status,
        since=since and since.date(),
        until=until and until.date(),
        include_tests=options["include_tests"],
    )
    # A million rows, none in a cycle, allocated while start-up's objects (Flask)
    # sit in the collector's oldest generation: its full passes over them were 3%
    # of the export (py-spy). Frozen for the export, they are not walked.
    gc.freeze()
    db = current_app.extensions[EXTENSION]
    lines = export_parts.long_csv(db, query)
    try:
        _write(output, lines)
    except db.error as err:  # a part's process that failed says why (storage/export_parts.py)
        raise click.ClickException(str(err)) from None
    finally:
        # Ended here, not by the collector after the connection is closed: a reader that
        # stops early (`| head`) got a traceback from its transaction's end.
        lines.close()
        db.close()
        gc.unfreeze()


def export_app() -> Flask | None:
    """A Flask app with only the lean `flask export`, if this process is one it can do."""
    params = _export_params()
    if params is None or not _lean(params):
        return None
    load_dotenv()  # as serving_app does
    app = Flask("web", instance_relative_config=True)  # the whole app's name and folders
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    settings.configure(app, None)
    wait = app.config.get("DATABASE_WAIT", dbapi.WAIT_SECONDS)
    db = dbapi.connect(app.config["DATABASE_URL"], wait)
    if db is None:  # a URL for SQLAlchemy alone, or no database there: the whole app's
        return None
    if not _ready(db, params["survey_id"]):
        db.close()
        return None
    app.extensions[EXTENSION] = db
    app.cli.add_command(lean_export)
    return app


def _ready(db: dbapi.Plain, survey_id: str) -> bool:
    """Whether the database is at the code's schema and the survey has sessions.

    Otherwise the whole app's command says what is wrong as it always has: a
    database behind the schema, or not ours; an empty one, which it creates the
    schema of; a survey served but never started, or unknown.
    """
    try:
        with db.transaction():
            return db.stamped() == dbapi.HEAD and export.started(db, survey_id)
    except db.error:  # no schema at all, or a database it cannot read
        return False


def _lean(params: dict) -> bool:
    """Whether the lean command can do this export: a long CSV that needs no survey file."""
    return (
        params["fmt"] == "long"
        and not (params["hash_phones"] or params["labels"] or params["multi"])
        and params["status"] not in (OPEN, EXPIRED)  # these need the survey's time-out
    )


def _export_params() -> dict | None:
    """The export's parameters when this process is `flask [OPTIONS] export ...`, else None."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.parent is not None or not isinstance(ctx.command, FlaskGroup):
        return None  # gunicorn, the tests' apps, or a command inside a command
    name, args = _command(ctx.command, sys.argv[1:])
    if name != "export" or set(args) & {"--help", *ctx.help_option_names}:
        return None
    try:
        return lean_export.make_context("export", args, resilient_parsing=True).params
    except click.ClickException:
        return None  # the whole command reports it


def _command(group: click.Group, args: list[str]) -> tuple[str | None, list[str]]:
    """The command named in a command line of `group`, and its own arguments."""
    valued = {
        name
        for param in group.params
        if isinstance(param, click.Option) and not param.is_flag
        for name in param.opts
    }
    rest = iter(args)
    for arg in rest:
        if arg in valued:
            next(rest, None)  # the option's value
        elif not arg.startswith("-"):
            return arg, list(rest)
    return None, []
