"""What the cost report counts is what the conversation sends, byte for byte (bot/compose.py).

Each example survey is played in each of its languages through the engine
itself, answering every question with the answer the cost report assumes at
its worst (the longest choice, a text at its longest...), asking for HELP, a
reminder, sending nothing and a wrong reply, and, in a second play, giving up
on every question. Every message sent must be one the report lists.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.catalog import read_survey
from bot.compose import as_sent
from bot.conversation import Conversation, Effects, Situation
from bot.cost import survey_messages
from bot.design import TARGET
from bot.loader import load_survey
from bot.model import LANGUAGE, OPEN, Question, Survey

EXAMPLES = sorted(Path(__file__).resolve().parent.parent.glob("surveys/*.yaml"))
# The cost report writes today as its longest date, 31 December: the conversation runs then
# (noon UTC is 31 December in every example's time zone).
NOW = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
PHONE = "+15550001111"


class OneSurvey:
    """The engine's survey source, with one survey."""

    def __init__(self, survey: Survey):
        self.survey = survey

    def get(self, survey_id: str) -> Survey | None:
        return self.survey if survey_id == self.survey.id else None

    def version(self, survey_id: str, version: str) -> Survey | None:
        return self.get(survey_id) if version == self.survey.version else None

    def by_keyword(self, word: str) -> Survey | None:
        return self.survey if word.upper() in self.survey.keywords else None

    def default(self) -> Survey | None:
        return None

    def surveys(self) -> list[Survey]:
        return [self.survey]


def worst_reply(question: Question, language: str) -> str:
    """The reply whose answer the cost report prints at its worst."""
    labels = [choice.label for choice in question.choices]
    if question.type == LANGUAGE:  # stay in the language being played
        return str(1 + [c.value for c in question.choices].index(language))
    if question.type == "choice":
        return str(1 + labels.index(max(labels, key=len)))
    if question.type == "multi":
        return ",".join(str(i) for i in range(1, len(labels) + 1))
    if question.type == "yesno":
        return "yes"
    if question.type in ("number", "scale"):
        bounds = [b for b in (question.min, question.max) if b is not None] or [int("9" * 15)]
        return max((f"{b:g}" if isinstance(b, float) else str(b) for b in bounds), key=len)
    if question.type == "date":
        return "2026-12-31"
    return "x" * (question.max_length or 100)


def typo(label: str) -> str:
    """`label` with its last two letters the wrong way round."""
    return label[:-2] + label[-1] + label[-2]


def wrong_reply(question: Question) -> str | None:
    """A reply `question` refuses, None when it takes any text."""
    if question.type == "text":
        return "x" * (question.max_length + 1) if question.max_length else None
    return "zzz"


def printed(survey: Survey) -> set[str]:
    """The questions whose answers some text of `survey` prints or tests."""
    texts = [survey.intro, survey.outro, survey.help, survey.reminder]
    texts += [t for q in survey.questions for t in (q.text, q.error)]
    sources = " ".join(t.source for t in texts if t is not None)
    return {q.id for q in survey.questions if f"answers.{q.id}" in sources}


class Player:
    """One number playing a survey through the engine, keeping every message sent."""

    def __init__(self, survey: Survey, language: str, arm=None, counts=None):
        self.survey = survey
        self.conversation = Conversation(OneSurvey(survey))
        self.situation = Situation(PHONE)
        if arm is not None:  # the arm its block gave it, and the completes counted so far
            self.situation.arms = {survey.id: arm}
        self.situation.counts = {survey.id: counts or {}}
        self.sent: list[tuple[str, str]] = []  # (what was done, the message sent)
        self.keep(
            "start", self.conversation.begin(self.situation, survey, now=NOW, language=language)
        )

    def keep(self, done: str, effects: Effects) -> None:
        """Note the reply and the session as storage would keep it."""
        if effects.runs:
            run = effects.runs[-1]
            self.situation.run = run if run.status == OPEN else None
        if effects.reply:
            self.sent.append((done, effects.reply))

    def send(self, text: str) -> None:
        """One message from the respondent."""
        self.keep(repr(text), self.conversation.handle(self.situation, text, now=NOW))

    def play(self, give_up: bool) -> list[tuple[str, str]]:
        """Every message of one play to the end of the survey."""
        while (run := self.situation.run) is not None:
            language = run.language or self.survey.language
            question = self.survey.in_language(language).by_id[run.state]
            self.send("HELP")
            self.sent.append(("reminder", self.conversation.remind(run, NOW)))
            if self.survey.recontact:  # flask worker's re-contact of a silent invitation
                self.sent.append(("recontact", self.conversation.remind(run, NOW, fallback=True)))
            self.send("")
            wrong = wrong_reply(question)
            # An answer a text prints is given: the report counts that text with it.
            give_up_here = give_up and question.id not in printed(self.survey)
            tries = self.survey.max_retries + 1 if give_up_here and wrong else 1 if wrong else 0
            for _ in range(tries):
                self.send(wrong)
            if not self.at(question):
                continue
            if question.type == "choice":  # a typo of the longest label, confirmed
                self.send(typo(max((c.label for c in question.choices), key=len)))
                if self.situation.run.pending is not None:
                    self.send("yes")
            if self.at(question):
                self.send(worst_reply(question, language))
        return self.sent

    def at(self, question: Question) -> bool:
        """Whether the session still waits for a reply to `question`."""
        return self.situation.run is not None and self.situation.run.state == question.id


