"""Wrong admin tokens, counted atomically, and studio sessions ended by signing out.

Every worker and machine shares both through the database. The throttle's
count and its new failure are one serialised transaction (`db.serialised`),
so however many tries arrive at once, exactly the limit is let through.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select

from storage import db as database
from storage.models import LoginFailure, StudioSignout

FAILURE = LoginFailure.__table__
SIGNOUT = StudioSignout.__table__
WINDOW = timedelta(minutes=1)  # tries are counted over the last minute
PER_ADDRESS = 10  # wrong tokens a minute from one address (SPEC 9)
# Wrong tokens a minute from all addresses together: an attacker with many
# addresses still guesses at most this many times a minute (the studio is
# then closed to everyone for the rest of the minute, which the log says).
OVERALL = 100
SESSION_DAYS = 31  # Flask's cookie lifetime: a signed-out session is remembered as long
LOCK = "studio-logins"  # the serialisation key of the throttle


def address_key(address: str) -> str:
    """The address as the throttle counts it: an IPv6 /64 counts as one address."""
    try:
        found = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if found.version == 4:
        return str(found)
    if found.ipv4_mapped is not None:
        return str(found.ipv4_mapped)
    return str(ipaddress.ip_network(f"{found}/64", strict=False))


def attempt(engine: Engine, *, address: str, right: bool, now: datetime) -> str:
    """Count one try of the admin token: "refused" (over a limit), "wrong" or "right".

    Beyond a limit every try is refused, whatever the token; a wrong one is
    recorded in the same transaction that counted, so none goes uncounted.
    """
    key = address_key(address)
    with database.serialised(engine, LOCK) as conn:
        since = now - WINDOW
        overall = _count(conn, FAILURE.c.at > since)
        mine = _count(conn, FAILURE.c.address == key, FAILURE.c.at > since)
        if mine >= PER_ADDRESS or overall >= OVERALL:
            return "refused"
        if right:
            return "right"
        conn.execute(delete(FAILURE).where(FAILURE.c.at <= since))
        conn.execute(insert(FAILURE).values(address=key, at=now))
        return "wrong"


def _count(conn: Connection, *where) -> int:
    """How many failures match `where`."""
    return conn.execute(select(func.count()).select_from(FAILURE).where(*where)).scalar_one()


def sign_out(engine: Engine, *, session_id: str, now: datetime) -> None:
    """Remember that a studio session ended; forget those whose cookies expired anyway."""
    with engine.begin() as conn:
        conn.execute(delete(SIGNOUT).where(SIGNOUT.c.at <= now - timedelta(days=SESSION_DAYS)))
        conn.execute(insert(SIGNOUT).values(session_id=session_id, at=now))


def signed_out(conn: Connection, session_id: str) -> bool:
    """Whether the studio session `session_id` was ended by signing out."""
    query = select(SIGNOUT.c.session_id).where(SIGNOUT.c.session_id == session_id)
    return conn.execute(query).first() is not None
