"""Conflicts between survey files (SPEC 1): what is served keeps serving, in every process."""

from __future__ import annotations

import pytest

from conftest import SMS, saved
from service import Service
from web.factory import create_app

LIVE = "Hello from Riverside Clinic"


@pytest.fixture
def draft(surveys_dir):
    """A copy of the clinic's survey made to draft a change; its name sorts first."""
    source = (surveys_dir / "clinic-follow-up.yaml").read_text()
    edited = "id: clinic-follow-up\n" + source.replace(LIVE, "DRAFT from the clinic")
    return lambda: saved(surveys_dir / "clinic copy.yaml", edited)


def started(app) -> SMS:
    """The SMS helper of an app whose service is running (schema checked, claims read)."""
    Service.of(app)
    return SMS(app.test_client())


def test_a_copy_does_not_take_over_the_live_survey(app, draft):
    sms = started(app)
    draft()
    assert sms.send("+15550001001", "CLINIC").startswith(LIVE)
    listing = app.test_cli_runner().invoke(args=["surveys", "list"])
    assert "clinic copy.yaml" in listing.output and "already used by" in listing.output


def test_a_process_started_later_serves_the_same_file(config, draft):
    first = create_app(config)
    started(first)  # serving before the copy exists: it records which file serves
    draft()
    later = create_app(config)  # a new worker sees both files at once
    try:
        assert started(later).send("+15550001002", "CLINIC").startswith(LIVE)
        assert started(first).send("+15550001003", "CLINIC").startswith(LIVE)
    finally:
        for app in (first, later):
            Service.of(app).engine.dispose()


def test_without_a_record_the_first_name_wins(config, draft):
    draft()  # both files there before anything was served, neither with sessions
    app = create_app(config)
    try:
        assert started(app).send("+15550001004", "CLINIC").startswith("DRAFT")
    finally:
        Service.of(app).engine.dispose()
