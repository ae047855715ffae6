"""Arm blocks and quota counts shared by every worker (SPEC 12), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import textwrap
import threading
from collections import Counter
from datetime import UTC, datetime
from itertools import permutations

from sqlalchemy import text

from bot.design import as_shown, draw_block, draw_orders, question_order, slots
from bot.loader import load_survey
from storage import schema
from storage.db import locked, make_engine
from storage.design import count_complete, next_arm, quota_counts

SURVEY = load_survey(
    textwrap.dedent(
        """\
        id: trial
        quotas:
          - {when: "answers.gender == 'f'", target: 5}
        arms:
          - {id: a, weight: 1}
          - {id: b, weight: 3}
        shuffle: [[q1, q2, q3]]
        questions:
          - {id: gender, type: choice, text: "Gender?", choices: [f, m]}
          - id: brand
            type: choice
            text: Brand?
            shuffle_choices: true
            choices: [Acme, Bolt, Crest, {label: None, value: none, fixed: true}]
          - {id: q1, type: text, text: one}
          - {id: q2, type: text, text: two}
          - {id: q3, type: text, text: three}
        """
    ).encode(),
    "trial.yaml",
)


def migrated(database_url):
    """An engine on a database at the current schema."""
    engine = make_engine(database_url)
    schema.upgrade(engine)
    return engine


def draw(engine, phone: str) -> str:
    """One new case's arm, drawn in a transaction of its own as the webhook would."""
    with locked(engine, phone) as conn:
        return next_arm(db=conn, survey=SURVEY)


def test_blocks_of_four_hold_one_a_and_three_b_across_two_threads(database_url):
    engine = migrated(database_url)
    drawn: list[str] = []

    def worker(name: str) -> None:
        for i in range(8):
            drawn.append(draw(engine, f"+1555{name}{i:04d}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("10", "20")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Counter(drawn) == {"a": 4, "b": 12}  # 16 draws: exactly four blocks of 1:3
    engine.dispose()


def test_every_block_is_exact_in_the_order_drawn(database_url):
    engine = migrated(database_url)
    drawn = [draw(engine, f"+1555000{i:04d}") for i in range(12)]
    for start in range(0, 12, 4):
        assert sorted(drawn[start : start + 4]) == ["a", "b", "b", "b"]
    engine.dispose()


def test_placement_within_a_block_is_uniform_over_10000_draws():
    # Chi-square over the 4 places of the a arm; 3 degrees of freedom, p = 0.001 at 16.27.
    rng = random.Random(12345)
    places = Counter(draw_block(SURVEY.arms, rng).index("a") for _ in range(10_000))
    expected = 10_000 / 4
    chi2 = sum((places[i] - expected) ** 2 / expected for i in range(4))
    assert set(places) == {0, 1, 2, 3} and chi2 < 16.27, places


def test_a_quota_of_five_counts_five_completes_and_no_more(database_url):
    engine = migrated(database_url)
    quota = SURVEY.quotas[0]
    refused = []

    def complete(i: int) -> None:
        with locked(engine, f"+1555100{i:04d}") as conn:
            full = count_complete(db=conn, survey_id=SURVEY.id, keys=[quota.key], quotas=[quota])
            refused.append(full)

    threads = [threading.Thread(target=complete, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with engine.connect() as conn:
        assert quota_counts(db=conn, survey_id=SURVEY.id) == {quota.key: 5}
    assert refused.count(None) == 5 and refused.count(quota) == 7
    engine.dispose()


def test_every_order_of_a_group_and_of_the_choices_occurs():
    rng = random.Random(7)
    orders = [draw_orders(SURVEY, rng) for _ in range(600)]
    assert {tuple(o["questions"]) for o in orders} == set(permutations(("q1", "q2", "q3")))
    shown = {tuple(o["choices"]["brand"]) for o in orders}
    assert shown == {(*p, "none") for p in permutations(("Acme", "Bolt", "Crest"))}


def test_a_session_is_shown_its_own_order():
    orders = {
        "questions": ["q3", "q1", "q2"],
        "choices": {"brand": ["Crest", "Acme", "Bolt", "none"]},
    }
    assert slots(SURVEY, orders) == {"q1": "q3", "q2": "q1", "q3": "q2"}
    brand = as_shown(SURVEY.by_id["brand"], orders)
    assert [c.value for c in brand.choices] == ["Crest", "Acme", "Bolt", "none"]
    assert question_order(orders) == "q3;q1;q2"


def test_a_new_key_starts_from_the_matching_completes_and_an_earlier_keys_count(database_url):
    engine = migrated(database_url)
    quota = SURVEY.quotas[0]
    sessions = [  # (answers, status, outcome, test): only the first two are 1.1 and women
        ('{"gender":"f"}', "completed", None, False),
        ('{"gender":"f"}', "completed", None, False),
        ('{"gender":"m"}', "completed", None, False),
        ('{"gender":"f"}', "completed", "quota_full", False),
        ('{"gender":"f"}', "completed", None, True),
        ('{"gender":"f"}', "open", None, False),
        ("not json", "completed", None, False),
    ]
    with engine.begin() as conn:
        for i, (answers, status, outcome, test) in enumerate(sessions):
            conn.execute(
                text(
                    "INSERT INTO survey_session (phone, survey_id, survey_version, state, "
                    "status, retries, answers, started_at, updated_at, completed_at, outcome, "
                    "test) VALUES (:phone, 'trial', 'v1', 'completed', :status, 0, :answers, "
                    ":now, :now, :now, :outcome, :test)"
                ),
                dict(
                    phone=f"+1555200{i:04d}",
                    status=status,
                    answers=answers,
                    outcome=outcome,
                    test=test,
                    now=datetime(2026, 1, 1, tzinfo=UTC),
                ),
            )
        # A count kept under the condition's text (the key before this kind), lower.
        conn.execute(text("INSERT INTO quota_count VALUES ('trial', 'answers.gender==\"f\"', 1)"))
    legacy = 'answers.gender=="f"'
    with engine.connect() as conn:  # shown before any complete: worked out, not stored
        assert quota_counts(db=conn, survey_id="trial", quotas=SURVEY.quotas) == {
            legacy: 1,
            quota.key: 2,
        }
    with locked(engine, "+15552009999") as conn:
        assert count_complete(db=conn, survey_id="trial", keys=[quota.key], quotas=[quota]) is None
    with engine.connect() as conn:
        assert quota_counts(db=conn, survey_id="trial") == {legacy: 1, quota.key: 3}
    with engine.begin() as conn:  # an earlier key's count above the sessions' wins
        conn.execute(text("DELETE FROM quota_count WHERE key = :k"), {"k": quota.key})
        conn.execute(text("UPDATE quota_count SET completes = 5"))
    with locked(engine, "+15552009999") as conn:
        assert count_complete(db=conn, survey_id="trial", keys=[quota.key], quotas=[quota]) == quota
    engine.dispose()
