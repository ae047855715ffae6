"""Only Twilio's signed requests count; odd input gets a clear 4xx and changes nothing."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from conftest import TOKEN, reply_text
from live import PUBLIC_URL, Sender, gunicorn, row_counts, start_gunicorn, stop
from web.factory import create_app
from web.settings import RefusedToServe, refuse_unsafe_serving, warn_if_unverified
from web.twilio_signature import Form, parse_form, signature_of
from web.twiml import to_twiml

PHONE = "+15558880001"
FORM_TYPE = "application/x-www-form-urlencoded"
MESSAGE = {
    "From": PHONE,
    "To": "+15550001111",
    "Body": "hello",
    "MessageSid": "SM" + "f" * 32,
    "NumMedia": "0",
}
STATUS = {"MessageSid": "SM" + "5" * 32, "MessageStatus": "delivered", "To": PHONE}


def sign(url: str, form: dict, token: str = TOKEN) -> str:
    """Twilio's signature of `form` posted to `url`."""
    return RequestValidator(token).compute_signature(url, form)


def post(client, path: str, form: dict, signature: str | None, **headers):
    """POST a form, with X-Twilio-Signature unless `signature` is None."""
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(path, data=form, headers=headers)


def stored(app) -> dict[str, int]:
    """The rows that messages write (on a schema created first, if need be)."""
    return row_counts(app.extensions["survey_service"].ready().engine)


# -- signatures ----------------------------------------------------------------

URL = PUBLIC_URL + "/sms"
FORGERIES = {
    "no signature": (MESSAGE, None),
    "empty signature": (MESSAGE, ""),
    "garbage": (MESSAGE, "bm90IGEgc2lnbmF0dXJl"),
    "another token": (MESSAGE, sign(URL, MESSAGE, token="not-the-token")),
    "another host": (MESSAGE, sign("https://evil.example.org/sms", MESSAGE)),
    "http, not https": (MESSAGE, sign("http://survey.example.org/sms", MESSAGE)),
    "another path": (MESSAGE, sign(PUBLIC_URL + "/sms/status", MESSAGE)),
    "replayed, body changed": (MESSAGE | {"Body": "STOP"}, sign(URL, MESSAGE)),
    "replayed, sender changed": (MESSAGE | {"From": "+15550000000"}, sign(URL, MESSAGE)),
    "replayed, field added": (MESSAGE | {"Extra": "1"}, sign(URL, MESSAGE)),
    "replayed, field removed": (
        {k: v for k, v in MESSAGE.items() if k != "To"},
        sign(URL, MESSAGE),
    ),
}


def test_a_signed_message_is_answered(client, app):
    response = post(client, "/sms", MESSAGE, sign(URL, MESSAGE))
    assert response.status_code == 200
    assert "Thanks for visiting" in reply_text(response.get_data(as_text=True))
    assert stored(app)["inbound_message"] == 1


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
@pytest.mark.parametrize("form, signature", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_messages_are_refused_and_logged(client, app, caplog, form, signature):
    response = post(client, "/sms", form, signature)
    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.get_data(as_text=True)
    assert stored(app) == dict.fromkeys(stored(app), 0)
    assert f"403 for {URL} from 127.0.0.1: " in caplog.text


@pytest.mark.parametrize("signed", [True, False])
def test_status_callbacks_are_verified_too(client, signed):
    url = PUBLIC_URL + "/sms/status"
    signature = sign(url, STATUS) if signed else sign(url, STATUS | {"MessageStatus": "failed"})
    assert post(client, "/sms/status", STATUS, signature).status_code == (204 if signed else 403)


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_shared_key_signatures_are_refused_with_the_reason(client, caplog):
    headers = {"X-Twilio-Webhooks-Signature-Settings": "key=KS1,algorithm=HMAC_SHA256"}
    assert post(client, "/sms", MESSAGE, "c2hhMjU2", **headers).status_code == 403
    assert "shared-key signing is not supported" in caplog.text


# -- the URL Twilio called -------------------------------------------------------


def test_the_query_string_is_part_of_the_signed_url(client):
    path = "/sms?survey=visit-feedback&tag=a%20b"
    assert post(client, path, MESSAGE, sign(URL, MESSAGE)).status_code == 403
    assert post(client, path, MESSAGE, sign(PUBLIC_URL + path, MESSAGE)).status_code == 200


@pytest.mark.parametrize("base", ["https://survey.example.org/", "https://example.org/bot"])
def test_public_url_is_a_base_for_the_path(make_client, base):
    client = make_client(PUBLIC_URL=base)
    signature = sign(base.rstrip("/") + "/sms", MESSAGE)
    assert post(client, "/sms", MESSAGE, signature).status_code == 200


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "survey.example.org"}
INTERNAL = "http://localhost/sms"  # what the test client's requests look like inside


