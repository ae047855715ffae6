"""Quotas, targets, arms and random order, end to end through the webhook (SPEC 12)."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections import Counter

import pytest
from sqlalchemy import text
from test_integrity import at_once
from test_studio import sign_in

from bot.model import quota_key
from conftest import saved, survey_folder
from live import Sender, gunicorn, server_settings

STUDY = textwrap.dedent(
    """\
    id: study
    keywords: [STUDY]
    target: 6
    quotas:
      - {when: "answers.gender == 'f'", target: 2}
    quota_full: Enough women already, thank you!
    closed: The study is closed.
    arms:
      - {id: short, weight: 1}
      - {id: long, weight: 3}
    shuffle: [[q1, q2, q3]]
    questions:
      - id: gender
        type: choice
        text: "Gender? ({{ arm }})"
        choices: [{label: Female, value: f}, {label: Male, value: m}]
      - id: brand
        type: choice
        text: Brand?
        shuffle_choices: true
        choices:
          - Acme Foods
          - Bolt Drinks
          - Crest Water
          - {label: None of these, value: none, fixed: true}
      - {id: q1, type: text, text: One?}
      - {id: q2, type: text, text: Two?}
      - {id: q3, type: text, text: Three?}
    outro: Done.
    """
)

WOMEN = quota_key("answers.gender == 'f'")  # the study's quota's count, by its key


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the study."""
    return survey_folder(tmp_path, study=STUDY)


def session(app, phone: str) -> dict:
    """The latest session of a number, as stored."""
    engine = app.extensions["survey_service"].engine
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT status, state, arm, orders, answers FROM survey_session "
                "WHERE phone = :p ORDER BY id DESC LIMIT 1"
            ),
            {"p": phone},
        ).one()
    return dict(row._mapping)


def answers(app, phone: str) -> dict:
    """The latest session's answers."""
    return json.loads(session(app, phone)["answers"])


def counts(app) -> dict[str, int]:
    """The study's counts by key."""
    engine = app.extensions["survey_service"].engine
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT key, completes FROM quota_count")).all()
    return dict(rows)


def shown_brands(reply: str) -> list[str]:
    """The brand choices as numbered in a reply."""
    return [line.split(". ", 1)[1] for line in reply.splitlines() if line[:1].isdigit()]


def complete(sms, phone: str, gender: str) -> str:
    """Answer the whole study; the last reply."""
    sms.send(phone, "STUDY")
    reply = sms.send(phone, gender)
    for body in ("1", "x", "y", "z"):
        if reply in ("Enough women already, thank you!",):
            return reply
        reply = sms.send(phone, body)
    return reply


def test_a_full_quota_ends_a_respondent_at_the_answer_that_puts_them_in_it(app, sms):
    assert complete(sms, "+15550000001", "1") == "Done."
    assert complete(sms, "+15550000002", "1") == "Done."
    assert counts(app) == {"": 2, WOMEN: 2}
    sms.send("+15550000003", "STUDY")
    assert sms.send("+15550000003", "1") == "Enough women already, thank you!"
    assert session(app, "+15550000003")["status"] == "completed"
    assert complete(sms, "+15550000004", "2") == "Done."  # men are still wanted
    assert counts(app) == {"": 3, WOMEN: 2}


def test_rewording_a_quota_without_changing_its_meaning_keeps_its_count(app, sms, surveys_dir):
    assert complete(sms, "+15550000601", "1") == "Done."
    assert complete(sms, "+15550000602", "1") == "Done."
    reworded = STUDY.replace(
        """{when: "answers.gender == 'f'", target: 2}""",
        """{when: '( answers.gender  ==  "f" )', target: 2}""",
    )
    assert reworded != STUDY
    saved(surveys_dir / "study.yaml", reworded)
    sms.send("+15550000603", "STUDY")
    assert sms.send("+15550000603", "1") == "Enough women already, thank you!"  # still full
    output = app.test_cli_runner().invoke(args=["surveys", "list"]).output
    assert """quota ( answers.gender  ==  "f" ) 2/2 full""" in output
    assert counts(app) == {"": 2, WOMEN: 2}


