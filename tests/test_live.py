"""Each example survey answered end to end by webhooks posted to a running `flask run`."""

from __future__ import annotations

import csv
import io

import pytest

from bot.flow import FINISHED, Position
from live import Sender, flask_run, server_settings
from play import EXAMPLES, script
from web.factory import create_app


@pytest.fixture
def served(database_url, surveys_dir, tmp_path):
    """A `flask run` server on a fresh database with the example surveys."""
    with flask_run(server_settings(database_url, surveys_dir), tmp_path) as server:
        yield server


def test_every_example_reaches_its_outro_and_the_export(served, config):
    app = create_app(config)  # the same database and surveys, for the survey model and export
    sender = Sender(served.port)
    for n, survey_id in enumerate(EXAMPLES):
        survey = app.extensions["survey_service"].catalog.get(survey_id)
        phone = f"+1555020{n:04d}"
        first = sender.send(phone, survey.keywords[0])
        assert first.status == 200 and first.text.startswith(survey.intro.render({"answers": {}}))
        steps = script(survey)
        for _, reply, _ in steps:
            last = sender.send(phone, reply)
            assert last.status == 200, last.twiml
        answers = {qid: value for qid, _, value in steps}
        shown = Position(survey, FINISHED, answers, language=survey.language)  # labels printed
        assert last.text == survey.outro.render(shown.context)
        result = app.test_cli_runner().invoke(args=["export", survey_id, "--format", "long"])
        rows = list(csv.DictReader(io.StringIO(result.output)))
        assert [(r["phone"], r["question_id"], r["raw_reply"]) for r in rows] == [
            (phone, qid, reply) for qid, reply, _ in steps
        ]
    app.extensions["survey_service"].engine.dispose()
