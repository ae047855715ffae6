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

from bot.design import draw_block, full
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


def quota_counts(*, db: Connection | Statements, survey_id: str) -> dict[str, int]:
    """Completes counted so far, by quota key ("" for the survey's target)."""
    return dict(statements(db).read("QUOTA_COUNTS", (survey_id,)).fetchall())


def count_complete(
    *, db: Connection | Statements, survey_id: str, keys: list[str], quotas: list[Quota]
) -> Quota | None:
    """Count one complete toward `keys`, unless one of `quotas` is full: then that quota.

    The rows are locked in sorted order, so two completes that count toward
    overlapping quotas wait for each other instead of deadlocking.
    """
    hot = statements(db)
    counts = {}
    for key in sorted(keys):
        row = hot.read("LOCK_QUOTA", (survey_id, key)).fetchone()
        if row is None:
            hot.write("ENSURE_QUOTA", (survey_id, key))
            row = hot.read("LOCK_QUOTA", (survey_id, key)).fetchone()
        counts[key] = row[0]
    if (quota := full(quotas, counts)) is not None:
        return quota
    for key in sorted(keys):
        hot.write("ADD_COMPLETE", (survey_id, key))
    return None
