"""Twilio's parameters must have Twilio's form; bodies stay within the limit however sent."""

from __future__ import annotations

import io

import pytest
from twilio.request_validator import RequestValidator

from conftest import TOKEN, message_sid
from live import row_counts
from service import Service
from web.factory import create_app

PHONE = "+15558880101"
URL = "https://survey.example.org"
ACCOUNT = "AC" + "a" * 32
CAPTURED = {  # one message as Twilio posts it (the fields around MessageSid matter)
    "AccountSid": ACCOUNT,
    "ApiVersion": "2010-04-01",
    "Body": "1",
    "From": PHONE,
    "FromCity": "BOSTON",
    "MessageSid": message_sid("captured"),
    "NumMedia": "0",
    "NumSegments": "1",
    "To": "+15550001111",
}


def sign(url: str, form: dict) -> str:
    """Twilio's signature of `form` posted to `url`."""
    return RequestValidator(TOKEN).compute_signature(url, form)


def counts(app) -> dict[str, int]:
    """Rows in the tables a message writes (the schema created if it is not yet)."""
    return row_counts(Service.of(app).engine)


def replayed(form: dict, signature: str, client):
    """Post `form` with a signature captured from another request."""
    return client.post("/sms", data=form, headers={"X-Twilio-Signature": signature})


def shifted(form: dict, into: str, moved: str) -> dict:
    """`form` with field `moved` written into the end of field `into`: the same signature."""
    changed = {k: v for k, v in form.items() if k != moved}
    changed[into] = form[into] + moved + form[moved]
    return changed


@pytest.mark.parametrize(
    ("into", "moved"),
    [("MessageSid", "NumMedia"), ("From", "FromCity"), ("AccountSid", "ApiVersion")],
)
def test_a_replay_with_shifted_field_boundaries_is_refused(client, app, sms, into, moved):
    sms.send(PHONE, "FEEDBACK")
    signature = sign(URL + "/sms", CAPTURED)
    assert replayed(CAPTURED, signature, client).status_code == 200
    before = counts(app)
    forged = shifted(CAPTURED, into, moved)
    assert sign(URL + "/sms", forged) == signature  # the attack: the signature still holds
    response = replayed(forged, signature, client)
    assert response.status_code in (200, 400)
    if response.status_code == 200:  # the same MessageSid: a redelivery, answered as before
        assert response.data == replayed(CAPTURED, signature, client).data
    assert counts(app) == before


BAD_FORMS = {
    "short MessageSid": {"MessageSid": "SM0"},
    "MessageSid with a word": {"MessageSid": "SM-first" + "0" * 26},
    "MessageSid of another kind": {"MessageSid": "AC" + "0" * 32},
    "MessageSid too long": {"MessageSid": message_sid("x") + "0"},
    "AccountSid malformed": {"AccountSid": "AC123"},
    "NumMedia a word": {"NumMedia": "0NumSegments1"},
    "NumMedia negative": {"NumMedia": "-1"},
    "NumMedia huge": {"NumMedia": "9" * 50},
    "NumMedia over ten": {"NumMedia": "11"},
}


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
@pytest.mark.parametrize("changes", BAD_FORMS.values(), ids=BAD_FORMS.keys())
def test_parameters_not_in_twilios_form_get_400(sms, app, changes):
    form = CAPTURED | {"MessageSid": message_sid(str(changes))} | changes
    response = sms.post(form)
    assert response.status_code == 400
    assert response.mimetype == "text/plain" and "Twilio" in response.get_data(as_text=True)
    assert set(counts(app).values()) == {0}


@pytest.mark.parametrize("sid", [message_sid("sms"), "MM" + "AB12" * 8])
def test_twilios_own_forms_are_answered(sms, sid):
    assert sms.send(PHONE, "FEEDBACK", sid=sid, AccountSid=ACCOUNT, NumMedia="10")


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_another_account_is_refused_when_the_account_is_set(app, sms):
    app.config["TWILIO_ACCOUNT_SID"] = ours = "AC" + "b" * 32
    assert sms.post(CAPTURED).status_code == 400
    assert sms.post(CAPTURED | {"AccountSid": ours}).status_code == 200
    no_account = {k: v for k, v in CAPTURED.items() if k != "AccountSid"}
    assert sms.post(no_account | {"MessageSid": message_sid("none")}).status_code == 400


def status(sms, **changes):
    """POST a signed status callback."""
    form = {"AccountSid": ACCOUNT, "MessageSid": message_sid("sent"), "MessageStatus": "sent"}
    return sms.post(form | changes, path="/sms/status")


@pytest.mark.parametrize(
    "changes",
    [
        {"ErrorCode": "9223372036854775808"},
        {"ErrorCode": "2147483648"},
        {"ErrorCode": "1234567"},
        {"ErrorCode": "-1"},
        {"MessageStatus": "pwned"},
        {"MessageStatus": "x" * 40},
        {"MessageSid": "SMsent"},
    ],
)
@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_status_callbacks_out_of_twilios_form_get_400(sms, changes):
    response = status(sms, **changes)
    assert response.status_code == 400, response.get_data(as_text=True)


@pytest.mark.parametrize("changes", [{"ErrorCode": "30003"}, {"ErrorCode": ""}, {}])
def test_status_callbacks_in_twilios_form_are_taken(sms, changes):
    assert status(sms, **changes).status_code == 204


def chunked(client, body: bytes):
    """POST `body` with Transfer-Encoding: chunked, as a WSGI server hands it on."""
    return client.post(
        "/sms",
        input_stream=io.BytesIO(body),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},  # gunicorn sets it for chunked
    )


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_a_chunked_body_over_the_limit_gets_413(client, app):
    app.config["TWILIO_VALIDATE"] = "false"  # what is cut off could not be signed anyway
    body = b"From=%2B15558880101&Body=hi&MessageSid=" + message_sid("big").encode()
    response = chunked(client, body + b"&Pad=" + b"x" * 400_000)
    assert response.status_code == 413
    assert set(counts(app).values()) == {0}


@pytest.mark.parametrize("signed", [URL + "/sms", URL + "/sms#rc=2&rp=all"])
def test_signatures_validate_with_connection_overrides_on_the_webhook_url(config, signed):
    app = create_app(config | {"PUBLIC_URL": URL + "#rc=2&rp=all"})
    form = CAPTURED | {"MessageSid": message_sid(signed)}
    headers = {"X-Twilio-Signature": sign(signed, form)}
    response = app.test_client().post("/sms", data=form, headers=headers)
    assert response.status_code == 200
    assert app.config["PUBLIC_URL"] == URL  # status callbacks are built on the base address
    Service.of(app).engine.dispose()
