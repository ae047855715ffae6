"""The survey authors' guide: every example survey loads, every broken one fails as shown."""

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from bot.loader import SurveyError, Yaml12Loader, load_survey
from bot.model import Choice, Question
from bot.replies import read_reply
from bot.words import ALL_COMMAND_WORDS, COMMAND_WORDS, LANGUAGES, plain, words_for

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "authoring.md"
BROKEN = "<!-- broken -->"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.DOTALL | re.MULTILINE)


def blocks(text: str) -> list[tuple[str, str, int, str]]:
    """The fenced blocks: (language, content, line of the fence, the line before it)."""
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        line = text.count("\n", 0, match.start()) + 1
        found.append((match[1], match[2], line, before.strip()))
    return found


def yaml_examples() -> list[tuple[int, str, bool, str | None]]:
    """Each yaml block: (line, content, broken?, the text block after it)."""
    found = blocks(GUIDE.read_text())
    examples = []
    for index, (language, content, line, before) in enumerate(found):
        if language == "yaml":
            after = found[index + 1] if index + 1 < len(found) else None
            shown = after[1] if after and after[0] == "text" else None
            examples.append((line, content, before == BROKEN, shown))
    return examples


EXAMPLES = yaml_examples()


def test_the_guide_has_examples_of_both_kinds():
    assert sum(broken for _, _, broken, _ in EXAMPLES) >= 20
    assert sum(not broken for _, _, broken, _ in EXAMPLES) >= 4


@pytest.mark.parametrize(
    ("content", "broken", "shown"),
    [pytest.param(c, b, s, id=f"line {n}") for n, c, b, s in EXAMPLES],
)
def test_yaml_example(content, broken, shown):
    data = content.encode()
    if broken:
        assert shown is not None, "a broken example must be followed by a ```text block"
        with pytest.raises(SurveyError) as caught:
            load_survey(data, "example.yaml")
        assert [str(p) for p in caught.value.problems] == shown.splitlines()
    elif re.search(r"^questions:", content, re.MULTILINE):
        load_survey(data, "example.yaml")
    else:  # a fragment: it must at least be valid YAML
        yaml.compose(content, Loader=Yaml12Loader)


COMMAND = re.compile(r"^<!-- (flask surveys check [^>]*) -->$")


def shown_commands() -> list[tuple[list[str], str]]:
    """Each text block the guide shows as a command's output: (arguments, output)."""
    return [
        (match[1].split()[1:], content)
        for language, content, _, before in blocks(GUIDE.read_text())
        if language == "text" and (match := COMMAND.match(before))
    ]


@pytest.mark.parametrize(("args", "shown"), shown_commands())
def test_the_guide_shows_what_the_command_prints(app, surveys_dir, monkeypatch, args, shown):
    monkeypatch.chdir(surveys_dir.parent)  # paths show as the guide's: surveys/...
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.output == shown


def test_the_guide_shows_the_cost_table():
    assert [args for args, _ in shown_commands()] == [
        ["surveys", "check", "surveys/visit-feedback.yaml"]
    ]


def test_the_guide_lists_every_command_word_a_choice_should_not_be():
    listed = {plain(word.casefold()) for word in re.findall(r"`(\w+)`", GUIDE.read_text())}
    assert listed >= ALL_COMMAND_WORDS, sorted(ALL_COMMAND_WORDS - listed)


# -- the word lists: each table says exactly what the bot reads (bot/words.py) -------------

WORD_TABLE = re.compile(r"^<!-- words: (\w+) -->\n((?:\|.*\n)+)", re.MULTILINE)
COMMAND_ROWS = {
    "opt out": "opt_out",
    "opt back in": "opt_in",
    "help": "help",
    "back": "back",
    "skip": "skip",
    "restart": "restart",
}
TODAY = date(2026, 11, 27)  # a Friday


def word_table(name: str) -> dict[str, dict[str, list[str]]]:
    """A word table of the guide: row -> language -> the words listed in its cell."""
    found = {m[1]: m[2] for m in WORD_TABLE.finditer(GUIDE.read_text())}
    header, _, *rows = found[name].splitlines()
    languages = [cell.strip(" `") for cell in header.strip("|").split("|")[1:]]
    table = {}
    for row in rows:
        title, *cells = [cell.strip() for cell in row.strip("|").split("|")]
        table[title] = {
            code: [word.strip() for word in cell.split(",") if word.strip()]
            for code, cell in zip(languages, cells, strict=True)
        }
    return table


