"""The Flask app: configuration, the Twilio webhooks, and the wiring of bot/ to storage/.

`gunicorn app:app` serves it; `flask --app app ...` runs the command-line tools.
"""

from __future__ import annotations

import base64
import hmac
import logging
import os
import re
import sys
import threading
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote
from xml.sax.saxutils import escape

import click
from dotenv import load_dotenv
from flask import Flask, Response, abort, current_app, g, request, stream_with_context
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from twilio.request_validator import RequestValidator
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import cli
from bot.catalog import Catalog
from bot.conversation import Conversation, Effects
from bot.loader import SurveyError, load_survey
from bot.model import Survey
from storage import db as database
from storage import export, schema, store

log = logging.getLogger("survey")

SETTINGS = (
    "DATABASE_URL",
    "SURVEYS_DIR",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_MESSAGING_SERVICE_SID",
    "TWILIO_FROM_NUMBER",
    "TWILIO_VALIDATE",
    "PUBLIC_URL",
    "TRUSTED_PROXIES",
    "ADMIN_TOKEN",
    "TWILIO_API_URL",
)
CARRIER_OPT_OUT = 21610  # Twilio's error: the recipient opted out of this sender
MAX_BODY = 1600  # Twilio's own limit for one message body
MAX_SID = 64  # Twilio's SIDs are 34 characters; longer is not from Twilio
# A phone number, short code, alphanumeric sender or channel address
# (whatsapp:+1..., messenger:...); bounded so it always fits an index entry.
MAX_ADDRESS = 256
FORM_LIMIT = 256 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
OFF = ("false", "0", "no", "off")
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app; tests pass a dict of settings."""
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        DATABASE_URL="sqlite:///" + os.path.join(app.instance_path, "survey.sqlite3"),
        SURVEYS_DIR=os.path.join(app.root_path, "surveys"),
        TWILIO_API_URL="https://api.twilio.com",
        MAX_CONTENT_LENGTH=FORM_LIMIT,
    )
    if test_config is None:
        app.config.update({k: os.environ[k] for k in SETTINGS if os.environ.get(k)})
    else:
        app.config.update(test_config)
    _configure_proxies(app)
    app.extensions["survey_bot"] = Bot(app.config)
    _register_routes(app)
    cli.init_app(app)
    _warn_if_unverified(app)
    return app


def validation_enabled(config) -> bool:
    """Whether Twilio signatures are checked: with a token, unless explicitly turned off."""
    return bool(config.get("TWILIO_AUTH_TOKEN")) and not _validation_off(config)


def _validation_off(config) -> bool:
    """Whether the operator turned signature checks off on purpose (TWILIO_VALIDATE=false)."""
    return str(config.get("TWILIO_VALIDATE", "")).strip().lower() in OFF


def _configure_proxies(app: Flask) -> None:
    """Trust X-Forwarded-* only from as many proxies as the operator says there are."""
    setting = str(app.config.get("TRUSTED_PROXIES") or "0").strip()
    if not setting.isdigit():
        raise ValueError(f"TRUSTED_PROXIES must be a number of proxies, not {setting!r}.")
    hops = int(setting)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def _warn_if_unverified(app: Flask) -> None:
    """Say loudly when webhook requests are not verified."""
    if validation_enabled(app.config):
        return
    if app.config.get("TWILIO_AUTH_TOKEN"):
        app.logger.warning("TWILIO_VALIDATE=false: Twilio signatures are NOT checked.")
    else:
        app.logger.warning(
            "No TWILIO_AUTH_TOKEN: webhook requests are NOT verified; anyone can post answers."
        )


def refuse_unsafe_serving(app: Flask) -> None:
    """Refuse to serve production traffic unverified unless TWILIO_VALIDATE=false is explicit."""
    config = app.config
    if config.get("TWILIO_AUTH_TOKEN") or app.debug or app.testing or _validation_off(config):
        return
    raise RuntimeError(
        "Refusing to serve: TWILIO_AUTH_TOKEN is not set, so forged requests could not be "
        "told from Twilio's. Set TWILIO_AUTH_TOKEN, or run with --debug for local trials, "
        "or set TWILIO_VALIDATE=false to serve unverified on purpose."
    )


class Library:
    """The surveys the engine sees: the catalog, plus old versions kept in the database."""

    def __init__(self, catalog: Catalog, engine):
        self.catalog = catalog
        self.engine = engine
        self.stored: set[tuple[str, str]] = set()  # versions whose source is surely stored
        self._local = threading.local()  # each thread's own open transaction

    @property
    def pending(self) -> set[tuple[str, str]]:
        """Versions written by this thread's transaction, not yet committed."""
        if not hasattr(self._local, "pending"):
            self._local.pending = set()
        return self._local.pending

    def __getattr__(self, name):
        """Everything else is the catalog's: get, by_keyword, default, surveys..."""
        return getattr(self.catalog, name)

    def version(self, survey_id: str, version: str) -> Survey | None:
        """A survey version from the catalog, else rebuilt from its stored source."""
        found = self.catalog.version(survey_id, version)
        if found is not None:
            return found
        with self.engine.connect() as conn:
            stored = store.version_source(db=conn, survey_id=survey_id, version=version)
        if stored is None:
            return None
        try:
            survey = load_survey(stored[1].encode(), stored[0])
        except SurveyError:
            return None
        self.catalog.add_version(survey)
        return survey

    def history(self, survey_id: str) -> list[Survey]:
        """Every stored version of a survey that still loads, newest first."""
        with self.engine.connect() as conn:
            stored = store.stored_versions(db=conn, survey_id=survey_id)
        return [s for s in (self.version(survey_id, v) for v, _, _ in stored) if s is not None]

    def columns(self, survey: Survey) -> list[str]:
        """Export columns: the newest version's question ids, then ids only older ones had."""
        ids = [q.id for q in survey.questions]
        for older in self.history(survey.id):
            ids += [q.id for q in older.questions if q.id not in ids]
        return ids

    def keep(self, conn, survey: Survey, now: datetime) -> None:
        """Store a version's source when a session starts on it (once per process, at best).

        A version counts as stored only after the transaction that wrote it has
        committed (`committed()`); one that rolled back is written again.
        """
        key = (survey.id, survey.version)
        if key in self.stored:
            return
        store.remember_version(
            db=conn,
            survey_id=survey.id,
            version=survey.version,
            path=survey.path,
            source=survey.source,
            now=now,
        )
        self.pending.add(key)

    def committed(self) -> None:
        """The transaction that wrote the pending versions committed: stop writing them."""
        self.stored |= self.pending
        self.pending.clear()


