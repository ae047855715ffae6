"""Survey files of any length, for the loading benchmark and the watcher's tests."""

from __future__ import annotations

# One question of each kind, cycled: every type, choices with aliases, a
# template, a condition, a constraint, a branch. `{n}` numbers the question.
_KINDS = (
    ("text", "max_length: 80\n    text: {t[name]} {n}?"),
    (
        "choice",
        "text: {t[pick]} {n}, {{{{ answers.q1 }}}}?\n    choices: {t[options]}",
    ),
    ("scale", "min: 0\n    max: 10\n    text: {t[rate]} {n}, 0-10?"),
    (
        "number",
        "integer: true\n    min: 1\n    constraint: value <= 365\n    text: {t[count]} {n}?",
    ),
    ("yesno", "text: {t[ok]} {n}?\n    next:\n      - {{if: not answers.q{n}, goto: end}}"),
    ("multi", "text: {t[all]} {n}, e.g. 1,3\n    choices: {t[list]}"),
    ("date", "max: today\n    text: {t[when]} {n}?"),
    ("note", "when: answers.q1 != ''\n    text: {t[note]} {n}."),
)
_WORDS = {
    "en": {
        "name": "What is your answer to question",
        "pick": "Which do you pick for question",
        "options": "[Yes please, No thanks, Not sure]",
        "rate": "How do you rate part",
        "count": "How many times for item",
        "ok": "Is it fine to go on after",
        "all": "Which apply to item",
        "list": "[Parking, Restaurant, Shop]",
        "when": "When was visit",
        "note": "Almost done with part",
    },
    "es": {
        "name": "¿Cuál es tu respuesta a la pregunta",
        "pick": "¿Qué eliges para la pregunta",
        "options": "[Sí por favor, No gracias, No sé]",
        "rate": "¿Qué nota das a la parte",
        "count": "¿Cuántas veces para el punto",
        "ok": "¿Seguimos después de",
        "all": "¿Cuáles aplican al punto",
        "list": "[Aparcamiento, Restaurante, Tienda]",
        "when": "¿Cuándo fue la visita",
        "note": "Casi terminamos la parte",
    },
}


def big_survey(questions: int, languages: tuple[str, ...] = ("en",), keyword: str = "BIG") -> str:
    """The YAML of a survey with this many questions, in these languages (the first default)."""
    head = [
        f"id: {keyword.lower()}",
        f"title: {_text(languages, {'en': 'Big survey', 'es': 'Encuesta grande'})}",
        f"keywords: [{keyword}]",
        f"intro: {_text(languages, {'en': 'Hello! Reply STOP to opt out.', 'es': '¡Hola!'})}",
        "outro: " + _text(languages, {"en": "Thanks {{ answers.q1 }}!", "es": "¡Gracias!"}),
    ]
    if len(languages) > 1:
        head.append(f"languages: [{', '.join(languages)}]")
    body = ["questions:", "  - id: q1", "    type: text", "    text: " + _text(languages, _ask(0))]
    for n in range(2, questions + 1):
        kind, rest = _KINDS[n % len(_KINDS)]
        body.append(f"  - id: q{n}\n    type: {kind}\n    " + _localised(rest, n, languages))
    return "\n".join(head + body) + "\n"


def _ask(_: int) -> dict[str, str]:
    """The first question's text, by language."""
    return {"en": "What is your first name?", "es": "¿Cómo te llamas?"}


def _text(languages: tuple[str, ...], by_language: dict[str, str]) -> str:
    """A text for one language, or a {language: text} map for several."""
    if len(languages) == 1:
        return _quoted(by_language[languages[0]])
    return "{" + ", ".join(f"{code}: {_quoted(by_language[code])}" for code in languages) + "}"


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace('"', '\\"') + '"'


def _localised(rest: str, n: int, languages: tuple[str, ...]) -> str:
    """A question's keys, each text line and label in every language."""
    if len(languages) == 1:
        return rest.format(n=n, t=_WORDS[languages[0]])
    by_code = {code: rest.format(n=n, t=_WORDS[code]).split("\n") for code in languages}
    lines = []
    for i, line in enumerate(by_code[languages[0]]):
        lines.append(_merge(line, [by_code[c][i] for c in languages], languages))
    return "\n".join(lines)


def _merge(line: str, versions: list[str], languages: tuple[str, ...]) -> str:
    """One line in every language: `text:` becomes a map, labels and lists too."""
    if all(v == line for v in versions):
        return line
    key, _, _ = line.partition(": ")
    if key.strip() in ("text",):
        values = [v.partition(": ")[2] for v in versions]
        return key + ": " + _text(languages, dict(zip(languages, values, strict=True)))
    if key.strip() == "choices":
        values = [v.partition(": ")[2].strip("[]").split(", ") for v in versions]
        items = [
            "{label: {"
            + ", ".join(f"{c}: {w}" for c, w in zip(languages, words, strict=True))
            + "}}"
            for words in zip(*values, strict=True)
        ]
        return key + ": [" + ", ".join(items) + "]"
    return line
