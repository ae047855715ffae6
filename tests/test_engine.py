"""The engine on its own: conversations as data (tests/engine/*.yaml), no Flask, no database.

Each case plays messages from one number through `Conversation.handle` and
keeps what storage would keep: after every message each session the engine
changed is encoded into its columns and decoded back by storage's own
functions (as goflow's test runner serialises the session between resumes),
and its survey version resolved as the service does, so a state that does not
survive storage fails here, thousands of messages a second.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.conversation import Conversation, Effects, Run, Situation
from bot.loader import load_survey, parse_duration
from bot.model import OPEN, OPTED_OUT, Survey
from storage import hot, store

HERE = Path(__file__).parent / "engine"
SURVEYS = yaml.safe_load((HERE / "surveys.yaml").read_text())
CASES = yaml.safe_load((HERE / "cases.yaml").read_text())
START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
PHONE = "+15551230001"
SQLITE = hot.Driver("sqlite")  # its times are text: the stricter round trip


class Surveys:
    """The engine's survey source over surveys loaded from text."""

    def __init__(self, names: list[str]):
        self.loaded = [load_survey(SURVEYS[name].encode(), f"{name}.yaml") for name in names]

    def get(self, survey_id: str) -> Survey | None:
        return next((s for s in self.loaded if s.id == survey_id), None)

    def by_keyword(self, word: str) -> Survey | None:
        return next((s for s in self.loaded if word.upper() in s.keywords), None)

    def default(self) -> Survey | None:
        return next((s for s in self.loaded if s.default), None)

    def surveys(self) -> list[Survey]:
        return self.loaded


def stored(run: Run, surveys: Surveys) -> Run:
    """`run` written to its columns and read back, its version resolved as the service does."""
    back = store.session_of(store.session_row(run, SQLITE.time), SQLITE.read_time)
    found = surveys.get(back.survey_id)
    back.survey = found if found is not None and found.version == back.version else None
    return back


class Number:
    """One phone number's state as storage keeps it, applied from the engine's effects."""

    def __init__(self, phone: str, surveys: Surveys):
        self.surveys = surveys
        self.situation = Situation(phone)
        self.sessions: list = []  # every session, in order of start, as last written
        self.ids = itertools.count(1)

    def apply(self, effects: Effects) -> None:
        """Keep what storage would write: opt-out state, sessions and their answers."""
        if effects.opted_out is not None:
            self.situation.opted_out = effects.opted_out
        for run in effects.runs:
            if run.id is None:
                run = stored(replace(run, id=next(self.ids)), self.surveys)
                self.sessions.append(run)
            else:
                self.sessions[run.id - 1] = stored(run, self.surveys)
        if self.sessions:
            latest = self.sessions[-1]
            self.situation.latest_survey, self.situation.latest_status = (
                latest.survey_id,
                latest.status,
            )
            self.situation.run = latest if latest.status == OPEN else None
            self.situation.ended = latest if latest.status == OPTED_OUT else None


def expand(cases: list[dict]) -> list[tuple[str, dict]]:
    """Each case with an id, a case with `each` once per value of its placeholder."""
    found = []
    for case in cases:
        (key, values), *_ = (case.get("each") or {"": [None]}).items()
        for value in values:
            filled = _fill(case, key, value) if key else case
            found.append((case["name"] + (f" [{value}]" if key else ""), filled))
    return found


def _fill(case: dict, key: str, value: str) -> dict:
    """A case with `{key}` replaced by `value` in its messages."""
    steps = [
        step | {"send": step["send"].replace("{" + key + "}", value)} for step in case["steps"]
    ]
    return case | {"steps": steps}


def check(step: dict, reply: str | None) -> None:
    """The reply meets the step's expectation."""
    if step.get("silent"):
        assert reply is None
        return
    assert reply is not None, f"no reply to {step['send']!r}"
    if "reply" in step:
        assert reply == step["reply"]
    assert reply.startswith(step.get("starts", "")), reply
    assert reply.endswith(step.get("ends", "")), reply
    for part in step.get("has", []):
        assert part in reply


@pytest.mark.parametrize(
    "case", [case for _, case in expand(CASES)], ids=[n for n, _ in expand(CASES)]
)
def test_engine_case(case):
    surveys = Surveys(case["surveys"])
    engine = Conversation(surveys)
    number, now = Number(PHONE, surveys), START
    for step in case["steps"]:
        now += parse_duration(step.get("after", "1s")) or timedelta(seconds=1)
        effects = engine.handle(number.situation, step["send"], now=now, media=step.get("media", 0))
        number.apply(effects)
        check(step, effects.reply)
    if "sessions" in case:
        assert [[s.survey_id, s.status] for s in number.sessions] == case["sessions"]
    if "answers" in case:
        assert number.sessions[-1].answers == case["answers"]


def test_the_engine_never_changes_the_situation_it_is_given():
    surveys = Surveys(["everything", "other"])
    engine = Conversation(surveys)
    number = Number(PHONE, surveys)
    for text in ("ALL", "Ada", "2"):
        number.apply(engine.handle(number.situation, text, now=START))
    before = replace(number.situation.run, answers=dict(number.situation.run.answers))
    situation = replace(number.situation)
    for text in ("3", "back", "restart", "stop"):
        engine.handle(situation, text, now=START + timedelta(days=2))  # expiry, too
    assert situation.run == before and situation == number.situation


def test_the_cases_cover_every_question_type():
    seen = {q.type for name in SURVEYS for q in Surveys([name]).loaded[0].questions}
    assert seen >= {"text", "choice", "multi", "yesno", "number", "scale", "date"}