class Decision(NamedTuple):
    """What one message changes and the TwiML to answer, from one read of its situation."""

    found: store.Found
    twiml: str
    effects: Effects | None  # None: a redelivery, answered as before


class Bot:
    """Everything one process needs to answer messages: database, surveys, engine."""

    def __init__(self, config):
        self.engine = database.make_engine(config["DATABASE_URL"])
        self._checked = False
        self.catalog = Catalog(config["SURVEYS_DIR"])
        self.library = Library(self.catalog, self.engine)
        self.conversation = Conversation(self.library)

    def ready(self) -> Bot:
        """Check once that the database schema is current (creating it on a new database)."""
        if not self._checked:
            schema.ensure_current(self.engine)
            self._checked = True
        return self

    def receive(self, *, phone: str, body: str, sid: str, media: int = 0, now=None) -> str:
        """Handle one inbound message exactly once and return the TwiML to answer with."""
        now = now or datetime.now(UTC)
        self.ready().catalog.refresh()
        try:
            return self._receive(phone, body, sid, media, now)
        except (IntegrityError, self.engine.dialect.dbapi.IntegrityError):
            # The same MessageSid committed by another worker a moment ago (the
            # hot path runs on the driver's cursor, so its errors come unwrapped).
            with self.engine.connect() as conn:
                reply = store.stored_reply(db=conn, message_sid=sid)
            if reply is None:
                raise
            return reply

    def _receive(self, phone: str, body: str, sid: str, media: int, now: datetime) -> str:
        """Decide, then write in one transaction that holds the phone's lock.

        On SQLite every writer queues for the whole database, so the decision
        is made before queueing and only checked under the lock: made again
        if the number's state changed in between (another of its messages).
        """
        self.library.pending.clear()
        with database.Writer(self.engine, phone) as writer:
            early = None
            if writer.reads_ahead:
                early = self._decide(writer.ahead(), phone, body, sid, media, now)
                if early.effects is None:  # a redelivery: its reply is committed, final
                    return early.twiml
            with writer.transaction() as tx:
                decision = early
                if early is None or store.read(db=tx, phone=phone, sid=sid).row != early.found.row:
                    decision = self._decide(tx, phone, body, sid, media, now)
                if decision.effects is None:  # a redelivery: same reply, nothing changes
                    return decision.twiml
                self._write(tx, phone, body, sid, now, decision)
        self.library.committed()
        return decision.twiml

    def _decide(self, db, phone: str, body: str, sid: str, media: int, now) -> Decision:
        """Read the number's situation and decide what the message changes and the reply."""
        found = store.read(db=db, phone=phone, sid=sid)
        reply, situation = found.unpack()
        if reply is not None:
            return Decision(found, reply, None)
        effects = self.conversation.handle(situation, body, now=now, media=media)
        return Decision(found, to_twiml(effects.reply), effects)

    def _write(self, tx, phone: str, body: str, sid: str, now, decision: Decision) -> None:
        """Write a decision's effects and log the message with its reply."""
        effects = decision.effects
        self._save(tx, phone, effects, body, now, sid)
        run_id = effects.runs[-1].id if effects.runs else None
        store.log_inbound(
            db=tx, sid=sid, phone=phone, body=body, reply=decision.twiml, session_id=run_id, now=now
        )

    def start(self, conn, phone: str, survey: Survey, now: datetime, situation=None) -> Effects:
        """Start `survey` for `phone` in an open, locked transaction (`situation`: read in it)."""
        situation = situation or store.situation(db=conn, phone=phone)
        effects = self.conversation.begin(situation, survey, now=now)
        self._save(conn, phone, effects, "", now)
        return effects

    def _save(self, conn, phone: str, effects: Effects, body: str, now, sid=None) -> None:
        """Write effects, keeping the source of any survey version a new session uses."""
        for run in effects.runs:
            if run.id is None:
                self.library.keep(conn, self.library.version(run.survey_id, run.version), now)
        store.save(db=conn, phone=phone, effects=effects, raw=body, sid=sid, now=now)


