"""`POST /sms` without Flask's request context (web.webhooks.FastSms): the same answers, faster.

A plain inbound message is answered by the WSGI layer in front of Flask; every
request it does not answer goes to Flask whole, which says why it is refused.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlencode

import pytest
from flask import request_started
from twilio.request_validator import RequestValidator
from werkzeug.test import Client

from conftest import ACCOUNT_SID, TOKEN, reply_text
from live import row_counts
from service import Service
from web.webhooks import FastSms

URL = "https://survey.example.org/sms"


def form(phone: str, body: str, **changes) -> dict:
    """An inbound message as Twilio posts it."""
    fields = {"From": phone, "To": "+15550001111", "Body": body, "NumMedia": "0"}
    fields |= {"AccountSid": ACCOUNT_SID, "MessageSid": "SM" + uuid.uuid4().hex}
    return fields | changes


def post(client, fields: dict, url: str = URL, **options):
    """POST a form signed for `url`."""
    signature = RequestValidator(TOKEN).compute_signature(url, fields)
    return client.post("/sms", data=fields, headers={"X-Twilio-Signature": signature}, **options)


@pytest.fixture
def flask_runs(app):
    """How many requests Flask itself handled: those the fast path left to it."""
    handled = []
    request_started.connect(handled.append, app, weak=False)
    yield handled
    request_started.disconnect(handled.append, app)


def test_a_plain_message_gets_flasks_bytes_without_flask(app, client, flask_runs):
    assert isinstance(app.wsgi_app, FastSms)
    flask_only = Client(app.wsgi_app.inner)  # the view as Flask serves it, no fast path
    for body in ["VISIT", "Ana", "4", "1", "yes"]:
        fast = post(client, form("+15550001001", body))
        slow = post(flask_only, form("+15550001002", body))
        assert fast.status_code == slow.status_code == 200
        assert fast.headers == slow.headers  # Content-Type and Content-Length alike
        assert fast.get_data() == slow.get_data()
        assert reply_text(fast.get_data(as_text=True))
    assert len(flask_runs) == 5  # the five Flask-only requests; none of the fast path's


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"signature": "bad"}, 403, "Invalid X-Twilio-Signature."),
        ({"fields": {"From": ""}}, 400, "Missing From."),
        ({"fields": {"MessageSid": "SM1"}}, 400, "MessageSid is not a Twilio message sid"),
        ({"fields": {"Body": "x\x00y"}}, 400, "The form contains a NUL byte."),
        ({"raw": b"From=%2B15550001003&Body=%FF"}, 400, "The form is not valid UTF-8."),
        ({"type": "text/plain"}, 415, "Expected a form"),
    ],
)
def test_refusals_are_flasks_own(app, client, flask_runs, caplog, change, status, reason):
    fields = form("+15550001003", "VISIT") | change.get("fields", {})
    signature = RequestValidator(TOKEN).compute_signature(URL, fields)
    response = client.post(
        "/sms",
        data=change.get("raw", fields),
        headers={"X-Twilio-Signature": change.get("signature", signature)},
        content_type=change.get("type", "application/x-www-form-urlencoded"),
    )
    assert response.status_code == status
    assert reason in response.get_data(as_text=True)
    assert len(flask_runs) == 1  # the fast path left it to Flask, which said why
    assert set(row_counts(app.extensions["survey_service"].engine).values()) == {0}
    refusals = [r for r in caplog.records if r.levelno == logging.WARNING and "403" in r.message]
    assert len(refusals) == (status == 403)  # logged once, by Flask's check


def test_a_body_shorter_than_its_length_is_left_to_flask(app, client, flask_runs):
    body = b"From=%2B15550001004&Body=VISIT"  # unsigned: Flask refuses it, and says so
    response = client.post(
        "/sms",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"Content-Length": str(len(body) + 20)},  # the client went away mid-body
    )
    assert response.status_code == 403
    assert len(flask_runs) == 1
    assert set(row_counts(app.extensions["survey_service"].engine).values()) == {0}


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        ("OperationalError", 503, "Database unavailable"),
        ("LookupError", 500, "Internal Server Error"),
    ],
)
def test_a_fault_in_the_service_gets_flasks_error_answer(
    app, client, monkeypatch, error, status, text
):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # TESTING would raise it into the test instead
    driver = app.extensions["survey_service"].engine.dialect.dbapi  # sqlite3 or psycopg

    def fail(self, inbound):
        raise getattr(driver, error, LookupError)("database is locked")

    monkeypatch.setattr(Service, "receive", fail)
    response = post(client, form("+15550001005", "VISIT"))
    assert response.status_code == status
    assert text in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_behind_trusted_proxies_the_forwarded_url_is_checked(make_client):
    client = make_client(PUBLIC_URL=None, TRUSTED_PROXIES="1")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.net"}
    fields = form("+15550001006", "VISIT")
    signature = RequestValidator(TOKEN).compute_signature("https://bot.example.net/sms", fields)
    response = client.post(
        "/sms", data=fields, headers={"X-Twilio-Signature": signature, **forwarded}
    )
    assert response.status_code == 200
    assert "first name" in reply_text(response.get_data(as_text=True))


def test_without_public_url_the_url_as_called_is_checked_query_and_all(make_client):
    client = make_client(PUBLIC_URL=None)
    handled = []
    request_started.connect(handled.append, client.application, weak=False)
    fields = form("+15550001007", "VISIT")
    called = "http://localhost/sms?survey=visit&tag=a%20b"  # as the test client's requests look
    signature = RequestValidator(TOKEN).compute_signature(called, fields)
    headers = {"X-Twilio-Signature": signature}
    response = client.post("/sms?survey=visit&tag=a%20b", data=fields, headers=headers)
    assert response.status_code == 200
    assert handled == []  # answered by the fast path, with the URL Flask would have checked
    wrong = client.post("/sms?survey=other", data=fields, headers=headers)
    assert wrong.status_code == 403
    assert len(handled) == 1


@pytest.mark.parametrize("path", ["/sms", "/sms/status"])
def test_a_signature_that_is_not_ascii_is_refused_not_a_crash(app, client, caplog, path):
    fields = form("+15550001008", "VISIT")  # Twilio's signatures are base64: ASCII
    response = client.post(path, data=fields, headers={"X-Twilio-Signature": "\xe9" * 28})
    assert response.status_code == 403  # not a 500 and a traceback for anyone who sends one
    assert "Invalid X-Twilio-Signature." in response.get_data(as_text=True)
    assert any("403 for" in r.message for r in caplog.records)  # logged as any refusal
    assert set(row_counts(app.extensions["survey_service"].engine).values()) == {0}


@pytest.mark.parametrize("length", ["\xb2", "9" * 5000])  # isdigit() says yes; int() refuses
def test_a_content_length_flask_does_not_read_is_left_to_flask(app, client, flask_runs, length):
    response = post(
        client, form("+15550001009", "VISIT"), environ_overrides={"CONTENT_LENGTH": length}
    )
    assert response.status_code == 403  # Flask reads no body: the form is not the one signed
    assert len(flask_runs) == 1
    assert set(row_counts(app.extensions["survey_service"].engine).values()) == {0}


def test_a_chunked_body_is_read_whole_as_flask_reads_it(app, client, flask_runs):
    # `flask run` dechunks the body and keeps a Content-Length sent with it, which
    # Flask ignores: a signed form followed by more fields is not the signed form.
    fields = form("+15550001010", "VISIT")
    signed = urlencode(fields).encode()
    response = client.post(
        "/sms",
        data=signed + b"&Body=forged",
        headers={"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(URL, fields)},
        content_type="application/x-www-form-urlencoded",
        environ_overrides={
            "CONTENT_LENGTH": str(len(signed)),
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input_terminated": True,
        },
    )
    assert response.status_code == 403
    assert len(flask_runs) == 1
    assert set(row_counts(app.extensions["survey_service"].engine).values()) == {0}


def test_under_a_mount_point_the_url_flask_checks_is_checked(make_client):
    client = make_client(PUBLIC_URL=None)
    mounted = {"SCRIPT_NAME": "/b\xc3\xa9"}  # /bé, as a WSGI server passes its bytes
    fields = form("+15550001011", "VISIT")
    for url, status in [("http://localhost/bé/sms", 200), ("http://localhost/b\xc3\xa9/sms", 403)]:
        signature = RequestValidator(TOKEN).compute_signature(url, fields)
        headers = {"X-Twilio-Signature": signature}
        response = client.post("/sms", data=fields, headers=headers, environ_overrides=mounted)
        assert response.status_code == status, url


def test_a_body_over_a_limit_of_zero_is_flasks_413(app, client, flask_runs):
    app.config["MAX_CONTENT_LENGTH"] = 0  # as Flask reads it: no body at all
    response = post(client, form("+15550001008", "VISIT"))
    assert response.status_code == 413
    assert len(flask_runs) == 1