def test_a_quota_added_in_a_new_version_counts_the_earlier_completes_it_holds_for(
    app, sms, surveys_dir
):
    for phone, gender in (("+15550000701", "1"), ("+15550000702", "1")):
        assert complete(sms, phone, gender) == "Done."
    for phone in ("+15550000711", "+15550000712"):
        assert complete(sms, phone, "2") == "Done."
    sms.send("+15550000703", "STUDY")  # a third woman: quota filled (4.80), not a complete
    assert sms.send("+15550000703", "1") == "Enough women already, thank you!"
    sms.send("+15550000713", "STUDY")  # a man still answering: not a complete
    sms.send("+15550000713", "2")
    result = app.test_cli_runner().invoke(  # a test session: never counted
        args=["simulate", "study", "--phone", "+15550000790", "--arm", "short"],
        input="2\n1\nx\ny\nz\n",
    )
    assert result.exit_code == 0, result.output
    added = STUDY.replace(
        "target: 2}\n",
        "target: 2}\n"
        """  - {when: "answers.gender == 'm'", target: 3}\n"""
        """  - {when: "answers.gender is defined", target: 10}\n""",
    )
    saved(surveys_dir / "study.yaml", added)
    output = app.test_cli_runner().invoke(args=["surveys", "list"]).output
    assert "quota answers.gender == 'm' 2/3 |" in output
    assert "quota answers.gender is defined 4/10" in output
    assert complete(sms, "+15550000714", "2") == "Done."
    men, everyone = quota_key("answers.gender == 'm'"), quota_key("answers.gender is defined")
    assert counts(app) == {"": 5, WOMEN: 2, men: 3, everyone: 5}
    sms.send("+15550000715", "STUDY")
    assert sms.send("+15550000715", "2") == "Enough women already, thank you!"  # men: full
    assert counts(app)[men] == 3


def test_a_quota_added_already_met_turns_away_the_next_at_their_complete(app, sms, surveys_dir):
    for phone in ("+15550000721", "+15550000722"):
        assert complete(sms, phone, "2") == "Done."
    met = STUDY.replace(
        "target: 2}\n", "target: 2}\n" """  - {when: "answers.gender == 'm'", target: 2}\n"""
    )
    saved(surveys_dir / "study.yaml", met)
    # No count is stored for the new quota yet: the first complete works it out (2, full)
    # under the lock, and ends this man as quota full instead of counting him.
    assert complete(sms, "+15550000723", "2") == "Enough women already, thank you!"
    assert counts(app)[quota_key("answers.gender == 'm'")] == 2


def test_the_target_closes_the_survey_but_open_sessions_may_finish(app, sms):
    for i in range(5):
        assert complete(sms, f"+1555000010{i}", "2") == "Done."
    sms.send("+15550000200", "STUDY")  # open before the sixth complete
    assert complete(sms, "+15550000106", "2") == "Done."
    assert sms.send("+15550000300", "STUDY") == "The study is closed."
    assert sms.send("+15550000100", "RESTART") == "The study is closed."
    reply = sms.send("+15550000200", "2")  # still finishing: the target may be passed
    assert reply.startswith("Brand?")


def test_the_keyword_list_stops_offering_a_survey_once_it_is_closed(app, sms, surveys_dir):
    other = "id: other\nkeywords: [OTHER]\nquestions:\n  - {id: q, type: text, text: Q?}\n"
    saved(surveys_dir / "other.yaml", other)
    assert "STUDY" in sms.send("+15550000500", "hello")  # no default survey: the keywords
    for i in range(6):
        complete(sms, f"+1555000051{i}", "2")
    reply = sms.send("+15550000501", "hello")
    assert "OTHER" in reply and "STUDY" not in reply
    assert sms.send("+15550000502", "STUDY") == "The study is closed."


def test_arms_come_in_exact_blocks_and_a_case_keeps_its_arm(app, sms):
    arms = []
    for i in range(8):
        reply = sms.send(f"+155500004{i:02d}", "STUDY")
        arms.append(reply.split("(")[1].split(")")[0])  # the text shows {{ arm }}
    assert Counter(arms[:4]) == Counter(arms[4:]) == {"short": 1, "long": 3}
    phone = "+15550000400"
    assert sms.send(phone, "RESTART").startswith(f"Gender? ({arms[0]})")
    assert session(app, phone)["arm"] == arms[0]