# Characters XML 1.0 cannot hold even escaped: a reply that quotes such an
# answer would be TwiML that Twilio cannot parse, and nothing would be sent.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
TWIML_MESSAGE = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>{}</Message></Response>'
TWIML_BLANK = '<?xml version="1.0" encoding="UTF-8"?><Response><Message /></Response>'


def to_twiml(reply: str | None) -> str:
    """A TwiML document with zero or one <Message>, byte for byte as twilio's MessagingResponse.

    Building it with ElementTree cost more than the rest of the reply; the
    document is fixed but for the text, which ElementTree escapes as `escape` does.
    """
    if not reply:
        return TWIML_EMPTY
    text = escape(NOT_XML.sub("", reply))
    return TWIML_MESSAGE.format(text) if text else TWIML_BLANK


def bot() -> Bot:
    """The current app's Bot."""
    return current_app.extensions["survey_bot"]


# -- HTTP ------------------------------------------------------------------


def _register_routes(app: Flask) -> None:
    """Attach the endpoints."""
    app.add_url_rule("/sms", "sms", sms, methods=["POST"])
    app.add_url_rule("/sms/status", "sms_status", sms_status, methods=["POST"])
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/surveys/<survey_id>/export.csv", "export", export_csv)
    app.register_error_handler(OperationalError, _database_busy)
    # The hot path's statements run on the driver's cursor: its own errors too.
    dbapi = app.extensions["survey_bot"].engine.dialect.dbapi
    app.register_error_handler(dbapi.OperationalError, _database_busy)
    app.register_error_handler(schema.SchemaBehind, _schema_behind)
    app.register_error_handler(HTTPException, _plain_error)


class Form(dict):
    """A parsed form: each field's values in order, `get` giving the first, as MultiDict's does.

    A plain dict of lists is what the signature is computed over, once; it also
    answers twilio's RequestValidator (`getall`) for the rarer full check.
    """

    def get(self, key: str, default=None):
        """The first value of `key`, else `default`."""
        values = dict.get(self, key)
        return values[0] if values else default

    def getall(self, key: str) -> list[str]:
        """Every value of `key`."""
        return dict.get(self, key, [])

    getlist = getall


