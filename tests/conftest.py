"""Fixtures: an app on a fresh database (SQLite, or PostgreSQL when reachable), SMS helper."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel
from twilio.request_validator import RequestValidator

from storage import db as database
from storage import schema
from storage.db import make_engine
from web.factory import create_app

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-auth-token"
ACCOUNT_SID = "AC" + "0" * 32  # the account the tests' messages come from, unless one is set
# Migrations take one lock for the whole PostgreSQL database, which other test
# processes (several workers, other checkouts) may hold for seconds: wait for it.
MIGRATION_WAIT = 120
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # any failure to connect means: not available
        return f"PostgreSQL not reachable at {PG_URL}: {type(err).__name__}"
    return None


_PG_REASON = _postgres_reason()


def pytest_configure(config):
    """The markers this suite uses (warnings are errors here, unknown markers too)."""
    config.addinivalue_line(
        "markers", "empty_database: database_url is empty, not migrated (migration tests)"
    )
    config.addinivalue_line(
        "markers", "sqlite_only: touches no SQL of its own, so PostgreSQL would test nothing more"
    )


def pytest_collection_modifyitems(config, items):
    """Leave out the PostgreSQL run of tests that touch no SQL of their own."""
    kept, dropped = [], []
    for item in items:
        on_postgres = getattr(item, "callspec", None) and (
            item.callspec.params.get("database_url") == "postgresql"
        )
        (dropped if on_postgres and item.get_closest_marker("sqlite_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once per run: each test's database is a copy."""
    path = tmp_path_factory.mktemp("template") / "head.sqlite3"
    engine = make_engine(f"sqlite:///{path}", wait=MIGRATION_WAIT)
    schema.ensure_current(engine)
    database.dispose(engine)
    return path


@pytest.fixture(scope="session")
def postgres_schemas():
    """This process's PostgreSQL schemas at head, emptied after each test for the next one.

    Migrating a schema takes seconds on PostgreSQL; emptying one that a test
    used (its rows deleted, its sequences restarted) takes milliseconds and
    leaves it as a fresh migration left it. A schema a test changed, or could
    not be emptied, is dropped instead.
    """
    pool: list[str] = []
    yield pool
    if pool:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in pool:
                conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


# The tables of a schema at head, children first; alembic_version keeps its row.
TABLES = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]


def _emptied(admin, name: str) -> bool:
    """Empty a used schema for the next test; False when it is not as migrated any more."""
    listed = (
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %(s)s "
        "UNION ALL SELECT 'seq:' || sequence_name FROM information_schema.sequences "
        "WHERE sequence_schema = %(s)s"
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SET lock_timeout = '3s'")
            found = {row[0] for row in conn.exec_driver_sql(listed, {"s": name})}
            sequences = sorted(n.removeprefix("seq:") for n in found if n.startswith("seq:"))
            at = conn.exec_driver_sql(f"SELECT version_num FROM {name}.alembic_version").all()
            if found - {f"seq:{n}" for n in sequences} != {*TABLES, "alembic_version"}:
                return False
            if at != [(schema.HEAD,)]:
                return False
            # Replica mode: no trigger fires (the running tallies, the foreign keys), so the
            # rows go as they are; it needs a superuser, else the schema is dropped instead.
            statements = ["SET LOCAL session_replication_role = replica"]
            statements += [f"DELETE FROM {name}.{table}" for table in TABLES]
            statements += [f"ALTER SEQUENCE {name}.{seq} RESTART" for seq in sequences]
            conn.exec_driver_sql("BEGIN; " + "; ".join(statements) + "; COMMIT")
    except DBAPIError:
        return False
    return True


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, sqlite_template, postgres_schemas):
    """A fresh database at the newest schema (empty for tests marked `empty_database`):
    a copy of a SQLite file migrated once, or a PostgreSQL schema of its own."""
    empty = request.node.get_closest_marker("empty_database") is not None
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        if not empty:
            shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if _PG_REASON:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(_PG_REASON + " (REQUIRE_POSTGRES=1)")
        pytest.skip(_PG_REASON)
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = postgres_schemas.pop() if postgres_schemas and not empty else None
    if name is None:
        name = "t_" + uuid.uuid4().hex[:12]
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {name}"))
    url = f"{PG_URL}?options=-csearch_path%3D{name}"
    if not empty:
        engine = make_engine(url, wait=MIGRATION_WAIT)
        schema.ensure_current(engine)  # at head already for a schema used before: no work
        engine.dispose()
    yield url
    if not empty and _emptied(admin, name):
        postgres_schemas.append(name)
    else:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