def test_numbers_mean_the_choices_shown_under_back_reprompts_and_confirmations(app, sms):
    phone = "+15550000500"
    sms.send(phone, "STUDY")
    first = sms.send(phone, "2")
    shown = shown_brands(first)
    assert shown[-1] == "None of these" and sorted(shown[:3]) == [
        "Acme Foods",
        "Bolt Drinks",
        "Crest Water",
    ]
    assert shown_brands(sms.send(phone, "9")) == shown  # a re-prompt: the same order
    sms.send(phone, "2")
    assert shown_brands(sms.send(phone, "BACK")) == shown  # BACK: the same order again
    sms.send(phone, "3")
    assert answers(app, phone)["brand"] == shown[2]
    sms.send(phone, "BACK")
    near = shown[0][:-1] + "x"  # one letter off: a confirmation, then YES
    assert sms.send(phone, near) == f'Did you mean "{shown[0]}"? Reply YES or NO.'
    sms.send(phone, "YES")
    assert answers(app, phone)["brand"] == shown[0]


def test_shuffled_questions_are_asked_in_the_stored_order_and_back_follows_it(app, sms):
    phone = "+15550000600"
    sms.send(phone, "STUDY")
    sms.send(phone, "2")
    asked = [sms.send(phone, "1")]
    asked.append(sms.send(phone, "a"))
    asked.append(sms.send(phone, "b"))
    order = [{"One?": "q1", "Two?": "q2", "Three?": "q3"}[q] for q in asked]
    assert sorted(order) == ["q1", "q2", "q3"]
    assert json.loads(session(app, phone)["orders"])["questions"] == order
    assert sms.send(phone, "BACK") == asked[1]  # back to the second question asked
    sms.send(phone, "b2")
    assert sms.send(phone, "c") == "Done."


def test_test_sessions_never_count_toward_a_quota(app, runner_phone="+15550000700"):
    runner = app.test_cli_runner()
    for _ in range(3):
        result = runner.invoke(
            args=["simulate", "study", "--phone", runner_phone, "--arm", "short"],
            input="1\n1\nx\ny\nz\n",
        )
        assert result.exit_code == 0, result.output
    assert "(short)" in result.output
    assert counts(app) == {}


@pytest.mark.parametrize("workers", [4])
def test_thirty_at_the_last_question_of_a_quota_of_five_give_five_completes(
    database_url, tmp_path, workers
):
    folder = tmp_path / "live-surveys"
    folder.mkdir()
    saved(
        folder / "study.yaml",
        STUDY.replace("target: 6", "target: 100").replace("target: 2}", "target: 5}"),
    )
    with gunicorn(server_settings(database_url, folder), tmp_path, workers=workers) as server:
        sender = Sender(server.port)
        phones = [f"+155500008{i:02d}" for i in range(30)]
        for phone in phones:  # everyone up to the last question
            for body in ("STUDY", "1", "1", "x", "y"):
                sender.send(phone, body)
        replies = at_once(30, lambda i: sender.send(phones[i], "z"))
    texts = Counter(reply.text for reply in replies)
    assert texts == {"Done.": 5, "Enough women already, thank you!": 25}


def test_sixteen_new_cases_over_two_workers_split_four_and_twelve(database_url, tmp_path):
    folder = tmp_path / "live-surveys"
    folder.mkdir()
    saved(folder / "study.yaml", STUDY)
    with gunicorn(server_settings(database_url, folder), tmp_path, workers=2) as server:
        sender = Sender(server.port)
        replies = at_once(16, lambda i: sender.send(f"+155500009{i:02d}", "STUDY"))
    arms = Counter(reply.text.split("(")[1].split(")")[0] for reply in replies)
    assert arms == {"short": 4, "long": 12}


def test_surveys_list_shows_each_quota_and_the_target_as_count_over_target(app, sms):
    complete(sms, "+15550001001", "1")
    complete(sms, "+15550001002", "1")
    output = app.test_cli_runner().invoke(args=["surveys", "list"]).output
    assert "| target 2/6 | quota answers.gender == 'f' 2/2 full" in output


def test_invite_to_a_closed_survey_sends_nothing_and_says_why(app, sms, tmp_path):
    for i in range(6):
        complete(sms, f"+1555000110{i}", "2")
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("phone\n+15550001200\n")
    result = app.test_cli_runner().invoke(args=["invite", "study", str(numbers)])
    assert result.exit_code == 1
    assert "Survey 'study' is closed: it has its target of 6 completes" in result.output
    assert session_count(app, "+15550001200") == 0


def session_count(app, phone: str) -> int:
    """How many sessions a number has."""
    engine = app.extensions["survey_service"].engine
    with engine.connect() as conn:
        query = text("SELECT count(*) FROM survey_session WHERE phone = :p")
        return conn.execute(query, {"p": phone}).scalar_one()


