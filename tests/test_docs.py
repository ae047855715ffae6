"""The survey authors' guide: every example survey loads, every broken one fails as shown."""

import re
from pathlib import Path

import pytest
import yaml

from bot.loader import SurveyError, Yaml12Loader, load_survey
from bot.words import ALL_COMMAND_WORDS, plain

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