def test_without_public_url_the_request_url_is_checked(make_client):
    client = make_client(PUBLIC_URL=None)
    assert post(client, "/sms", MESSAGE, sign(INTERNAL, MESSAGE)).status_code == 200


def test_forwarded_headers_are_ignored_unless_proxies_are_trusted(make_client):
    client = make_client(PUBLIC_URL=None)
    assert post(client, "/sms", MESSAGE, sign(URL, MESSAGE), **FORWARDED).status_code == 403
    other = MESSAGE | {"MessageSid": "SM" + "0" * 32}
    assert post(client, "/sms", other, sign(INTERNAL, other), **FORWARDED).status_code == 200


def test_trusted_proxies_give_the_url_twilio_called(make_client):
    client = make_client(PUBLIC_URL=None, TRUSTED_PROXIES="1")
    assert post(client, "/sms", MESSAGE, sign(INTERNAL, MESSAGE), **FORWARDED).status_code == 403
    assert post(client, "/sms", MESSAGE, sign(URL, MESSAGE), **FORWARDED).status_code == 200


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_trusted_proxies_must_be_a_number(make_client):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        make_client(TRUSTED_PROXIES="yes")


# -- checking turned off -----------------------------------------------------------


@pytest.mark.parametrize(
    "changes, warning",
    [
        ({"TWILIO_VALIDATE": "false"}, "TWILIO_VALIDATE=false: Twilio signatures are NOT checked"),
        ({"TWILIO_AUTH_TOKEN": None}, "No TWILIO_AUTH_TOKEN: webhook requests are NOT verified"),
    ],
)
def test_unverified_serving_says_so_loudly(make_client, caplog, changes, warning):
    client = make_client(**changes)
    assert warning not in caplog.text  # creating the app (a command) says nothing
    warn_if_unverified(client.application)  # serving it does
    assert warning in caplog.text
    assert post(client, "/sms", MESSAGE, None).status_code == 200


