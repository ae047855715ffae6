"""The JSON Schema of a survey file (SPEC 8), built from the loader's own key tables.

Editors with the YAML language server read it to complete and check keys. The
keys, required keys, question types, id patterns and durations come from
bot/loader.py and bot/model.py; this module adds what each key holds (its kind)
and a description. tests/test_survey_schema.py checks that every key the loader
knows has both, and that the schema accepts and refuses what the loader does.
"""

from __future__ import annotations

from typing import Any

from bot.design_keys import ARM_ID, ARM_KEYS, QUOTA_KEYS
from bot.loader import (
    BRANCH_KEYS,
    CHOICE_KEYS,
    DATE_ORDERS,
    LANGUAGE_CODE,
    QUESTION_ID,
    QUESTION_KEYS,
    REQUIRED,
    SURVEY_ID,
    SURVEY_KEYS,
    UNITS,
    USED_BY,
)
from bot.model import QUESTION_TYPES, WINDOW
from bot.outcomes import AUTHOR_OUTCOMES

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = "survey.schema.json"  # kept in the surveys folder, where the modeline finds it
MODELINE = f"# yaml-language-server: $schema={SCHEMA_FILE}"  # the first line of each example


def _any_case(word: str) -> str:
    """A regular expression matching `word` in any case (JSON Schema patterns have no flags)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _one_of(words: tuple[str, ...]) -> dict[str, Any]:
    """One of `words` in any case, offered as completions in their usual spelling."""
    pattern = "^(" + "|".join(_any_case(w) for w in words) + ")$"
    return {"anyOf": [{"enum": list(words)}, {"type": "string", "pattern": pattern}]}


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    """A list of `item`, or a single one (the loader reads it as a list of one)."""
    return {"anyOf": [{"type": "array", "items": item}, item]}


def _per_language(item: dict[str, Any]) -> dict[str, Any]:
    """`item`, or a map from language code to `item` (SPEC 7)."""
    codes = {"type": "object", "minProperties": 1, "additionalProperties": item}
    codes["propertyNames"] = {"pattern": f"^{LANGUAGE_CODE.pattern}$"}
    return {"anyOf": [item, codes]}


# Kinds of values, as the loader reads them.
PLAIN = {"type": ["string", "number", "boolean"]}  # any plain value reads as its text
TEXT = _per_language(PLAIN)
DURATION = {
    "type": "string",
    "pattern": r"^\s*(\d+\s*[" + "".join(u + u.upper() for u in UNITS) + r"]\s*)+$",
}
WHOLE = {"type": "integer"}
KINDS: dict[str, dict[str, Any]] = {
    "text": PLAIN,
    "texts": TEXT,
    "template": TEXT,
    "condition": PLAIN,
    "languages": _list_of({"type": "string", "pattern": f"^{LANGUAGE_CODE.pattern}$"}),
    "bound": {"anyOf": [{"type": "number"}, {"type": "string"}]},
    "survey id": {"type": "string", "pattern": f"^{SURVEY_ID.pattern}$"},
    "question id": {"type": "string", "pattern": f"^{QUESTION_ID.pattern}$"},
    "keywords": _per_language(_list_of({"type": "string"})),
    "aliases": _per_language(_list_of(PLAIN)),
    "flag": {"type": "boolean"},
    "count": {"type": "integer", "minimum": 0},
    "length": {"type": "integer", "minimum": 1},
    "number": {"type": "number"},
    "duration": DURATION,
    "durations": _list_of(DURATION),
    "window": {"type": "string", "pattern": rf"^\s*{WINDOW.pattern}\s*$"},
    "date order": _one_of(DATE_ORDERS),
    "type": _one_of(QUESTION_TYPES),
    "questions": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/question"}},
    "choices": _list_of({"$ref": "#/$defs/choice"}),
    "next": {"type": "array", "items": {"$ref": "#/$defs/next"}},
    "outcome": {"enum": list(AUTHOR_OUTCOMES)},
    "target": {"type": "integer", "minimum": 1},
    "quotas": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/quota"}},
    "arms": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/arm"}},
    "arm id": {"type": "string", "pattern": f"^{ARM_ID.pattern}$"},
    "groups": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "array",
            "minItems": 2,
            "items": {"type": "string", "pattern": f"^{QUESTION_ID.pattern}$"},
        },
    },
}

# (kind, description) of every key, by level.
KEYS: dict[str, dict[str, tuple[str, str]]] = {
    "survey": {
        "id": ("survey id", "The survey's id, in export URLs; defaults to the file name."),
        "title": ("texts", "The survey's name, shown in help replies and lists."),
        "keywords": ("keywords", "Messages that start the survey: one word each, any case."),
        "default": ("flag", "The survey a number with no session gets (one survey at most)."),
        "intro": ("template", "Sent before the first question."),
        "outro": ("template", "Sent after the last question."),
        "reminder": ("template", "Sent by `flask remind`, before the question waiting."),
        "help": ("template", "The reply to HELP, replacing the standard one."),
        "max_retries": ("count", "Re-prompts for one question (default 2)."),
        "expire_after": ("duration", "Idle time after which a session expires: 30m, 24h, 2d."),
        "date_order": ("date order", "How 03/04 is read: MDY (default) or DMY."),
        "timezone": ("text", "Time zone for today and dates without a year (default UTC)."),
        "send_window": (
            "window",
            "When invitations and reminders may reach respondents, in their local time: "
            '"08:00-21:00" (default), "00:00-24:00" for any time.',
        ),
        "smart_encoding": (
            "flag",
            "Replace characters such as ’ and — by their GSM-7 look-alikes in every message "
            "sent, answers included, so that messages cost fewer segments.",
        ),
        "languages": ("languages", "Language codes (ISO 639-1); the first is the default."),
        "partial_after": (
            "question id",
            "A session that answered this question (or a later one) and then stopped is a "
            "partial (AAPOR 1.2) in `flask surveys outcomes`; default: no partials.",
        ),
        "recontact": (
            "durations",
            "Delays such as [4h, 1d, 3d]: an invited number that has not replied gets the "
            "reminder and its question again after each, sent by `flask worker`.",
        ),
        "target": ("target", "Completes wanted in all: then the survey is closed."),
        "quotas": ("quotas", "Completes wanted from respondents for whom a condition is true."),
        "quota_full": (
            "template",
            "Sent instead of the outro when the respondent's quota is full.",
        ),
        "closed": ("template", "The reply to a keyword once the target is reached."),
        "arms": (
            "arms",
            "Arms of an experiment: each new respondent gets one, in balanced blocks.",
        ),
        "shuffle": ("groups", "Groups of consecutive questions, each asked in a random order."),
        "questions": ("questions", "The questions, in the order they are asked."),
    },
    "question": {
        "id": ("question id", "Unique in the survey: a-z, 0-9 and _, starting with a letter."),
        "type": ("type", "What the question reads: " + ", ".join(QUESTION_TYPES) + "."),
        "text": ("template", "The question as sent; choices are listed under it."),
        "choices": ("choices", "The options of a choice or multi question."),
        "min": (
            "bound",
            "Smallest number (number, scale), fewest picks (multi), earliest date or today.",
        ),
        "max": (
            "bound",
            "Largest number (number, scale), most picks (multi), latest date or today.",
        ),
        "integer": ("flag", "A number question that takes whole numbers only."),
        "max_length": ("length", "The longest text reply accepted."),
        "optional": ("flag", "SKIP leaves the question unanswered."),
        "when": ("condition", "The question is asked only if this expression is true."),
        "next": ("next", "After an answer, the first entry whose if is true says where to go."),
        "error": ("template", "The reason given in a re-prompt, replacing the default one."),
        "constraint": ("condition", "A reply is valid only if this expression over value is true."),
        "shuffle_choices": ("flag", "Choices shown in a random order, except fixed ones."),
    },
    "choice": {
        "label": ("texts", "The choice as shown and read."),
        "value": ("text", "What is stored and exported (default: the label)."),
        "aliases": ("aliases", "Other replies that pick this choice."),
        "fixed": ("flag", "With shuffle_choices: this choice stays last, in file order."),
    },
    "next": {
        "if": ("condition", "An expression over answers."),
        "goto": ("text", "A later question's id, or end."),
        "outcome": (
            "outcome",
            "With goto: end, ends the survey as refused (AAPOR 2.11) or ineligible (4.10).",
        ),
    },
    "quota": {
        "when": ("condition", "Which completes count toward the quota: an expression."),
        "target": ("target", "How many completes the quota wants."),
    },
    "arm": {
        "id": ("arm id", "The arm's name, seen by templates as arm."),
        "weight": ("target", "Its share of every block of new respondents: a whole number."),
    },
}
LOADER_KEYS = {
    "survey": SURVEY_KEYS,
    "question": QUESTION_KEYS,
    "choice": CHOICE_KEYS,
    "next": BRANCH_KEYS,
    "quota": QUOTA_KEYS,
    "arm": ARM_KEYS,
}


def _object(level: str) -> dict[str, Any]:
    """The schema of one level's mapping: the loader's keys, no others, the required ones."""
    properties = {}
    for key in LOADER_KEYS[level]:
        kind, description = KEYS[level][key]
        properties[key] = {**KINDS[kind], "description": description}
    return {
        "type": "object",
        "properties": properties,
        "required": list(REQUIRED.get(level, LOADER_KEYS[level])),
        "additionalProperties": False,
    }


def _question() -> dict[str, Any]:
    """A question, with the keys that only some types use tied to those types."""
    schema = _object("question")
    schema["allOf"] = [
        {
            "if": {"required": ["type"], "properties": {"type": _not_one_of(types)}},
            "then": {"not": {"required": [key]}},
        }
        for key, types in USED_BY.items()
    ] + [
        {
            "if": {"required": ["type"], "properties": {"type": _one_of(("scale",))}},
            "then": {"required": ["min", "max"]},
        },
        {
            "if": {"required": ["type"], "properties": {"type": _one_of(("scale", "multi"))}},
            "then": {"properties": {"min": WHOLE, "max": WHOLE}},
        },
        {
            "if": {"required": ["type"], "properties": {"type": _one_of(USED_BY["choices"])}},
            "then": {"required": ["choices"]},
        },
    ]
    return schema


def _not_one_of(words: tuple[str, ...]) -> dict[str, Any]:
    """Anything but one of `words`, in any case."""
    return {"not": _one_of(words)}


def _choice() -> dict[str, Any]:
    """A choice: a text (label and value alike), or label, value and aliases."""
    return {"anyOf": [TEXT, _object("choice")]}


def survey_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a survey file."""
    return {
        "$schema": DRAFT,
        "title": "Survey file",
        "description": "One SMS survey. The authors' guide: docs/authoring.md.",
        **_object("survey"),
        "$defs": {
            "question": _question(),
            "choice": _choice(),
            "next": _object("next"),
            "quota": _object("quota"),
            "arm": _object("arm"),
        },
    }