def parse_form(text: str) -> Form:
    """A urlencoded form, as `parse_qsl(text, keep_blank_values=True, errors="strict")` reads it.

    The same splitting and unquoting, without parse_qsl's per-field coercions:
    the form parsing was 6% of a request's CPU.
    """
    form = Form()
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            if "%" in field or "+" in field:  # most of Twilio's fields are plain
                name, value = _unquote(name), _unquote(value)
            form.setdefault(name, []).append(value)
    return form


def _unquote(text: str) -> str:
    """A form field's name or value: `+` is a space, %-escapes are strict UTF-8."""
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text, errors="strict") if "%" in text else text


def twilio_form() -> Form:
    """The request's form, parsed strictly and verified as coming from Twilio (else 4xx)."""
    if "form" in g:
        return g.form
    content_type = request.environ.get("CONTENT_TYPE")  # as Twilio sends it, no parsing needed
    if content_type != FORM_TYPE and request.mimetype != FORM_TYPE:
        abort(415, "Expected a form (application/x-www-form-urlencoded), as Twilio sends.")
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413 from Flask
    try:
        # Strict both ways: raw bytes and %-escapes must be UTF-8, never replaced by U+FFFD.
        form = parse_form(raw.decode("utf-8"))
    except UnicodeDecodeError:
        abort(400, "The form is not valid UTF-8.")
    if (b"\x00" in raw or b"%00" in raw) and any("\x00" in k + "".join(v) for k, v in form.items()):
        abort(400, "The form contains a NUL byte.")  # the byte check skips the loop nearly always
    _check_signature(form)
    g.form = form
    return form


def _check_signature(form: Form) -> None:
    """403 unless X-Twilio-Signature matches the URL Twilio called and the form."""
    config = current_app.config
    if not validation_enabled(config):
        return
    signature = request.headers.get("X-Twilio-Signature", "")
    url = public_url(config)
    if not signature:
        _refuse("Missing X-Twilio-Signature.", "no X-Twilio-Signature", url)
    if not _signed(config["TWILIO_AUTH_TOKEN"], url, form, signature):
        reason = "X-Twilio-Signature does not match the URL and form"
        if request.headers.get(SETTINGS_HEADER):  # a Webhooks Rule signs with a shared key
            reason += f" ({SETTINGS_HEADER} present: shared-key signing is not supported)"
        _refuse("Invalid X-Twilio-Signature.", reason, url)


@lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    """One validator per auth token (it holds the token's HMAC key)."""
    return RequestValidator(token)


def _signed(token: str, url: str, form: Form, signature: str) -> bool:
    """Whether `signature` is Twilio's for `url` and `form`.

    `validate` always signs the URL twice (with and without an explicit port);
    the URL exactly as called usually matches, so that one is tried first, by
    `signature_of`, and the full check only runs when it does not.
    """
    expected = signature_of(_validator(token).token, url, form)
    return hmac.compare_digest(expected, signature) or _validator(token).validate(
        url, form, signature
    )


def signature_of(key: bytes, url: str, form: Form) -> str:
    """Twilio's signature of a request, as `RequestValidator.compute_signature` computes it.

    The same string (the URL, then each field name and value, sorted, each
    distinct value once) and HMAC-SHA1, in one join and C's one-shot HMAC.
    """
    signed = url + "".join(
        name + values[0] if len(values) == 1 else "".join(name + v for v in sorted(set(values)))
        for name, values in sorted(form.items())
    )
    return base64.b64encode(hmac.digest(key, signed.encode(), "sha1")).decode()


def _refuse(message: str, reason: str, url: str) -> None:
    """Log why a request is not taken as Twilio's, then answer 403."""
    log.warning("403 for %s from %s: %s", url, request.remote_addr, reason)
    abort(403, message)


def public_url(config) -> str:
    """The URL Twilio called: PUBLIC_URL plus path and query, else the request's own URL."""
    base = config.get("PUBLIC_URL")
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def sms() -> Response:
    """Twilio's "a message comes in" webhook: the next question as TwiML."""
    form = twilio_form()
    phone = _required(form, "From", MAX_ADDRESS)
    sid = _required(form, "MessageSid", MAX_SID)
    body = form.get("Body", "")
    if len(body) > MAX_BODY:
        abort(400, f"Body is longer than {MAX_BODY} characters.")
    media = _int(form.get("NumMedia"))
    twiml = bot().receive(phone=phone, body=body, sid=sid, media=media)
    return Response(twiml, mimetype="text/xml")


