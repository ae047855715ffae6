"""The app's settings: defaults, the environment, and what they mean for serving."""

from __future__ import annotations

import logging
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from storage.dbapi import POSTGRESQL, shown_url

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
    "SECRET_KEY",
    "TWILIO_API_URL",
)
TWILIO_API_URL = "https://api.twilio.com"
FORM_LIMIT = 256 * 1024  # bytes of one request's body: Twilio's forms are far smaller
OFF = ("false", "0", "no", "off")


class RefusedToServe(RuntimeError):
    """The settings are not safe for serving production traffic."""


class BadSetting(ValueError):
    """A setting that cannot mean anything: the app is not made (one line, exit 1)."""


def configure(app: Flask, test_config: dict | None) -> None:
    """Defaults, then the environment (or the tests' dict)."""
    app.config.from_mapping(
        DATABASE_URL="sqlite:///" + os.path.join(app.instance_path, "survey.sqlite3"),
        SURVEYS_DIR=os.path.join(os.path.dirname(app.root_path), "surveys"),
        TWILIO_API_URL=TWILIO_API_URL,
        MAX_CONTENT_LENGTH=FORM_LIMIT,
    )
    if test_config is None:
        app.config.update({k: os.environ[k] for k in SETTINGS if os.environ.get(k)})
    else:
        app.config.update(test_config)
    _check_database_url(app.config["DATABASE_URL"])
    _split_fragment(app.config)
    _configure_proxies(app)


DATABASES = ("sqlite:", *POSTGRESQL)  # what DATABASE_URL may start with


def _check_database_url(url: str) -> None:
    """Refuse a DATABASE_URL of a kind the bot cannot use, before any driver is looked for."""
    if not str(url).startswith(DATABASES):
        raise BadSetting(
            f"DATABASE_URL must be sqlite:///PATH or postgresql://USER@HOST/DATABASE, "
            f"not {shown_url(str(url))!r}."
        )


def _split_fragment(config) -> None:
    """Keep a fragment copied into PUBLIC_URL (`#rc=2&rp=all`) apart from the base address.

    Twilio reads connection overrides from the webhook URL's fragment; an HTTP
    client never sends a fragment, so the URL a request arrives at, and the
    base status callbacks are built on, have none.
    """
    base, _, fragment = str(config.get("PUBLIC_URL") or "").partition("#")
    if fragment:
        config["PUBLIC_URL"], config["WEBHOOK_FRAGMENT"] = base, fragment


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
        raise BadSetting(f"TRUSTED_PROXIES must be a number of proxies, not {setting!r}.")
    hops = int(setting)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def warn_if_unverified(app: Flask) -> None:
    """Say loudly, when serving, that webhook requests are not verified."""
    if validation_enabled(app.config):
        return
    if app.config.get("TWILIO_AUTH_TOKEN"):
        log.warning("TWILIO_VALIDATE=false: Twilio signatures are NOT checked.")
    else:
        log.warning(
            "No TWILIO_AUTH_TOKEN: webhook requests are NOT verified; anyone can post answers."
        )


def unverified_refusal(app: Flask) -> str | None:
    """Why production traffic must not be served unverified, or None (SPEC 3).

    Refused unless there is a token, the app runs in debug (development) or tests,
    or TWILIO_VALIDATE=false says unverified on purpose.
    """
    config = app.config
    if config.get("TWILIO_AUTH_TOKEN") or app.debug or app.testing or _validation_off(config):
        return None
    return (
        "Refusing to serve: TWILIO_AUTH_TOKEN is not set, so forged requests could not be "
        "told from Twilio's. Set TWILIO_AUTH_TOKEN, or run with --debug for local trials, "
        "or set TWILIO_VALIDATE=false to serve unverified on purpose."
    )


def refuse_unsafe_serving(app: Flask) -> None:
    """Refuse to serve production traffic unverified unless TWILIO_VALIDATE=false is explicit."""
    refusal = unverified_refusal(app)
    if refusal:
        raise RefusedToServe(refusal)


MIN_ADMIN_TOKEN = 16  # characters: a shorter token could be guessed (SPEC 9)


def short_token_refusal(token: str | None) -> str | None:
    """Why an ADMIN_TOKEN must not serve (shorter than MIN_ADMIN_TOKEN), or None."""
    if not token or len(token) >= MIN_ADMIN_TOKEN:
        return None
    return (
        f"Refusing to serve: ADMIN_TOKEN has {len(token)} characters, fewer than "
        f"{MIN_ADMIN_TOKEN}; set a long random one "
        "(python -c 'import secrets; print(secrets.token_urlsafe(24))')."
    )