@pytest.mark.parametrize("give_up", [False, True], ids=["answered", "given up"])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_cost_report_counts_every_message_the_conversation_sends(path, give_up):
    survey = read_survey(str(path))
    for language in survey.languages:
        counted = {m.text for m in survey_messages(survey, language, survey.smart_encoding)}
        sent = Player(survey, language).play(give_up)
        assert len(sent) > 3 * len([q for q in survey.questions if q.type != "note"]) // 2
        for done, text in sent:
            if text is not None:
                assert as_sent(text, survey.smart_encoding) in counted, (language, done, text)


TRICKY = """
id: tricky
intro: Hi!
recontact: [4h]
outro: "{% if answers.b %}Bye {{ answers.b }}{% endif %}"
questions:
  - {id: a, type: yesno, when: "survey.id == 'tricky'", text: "A?"}
  - {id: n1, type: note, text: "First note."}
  - {id: n2, type: note, text: "Second note."}
  - {id: b, type: choice, text: "B?", choices: [Red, Green], error: "Red or green, please."}
  - {id: n3, type: note, text: "Last note."}
"""


def test_notes_in_a_row_come_whole_after_a_question_given_up():
    survey = load_survey(TRICKY.encode(), "tricky.yaml")
    counted = {m.text for m in survey_messages(survey)}
    sent = Player(survey, "en").play(give_up=True)
    assert (
        "'zzz'",
        "Let's move on.\n\nFirst note.\n\nSecond note.\n\nB?\n1. Red\n2. Green",
    ) in sent
    assert ("'zzz'", "Red or green, please.\n\nB?\n1. Red\n2. Green") in sent
    assert ("'Grene'", 'Did you mean "Green"? Reply YES or NO.') in sent
    assert sent[-1] == ("'yes'", "Last note.\n\nBye Green")
    assert ("recontact", "We would still like to hear from you.\n\nA?") in sent
    for done, text in sent:
        assert text in counted, (done, text)


DESIGN = """
id: brand
title: Brand study
intro: A few questions about a brand.
target: 400
quotas:
  - {when: "answers.gender == 'f'", target: 200}
quota_full: Thank you! We already have enough answers from people like you.
closed: This study is closed. Thank you!
arms: [{id: short, weight: 1}, {id: long, weight: 1}]
questions:
  - id: gender
    type: choice
    text: "Are you:"
    choices: [{label: A woman, value: f}, {label: A man, value: m}]
  - id: price
    type: scale
    min: 1
    max: 5
    text: "{% if arm == 'long' %}Think of the last time you bought it. {% endif %}Fair price?"
"""


def test_a_study_design_sends_only_what_the_report_counts():
    survey = load_survey(DESIGN.encode(), "brand.yaml")
    counted = {m.text for m in survey_messages(survey)}
    [quota] = survey.quotas
    long_arm = Player(survey, "en", arm="long").play(give_up=False)
    assert ("'yes'", "Think of the last time you bought it. Fair price?") in long_arm
    women_full = Player(survey, "en", arm="long", counts={quota.key: 200}).play(give_up=False)
    assert women_full[-1][1] == "Thank you! We already have enough answers from people like you."
    closed = Player(survey, "en", counts={TARGET: 400}).sent
    assert closed == [("start", "This study is closed. Thank you!")]
    for done, text in long_arm + women_full + closed:
        assert text in counted, (done, text)


def test_today_is_counted_as_the_conversation_prints_it():
    survey = load_survey(
        b'questions:\n  - {id: a, type: yesno, text: "Today is {{ today }}. OK?"}\n', "t.yaml"
    )
    sent = Player(survey, "en").sent
    assert sent == [("start", "Today is 2026-12-31. OK?")]
    assert sent[0][1] in {m.text for m in survey_messages(survey)}