def sms_status() -> Response:
    """Twilio's status callback for a message the bot sent."""
    form = twilio_form()
    sid = _required(form, "MessageSid" if "MessageSid" in form else "SmsSid", MAX_SID)
    # A status is one short word (queued, sent, delivered...): the SID's bound is plenty.
    status = _required(form, "MessageStatus" if "MessageStatus" in form else "SmsStatus", MAX_SID)
    error = _int(form.get("ErrorCode"), None)
    with bot().ready().engine.begin() as conn:
        store.record_delivery(db=conn, sid=sid, status=status, error_code=error)
        if error == CARRIER_OPT_OUT:  # the person had texted STOP to this sender
            store.opt_out_recipient(db=conn, sid=sid, now=datetime.now(UTC))
    return Response("", status=204)


def healthz() -> Response:
    """200 when the app and its database answer."""
    with bot().ready().engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return Response("ok\n", mimetype="text/plain")


def export_csv(survey_id: str) -> Response:
    """The CSV export over HTTP, for holders of ADMIN_TOKEN."""
    _require_admin()
    if bot().ready().catalog.get(survey_id) is None:
        bot().catalog.refresh()
        if bot().catalog.get(survey_id) is None:
            abort(404, f"No survey {survey_id!r}.")
    args = request.args
    fmt = args.get("format", "wide")
    status = args.get("status") or None
    if fmt not in ("wide", "long"):
        abort(400, "format must be wide or long.")
    if status is not None and status not in export.STATUSES:
        abort(400, "status must be one of " + ", ".join(export.STATUSES) + ".")
    chunks = cli.export_csv(
        survey_id,
        fmt=fmt,
        status=status,
        since=_day(args.get("since")),
        until=_day(args.get("until")),
        hash_phones=args.get("hash_phones") in ("1", "true", "yes"),
    )
    name = f"{survey_id}-{fmt}.csv"
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _required(form: Form, name: str, limit: int) -> str:
    """A required form field, trimmed: 400 when it is missing or longer than `limit`."""
    value = form.get(name, "").strip()
    if not value:
        abort(400, f"Missing {name}.")
    if len(value) > limit:
        abort(400, f"{name} is longer than {limit} characters.")
    return value


def _require_admin() -> None:
    """401 without the right bearer token; 404 when the export is disabled (no token set)."""
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        abort(404, "The export endpoint is disabled: ADMIN_TOKEN is not set.")
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer "):
        abort(401, "Send Authorization: Bearer <ADMIN_TOKEN>.")
    if not hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode()):
        abort(403, "Wrong admin token.")


def _day(value: str | None) -> date | None:
    """An ISO date from the query string (400 if malformed)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"Not an ISO date (YYYY-MM-DD): {value!r}.")


def _database_busy(err: OperationalError) -> Response:
    """A database that cannot be reached or stays locked: 503, so the caller retries."""
    log.error("database unavailable: %s", err)
    return Response("Database unavailable, try again.\n", status=503, mimetype="text/plain")


def _schema_behind(err: schema.SchemaBehind) -> Response:
    """A database on an older schema: 503 with what the operator must do."""
    log.error("%s", err)
    return Response(f"{err}\n", status=503, mimetype="text/plain")


def _plain_error(err: HTTPException) -> Response:
    """A 4xx as one line of plain text that says why."""
    return Response(f"{err.code} {err.name}: {err.description}\n", err.code, mimetype="text/plain")


def _int(value: str | None, default: int | None = 0) -> int | None:
    """A form field as an int, `default` when absent or not a number."""
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


# -- the WSGI application --------------------------------------------------


def _serving_app() -> Flask:
    """The app for a WSGI server (`gunicorn app:app`) or `flask run`."""
    load_dotenv()  # the flask command reads .env itself; gunicorn does not
    app = create_app()
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name == "run":  # serving, not a command-line tool
        refuse_unsafe_serving(app)
        engine = app.extensions["survey_bot"].ready().engine  # fail at start, not later
        # With `gunicorn --preload` this runs before the fork: leave no pooled
        # connection that several worker processes would then share.
        engine.dispose()
    return app


def __getattr__(name: str):
    """Build `app` on first use, so importing this module creates nothing."""
    if name in ("app", "application"):
        module = sys.modules[__name__]
        module.app = module.application = _serving_app()
        return module.app
    raise AttributeError(name)
