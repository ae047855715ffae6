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
from twilio.request_validator import RequestValidator

from web import create_app

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-auth-token"
ACCOUNT_SID = "AC" + "0" * 32  # the account the tests' messages come from, unless one is set
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a new schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    if _PG_REASON:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(_PG_REASON + " (REQUIRE_POSTGRES=1)")
        pytest.skip(_PG_REASON)
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    yield f"{PG_URL}?options=-csearch_path%3D{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


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
    app.extensions["survey_service"].engine.dispose()


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
        made.extensions["survey_service"].engine.dispose()


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
