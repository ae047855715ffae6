"""What a study shares between workers (SPEC 12): arm blocks and quota counts.

Each function runs inside the caller's transaction, on the webhook's Batch or a
Connection's statements. The counting statements are UPDATEs, which lock their
row until COMMIT on PostgreSQL (SQLite's writer holds the whole database), so
two workers never draw the same place of a block or count past a target.
"""

from __future__ import annotations

import json
import random

from sqlalchemy import Connection

from bot import values
from bot.design import Completed, draw_block, earlier_key, first_count, full
from bot.model import Quota, Survey
from storage.hot import Statements, statements

_RANDOM = random.SystemRandom()


def case_arm(*, db: Connection | Statements, phone: str, survey_id: str) -> str | None:
    """The arm this number's case already has in this survey, if any (RESTART keeps it)."""
    row = statements(db).read("CASE_ARM", (phone, survey_id, False)).fetchone()
    return row[0] if row else None


def next_arm(*, db: Connection | Statements, survey: Survey, rng: random.Random = _RANDOM) -> str:
    """The next place of the version's current block, drawing a new block when it is used up."""
    hot = statements(db)
    key = (survey.id, survey.version)
    row = hot.read("DRAW_ARM", key).fetchone()
    if row is None:  # the version's first draw
        hot.write("ENSURE_ARM_BLOCK", key)
        row = hot.read("DRAW_ARM", key).fetchone()
    drawn, stored = row
    place = (drawn - 1) % survey.block_size
    if place == 0:
        block = draw_block(survey.arms, rng)
        hot.write("NEW_ARM_BLOCK", (json.dumps(block), *key))
    else:
        block = json.loads(stored)
    return block[place]


def quota_counts(
    *, db: Connection | Statements, survey_id: str, quotas: tuple[Quota, ...] = ()
) -> dict[str, int]:
    """Completes counted so far, by quota key ("" for the survey's target).

    A key of `quotas` with no count stored yet gets the count it will start from
    (`first_count`), worked out but not stored: the first complete counted toward it
    stores it, under its lock.
    """
    hot = statements(db)
    counts = dict(hot.read("QUOTA_COUNTS", (survey_id,)).fetchall())
    missing = {quota.key: quota for quota in quotas if quota.key not in counts}
    if missing:
        completed = _completed(hot, survey_id)
        for key, quota in missing.items():
            counts[key] = _first_count(counts, key, quota, completed)
    return counts


def count_complete(
    *, db: Connection | Statements, survey_id: str, keys: list[str], quotas: list[Quota]
) -> Quota | None:
    """Count one complete toward `keys`, unless one of `quotas` is full: then that quota.

    The rows are locked in sorted order, so two completes that count toward
    overlapping quotas wait for each other instead of deadlocking. A key with no row
    yet (its quota is new in the served version, or reworded from before this kind of
    key) starts from the completes of every version it holds for (`first_count`),
    inserted once: a second worker's insert waits for the first's COMMIT and does nothing.
    """
    hot = statements(db)
    by_key = {quota.key: quota for quota in quotas}
    counts: dict[str, int] = {}
    stored: dict[str, int] | None = None
    completed: list[Completed] | None = None
    for key in sorted(keys):
        row = hot.read("LOCK_QUOTA", (survey_id, key)).fetchone()
        if row is None:
            if completed is None:
                stored = dict(hot.read("QUOTA_COUNTS", (survey_id,)).fetchall())
                completed = _completed(hot, survey_id)
            first = _first_count(stored or {}, key, by_key.get(key), completed)
            hot.write("ENSURE_QUOTA", (survey_id, key, first))
            row = hot.read("LOCK_QUOTA", (survey_id, key)).fetchone()
        counts[key] = row[0]
    if (quota := full(quotas, counts)) is not None:
        return quota
    for key in sorted(keys):
        hot.write("ADD_COMPLETE", (survey_id, key))
    return None


def _completed(hot: Statements, survey_id: str) -> list[Completed]:
    """The survey's sessions that completed with code 1.1, as `first_count` judges them."""
    rows = hot.read("COMPLETED_SESSIONS", (survey_id, False)).fetchall()
    found = []
    for answers, arm, completed_at in rows:
        try:
            stored = values.load(answers)
        except (ValueError, TypeError):  # unreadable answers: judged as matching nothing
            stored = {}
        day = hot.read_time(completed_at)
        found.append((stored if isinstance(stored, dict) else {}, arm, day and day.date()))
    return found


def _first_count(
    stored: dict[str, int], key: str, quota: Quota | None, completed: list[Completed]
) -> int:
    """A new key's count: the completes it holds for, and never less than a count kept
    under the same condition's text (the key before this kind), should a session be gone."""
    earlier = [n for old, n in stored.items() if earlier_key(old) == key]
    return max([first_count(quota, completed), *earlier])
