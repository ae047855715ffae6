"""Sending windows: when a message may reach a number, in its local time (SPEC section 10).

A number's time zones come from libphonenumber; the window must hold in every
one of them at once. A number libphonenumber places nowhere more precise than
its whole country (toll-free and other non-geographic numbers, in a country of
several zones) has no zone of its own and gets the survey's `timezone`.
Everything here is pure: the moment to judge is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as number_zones

from bot.model import DAY, SendWindow

HORIZON = 7  # days ahead searched for an opening: a window shut all week "never opens"
MIN_LEFT = timedelta(seconds=1)  # Twilio's shortest ValidityPeriod: less time left is closed

Span = tuple[datetime, datetime]  # from, until (excluded), in UTC


class Open(NamedTuple):
    """The window is open now, until `closes` (None: it never closes)."""

    closes: datetime | None


class Closed(NamedTuple):
    """The window is shut now and opens at `opens`, the start of the day in `zone`."""

    opens: datetime
    zone: str

    def label(self) -> str:
        """When it opens, in the recipient's local time and in UTC."""
        local = self.opens.astimezone(ZoneInfo(self.zone))
        return f"until {local:%a %H:%M} {self.zone} ({self.opens.astimezone(UTC):%H:%M} UTC)"


class Never(NamedTuple):
    """The window is never open in all the number's zones at once."""

    zones: tuple[str, ...]


Verdict = Open | Closed | Never


def zones_for(phone: str) -> tuple[str, ...]:
    """The E.164 number's own time zones from libphonenumber; () when it has none."""
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return ()
    zones = tuple(number_zones.time_zones_for_number(number))
    country = number_zones.TIMEZONE_DATA.get(str(number.country_code), ())
    if number_zones.UNKNOWN_TIMEZONE in zones:
        return ()
    if len(country) > 1 and zones == tuple(country) and not _one_clock(zones):
        return ()  # the country's whole list says only which country, not where
    return zones


@lru_cache(maxsize=64)
def _one_clock(zones: tuple[str, ...]) -> bool:
    """Whether the zones show the same time on every day of this year and the next.

    A UK mobile gets all four zones of +44 (London, Jersey, Guernsey, the Isle
    of Man): they keep one clock, so the number's zone is known after all.
    """
    start = datetime(datetime.now(UTC).year, 1, 1, 12, tzinfo=UTC)
    offsets = (
        {moment.astimezone(ZoneInfo(zone)).utcoffset() for zone in zones}
        for moment in (start + timedelta(days=n) for n in range(731))
    )
    return all(len(found) == 1 for found in offsets)


@dataclass
class Windows:
    """One run's window and the zone for numbers without their own, with each number's zones."""

    window: SendWindow
    timezone: str = "UTC"  # the survey's

    def __post_init__(self) -> None:
        self._zones: dict[str, tuple[str, ...]] = {}

    def zones(self, phone: str) -> tuple[str, ...]:
        """The zones the window must hold in for `phone`."""
        found = self._zones.get(phone)
        if found is None:
            found = self._zones.setdefault(phone, zones_for(phone) or (self.timezone,))
        return found

    def verdict(self, phone: str, now: datetime) -> Verdict:
        """Whether a message may reach `phone` at `now`, and until or from when."""
        if self.window.always:
            return Open(None)
        return verdict(self.window, self.zones(phone), now)


def verdict(window: SendWindow, zones: tuple[str, ...], now: datetime) -> Verdict:
    """The window in all `zones` at once, at `now`: open until, opens at, or never open."""
    for start, end in _spans(window, zones, now.astimezone(UTC).date()):
        if end - max(start, now) < MIN_LEFT:
            continue  # over, or too little left for Twilio to be given any time at all
        if start <= now:
            return Open(end)
        return Closed(start, _opening_zone(window, zones, start))
    return Never(zones)


@lru_cache(maxsize=1024)
def _spans(window: SendWindow, zones: tuple[str, ...], day: date) -> list[Span]:
    """The times the window is open in every zone, from the day before `day` to HORIZON after."""
    common: list[Span] | None = None
    for zone in zones:
        spans = _zone_spans(window, ZoneInfo(zone), day)
        common = spans if common is None else _intersect(common, spans)
    return common or []


def _zone_spans(window: SendWindow, zone: ZoneInfo, day: date) -> list[Span]:
    """The window on each local day around `day` in one zone, in UTC."""
    spans = []
    for offset in range(-1, HORIZON + 1):
        local = day + timedelta(days=offset)
        spans.append((_at(local, window.start, zone), _at(local, window.end, zone)))
    return spans


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The moment a local day's clock in `zone` shows `minutes` after midnight, in UTC."""
    if minutes == DAY:
        day, minutes = day + timedelta(days=1), 0
    return datetime.combine(day, time(minutes // 60, minutes % 60), zone).astimezone(UTC)


def _intersect(a: list[Span], b: list[Span]) -> list[Span]:
    """The times inside a span of both sorted lists."""
    found, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            found.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return found


def _opening_zone(window: SendWindow, zones: tuple[str, ...], opens: datetime) -> str:
    """The zone whose day starts at `opens` (the last of the number's zones to wake up)."""
    start = time(window.start // 60, window.start % 60)
    for zone in zones:
        if opens.astimezone(ZoneInfo(zone)).time() == start:
            return zone
    return zones[0]
