"""Survey files and templates within SPEC 1's limits: refused at load, bounded at run time."""

from __future__ import annotations

import gc
import logging
import threading
import time
import tracemalloc
from datetime import UTC, datetime

import pytest

import bot.catalog
import bot.templates
from bot.loader import SurveyError, load_survey
from bot.templates import Expr, Text
from conftest import SMS, saved, survey_folder
from live import row_counts
from service import Service
from web.factory import create_app

PHONE = "+15558880401"
TWILIO_MAX = 1600  # characters of one message (SPEC 1: a render never makes a huge one)
LOOP_BOUND = "a loop may only go over a list written out or range(N) with N at most 100"


def served(tmp_path):
    """A folder of its own, for a surveys folder beside the test's copy of the examples."""
    folder = tmp_path / "served"
    folder.mkdir()
    return folder


def survey_with(text: str, **extra: str) -> str:
    """A default survey whose second question's text is `text` (in a block scalar)."""
    indented = "\n".join("      " + line for line in text.splitlines())
    more = "".join(f"{k}: {v}\n" for k, v in extra.items())
    return (
        f"title: Bombs\ndefault: true\n{more}questions:\n"
        "  - id: name\n    type: text\n    text: Your name?\n"
        f"  - id: next\n    type: text\n    text: |\n{indented}\n"
    )