def test_the_exports_carry_the_arm_and_the_orders_each_respondent_saw(app, sms):
    phone = "+15550001300"
    sms.send(phone, "STUDY")
    shown = shown_brands(sms.send(phone, "2"))
    asked = [sms.send(phone, "2")]
    asked += [sms.send(phone, body) for body in ("a", "b")]
    sms.send(phone, "c")
    order = ";".join({"One?": "q1", "Two?": "q2", "Three?": "q3"}[q] for q in asked)
    runner = app.test_cli_runner()
    wide = list(csv.DictReader(io.StringIO(runner.invoke(args=["export", "study"]).output)))
    assert (wide[0]["arm"], wide[0]["order"]) == (session(app, phone)["arm"], order)
    assert wide[0]["brand"] == shown[1]
    long = runner.invoke(args=["export", "study", "--format", "long"]).output
    by_question = {row["question_id"]: row for row in csv.DictReader(io.StringIO(long))}
    values = {"None of these": "none"}  # the fixed choice's value differs from its label
    assert by_question["brand"]["choice_order"] == ";".join(values.get(c, c) for c in shown)
    assert by_question["q1"]["choice_order"] == ""


BEARER = {"Authorization": "Bearer admin-secret-token"}


def test_results_take_an_arm_filter_and_the_studio_shows_the_quotas(app, client, sms):
    arms = {}
    for i in range(4):  # one block: one short, three long
        phone = f"+155500014{i:02d}"
        arms[phone] = sms.send(phone, "STUDY").split("(")[1].split(")")[0]
        sms.send(phone, "1")  # a woman: counts toward the quota when complete
    short = next(phone for phone, arm in arms.items() if arm == "short")
    for body in ("1", "x", "y", "z"):
        sms.send(short, body)
    api = "/studio/api/surveys/study/results"
    every = client.get(api, headers=BEARER).get_json()
    only_short = client.get(api + "?arm=short", headers=BEARER).get_json()
    only_long = client.get(api + "?arm=long", headers=BEARER).get_json()
    assert every["sessions"]["total"] == 4
    assert (only_short["sessions"]["total"], only_short["sessions"]["completed"]) == (1, 1)
    assert (only_long["sessions"]["total"], only_long["sessions"]["completed"]) == (3, 0)
    refused = client.get(api + "?arm=medium", headers=BEARER)
    assert refused.status_code == 400 and b"short, long" in refused.data
    assert sign_in(client).status_code == 302
    page = client.get("/studio/surveys/study?arm=short").get_data(as_text=True)
    assert '<option value="short" selected>short</option>' in page
    assert 'data-quota="target">1/6</td>' in page
    assert 'data-quota="answers.gender == &#39;f&#39;">1/2</td>' in page


def test_the_outcomes_report_counts_the_quotas(app, sms):
    complete(sms, "+15550001501", "1")
    sms.send("+15550001502", "STUDY")  # one quota_full later: code 4.80
    complete(sms, "+15550001503", "1")
    sms.send("+15550001504", "STUDY")
    assert sms.send("+15550001504", "1") == "Enough women already, thank you!"
    runner = app.test_cli_runner()
    text_report = runner.invoke(args=["surveys", "outcomes", "study"]).output
    assert "  target: 2/6\n  answers.gender == 'f': 2/2 full" in text_report
    walk_ins = ["surveys", "outcomes", "study", "--json", "--include-walk-ins"]
    report = json.loads(runner.invoke(args=walk_ins).output)  # keyword starts: walk-ins
    assert report["quotas"][1] == {
        "when": "answers.gender == 'f'",
        "count": 2,
        "target": 2,
        "full": True,
    }
    codes = {row["code"]: row["count"] for row in report["dispositions"]}
    assert codes["4.80"] == 1 and codes["1.1"] == 2


def test_flask_export_takes_the_arm_filter(app, sms):
    arms = {}
    for i in range(4):  # one block: one short, three long
        phone = f"+155500016{i:02d}"
        arms[phone] = sms.send(phone, "STUDY").split("(")[1].split(")")[0]
    runner = app.test_cli_runner()
    rows = csv.DictReader(
        io.StringIO(runner.invoke(args=["export", "study", "--arm", "long"]).output)
    )
    assert sorted(row["phone"] for row in rows) == sorted(p for p, a in arms.items() if a == "long")
