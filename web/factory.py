"""The app factory, its blueprints and error pages, and the app a WSGI server serves."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path

import click
from dotenv import load_dotenv
from flask import Flask, Response, abort, current_app, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

import outbound
from bot.catalog import SurveysUnavailable
from service import EXTENSION, Service
from storage import db as database
from storage import schema
from web import access, commands, export, settings, studio, webhooks

log = logging.getLogger("survey")
WORKER_BOOT_ERROR = 3  # gunicorn's exit status for a worker that cannot start


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app; tests pass a dict of settings."""
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.wsgi_app = webhooks.FastSms(app, app.wsgi_app)  # under ProxyFix, which configure adds
    settings.configure(app, test_config)
    service = Service(app.config)
    app.extensions[EXTENSION] = service
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(export.bp)
    app.register_blueprint(studio.bp)
    app.add_url_rule("/", "home", _home)
    access.init_app(app)
    _register_errors(app, service)
    app.before_request(_refuse_long_streams)
    commands.init_app(app)
    outbound.init_app(app)
    commands.database_faults_in_one_line(app.cli)
    return app


def _home() -> Response:
    """Where things are, for whoever opens the bot's address in a browser."""
    said = where_things_are(current_app, request.host_url)
    return Response(said + "\n", mimetype="text/plain")


def where_things_are(app: Flask, here: str | None = None) -> str:
    """The bot's addresses in two lines: the webhook, and the studio and what it needs.

    The base is PUBLIC_URL, else `here` (the address a request came to); at start-up
    without PUBLIC_URL there is none to name, and the line says what to set.
    """
    base = str(app.config.get("PUBLIC_URL") or here or "").rstrip("/")
    webhook = f"SMS survey bot: Twilio posts messages to {base}/sms."
    if not base:
        webhook = (
            "SMS survey bot: Twilio posts messages to /sms at this server's public address "
            "(PUBLIC_URL is not set)."
        )
    if access.admin_token(app) is None:
        return webhook + "\nThe studio (/studio/) is off: set ADMIN_TOKEN to turn it on."
    return webhook + f"\nThe studio is at {base}/studio/: sign in with the ADMIN_TOKEN."


def _register_errors(app: Flask, service: Service) -> None:
    """Answer faults and bad requests with a plain line that says why, never a traceback."""
    app.register_error_handler(OperationalError, _database_busy)
    # The hot path's statements run on the driver's cursor: its own errors too.
    app.register_error_handler(service.engine.dialect.dbapi.OperationalError, _database_busy)
    app.register_error_handler(schema.SchemaBehind, _schema_behind)
    app.register_error_handler(SurveysUnavailable, _surveys_unavailable)
    app.register_error_handler(HTTPException, _plain_error)


def _refuse_long_streams() -> None:
    """413 for a body sent without Content-Length (chunked) that runs past the form limit.

    Werkzeug's stream stops quietly at MAX_CONTENT_LENGTH when there is no
    Content-Length, so the cut form would be read as if whole: read it now
    (cached for the view); one that fills the limit was cut.
    """
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        return
    if len(request.get_data(cache=True)) >= request.max_content_length:
        abort(413, f"The body is over {request.max_content_length} bytes.")


def _database_busy(err: OperationalError) -> Response:
    """A database that cannot be reached or stays locked: 503, so the caller retries."""
    log.error("database unavailable: %s", err)
    return Response("Database unavailable, try again.\n", status=503, mimetype="text/plain")


def _schema_behind(err: schema.SchemaBehind) -> Response:
    """A database on an older schema: 503 with what the operator must do."""
    log.error("%s", err)
    return Response(f"{err}\n", status=503, mimetype="text/plain")


def _surveys_unavailable(err: SurveysUnavailable) -> Response:
    """No survey could ever be read: 503, so Twilio retries, rather than "no survey"."""
    log.error("%s", err)
    return Response("Surveys unavailable, try again.\n", status=503, mimetype="text/plain")


def _plain_error(err: HTTPException) -> Response:
    """A 4xx as one line of plain text that says why (with Retry-After for a 429).

    A browser asking for a studio page gets the same reason as a studio page.
    """
    response = studio.error_page(err) if studio.wants_page() else None
    if response is None:
        response = Response(f"{err.code} {err.name}: {err.description}\n", err.code)
        response.mimetype = "text/plain"
    if getattr(err, "retry_after", None) is not None:
        response.headers["Retry-After"] = str(err.retry_after)
    return response


def serving_app() -> Flask:
    """The app for a WSGI server (`gunicorn app:app`) or the `flask` command."""
    load_dotenv()  # the flask command reads .env itself; gunicorn does not
    ctx = click.get_current_context(silent=True)
    try:
        app = create_app()
    except settings.BadSetting as err:
        _refuse(str(err), ctx)
    if ctx is None or ctx.info_name == "run":  # serving, not a command-line tool
        refusal = serving_refusal(app)
        if refusal:
            _refuse(refusal, ctx)
        settings.warn_if_unverified(app)
        for line in where_things_are(app).splitlines():
            log.warning("%s", line)  # at start-up, where an operator looks first
        engine = Service.of(app).engine  # checked by serving_refusal: fail at start, not later
        Service.of(app).watch_surveys()  # SPEC 1: a saved change served with no message needed
        # With `gunicorn --preload` this runs before the fork: leave no pooled
        # connection that several worker processes would then share.
        engine.dispose()
        # Start-up's objects (Flask, SQLAlchemy, the surveys) live as long as the process:
        # out of the collector's sight, the rare full collection that stalls a worker
        # takes ~7 ms instead of ~50 (docs/performance.md, issue 19).
        gc.freeze()
    return app


def _refuse(refusal: str, ctx) -> None:
    """Say why in one line on stderr and stop: exit 1, or gunicorn's worker-boot status.

    Under gunicorn (no click context), its "worker failed to boot" status stops the
    whole server instead of restarting the worker forever.
    """
    print(refusal, file=sys.stderr)  # one clear line, not a traceback
    raise SystemExit(1 if ctx else WORKER_BOOT_ERROR)


def serving_refusal(app: Flask, check_database: bool = True) -> str | None:
    """Why `app` must not serve, in one line, or None.

    Unverified webhooks, a short ADMIN_TOKEN and (with `check_database`) a database
    that does not open or is behind its schema. Checking the database creates a new
    one's schema, as serving would.
    """
    refusal = settings.unverified_refusal(app) or settings.short_token_refusal(
        app.config.get("ADMIN_TOKEN")
    )
    if refusal or not check_database:
        return refusal
    try:
        schema.ensure_current(Service.of(app, check_schema=False).engine)
    except schema.SchemaBehind as err:
        return f"Refusing to serve: {err}"
    except DBAPIError as err:
        return "Refusing to serve: " + database.unusable(app.config["DATABASE_URL"], err)
    return None


def refusal_before_workers(check_database: bool = True) -> str | None:
    """For gunicorn's master (gunicorn.conf.py): what every worker would refuse, said once.

    `check_database`: False when the workers run as another user than the master, which
    must then leave a new SQLite file for them to create.
    """
    try:
        app = create_app()
    except settings.BadSetting as err:
        return str(err)
    try:
        return serving_refusal(app, check_database)
    finally:
        Service.of(app, check_schema=False).close()  # no thread or connection before the fork
