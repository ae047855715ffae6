"""SPEC 1: a saved change is in effect within two seconds, whether or not messages arrive."""

from __future__ import annotations

import threading
import time

from bench.big_survey import big_survey
from bot.catalog import Catalog
from live import Sender, gunicorn, server_settings
from test_xlsform_sms import FORMS
from xlsform import import_form

SPEC_DELAY = 2.0  # seconds after a save by which the first message sees it (SPEC 1)
BIG = big_survey(150, ("en", "es"), keyword="BIG")


def first_messages(sender: Sender, body: str, count: int) -> list[str | None]:
    """The replies to `body` from `count` numbers that never wrote before (any worker)."""
    stamp = time.monotonic_ns() % 10**6
    return [sender.send(f"+1555{stamp:06d}{n}", body).text for n in range(count)]


def test_saved_files_are_served_by_every_worker_two_seconds_later(tmp_path, surveys_dir):
    settings = server_settings(f"sqlite:///{tmp_path / 'watch.sqlite3'}", surveys_dir)
    with gunicorn(settings, tmp_path, workers=2) as server:
        sender = Sender(server.port)
        # The server has answered nothing yet: a new file, a big one, an edit, an import.
        (surveys_dir / "big.yaml").write_text(BIG)
        feedback = surveys_dir / "visit-feedback.yaml"
        feedback.write_text(feedback.read_text().replace("Thanks for visiting!", "Welcome back!"))
        form = import_form(FORMS / "market_bilingual.xlsx")
        imported = form.yaml_text.replace("- MARKET\n", "- STALLS\n")  # MARKET is taken
        (surveys_dir / f"{form.survey_id}.yaml").write_text(imported)
        time.sleep(SPEC_DELAY)
        for reply in first_messages(sender, "BIG", 3):
            assert reply == "Hello! Reply STOP to opt out.\n\nWhat is your first name?"
        for reply in first_messages(sender, "FEEDBACK", 3):
            assert reply.startswith("Welcome back! ")
        for reply in first_messages(sender, "STALLS", 3):
            assert reply.startswith("Welcome to the market survey.")


def test_the_watcher_takes_a_save_alone_and_stops_when_told(tmp_path):
    folder = tmp_path / "surveys"
    folder.mkdir()
    catalog = Catalog(folder)
    catalog.watch(interval=0.05)
    try:
        assert catalog.watched
        (folder / "big.yaml").write_text(BIG)
        deadline = time.monotonic() + SPEC_DELAY
        while catalog.by_keyword("BIG") is None and time.monotonic() < deadline:
            time.sleep(0.05)  # no refresh() here: the watcher alone loads it
        assert len(catalog.by_keyword("BIG").questions) == 150
    finally:
        catalog.stop_watching()
    assert not catalog.watched
    assert "survey-watcher" not in [t.name for t in threading.enumerate()]