@pytest.fixture
def sqlite_settings(tmp_path, surveys_dir):
    """Server settings without a token, on a fresh SQLite file."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "SURVEYS_DIR": str(surveys_dir),
    }


@pytest.mark.parametrize(
    "changes, refused",
    [
        ({}, True),
        ({"TWILIO_VALIDATE": "true"}, True),
        ({"TWILIO_VALIDATE": "false"}, False),
        ({"DEBUG": True}, False),
        ({"TWILIO_AUTH_TOKEN": TOKEN}, False),
    ],
)
def test_only_development_or_an_explicit_choice_serves_unverified(
    sqlite_settings, changes, refused
):
    app = create_app(sqlite_settings | changes)  # not TESTING: as a server would run it
    if refused:
        with pytest.raises(RefusedToServe, match="Refusing to serve"):
            refuse_unsafe_serving(app)
    else:
        refuse_unsafe_serving(app)


def test_production_server_refuses_to_start_without_a_token(sqlite_settings, tmp_path):
    log = tmp_path / "refused.log"
    process = start_gunicorn(sqlite_settings, log, workers=1)
    try:
        assert process.wait(timeout=60) != 0
    finally:
        stop(process)
    assert "Refusing to serve: TWILIO_AUTH_TOKEN is not set" in log.read_text()


def test_production_server_serves_unverified_when_told_to(sqlite_settings, tmp_path):
    settings = sqlite_settings | {"TWILIO_VALIDATE": "false"}
    with gunicorn(settings, tmp_path, workers=1) as server:
        reply = Sender(server.port, token="not-the-token").send(PHONE, "hello")
        assert reply.status == 200 and "Thanks for visiting" in reply.text
    assert "webhook requests are NOT verified" in server.log.read_text()
    assert "/studio/" in server.log.read_text()  # start-up says where the studio is


def test_production_server_logs_refused_signatures(sqlite_settings, tmp_path):
    settings = sqlite_settings | {"TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC_URL}
    with gunicorn(settings, tmp_path, workers=1) as server:
        sender = Sender(server.port, token="not-the-token")
        assert sender.post("/sms", MESSAGE)[0] == 403
    assert f"403 for {URL} from 127.0.0.1: X-Twilio-Signature does not match" in (
        server.log.read_text()
    )


# -- bad input -------------------------------------------------------------------


def encoded(**changes) -> bytes:
    """MESSAGE form-encoded, with fields changed (None removes one)."""
    form = {k: v for k, v in (MESSAGE | changes).items() if v is not None}
    return urlencode(form).encode()


BAD_INPUT = {
    "empty form": (b"", FORM_TYPE, 400),
    "no content type": (encoded(), None, 415),
    "multipart": (b"--b\r\n\r\n--b--\r\n", "multipart/form-data; boundary=b", 415),
    "json": (b'{"From": "+15558880001"}', "application/json", 415),
    "plain text": (encoded(), "text/plain", 415),
    "missing From": (encoded(From=None), FORM_TYPE, 400),
    "blank From": (encoded(From="  "), FORM_TYPE, 400),
    "missing MessageSid": (encoded(MessageSid=None), FORM_TYPE, 400),
    "Body over 1600": (encoded(Body="x" * 1601), FORM_TYPE, 400),
    "From over 256": (encoded(From="1" * 257), FORM_TYPE, 400),
    "MessageSid over 64": (encoded(MessageSid="S" * 65), FORM_TYPE, 400),
    "NUL in Body": (encoded(Body="a\x00b"), FORM_TYPE, 400),
    "NUL in a name": (encoded() + b"&X%00=1", FORM_TYPE, 400),
    "latin-1 escape": (encoded(Body=None) + b"&Body=caf%E9", FORM_TYPE, 400),
    "latin-1 byte": (encoded(Body=None) + b"&Body=caf\xe9", FORM_TYPE, 400),
    "escaped surrogate": (encoded(Body=None) + b"&Body=%ED%A0%80", FORM_TYPE, 400),
    "cut UTF-8": (encoded(Body=None) + b"&Body=%E2%82", FORM_TYPE, 400),
    "megabytes": (encoded(Body="x" * 2_000_000), FORM_TYPE, 413),
}


def post_raw(client, path: str, body: bytes, content_type: str | None):
    """POST raw bytes, signed as Twilio would have signed the form they hold."""
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    headers = {"X-Twilio-Signature": sign(PUBLIC_URL + path, form)}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.post(path, data=body, headers=headers)


@pytest.mark.parametrize("body, content_type, status", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(client, app, body, content_type, status):
    response = post_raw(client, "/sms", body, content_type)
    assert response.status_code == status
    assert response.mimetype == "text/plain" and response.get_data(as_text=True).strip()
    assert stored(app) == dict.fromkeys(stored(app), 0)


@pytest.mark.parametrize(
    "body",
    [
        encoded(Body="x" * 1600),
        encoded(Body="Ça va 👍"),
        encoded(Body=None) + "&Body=Ça va".encode(),  # raw UTF-8, not escaped
        encoded(Body=None),
    ],
)
def test_edge_cases_of_valid_input_are_answered(client, app, body):
    response = post_raw(client, "/sms", body, FORM_TYPE + "; charset=utf-8")
    assert response.status_code == 200
    assert stored(app)["inbound_message"] == 1


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_not_allowed(client, method):
    assert client.open("/sms", method=method).status_code == 405


@pytest.mark.parametrize(
    "sender", ["whatsapp:+15551234567", "12345", "ACMEBANK", "messenger:1234567890"]
)
def test_senders_that_are_not_phone_numbers_are_valid(sms, app, sender):
    assert "Thanks for visiting" in sms.send(sender, "hello")
    assert "How satisfied were you, Ann?" in sms.send(sender, "Ann")
    assert stored(app) == {"inbound_message": 2, "answer": 1, "survey_session": 1}


# -- anything at all -------------------------------------------------------------

FRESH = "<this example's own number>"  # replaced by a number no earlier example used
NUMBERS = itertools.count()
PHONES = st.sampled_from([FRESH] * 4 + ["+15558880001", "whatsapp:+15558880002", "ACME"])
WORDS = st.sampled_from(
    ["", " ", "STOP", "START", "HELP", "BACK", "SKIP", "RESTART", "yes", "FEEDBACK", "1", "2,3"]
    + ["-1", "12.5", "today", "11/27", "9" * 5000, "\x00", "２️⃣", "é", "{{ 7 * 7 }}", "%ff"]
)
REPLIES = WORDS | st.text(max_size=40)
TEXTS = REPLIES | st.text(min_size=1590, max_size=1610)
SIDS = st.sampled_from([f"SM{digit * 32}" for digit in "123"]) | st.uuids().map("SM{0.hex}".format)
OPTIONAL = {
    "NumMedia": st.sampled_from(["0", "1", "x", "-5", "", "9" * 5000]),
    "MessageStatus": WORDS,
    "ErrorCode": st.sampled_from(["", "30003", "x"]),
    "To": PHONES,
}
TWILIO_FORMS = st.fixed_dictionaries(
    {"From": PHONES, "MessageSid": SIDS, "Body": REPLIES}, optional=OPTIONAL
)
ODD_FORMS = st.fixed_dictionaries(
    {"From": TEXTS, "MessageSid": SIDS | st.text(max_size=70), "Body": TEXTS}, optional=OPTIONAL
) | st.dictionaries(st.sampled_from(["From", "MessageSid", "SmsSid"]) | st.text(), TEXTS)
SPOILERS = [b"&Body=%ff", b"%", b"&&==&", b"&a=%00", b"\xff\xfe", b"&x=%E2%82"]
SPOILERS += [b"&Pad=" + b"x" * 300_000]
CONTENT_TYPES = st.sampled_from(
    [FORM_TYPE + "; charset=utf-8", "multipart/form-data; boundary=b", "text/plain", None]
) | st.from_regex(r"[a-z/+.;= -]{0,30}", fullmatch=True)


@dataclass(frozen=True)
class Request:
    """A request as Twilio, a forger or a broken client might send it."""

    path: str
    form: dict[str, str]
    raw: bytes | None  # a body that is not the form at all
    spoiler: bytes  # bytes appended to the encoded form
    signature: str | None  # "valid", None (no header) or a wrong one
    content_type: str | None

    def build(self, phone: str) -> tuple[bytes, dict[str, str]]:
        """The body and headers, with `phone` as this example's own number."""
        form = {k: phone if v == FRESH else v for k, v in self.form.items()}
        body = (self.raw or urlencode(form).encode()) + self.spoiler
        headers = {"X-Twilio-Signature": sign(PUBLIC_URL + self.path, form)}
        if self.signature != "valid":
            headers = {} if self.signature is None else {"X-Twilio-Signature": self.signature}
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        return body, headers