@pytest.fixture(autouse=True)
def _no_threads_left():
    """End the SQLite checkpoint and writer-gate threads each test's databases started."""
    yield
    for path in list(database._GATES):
        database._GATES.pop(path).stop()


def survey_folder(tmp_path, **files: str):
    """A surveys folder holding only these files (name -> YAML text), for a module's own surveys."""
    folder = tmp_path / "surveys"
    folder.mkdir()
    for name, source in files.items():
        saved(folder / f"{name}.yaml", source)
    return folder


def saved(path: Path, text: str) -> Path:
    """Write a survey file as an author's save that has settled (SPEC 1: stable for a moment).

    The catalog takes new content once it is a second old; the file's time is
    set back so that a test needs no wait.
    """
    path.write_text(text)
    settled = time.time() - 60
    os.utime(path, (settled, settled))
    return path


@pytest.fixture
def surveys_dir(tmp_path):
    """A copy of the example surveys that a test may edit."""
    target = tmp_path / "surveys"
    shutil.copytree(ROOT / "surveys", target)
    return target


@pytest.fixture
def config(database_url, surveys_dir):
    """Settings for a test app: signatures checked, export enabled."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SURVEYS_DIR": str(surveys_dir),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "ADMIN_TOKEN": "admin-secret-token",
        "PUBLIC_URL": "https://survey.example.org",
    }


@pytest.fixture
def app(config):
    """The app on a fresh database."""
    app = create_app(config)
    yield app
    app.extensions["survey_service"].close()


@pytest.fixture
def make_client(config):
    """A test client for an app with some settings changed (None removes one)."""
    apps = []

    def make(**changes):
        settings = {k: v for k, v in (config | changes).items() if v is not None}
        apps.append(create_app(settings))
        return apps[-1].test_client()

    yield make
    for made in apps:
        made.extensions["survey_service"].close()


@pytest.fixture
def client(app):
    """Flask's test client."""
    return app.test_client()


def message_sid(tag: str) -> str:
    """A MessageSid in Twilio's form (SM and 32 hex digits), the same for the same tag."""
    return "SM" + hashlib.md5(tag.encode()).hexdigest()


class SMS:
    """Posts signed inbound messages the way Twilio does and reads the TwiML back."""

    def __init__(self, client, public_url: str = "https://survey.example.org"):
        self.client = client
        self.public_url = public_url
        self.validator = RequestValidator(TOKEN)

    def post(self, form: dict, path: str = "/sms", signature: str | None = None):
        """POST a form to `path` with a valid signature (unless one is given)."""
        if signature is None:
            signature = self.validator.compute_signature(self.public_url + path, form)
        return self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    def send(self, phone: str, body: str, sid: str | None = None, **extra) -> str | None:
        """Send one SMS; return the reply's text, or None for an empty <Response/>."""
        account = self.client.application.config.get("TWILIO_ACCOUNT_SID") or ACCOUNT_SID
        form = {"From": phone, "To": "+15550001111", "Body": body, "NumMedia": "0"}
        form["AccountSid"] = account
        form["MessageSid"] = sid or "SM" + uuid.uuid4().hex
        form.update(extra)
        response = self.post(form)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        return reply_text(response.get_data(as_text=True))


def reply_text(twiml: str) -> str | None:
    """The text of the single <Message> in a TwiML document."""
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) <= 1
    return messages[0].text if messages else None


@pytest.fixture
def sms(client):
    """The SMS helper for this test's app."""
    return SMS(client)
