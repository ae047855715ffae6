"""Each example survey answered end to end by webhooks posted to a running `flask run`."""

from __future__ import annotations

import csv
import io

import pytest

from live import Sender, flask_run, server_settings
from play import CONVERSATIONS, EXAMPLES
from web.factory import create_app


@pytest.fixture
def served(database_url, surveys_dir, tmp_path):
    """A `flask run` server on a fresh database with the example surveys."""
    with flask_run(server_settings(database_url, surveys_dir), tmp_path) as server:
        yield server


def test_every_example_sends_the_texts_of_its_file_and_exports_the_replies(served, config):
    assert sorted(CONVERSATIONS) == EXAMPLES  # a new example survey needs its conversation
    sender = Sender(served.port)
    app = create_app(config)  # the same database and surveys, for the export
    for n, (survey_id, conversation) in enumerate(sorted(CONVERSATIONS.items())):
        phone = f"+1555020{n:04d}"
        for body, _, sent in conversation:
            reply = sender.send(phone, body)
            assert (reply.status, reply.text) == (200, sent), (survey_id, body)
        result = app.test_cli_runner().invoke(args=["export", survey_id, "--format", "long"])
        rows = list(csv.DictReader(io.StringIO(result.output)))
        assert [(r["phone"], r["question_id"], r["raw_reply"]) for r in rows] == [
            (phone, question, body) for body, question, _ in conversation if question
        ]
    app.extensions["survey_service"].engine.dispose()
