"""Twilio's requests: the form parsed strictly and its X-Twilio-Signature checked."""

from __future__ import annotations

import base64
import hmac
import logging
from functools import lru_cache
from urllib.parse import unquote

from flask import abort, current_app, g, request
from twilio.request_validator import RequestValidator

from web.settings import validation_enabled

log = logging.getLogger("survey")

FORM_TYPE = "application/x-www-form-urlencoded"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"


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


def strict_form(raw: bytes) -> Form:
    """A urlencoded body read strictly: raw bytes and %-escapes UTF-8, never replaced (else 400)."""
    try:
        return parse_form(raw.decode("utf-8"))
    except UnicodeDecodeError:
        abort(400, "The form is not valid UTF-8.")


def twilio_form() -> Form:
    """The request's form, parsed strictly and verified as coming from Twilio (else 4xx)."""
    if "form" in g:
        return g.form
    content_type = request.environ.get("CONTENT_TYPE")  # as Twilio sends it, no parsing needed
    if content_type != FORM_TYPE and request.mimetype != FORM_TYPE:
        abort(415, "Expected a form (application/x-www-form-urlencoded), as Twilio sends.")
    form = read_form(request.get_data(cache=True))  # over MAX_CONTENT_LENGTH: 413 from Flask
    check_signature(form)
    g.form = form
    return form


def read_form(raw: bytes) -> Form:
    """A urlencoded body read strictly, with no NUL byte in it (else 400)."""
    form = strict_form(raw)
    if (b"\x00" in raw or b"%00" in raw) and any("\x00" in k + "".join(v) for k, v in form.items()):
        abort(400, "The form contains a NUL byte.")  # the byte check skips the loop nearly always
    return form


def check_signature(form: Form) -> None:
    """403 unless X-Twilio-Signature matches the URL Twilio called and the form."""
    config = current_app.config
    if not validation_enabled(config):
        return
    signature = request.headers.get("X-Twilio-Signature", "")
    url = public_url(config)
    if not signature:
        _refuse("Missing X-Twilio-Signature.", "no X-Twilio-Signature", url)
    if not signature_matches(config, url, form, signature):
        reason = "X-Twilio-Signature does not match the URL and form"
        if request.headers.get(SETTINGS_HEADER):  # a Webhooks Rule signs with a shared key
            reason += f" ({SETTINGS_HEADER} present: shared-key signing is not supported)"
        _refuse("Invalid X-Twilio-Signature.", reason, url)


def signature_matches(config, url: str, form: Form, signature: str) -> bool:
    """Whether `signature` is Twilio's for the form posted to `url` (or to it with the fragment)."""
    if not signature.isascii():  # never Twilio's (base64), and compare_digest raises on it
        return False
    token = config["TWILIO_AUTH_TOKEN"]
    return any(_signed(token, u, form, signature) for u in _signed_urls(config, url))


def _signed_urls(config, url: str) -> list[str]:
    """The URLs Twilio may have signed: as called, then with the webhook's fragment, if any.

    Twilio signs the URL without its fragment (connection overrides such as
    `#rc=2&rp=all`), as clients never send one; the second form is a fallback
    for an operator whose PUBLIC_URL holds the fragment, should Twilio sign it.
    """
    fragment = config.get("WEBHOOK_FRAGMENT")
    return [url, f"{url}#{fragment}"] if fragment else [url]


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
    return based_url(config, request.path, request.query_string.decode("latin-1")) or request.url


def based_url(config, path: str, query: str) -> str | None:
    """PUBLIC_URL plus `path` and `query`; None without PUBLIC_URL."""
    base = config.get("PUBLIC_URL")
    if not base:
        return None
    return base.rstrip("/") + path + (f"?{query}" if query else "")
