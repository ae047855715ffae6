"""--rate: at most N message segments a second, across every sending thread."""

from __future__ import annotations

import threading
import time

import pytest

from bot.cost import measure
from conftest import saved
from fake_twilio import (
    FakeClock,
    clock_fixture,  # noqa: F401 (a fixture)
    invite_fixture,  # noqa: F401 (a fixture)
    sending_config,  # noqa: F401 (a fixture)
    twilio_fixture,  # noqa: F401 (a fixture)
)
from outbound.pace import Pace
from service import Clock

ONE, TWO, THREE = "x" * 160, "x" * 161, "ж" * 135  # 1, 2 and 3 segments (GSM-7, GSM-7, UCS-2)


def turns(pace: Pace, clock: FakeClock, bodies: list[str]) -> list[float]:
    """When each message may go, taken one after the other."""
    found = []
    for body in bodies:
        assert pace.take(body, threading.Event())
        found.append(clock.monotonic())
    return found


@pytest.mark.parametrize(
    ("rate", "bodies", "expected"),
    [
        (1, [ONE, ONE, ONE], [0, 1, 2]),
        (1, [TWO, ONE, THREE, ONE], [0, 2, 3, 6]),  # a message's turn waits for all its segments
        (3, [ONE] * 4, [0, 1 / 3, 2 / 3, 1]),  # a toll-free number
        (0.5, [ONE, ONE], [0, 2]),
    ],
)
def test_each_message_waits_for_its_segments_turn(rate, bodies, expected):
    clock = FakeClock()
    assert turns(Pace(rate, clock), clock, bodies) == pytest.approx(expected)


def test_idle_time_earns_no_burst():
    clock = FakeClock()
    pace = Pace(1, clock)
    turns(pace, clock, [ONE])
    clock.elapsed = 10.0  # ten quiet seconds
    assert turns(pace, clock, [ONE, ONE]) == [10, 11]


def test_threads_share_one_pace():
    clock, done = FakeClock(), []
    pace = Pace(10, clock)

    def send(n: int) -> None:
        for _ in range(n):
            pace.take(ONE, threading.Event())
            done.append(clock.monotonic())

    threads = [threading.Thread(target=send, args=(25,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(done) == 200 and max(done) == pytest.approx(19.9)  # 200 segments at 10 a second


class Watched(Clock):
    """The system's clock, noting each wait: (seconds asked for, seconds past its deadline)."""

    def __init__(self):
        self.waits: list[tuple[float, float]] = []

    def wait_until(self, deadline: float, stop: threading.Event) -> bool:
        asked = deadline - time.monotonic()
        done = super().wait_until(deadline, stop)
        self.waits.append((asked, time.monotonic() - deadline))
        return done


def test_on_the_real_clock_it_really_waits():
    clock, went = Watched(), []
    pace, started = Pace(500, clock), time.monotonic()
    for _ in range(50):
        assert pace.take(ONE, threading.Event())
        went.append(time.monotonic() - started)
    # Never ahead of 500 a second however busy the machine: the k-th message at 2k ms or later,
    assert all(at >= k * 0.002 - 1e-6 for k, at in enumerate(went))
    # each wait asked for one message's turn at most, and was kept to its end.
    assert all(asked <= 0.002 + 1e-6 and late >= 0 for asked, late in clock.waits)


def test_a_stopped_run_stops_waiting():
    clock, stop = Watched(), threading.Event()
    pace = Pace(0.01, clock)  # one segment every 100 s
    assert pace.take(ONE, stop)  # the first goes at once
    stop.set()
    assert not pace.take(ONE, stop)
    [(asked, late)] = clock.waits
    assert asked > 99 and late < 0  # its 100 s wait given up before the turn came


LONG_INTRO = """\
title: Pace
keywords: [PACE]
send_window: "00:00-24:00"
intro: {intro}
questions:
  - {{id: name, type: text, text: "Your name?"}}
"""


@pytest.mark.parametrize(("rate", "segments"), [(1, 1), (3, 2), (100, 3)])
def test_a_run_keeps_to_the_rate_in_segments(invite, twilio, clock, surveys_dir, rate, segments):
    intro = {1: "Hi!", 2: "Hello " * 30, 3: "Привет! " * 18}[segments]
    saved(surveys_dir / "pace.yaml", LONG_INTRO.format(intro=intro))
    numbers = [f"+1202555{n:04d}" for n in range(200, 230)]
    result = invite(*numbers, survey="pace", args=["--rate", str(rate), "--concurrency", "8"])
    assert result.exit_code == 0, result.output
    assert "at most" in result.output and "Done: sent 30." in result.output
    sent = sorted(twilio.accepted(), key=lambda r: r.at)
    assert {measure(r.body).segments for r in sent} == {segments}
    seconds = [(r.at - clock.start).total_seconds() for r in sent]  # since the run began
    # Never ahead of the pace, at any point of the run...
    for k, at in enumerate(seconds):
        assert k * segments <= rate * at + 1e-6, (k, at)
    # ...and not behind it either: the whole run within 3% of the rate.
    assert (len(sent) - 1) * segments / seconds[-1] == pytest.approx(rate, rel=0.03)