def as_read(words: list[str]) -> set[str]:
    """Words as the bot compares them: case folded, accents dropped."""
    return {plain(word.casefold()) for word in words}


def test_the_guide_lists_every_language_in_every_word_table():
    for name in ("commands", "yesno", "numbers", "days", "ordinals", "loose"):
        for row in word_table(name).values():
            assert list(row) == list(LANGUAGES), name


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("row", "command"), COMMAND_ROWS.items())
def test_the_command_words_are_the_bots(row, command, language):
    assert as_read(word_table("commands")[row][language]) == COMMAND_WORDS[language][command]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_yes_and_no_words_are_the_bots(language):
    table = word_table("yesno")  # a session reads its language's words and English
    words = words_for(language)
    assert as_read(table["yes"][language] + table["yes"]["en"]) == words.yes
    assert as_read(table["no"][language] + table["no"]["en"]) == words.no
    assert as_read(table["unsure"][language] + table["unsure"]["en"]) == words.unsure
    assert as_read(table["neither"][language] + table["neither"]["en"]) == words.neutral


def listed_numbers(language: str) -> list[tuple[str, int]]:
    """(word, number) for every number word the guide lists in `language`."""
    table = word_table("numbers")
    found = [(w, n) for n, w in enumerate(table["0 to 19"][language])]
    found += [(w, 20 + 10 * n) for n, w in enumerate(table["20 to 90"][language])]
    found += [(w, 100 * (n + 1)) for n, w in enumerate(table["100 to 900"][language])]
    found += [(w, 1000) for w in table["1,000"][language]]
    for item in table["also"][language]:
        word, number = re.fullmatch(r"(.+) \((\d+)\)", item).groups()
        found.append((word, int(number)))
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_number_word_listed_reads_as_its_number(language):
    table = word_table("numbers")
    assert (len(table["0 to 19"][language]), len(table["20 to 90"][language])) == (20, 8)
    question = Question(id="n", type="number", text=None)
    for word, number in listed_numbers(language):
        assert read_reply(question, word, today=TODAY, language=language) == number, word


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_day_word_listed_reads_as_its_date(language):
    table = word_table("days")
    question = Question(id="d", type="date", text=None)

    def read(text: str) -> date:
        return read_reply(question, text, today=TODAY, language=language)

    for row, offset in (("today", 0), ("yesterday", -1), ("the day before", -2), ("tomorrow", 1)):
        for word in table[row][language]:
            assert read(word) == TODAY + timedelta(days=offset), word
    for weekday, word in enumerate(table["Monday to Sunday"][language]):
        assert read(word).weekday() == weekday, word
    for month, word in enumerate(table["January to December"][language], start=1):
        assert read(f"3 {word} 2027") == date(2027, month, 3), word


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_ordinal_listed_names_its_choice(language):
    choices = tuple(Choice(f"Option {n}", f"c{n}") for n in range(1, 11))
    question = Question(id="c", type="choice", text=None, choices=choices)
    for number, word in enumerate(word_table("ordinals")["first to tenth"][language], start=1):
        assert read_reply(question, word, today=TODAY, language=language) == f"c{number}", word


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_loose_reply_listed_reads_as_the_guide_says(language):
    table = word_table("loose")
    choices = tuple(Choice(f"Option {n}", f"c{n}") for n in range(1, 5))
    multi = Question(id="m", type="multi", text=None, choices=choices, min=1, max=4)
    choice = Question(id="c", type="choice", text=None, choices=choices)
    number = Question(id="n", type="number", text=None)

    def read(question: Question, text: str):
        return read_reply(question, text, today=TODAY, language=language)

    for words in table["every choice, on a `multi`"][language]:
        assert read(multi, words) == ["c1", "c2", "c3", "c4"], words
    for words in table["every choice but the first, on a `multi`"][language]:
        assert read(multi, words) == ["c2", "c3", "c4"], words
    for row, expected in (("a dozen (12)", 12), ("half a dozen (6)", 6)):
        for words in table[row][language]:
            assert read(number, words) == expected, words
    for words in table["around choice 3"][language]:
        assert read(choice, words) == "c3", words
