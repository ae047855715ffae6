"""Sending windows: each number's local hours, deferral, --wait, and the validity period."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime

import pytest

from bot.model import DEFAULT_SEND_WINDOW, parse_window
from conftest import saved
from fake_twilio import (
    Later,
    clock_fixture,  # noqa: F401 (a fixture)
    invite_fixture,  # noqa: F401 (a fixture)
    sending_config,  # noqa: F401 (a fixture)
    stored,
    twilio_fixture,  # noqa: F401 (a fixture)
)
from outbound.windows import Closed, Never, Open, Windows, verdict, zones_for
from storage.models import OutboundMessage, SurveySession

NEW_YORK = "+12025550101"  # Washington, DC: America/New_York
LOS_ANGELES = "+14155550100"  # San Francisco: America/Los_Angeles
SOUTH_DAKOTA = "+16055550100"  # area code 605 spans Mountain and Central time
TOLL_FREE = "+18005550100"  # libphonenumber gives it every zone of the +1 countries
TWO_ZONES = ("America/Denver", "America/North_Dakota/Center")


def utc(*args) -> datetime:
    """A moment in UTC."""
    return datetime(*args, tzinfo=UTC)


# -- a number's zones --------------------------------------------------------


UK = ("Europe/Guernsey", "Europe/Isle_of_Man", "Europe/Jersey", "Europe/London")


@pytest.mark.parametrize(
    ("phone", "zones"),
    [
        (NEW_YORK, ("America/New_York",)),
        (SOUTH_DAKOTA, TWO_ZONES),
        ("+442079460018", ("Europe/London",)),  # a country of one zone: that zone
        (TOLL_FREE, ()),  # the whole +1 list says nothing of where it rings
        # A UK mobile or freephone: all four zones of +44, which keep one clock.
        ("+447911123456", UK),
        ("+448005550100", UK),
        ("+34612345678", ()),  # a Spanish mobile: Madrid, or the Canaries an hour behind
        ("+79161234567", ()),  # a Russian mobile: anywhere from Kaliningrad to Kamchatka
        ("not a number", ()),
    ],
)
def test_a_numbers_zones_come_from_libphonenumber(phone, zones):
    assert zones_for(phone) == zones


def test_a_number_without_a_zone_of_its_own_gets_the_surveys():
    windows = Windows(DEFAULT_SEND_WINDOW, "America/Chicago")
    assert windows.zones(TOLL_FREE) == ("America/Chicago",)
    assert windows.zones(NEW_YORK) == ("America/New_York",)


def test_a_uk_mobile_waits_for_morning_in_london_not_in_the_surveys_zone():
    windows = Windows(DEFAULT_SEND_WINDOW, "America/Chicago")
    one_in_the_morning = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)  # 20:00 in Chicago
    found = windows.verdict("+447911123456", one_in_the_morning)
    assert isinstance(found, Closed)
    assert found.opens == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 08:00 in London


# -- when the window is open -------------------------------------------------

DAY = parse_window("08:00-21:00")


@pytest.mark.parametrize(
    ("zones", "now", "expected"),
    [
        # New York in winter is UTC-5: open from 13:00 to 02:00 UTC.
        (("America/New_York",), utc(2026, 3, 3, 12, 59, 59), Closed(utc(2026, 3, 3, 13), "")),
        (("America/New_York",), utc(2026, 3, 3, 13), Open(utc(2026, 3, 4, 2))),
        (("America/New_York",), utc(2026, 3, 4, 1, 59, 59), Open(utc(2026, 3, 4, 2))),
        # Less than a second left is no time for Twilio at all: shut.
        (
            ("America/New_York",),
            utc(2026, 3, 4, 1, 59, 59, 500000),
            Closed(utc(2026, 3, 4, 13), ""),
        ),
        (("America/New_York",), utc(2026, 3, 4, 2), Closed(utc(2026, 3, 4, 13), "")),
        # Over the change to summer time (Sunday 8 March 2026), 08:00 is 12:00 UTC.
        (("America/New_York",), utc(2026, 3, 8, 2), Closed(utc(2026, 3, 8, 12), "")),
        # Both zones of 605: from 08:00 in Denver to 21:00 in Central time.
        (TWO_ZONES, utc(2026, 3, 3, 14, 30), Closed(utc(2026, 3, 3, 15), "America/Denver")),
        (TWO_ZONES, utc(2026, 3, 3, 15), Open(utc(2026, 3, 4, 3))),
        (TWO_ZONES, utc(2026, 3, 4, 3), Closed(utc(2026, 3, 4, 15), "America/Denver")),
    ],
)
def test_the_window_holds_in_every_zone_of_the_number(zones, now, expected):
    found = verdict(DAY, zones, now)
    if isinstance(expected, Closed):
        assert found == Closed(expected.opens, expected.zone or zones[0])
    else:
        assert found == expected


def test_a_window_shorter_than_the_gap_between_zones_never_opens():
    assert verdict(parse_window("08:00-08:30"), TWO_ZONES, utc(2026, 3, 3, 12)) == Never(TWO_ZONES)
    assert isinstance(verdict(parse_window("08:00-09:30"), TWO_ZONES, utc(2026, 3, 3, 12)), Closed)


def test_any_time_is_open_without_asking_for_zones():
    windows = Windows(parse_window("00:00-24:00"), "UTC")
    assert windows.verdict(NEW_YORK, utc(2026, 3, 3, 3)) == Open(None)


def test_a_deferral_says_when_in_the_recipients_time_and_in_utc():
    closed = verdict(DAY, TWO_ZONES, utc(2026, 3, 3, 14, 30))
    assert closed.label() == "until Tue 08:00 America/Denver (15:00 UTC)"


# -- flask invite ------------------------------------------------------------


def test_numbers_outside_their_window_are_deferred_and_the_next_run_sends_them(
    app, invite, twilio, clock
):
    clock.set(utc(2026, 3, 3, 14, 30))  # 09:30 in New York, 08:30 in Chicago, 06:30 in LA
    result = invite(NEW_YORK, LOS_ANGELES, SOUTH_DAKOTA, TOLL_FREE)
    assert result.exit_code == 0, result.output
    assert "Sending 08:00-21:00 local time (no zone: America/Chicago)" in result.output
    assert "Done: sent 2, deferred 2." in result.output
    assert (
        "deferred: 1 until Tue 08:00 America/Denver (15:00 UTC),"
        " 1 until Tue 08:00 America/Los_Angeles (16:00 UTC)"
    ) in result.output
    assert "run the same command again once their window opens" in result.output
    assert sorted(r.to for r in twilio.accepted()) == [NEW_YORK, TOLL_FREE]
    # Not marked as invited: no session, no message.
    assert {s.phone for s in stored(app, SurveySession)} == {NEW_YORK, TOLL_FREE}
    assert {m.phone for m in stored(app, OutboundMessage)} == {NEW_YORK, TOLL_FREE}

    clock.set(utc(2026, 3, 3, 15))
    result = invite(NEW_YORK, LOS_ANGELES, SOUTH_DAKOTA, TOLL_FREE)
    assert "Done: sent 1, deferred 1, skipped 2." in result.output
    clock.set(utc(2026, 3, 3, 16))
    assert (
        "Done: sent 1, skipped 3." in invite(NEW_YORK, LOS_ANGELES, SOUTH_DAKOTA, TOLL_FREE).output
    )
    assert [r.to for r in twilio.accepted()][2:] == [SOUTH_DAKOTA, LOS_ANGELES]


@pytest.mark.parametrize(
    ("now", "validity"),
    [
        (utc(2026, 3, 3, 14, 59, 59), None),  # 07:59:59 in Denver: deferred
        (utc(2026, 3, 3, 15), 3 * 3600),  # 08:00 in Denver: the default 3 hours
        (utc(2026, 3, 4, 1), 2 * 3600),  # 19:00 in Central time: 2 hours left
        (utc(2026, 3, 4, 2, 59, 59), 1),  # 20:59:59: one second left
        (utc(2026, 3, 4, 3), None),  # 21:00 in Central time: deferred to the morning
    ],
)
def test_the_window_at_its_edges_for_a_number_in_two_zones(invite, twilio, clock, now, validity):
    clock.set(now)
    result = invite(SOUTH_DAKOTA)
    assert result.exit_code == 0, result.output
    assert [r.validity for r in twilio.accepted()] == ([] if validity is None else [validity])
    if validity is None:
        assert "Done: deferred 1." in result.output


def test_every_message_has_a_validity_period(invite, twilio):
    assert invite(NEW_YORK, args=["--validity", "30m"]).exit_code == 0  # noon: 9 hours left
    assert invite(LOS_ANGELES).exit_code == 0
    assert [r.validity for r in twilio.accepted()] == [1800, 3 * 3600]


def test_a_window_that_never_opens_is_reported_and_not_waited_for(invite, twilio, clock):
    result = invite(SOUTH_DAKOTA, NEW_YORK, args=["--window", "08:00-08:30", "--wait"])
    assert result.exit_code == 0, result.output
    assert (
        f"{SOUTH_DAKOTA}: skipped: its window never opens: 08:00-08:30 is never open at once"
        " in America/Denver and America/North_Dakota/Center"
    ) in result.output
    # New York's window opens tomorrow morning: that one is waited for, and sent.
    assert [r.to for r in twilio.accepted()] == [NEW_YORK]
    assert clock.now() == utc(2026, 3, 4, 13)
    assert "Done: sent 1, skipped 1." in result.output


def test_the_window_option_overrides_the_surveys(invite, twilio, clock):
    clock.set(utc(2026, 3, 3, 8))  # 03:00 in New York
    assert "Done: deferred 1." in invite(NEW_YORK).output
    result = invite(NEW_YORK, args=["--window", "00:00-24:00"])
    assert "Sending at any time" in result.output and "Done: sent 1." in result.output
    assert [r.validity for r in twilio.accepted()] == [3 * 3600]


def test_the_surveys_send_window_is_used(invite, twilio, clock, surveys_dir):
    path = surveys_dir / "visit-feedback.yaml"
    saved(path, 'send_window: "10:00-12:00"\n' + path.read_text())
    result = invite(NEW_YORK)  # noon: just closed
    assert "Done: deferred 1." in result.output
    assert "deferred: 1 until Wed 10:00 America/New_York (15:00 UTC)" in result.output


def test_wait_sends_each_number_when_its_window_opens(invite, twilio, clock):
    clock.set(utc(2026, 3, 3, 14, 30))
    result = invite(NEW_YORK, LOS_ANGELES, SOUTH_DAKOTA, args=["--wait"])
    assert result.exit_code == 0, result.output
    assert (
        "2 numbers waiting, the first until Tue 08:00 America/Denver (15:00 UTC)." in result.output
    )
    assert "1 number waiting until Tue 08:00 America/Los_Angeles (16:00 UTC)." in result.output
    assert "Done: sent 3." in result.output
    sent = {r.to: r for r in twilio.accepted()}
    assert [r.to for r in twilio.accepted()] == [NEW_YORK, SOUTH_DAKOTA, LOS_ANGELES]
    assert (sent[SOUTH_DAKOTA].at, sent[LOS_ANGELES].at) == (
        utc(2026, 3, 3, 15),
        utc(2026, 3, 3, 16),
    )


def test_ctrl_c_while_waiting_stops_cleanly(app, invite, twilio, clock):
    clock.set(utc(2026, 3, 3, 14, 30))
    clock.on_wait = lambda _clock, stop: os.kill(os.getpid(), signal.SIGINT)
    result = invite(NEW_YORK, LOS_ANGELES, args=["--wait"])
    assert result.exit_code == 130, result.output
    assert "Interrupted" in result.output
    assert "deferred: 1 until Tue 08:00 America/Los_Angeles" in result.output
    assert [r.to for r in twilio.accepted()] == [NEW_YORK]
    assert clock.now() == utc(2026, 3, 3, 14, 30)  # it never got to wait
    assert {s.phone for s in stored(app, SurveySession)} == {NEW_YORK}
    clock.on_wait = None
    clock.set(utc(2026, 3, 3, 16))
    assert "Done: sent 1, skipped 1." in invite(NEW_YORK, LOS_ANGELES).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "8-21"], 'must be two times like "08:00-21:00"'),
        (["--window", "21:00-08:00"], "must start before it ends"),
        (["--validity", "11h"], "use a duration from 1s to 10h (Twilio's limit), not '11h'"),
        (["--validity", "0s"], "use a duration from 1s to 10h"),
        (["--rate", "0"], "--rate"),
        (["--wait", "--dry-run"], "--wait sends when windows open; a dry run sends nothing."),
    ],
)
def test_bad_sending_options_are_refused_before_anything_is_sent(
    app, invite, twilio, args, message
):
    app.extensions["survey_service"].ready()  # the tables, to see that nothing is written
    result = invite(NEW_YORK, args=args)
    assert result.exit_code == 2
    assert message in result.output
    assert twilio.requests == [] and stored(app, SurveySession) == []


def test_a_dry_run_shows_who_would_be_deferred(invite, twilio, clock):
    clock.set(utc(2026, 3, 3, 14, 30))
    result = invite(NEW_YORK, LOS_ANGELES, args=["--dry-run", "-v"])
    assert "Done: would send 1, deferred 1." in result.output
    assert f"{LOS_ANGELES}: deferred: until Tue 08:00 America/Los_Angeles (16:00 UTC)" in (
        result.output
    )
    assert twilio.requests == []


def test_a_message_whose_window_closes_while_it_waits_its_turn_is_taken_back(
    app, invite, twilio, clock
):
    clock.set(utc(2026, 3, 4, 1, 59, 57))  # 20:59:57 in New York: three seconds left
    numbers = [f"+1202555{n:04d}" for n in range(301, 306)]
    result = invite(*numbers, args=["--rate", "1", "--wait", "--concurrency", "1"])
    assert result.exit_code == 0, result.output
    assert "2 numbers waiting, the first until Wed 08:00 America/New_York" in result.output
    assert "Done: sent 5." in result.output
    sent = twilio.accepted()
    assert [r.validity for r in sent[:3]] == [3, 2, 1]  # each cut to what is left of 21:00
    assert [r.at for r in sent[3:]] == [utc(2026, 3, 4, 13), utc(2026, 3, 4, 13, 0, 1)]
    # The two taken back left nothing behind: one session and one message per number.
    assert sorted(s.phone for s in stored(app, SurveySession)) == numbers
    assert len(stored(app, OutboundMessage)) == 5


def test_a_retry_gets_only_what_is_left_of_the_validity(invite, twilio, clock):
    clock.set(utc(2026, 3, 4, 1, 59, 58))  # 20:59:58 in New York: two seconds left
    twilio.script(NEW_YORK, Later(1.1), 429)  # Twilio answers 429 a second later
    assert "Done: sent 1." in invite(NEW_YORK).output
    assert [(r.status, r.validity) for r in twilio.requests] == [(429, 2), (201, 1)]
