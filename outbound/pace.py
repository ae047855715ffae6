"""The pace of a run: at most N message segments a second, shared by every sending thread.

Twilio sends each sender's messages at its own pace (a long code one segment
a second, a toll-free number three, a short code a hundred) and queues the
rest; a queue hours long delivers at night. Handing messages over no faster
than the sender sends them keeps that queue empty.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from bot.segments import measure
from service import Clock


@lru_cache(maxsize=256)
def segments(body: str) -> int:
    """The segments one message is billed and paced as (SPEC section 8)."""
    return measure(body).segments


class Pace:
    """A token bucket that `rate` segments a second fill and that holds one message at most.

    Each message books the moment it may go, right after the one before it has
    had its segments' time, so idle time earns no burst; the waiting happens
    outside the lock, on the clock given, so a test's clock can stand in for time.
    """

    def __init__(self, rate: float, clock: Clock):
        self.interval = 1.0 / rate  # seconds one segment takes
        self.clock = clock
        self._lock = threading.Lock()
        self._free: float | None = None  # when the next message may go

    def take(self, body: str, stop: threading.Event) -> bool:
        """Wait until this message may go; False when the run stops first."""
        with self._lock:
            now = self.clock.monotonic()
            turn = now if self._free is None else max(now, self._free)
            self._free = turn + segments(body) * self.interval
        return turn <= now or self.clock.wait_until(turn, stop)
