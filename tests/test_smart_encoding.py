"""`smart_encoding: true`: every message sent uses GSM-7 look-alikes, answers piped in too."""

from __future__ import annotations

import pytest
from test_cost import SMART

from conftest import survey_folder
from fake_twilio import (
    clock_fixture,  # noqa: F401 (a fixture)
    invite_fixture,  # noqa: F401 (a fixture)
    sending_config,  # noqa: F401 (a fixture)
    twilio_fixture,  # noqa: F401 (a fixture)
)

PHONE = "+15551230077"


@pytest.fixture
def surveys_dir(tmp_path):
    """A folder with the smart-encoding survey and the same survey without it."""
    plain = SMART.replace("id: smart", "id: plain").replace("SMART", "PLAIN")
    plain = plain.replace("smart_encoding: true\n", "")
    return survey_folder(tmp_path, smart=SMART, plain=plain)


def test_replies_use_gsm7_look_alikes_when_the_survey_asks(sms):
    assert sms.send(PHONE, "SMART") == "What's your name - first name only..."
    assert sms.send(PHONE, "Jo—Ann") == '"Jo-Ann", is that right?'


def test_replies_keep_the_authors_characters_otherwise(sms):
    assert sms.send(PHONE, "PLAIN") == "What’s your name — first name only…"
    assert sms.send(PHONE, "Jo—Ann").startswith("“Jo—Ann”, is that right?")


def test_a_dry_run_shows_the_invitation_as_it_would_be_sent(app, invite, twilio):
    app.config["TWILIO_ACCOUNT_SID"] = None  # a dry run needs no credentials
    result = invite("+12025550177", args=["--dry-run"], survey="smart")
    assert result.exit_code == 0, result.output
    assert "What's your name - first name only..." in result.output
    assert twilio.requests == []
