"""A study's random draws and quota rules (SPEC 12), as pure functions of a survey.

Storage keeps what must be shared between workers (arm blocks, quota counts);
the engine asks these functions what a session is shown and whether it may
complete. `orders` is the session's stored draw: {"questions": [ids of the
shuffled groups' questions in the order asked], "choices": {question id:
[values in the order shown]}}.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Any

from bot.model import QUOTA_KEY, Arm, Question, Quota, Survey, quota_key
from bot.values import MULTI_SEPARATOR

TARGET = ""  # the key the survey's own `target` is counted under, beside the quotas'


def draw_block(arms: tuple[Arm, ...], rng: random.Random) -> list[str]:
    """One permuted block: each arm id `weight` times, in a random order."""
    block = [arm.id for arm in arms for _ in range(arm.weight)]
    rng.shuffle(block)
    return block


def draw_outside(arms: tuple[Arm, ...], rng: random.Random) -> str:
    """An arm drawn by weight alone, for a test session that must not use up a block."""
    return rng.choices([arm.id for arm in arms], weights=[arm.weight for arm in arms])[0]


def draw_orders(survey: Survey, rng: random.Random) -> dict[str, Any]:
    """A new session's orders: each shuffle group and each shuffled question's choices."""
    orders: dict[str, Any] = {}
    questions = []
    for group in survey.shuffle:
        drawn = list(group)
        rng.shuffle(drawn)
        questions.extend(drawn)
    if questions:
        orders["questions"] = questions
    choices = {}
    for question in survey.questions:
        if question.shuffle_choices:
            moving = [c.value for c in question.choices if not c.fixed]
            rng.shuffle(moving)
            choices[question.id] = moving + [c.value for c in question.choices if c.fixed]
    if choices:
        orders["choices"] = choices
    return orders


def slots(survey: Survey, orders: dict[str, Any]) -> dict[str, str]:
    """The question asked at each shuffled place: {id in the file there: id asked there}."""
    drawn = iter(orders.get("questions", ()))
    placed = {}
    for group in survey.shuffle:
        for place in group:
            asked = next(drawn, place)
            if asked != place:
                placed[place] = asked
    return placed


def as_shown(question: Question, orders: dict[str, Any]) -> Question:
    """The question with its choices in the order this session sees them."""
    order = orders.get("choices", {}).get(question.id)
    if not order:
        return question
    by_value = {choice.value: choice for choice in question.choices}
    shown = [by_value[value] for value in order if value in by_value]
    shown += [choice for choice in question.choices if choice.value not in order]
    return replace(question, choices=tuple(shown))


def in_choice_order(question: Question, picks: list[str]) -> list[str]:
    """A multi answer's values in the question's own choice order, however they were shown."""
    picked = set(picks)
    return [choice.value for choice in question.choices if choice.value in picked]


def question_order(orders: dict[str, Any] | None) -> str:
    """The export's `order` cell: the shuffled questions' ids as asked, joined by `;`."""
    return MULTI_SEPARATOR.join((orders or {}).get("questions", ()))


def choice_order(orders: dict[str, Any] | None, question_id: str) -> str:
    """The long export's `choice_order` cell for one answer: its choices' values as shown."""
    return MULTI_SEPARATOR.join((orders or {}).get("choices", {}).get(question_id, ()))


def applying(quotas: tuple[Quota, ...], context: dict[str, Any]) -> list[Quota]:
    """The `quotas` whose `when` holds for a session (its answers and arm in `context`)."""
    return [quota for quota in quotas if quota.when.is_true(context)]


def judged(session: Survey, served: Survey | None) -> tuple[Quota, ...]:
    """The quotas a session on version `session` is judged and counted by (SPEC 12).

    Its own version's, and the served version's not among them: a quota added in a new
    version counts the completes of sessions still open on an older one.
    """
    if served is None or served is session:
        return session.quotas
    own = {quota.key for quota in session.quotas}
    return session.quotas + tuple(q for q in served.quotas if q.key not in own)


# One completed session as the first count of a key sees it: its answers (as stored,
# decoded), its arm, and the day it completed.
Completed = tuple[dict[str, Any], str | None, date | None]


def first_count(quota: Quota | None, completed: Iterable[Completed]) -> int:
    """A key's count when it has none stored yet: the completes `quota` holds for.

    `completed`: every session of the survey, of any version, that completed with code
    1.1 (SPEC 11); `quota` None is the survey's `target`, which counts them all. The
    condition sees the session's stored answers, its `arm` and, as `today`, the day it
    completed; a session it cannot be judged on (a missing answer...) does not match.
    """
    if quota is None:
        return sum(1 for _ in completed)
    found = 0
    for answers, arm, day in completed:
        context: dict[str, Any] = {"answers": answers, "arm": arm}
        if day is not None:
            context["today"] = day
        found += quota.when.is_true(context)
    return found


def earlier_key(stored: str) -> str | None:
    """The key a count stored under an older kind of key (the condition's text) is now."""
    if stored == TARGET or stored.startswith(QUOTA_KEY):
        return None
    return quota_key(stored)


def full(quotas: list[Quota], counts: dict[str, int]) -> Quota | None:
    """The first of `quotas` that has its target of completes already, if any."""
    return next((q for q in quotas if counts.get(q.key, 0) >= q.target), None)


def closed(survey: Survey, counts: dict[str, int]) -> bool:
    """Whether the survey has its `target` of completes: it starts no new session."""
    return survey.target is not None and counts.get(TARGET, 0) >= survey.target


def counted(survey: Survey) -> bool:
    """Whether completes of this survey are counted (it has a target or quotas)."""
    return survey.target is not None or bool(survey.quotas)


def count_keys(survey: Survey, quotas: list[Quota]) -> list[str]:
    """What one complete adds to: the survey's target (when it has one) and `quotas`."""
    keys = [TARGET] if survey.target is not None else []
    return keys + [quota.key for quota in quotas]


def standing(survey: Survey, counts: dict[str, int]) -> list[tuple[str, int, int]]:
    """Where a survey stands: (what, completes counted, wanted), the target first."""
    rows = [("target", counts.get(TARGET, 0), survey.target)] if survey.target else []
    return rows + [(q.when.source, counts.get(q.key, 0), q.target) for q in survey.quotas]


def count_of(count: int, target: int) -> str:
    """`COUNT/TARGET`, with `full` once it is (SPEC 12)."""
    return f"{count}/{target}" + (" full" if count >= target else "")
