"""Test sessions never meet real traffic (SPEC 9, issue 24): reminders, real SMS, invitations."""

from __future__ import annotations

import uuid

import pytest

from fake_twilio import (
    age,
    clock_fixture,  # noqa: F401 (a fixture)
    invite_fixture,  # noqa: F401 (a fixture)
    sending_config,  # noqa: F401 (a fixture)
    twilio_fixture,  # noqa: F401 (a fixture)
)
from service import Inbound, Service

TESTER = "+12025550177"  # a number someone used with `flask simulate --phone`
STUDIO = "studio:0123456789ab"  # a try page's number
FIRST = "Thanks for visiting! 8 quick questions. Reply STOP to opt out.\n\nWhat is your first name?"


def tried(app, phone: str, *bodies: str) -> list[str]:
    """Replies to messages on a test number (flask simulate, the try page)."""
    service = Service.of(app)
    return [
        service.receive(Inbound(phone, body, "ST" + uuid.uuid4().hex, test=True)) for body in bodies
    ]


@pytest.fixture
def remind(app):
    """Run `flask remind` with these arguments."""
    return lambda *args: app.test_cli_runner().invoke(args=["remind", *args])


@pytest.mark.parametrize("phone", [STUDIO, TESTER])
def test_reminders_never_go_to_test_sessions(app, remind, twilio, phone):
    tried(app, phone, "FEEDBACK", "Sam")
    age(app, phone, hours=2)  # idle, not expired
    result = remind("visit-feedback", "--after", "1h")
    assert result.exit_code == 0, result.output
    assert "Done: nothing to send." in result.output
    assert twilio.requests == []


def test_a_real_message_never_continues_a_test_session(app, sms, client):
    assert tried(app, TESTER, "FEEDBACK", "Sam")[1].startswith("How satisfied were you, Sam?")
    assert sms.send(TESTER, "hello") == FIRST  # as from a number with no session
    assert sms.send(TESTER, "Ann").startswith("How satisfied were you, Ann?")
    export = client.get(
        "/surveys/visit-feedback/export.csv",
        headers={"Authorization": "Bearer admin-secret-token"},
    ).get_data(as_text=True)
    assert "Ann" in export and "Sam" not in export  # the real answers reach the analyst
    assert "How satisfied were you, Sam?" in tried(app, TESTER, "Bob")[0]  # the test goes on


def test_a_test_session_never_makes_a_number_count_as_invited(app, invite, twilio):
    tried(app, TESTER, "FEEDBACK", "Sam")
    result = invite(TESTER, args=["-v"])
    assert result.exit_code == 0, result.output
    assert "Done: sent 1." in result.output
    assert [r.to for r in twilio.accepted()] == [TESTER]