BOMBS = {
    "nested range loops": (
        "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}",
        10,
        "text template: a loop may not hold another loop",
    ),
    "a loop over an answer": (
        "{% for c in answers.name %}{{ c }}{% endfor %}",
        10,
        "text template: " + LOOP_BOUND,
    ),
    "a loop of 101": (
        "Hi\n{% for i in range(101) %}.{% endfor %}",
        11,
        "text template: " + LOOP_BOUND,
    ),
    "string repetition": (
        "{{ 'x' * 10**8 }}",
        10,
        "text template: text or lists may not be repeated with *",
    ),
    "an answer repeated": (
        "{{ answers.name ~ '!' * 3 }}",
        10,
        "text template: text or lists may not be repeated with *",
    ),
    "lipsum": (
        "{{ lipsum(150000) }}",
        10,
        "text template: lipsum() is not available in a survey",
    ),
    "a huge centre": (
        "{{ answers.name | center(10**9) }}",
        10,
        "text template: center: a number over 10000 would make a huge text",
    ),
    "a huge method width": (
        "{{ answers.name.ljust(2000000) }}",
        10,
        "text template: a call: a number over 10000 would make a huge text",
    ),
    "a huge % width": (
        "{{ '%999999999s' % answers.name }}",
        10,
        "text template: a format width over 10000, or taken from the values",
    ),
    "a width from the values": (
        "{{ '{:>{w}}'.format(answers.name, w=5) }}",
        10,
        "text template: a format width over 10000, or taken from the values",
    ),
    "over 1,600 at worst": (
        "{{ answers.name }}" * 17,
        7,
        "help next can be 1,813 characters long at its worst; Twilio takes at most 1,600",
    ),
}


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
@pytest.mark.parametrize(("text", "line", "message"), BOMBS.values(), ids=BOMBS.keys())
def test_each_bomb_is_refused_by_check_with_its_line(app, tmp_path, text, line, message):
    path = tmp_path / "bomb.yaml"
    path.write_text(survey_with(text))
    result = app.test_cli_runner().invoke(args=["surveys", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:{line}: {message}" in result.output, result.output


@pytest.mark.parametrize("text", [text for text, _, _ in BOMBS.values()])
def test_a_bomb_never_reaches_a_respondent(config, tmp_path, text):
    folder = survey_folder(served(tmp_path), bomb=survey_with(text))
    app = create_app(config | {"SURVEYS_DIR": str(folder)})
    assert Service.of(app).catalog.get("bomb") is None
    Service.of(app).engine.dispose()


BILINGUAL = """\
title: Bilingüe
languages: [en, es]
questions:
  - id: name
    type: text
    text: Your name?
  - id: next
    type: text
    text:
      en: A short question?
      es: {spanish}
"""


def test_a_message_too_long_in_a_second_language_only_is_refused_with_its_line(app, tmp_path):
    path = tmp_path / "bilingual.yaml"
    path.write_text(BILINGUAL.format(spanish="¿Y " + "palabra " * 237 + "?"))  # 1,900 characters
    result = app.test_cli_runner().invoke(args=["surveys", "check", str(path)])
    assert result.exit_code == 1
    # The longest message on the question's line: its help, with the question's 1,900.
    assert f"{path}:7: help next (es) can be 2,041 characters long at its worst" in (
        result.output
    ), result.output
    assert "(en)" not in result.output  # the English messages are short
    with pytest.raises(SurveyError):
        bot.catalog.load_file(path.read_bytes(), str(path))


def test_a_message_too_long_in_a_second_language_never_reaches_a_respondent(config, tmp_path):
    spanish = "¿Y " + "palabra " * 237 + "?"
    folder = survey_folder(served(tmp_path), bilingual=BILINGUAL.format(spanish=spanish))
    app = create_app(config | {"SURVEYS_DIR": str(folder)})
    assert Service.of(app).catalog.get("bilingual") is None
    Service.of(app).engine.dispose()


def test_smart_encoding_is_counted_in_the_length_it_sends(tmp_path):
    # "…" is sent as "...": 560 of them are 1,680 characters once replaced.
    text = "Hi" + "…" * 560
    plain = tmp_path / "plain.yaml"
    plain.write_text(survey_with(text))
    bot.catalog.load_file(plain.read_bytes(), str(plain))  # 562 characters: fine
    smart = tmp_path / "smart.yaml"
    smart.write_text(survey_with(text, smart_encoding="true"))
    with pytest.raises(SurveyError) as refused:
        bot.catalog.load_file(smart.read_bytes(), str(smart))
    assert "help next can be 1,795 characters long" in str(refused.value)  # 1,682 and help


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_a_file_over_1_mb_is_refused(app, tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(survey_with("Hi") + "# padding\n" * 100_001)
    result = app.test_cli_runner().invoke(args=["surveys", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:1: the file is over 1,000,000 bytes" in result.output


@pytest.fixture
def counted(monkeypatch):
    """The render budget without its time limit: what stops a template here is a count.

    On a busy machine the 0.05 s limit could stop a render first, and so hide a count
    that no longer holds; a bound on wall time would fail for the machine, not the code.
    """
    monkeypatch.setattr(bot.templates, "RENDER_SECONDS", 3600.0)


TEMPLATES_AT_RUN_TIME = {  # what a version stored before the limits may still hold, and why
    "nested loops": (
        "Hi {% for i in range(99) %}{% for j in range(999) %}x{% endfor %}{% endfor %}",
        "more than 1600 characters",
    ),
    "repetition": ("Hi {{ 'x' * 10**8 }}", "text repeated with *"),
    "a huge power": ("Hi {{ 9 ** 999999 }}", "a power over 64"),
    "huge output": (
        "Hi {% for i in range(99) %}{{ '%0999d' % 0 }}{% endfor %}",
        "more than 1600 characters",
    ),
    "just over a message": (
        "Hi {% for i in range(2) %}{{ '%0999d' % 0 }}{% endfor %}",
        "more than 1600 characters",
    ),
}


@pytest.mark.parametrize(
    ("source", "reason"), TEMPLATES_AT_RUN_TIME.values(), ids=TEMPLATES_AT_RUN_TIME.keys()
)
def test_a_render_stops_within_its_budget_keeping_the_text_before(source, reason, counted, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.templates"):
        shown = Text.compile(source).render({"answers": {}})
    assert shown == "Hi"
    assert len(shown) <= TWILIO_MAX
    # Stopped by a rule that counts, before the work was done: never by the clock.
    assert f"template stopped ({reason})" in caplog.text


class Ticking:
    """A stand-in for the `time` module whose clock moves 10 ms at every look."""

    def __init__(self):
        self.now = 0.0

    def thread_time(self) -> float:
        self.now += 0.01
        return self.now


def test_a_render_that_runs_out_of_time_stops_too(monkeypatch, caplog):
    monkeypatch.setattr(bot.templates, "time", Ticking())  # each step seems to take 10 ms
    with caplog.at_level(logging.WARNING, logger="bot.templates"):
        shown = Text.compile("Hi {% for i in range(99) %}x{% endfor %}").render({"answers": {}})
    assert shown == "Hi"  # 99 steps and 99 characters: only the time stops it
    assert "template stopped (more than 0.05 s)" in caplog.text


# The attacks of issue 24: each took seconds or gigabytes inside one step.
IN_ONE_STEP = {
    "lipsum": "{{ lipsum(200000) | length }}",
    "center": "{{ 'x' | center(10**9) | length }}",
    "a method's width": "{{ 'x'.center(10**9) | length }}",
    "% width": "{{ ('%' ~ 10**9 ~ 's') % 'x' }}",
    "format width": "{{ ('{:>' ~ 10**9 ~ '}').format(1) }}",
    "replace chain": "{{ 'aa' " + "| replace('a', 'aaaaaaaaaa') " * 9 + "| length }}",
    "~ doubling": "{% set a = 'xxxxxxxxxx' %}"
    + "{% set a = a ~ a ~ a ~ a ~ a ~ a ~ a ~ a ~ a ~ a %}" * 8
    + "{{ a | length }}",
    "+ doubling": "{% set a = 'xxxxxxxxxx' %}"
    + "{% set a = a + a + a + a + a + a + a + a + a + a %}" * 8
    + "{{ a | length }}",
    "batch": "{{ [1] | batch(10**9, 'x') | list | length }}",
}
MOST_MEMORY = 10_000_000  # bytes one render may take at its peak; the attacks took 1.7 GB


@pytest.mark.parametrize("source", IN_ONE_STEP.values(), ids=IN_ONE_STEP.keys())
def test_no_filter_method_or_operator_escapes_the_budget(source, counted):
    for compiled in (Text.compile("Hi " + source), Expr.compile(_inner(source) + " > 0")):
        tracemalloc.start()
        try:
            if isinstance(compiled, Text):
                shown = compiled.render({"answers": {}})
                assert shown.startswith("Hi") and len(shown) <= TWILIO_MAX
            else:
                assert not compiled.is_true({"answers": {}})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # Refused before the huge value was made (each made 10**9 characters or items).
        assert peak < MOST_MEMORY


def _inner(source: str) -> str:
    """The expression of a template's last {{ }} (a condition can hold no {% set %})."""
    return source.rpartition("{{")[2].rpartition("}}")[0]


def test_a_stored_version_with_a_bomb_still_serves_within_the_budget(app, config, counted, caplog):
    loops = "{% for i in range(9999) %}{% for j in range(9999) %}x{% endfor %}{% endfor %}"
    survey = load_survey(survey_with("Next " + loops).encode(), "old/bomb.yaml", limits=False)
    service = Service.of(app)
    service.catalog.add_version(survey)
    with service.engine.begin() as conn:  # a session started on it before the limits existed
        service.start(conn, PHONE, survey, now=datetime.now(UTC))
    restarted = create_app(config)  # the version is loaded again from the database
    with caplog.at_level(logging.WARNING, logger="bot.templates"):
        assert SMS(restarted.test_client()).send(PHONE, "Ann") == "Next"
    assert "template stopped (more than 10000 steps)" in caplog.text
    assert row_counts(service.engine)["answer"] == 1
    Service.of(restarted).engine.dispose()


def test_templates_see_the_survey_id_and_title_only(tmp_path, config):
    folder = survey_folder(
        served(tmp_path),
        peek=survey_with(
            "[{{ survey.id }}|{{ survey.title }}|{{ survey.path }}|{{ survey.source }}]"
        ),
    )
    app = create_app(config | {"SURVEYS_DIR": str(folder)})
    client = SMS(app.test_client())
    client.send(PHONE, "hello")
    assert client.send(PHONE, "Ann") == "[peek|Bombs||]"
    Service.of(app).engine.dispose()


def test_a_50_mb_file_is_refused_unread_while_messages_are_answered(sms, app, surveys_dir):
    sms.send(PHONE, "hello")
    saved(surveys_dir / "huge.yaml", "# " + "x" * 50_000_000 + "\n")
    catalog = Service.of(app).catalog
    tracemalloc.start()
    try:
        assert sms.send(PHONE, "Ann")  # the next question, as if nothing had happened
        catalog.refresh_now()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # What is read of it is enough to tell it is over 1 MB (SPEC 1), never its 50 MB.
    assert peak < 2 * 1_000_000 + MOST_MEMORY
    assert app.test_client().get("/healthz").status_code == 200
    assert any("over 1,000,000 bytes" in p.message for p in catalog.problems())


def test_a_slow_file_loads_off_the_request_path(sms, app, surveys_dir, monkeypatch):
    sms.send(PHONE, "hello")
    loading, started, release = bot.catalog.load_file, threading.Event(), threading.Event()

    def slow(data, path):  # a file near the size limit takes a while to parse
        started.set()
        release.wait(10)
        return loading(data, path)

    monkeypatch.setattr(bot.catalog, "load_file", slow)
    catalog = Service.of(app).catalog
    catalog.watch(interval=0.05)
    try:
        saved(surveys_dir / "slow.yaml", survey_with("Slow").replace("default: true\n", ""))
        assert started.wait(5)  # the watcher is loading it, and goes on
        assert sms.send(PHONE, "Ann")  # answered meanwhile, from the surveys loaded
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        release.set()
        catalog.stop_watching()


def test_a_stored_version_naming_what_it_cannot_see_never_sends_its_source(app, config):
    text = "Thanks {{ answer.name }}{{ name }}! {% if answer.x %}Yes{% endif %}Next?"
    with pytest.raises(SurveyError, match='uses "answer", which it cannot see'):
        load_survey(survey_with(text).encode(), "old/names.yaml")
    survey = load_survey(survey_with(text).encode(), "old/names.yaml", limits=False)
    service = Service.of(app)
    service.catalog.add_version(survey)
    with service.engine.begin() as conn:  # started before names were checked
        service.start(conn, PHONE, survey, now=datetime.now(UTC))
    restarted = create_app(config)
    assert SMS(restarted.test_client()).send(PHONE, "Ann") == "Thanks ! Next?"
    Service.of(restarted).engine.dispose()


class Collecting:
    """A value whose showing makes Python collect garbage, as any allocation may."""

    def __str__(self) -> str:
        gc.collect()
        return "Ana"


def test_a_garbage_collection_during_a_render_is_not_the_templates_time():
    def slow_collection(phase: str, _info: dict) -> None:  # a process with much alive
        if phase == "start":
            end = time.thread_time() + 2 * bot.templates.RENDER_SECONDS
            while time.thread_time() < end:
                pass

    gc.callbacks.append(slow_collection)
    try:
        shown = Text.compile("Thanks, {{ name }}!").render({"answers": {}, "name": Collecting()})
    finally:
        gc.callbacks.remove(slow_collection)
    assert shown == "Thanks, Ana!"  # the collection took 0.1 s of the thread's time
