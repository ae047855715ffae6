"""Survey files and templates within SPEC 1's limits: refused at load, bounded at run time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

import bot.catalog
from bot.loader import SurveyError, load_survey
from bot.templates import LOOP_BOUND, RENDER_OUTPUT, Text
from conftest import SMS, saved, survey_folder
from live import row_counts
from service import Service
from web import create_app

PHONE = "+15558880401"


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
    "over 1,600 at worst": (
        "{{ answers.name }}" * 17,
        7,
        "help next can be 1,813 characters long at its worst; Twilio takes at most 1,600",
    ),
}


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


def test_a_file_over_1_mb_is_refused(app, tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(survey_with("Hi") + "# padding\n" * 100_001)
    result = app.test_cli_runner().invoke(args=["surveys", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:1: the file is over 1,000,000 bytes" in result.output


TEMPLATES_AT_RUN_TIME = {  # what a version stored before the limits may still hold
    "nested loops": "Hi {% for i in range(99) %}{% for j in range(999) %}x{% endfor %}{% endfor %}",
    "repetition": "Hi {{ 'x' * 10**8 }}",
    "a huge power": "Hi {{ 9 ** 999999 }}",
    "huge output": "Hi {% for i in range(99) %}{{ '%0999d' % 0 }}{% endfor %}",
}


@pytest.mark.parametrize("source", TEMPLATES_AT_RUN_TIME.values(), ids=TEMPLATES_AT_RUN_TIME.keys())
def test_a_render_stops_within_its_budget_keeping_the_text_before(source):
    started = time.monotonic()
    shown = Text.compile(source).render({"answers": {}})
    assert time.monotonic() - started < 0.5
    assert shown == "Hi"
    assert len(shown) <= RENDER_OUTPUT


def test_a_stored_version_with_a_bomb_still_serves_within_the_budget(app, config):
    loops = "{% for i in range(9999) %}{% for j in range(9999) %}x{% endfor %}{% endfor %}"
    survey = load_survey(survey_with("Next " + loops).encode(), "old/bomb.yaml", limits=False)
    service = Service.of(app)
    service.catalog.add_version(survey)
    with service.engine.begin() as conn:  # a session started on it before the limits existed
        service.start(conn, PHONE, survey, now=datetime.now(UTC))
    restarted = create_app(config)  # the version is loaded again from the database
    started = time.monotonic()
    assert SMS(restarted.test_client()).send(PHONE, "Ann") == "Next"
    assert time.monotonic() - started < 2
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


def test_a_50_mb_file_is_refused_fast_while_messages_are_answered(sms, app, surveys_dir):
    sms.send(PHONE, "hello")
    saved(surveys_dir / "huge.yaml", "# " + "x" * 50_000_000 + "\n")
    started = time.monotonic()
    assert sms.send(PHONE, "Ann")  # the next question, as if nothing had happened
    assert time.monotonic() - started < 1
    assert app.test_client().get("/healthz").status_code == 200
    catalog = Service.of(app).catalog
    catalog.refresh_now()
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