@st.composite
def requests(draw) -> Request:
    """Mostly what Twilio sends; one in three goes wrong in one or more ways."""
    odd = draw(st.sampled_from([False, False, True]))

    def maybe(strategy, usual):
        """`usual`, or in an odd request perhaps a draw from `strategy`."""
        return draw(strategy) if odd and draw(st.booleans()) else usual

    return Request(
        path=draw(st.sampled_from(["/sms"] * 6 + ["/sms/status", "/sms?survey=x"])),
        form=maybe(ODD_FORMS, draw(TWILIO_FORMS)),
        raw=maybe(st.binary(max_size=200), None),
        spoiler=maybe(st.sampled_from(SPOILERS), b""),
        signature=maybe(st.sampled_from([None, "x"]), "valid"),
        content_type=maybe(CONTENT_TYPES, FORM_TYPE),
    )


# Reading a request is the same on both databases; storing it is where they differ,
# and a PostgreSQL example costs three times a SQLite one (the suite's time).
EXAMPLES = {"sqlite": 1000, "postgresql": 300}


def test_no_request_breaks_the_server_or_stores_half(client, app, database_url):
    examples = EXAMPLES[database_url.partition(":")[0].partition("+")[0]]

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(conversation=st.lists(requests(), min_size=1, max_size=4))
    def check(conversation):
        no_request_breaks(client, app, conversation)

    check()


