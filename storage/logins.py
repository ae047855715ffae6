"""Wrong studio tokens by address: a throttle that every worker and machine shares."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from storage.models import LoginFailure

FAILURE = LoginFailure.__table__
WINDOW = timedelta(minutes=1)  # tries are counted over the last minute


def recent_failures(*, db: Connection, address: str, now: datetime) -> int:
    """Wrong tokens from `address` within the last minute."""
    return db.execute(
        select(func.count())
        .select_from(FAILURE)
        .where(FAILURE.c.address == address, FAILURE.c.at > now - WINDOW)
    ).scalar_one()


def record_failure(*, db: Connection, address: str, now: datetime) -> None:
    """Note a wrong token from `address`, and forget those older than the window."""
    db.execute(delete(FAILURE).where(FAILURE.c.at <= now - WINDOW))
    db.execute(insert(FAILURE).values(address=address, at=now))