def no_request_breaks(client, app, conversation) -> None:
    """One conversation: never a 5xx, and each message stored whole or not at all."""
    phone = f"+1666{next(NUMBERS):07d}"
    for request in conversation:
        body, headers = request.build(phone)
        before = stored(app)
        response = client.post(request.path, data=body, headers=headers)
        after = stored(app)
        event(f"{request.path} {response.status_code}")
        assert response.status_code < 500, response.get_data(as_text=True)
        if response.status_code == 200 and request.path.partition("?")[0] == "/sms":
            reply_text(response.get_data(as_text=True))  # well-formed TwiML
            assert after["inbound_message"] - before["inbound_message"] in (0, 1)
        else:  # refused, or a status callback (which touches none of these tables)
            assert after == before


DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
TWIML_CASES = {
    "no reply": (None, "<Response />"),
    "an empty reply": ("", "<Response />"),
    "markup": ('1 < 2 & "3" > ]]>', '<Response><Message>1 &lt; 2 &amp; "3" &gt; ]]&gt;</Message>'
     "</Response>"),
    "what XML cannot hold": ("a\x00b\x0bc\x1fd\ud800e\ufffef\uffffg",
     "<Response><Message>abcdefg</Message></Response>"),
    "its edges, kept": ("\t\n \ud7ff\ue000\ufffd\U00010000 \U0010ffff",
     "<Response><Message>\t\n \ud7ff\ue000\ufffd\U00010000 \U0010ffff</Message></Response>"),
    "nothing XML can hold": ("\x00\x08", "<Response><Message /></Response>"),
}  # fmt: skip


@pytest.mark.parametrize(("reply", "twiml"), TWIML_CASES.values(), ids=TWIML_CASES.keys())
def test_twiml_written_out(reply, twiml):
    assert to_twiml(reply) == DECLARATION + twiml


def xml_char(char: str) -> bool:
    """Whether XML 1.0 can hold `char` at all: its `Char` production (section 2.2), written out."""
    code = ord(char)
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


@settings(max_examples=2000, deadline=None)
@given(reply=st.one_of(st.none(), st.text(), st.text(alphabet="<>&\"'\r\n\t]\x00\ud800x")))
def test_twiml_is_byte_for_byte_what_twilio_builds(reply):
    kept = "".join(char for char in reply or "" if xml_char(char))
    response = MessagingResponse()
    if reply:
        response.message(kept)
    twiml = to_twiml(reply)
    assert twiml == str(response)
    # What Twilio reads back: the reply less what XML cannot hold (its line ends made \n).
    assert reply_text(twiml) == (kept.replace("\r\n", "\n").replace("\r", "\n") or None)


@settings(max_examples=1000, deadline=None)
@given(
    url=st.text(),
    pairs=st.lists(st.tuples(st.sampled_from(["Body", "From", "b", "Z", ""]), st.text())),
)
def test_the_signature_is_computed_as_twilio_computes_it(url, pairs):
    form = Form()
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    expected = RequestValidator(TOKEN).compute_signature(url, form)
    assert signature_of(TOKEN.encode(), url, form) == expected


@settings(max_examples=2000, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            st.sampled_from(["&", "=", "+", "%", "%2", "%zz", "%C3%A9", "%FF", "%00", "&&", "=="]),
            st.text(max_size=5),
            st.text(max_size=5).map(quote),
        )
    )
)
def test_the_form_is_read_as_parse_qsl_reads_it(parts):
    text = "".join(parts)
    try:
        expected = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            parse_form(text)
        return
    grouped = {}
    for name, value in expected:
        grouped.setdefault(name, []).append(value)
    assert parse_form(text) == grouped
