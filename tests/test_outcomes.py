"""Outcomes (SPEC 11): each number's AAPOR disposition and the survey's response rates."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from test_studio import sign_in

from bot.conversation import Run
from bot.loader import load_survey
from bot.outcomes import Facts, Groups, group_rates, note, rates
from conftest import saved, survey_folder
from fake_twilio import (
    ACCOUNT_SID,
    clock_fixture,  # noqa: F401 (a fixture)
    invite_fixture,  # noqa: F401 (a fixture)
    sending_config,  # noqa: F401 (a fixture)
    twilio_fixture,  # noqa: F401 (a fixture)
)

POLL = """\
title: Food poll
keywords: [POLL]
expire_after: 2d
partial_after: rating
outro: "Thanks! ({{ outcome }})"
questions:
  - id: consent
    type: yesno
    text: May we ask you four questions?
    next:
      - {if: not answers.consent, goto: end, outcome: refused}
  - id: age
    type: number
    text: How old are you?
    next:
      - {if: answers.age < 18, goto: end, outcome: ineligible}
  - {id: food, type: text, text: "Your favourite food?"}
  - {id: rating, type: scale, min: 1, max: 5, text: "How do you rate the market (1-5)?"}
  - {id: last, type: text, text: "Anything else?"}
"""

NOW = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
# The ten invited numbers of the worked example, and the walk-in.
COMPLETE, PARTIAL, ONE_ANSWER, STOP_AT_ONCE, REFUSED = (f"+1202555010{n}" for n in range(5))
SCREENED_OUT, SILENT, NOT_MOBILE, UNDELIVERED, INVALID = (f"+1202555010{n}" for n in range(5, 10))
WALK_IN = "+12025550199"
REPLIES = {
    COMPLETE: ["yes", "30", "pizza", "4", "no"],
    PARTIAL: ["yes", "30", "pizza", "4", "STOP"],  # answered partial_after, then opted out
    ONE_ANSWER: ["yes", "STOP"],
    STOP_AT_ONCE: ["STOP"],
    REFUSED: ["no"],  # consent refused: outcome refused
    SCREENED_OUT: ["yes", "12"],  # under 18: outcome ineligible
    INVALID: ["banana"],  # not a yes or no: re-prompted, then silence
    WALK_IN: ["POLL", "yes", "40", "soup", "5", "no"],
}


@pytest.fixture
def surveys_dir(tmp_path):
    """A folder with the poll only."""
    return survey_folder(tmp_path, poll=POLL)


def callback(sms, sid: str, status: str, error: str | None = None) -> None:
    """A signed status callback, as Twilio sends it."""
    form = {"AccountSid": ACCOUNT_SID, "MessageSid": sid, "MessageStatus": status}
    if error:
        form["ErrorCode"] = error
    assert sms.post(form, path="/sms/status").status_code == 204


def run_worked_example(invite, twilio, sms) -> None:
    """Ten invitations, the carrier's news, the replies and the walk-in."""
    twilio.script(NOT_MOBILE, 21614)
    invited = [COMPLETE, PARTIAL, ONE_ANSWER, STOP_AT_ONCE, REFUSED]
    invited += [SCREENED_OUT, SILENT, NOT_MOBILE, UNDELIVERED, INVALID]
    result = invite(*invited, survey="poll")
    assert result.exit_code == 0, result.output
    assert "sent 9" in result.output and "failed 1" in result.output
    callback(sms, twilio.accepted(SILENT)[0].sid, "delivered")
    callback(sms, twilio.accepted(UNDELIVERED)[0].sid, "undelivered", "30003")
    for phone, replies in REPLIES.items():
        for reply in replies:
            sms.send(phone, reply)


def outcomes(app, **options) -> dict:
    """The report as the service makes it."""
    return app.extensions["survey_service"].outcomes("poll", **options)


def counts(report: dict, key: str = "count") -> dict[str, int]:
    """The report's disposition table: code -> count (zeros left out)."""
    return {row["code"]: row[key] for row in report["dispositions"] if row[key]}


# Every code, counted by hand from the ten invited numbers above:
#   1.1 complete            COMPLETE
#   1.2 partial             PARTIAL (answered `rating`, the partial_after question, then STOP)
#   4.10 not eligible       SCREENED_OUT
#   2.11 refusal            STOP_AT_ONCE, REFUSED, INVALID (a reply that answered nothing)
#   2.12 break-off          ONE_ANSWER
#   3.19 no reply           SILENT (delivered)
#   3.20 not delivered      UNDELIVERED (30003)
#   4.30 non-working        NOT_MOBILE (21614 at send)
#   4.80 quota filled       none
INVITED_COUNTS = {
    "1.1": 1,
    "1.2": 1,
    "4.10": 1,
    "2.11": 3,
    "2.12": 1,
    "3.19": 1,
    "3.20": 1,
    "4.30": 1,
}
# Interim: open sessions not idle past expire_after (2d): SILENT, UNDELIVERED, INVALID.
INTERIM = {"2.11": 1, "3.19": 1, "3.20": 1}

# AAPOR's groups, invited cases only: I = 1, P = 1, R = 2.11 + 2.12 = 4, NC = O = 0,
# U = 3.19 + 3.20 = 2, NE = 4.10 + 4.30 = 2; e = (I+P+R) / (I+P+R+NE) = 6/8.
# Over all cases (I+P+R+U) = 8, with e·U: 6 + 1.5 = 7.5, known eligible (I+P+R) = 6.
F = Fraction
INVITED_RATES = {
    "RR1": F(1, 8),
    "RR2": F(2, 8),
    "RR3": F(1) / F(15, 2),
    "RR4": F(2) / F(15, 2),
    "RR5": F(1, 6),
    "RR6": F(2, 6),
    "COOP1": F(1, 6),  # I / (I+P+R+O)
    "COOP2": F(2, 6),
    "COOP3": F(1, 6),  # I / (I+P+R)
    "COOP4": F(2, 6),
    "REF1": F(4, 8),
    "REF2": F(4) / F(15, 2),
    "REF3": F(4, 6),
    "CON1": F(6, 8),  # (I+P+R+O) / all
    "CON2": F(6) / F(15, 2),
    "CON3": F(6, 6),
}
# With the walk-in (complete): I = 2, I+P+R = 7, U = 2, NE = 2, e = 7/9;
# all = 9, with e·U: 7 + 14/9 = 77/9, known eligible = 7.
WITH_WALK_INS = {
    "RR1": F(2, 9),
    "RR2": F(3, 9),
    "RR3": F(2) / F(77, 9),
    "RR4": F(3) / F(77, 9),
    "RR5": F(2, 7),
    "RR6": F(3, 7),
    "COOP1": F(2, 7),
    "COOP2": F(3, 7),
    "COOP3": F(2, 7),
    "COOP4": F(3, 7),
    "REF1": F(4, 9),
    "REF2": F(4) / F(77, 9),
    "REF3": F(4, 7),
    "CON1": F(7, 9),
    "CON2": F(7) / F(77, 9),
    "CON3": F(7, 7),
}


def independent_rates(table: dict[str, int], e: float) -> dict[str, float]:
    """AAPOR's formulas straight from the disposition table: a second implementation."""
    i, p = table.get("1.1", 0), table.get("1.2", 0)
    r = table.get("2.11", 0) + table.get("2.12", 0)
    u = table.get("3.19", 0) + table.get("3.20", 0)
    nc = o = 0
    every, with_e, known = i + p + r + nc + o + u, i + p + r + nc + o + e * u, i + p + r + nc + o
    return {
        **{
            f"RR{n}": top / bottom
            for n, (top, bottom) in enumerate(
                [
                    (i, every),
                    (i + p, every),
                    (i, with_e),
                    (i + p, with_e),
                    (i, known),
                    (i + p, known),
                ],
                1,
            )
        },  # fmt: skip
        "COOP1": i / (i + p + r + o),
        "COOP2": (i + p) / (i + p + r + o),
        "COOP3": i / (i + p + r),
        "COOP4": (i + p) / (i + p + r),
        "REF1": r / every,
        "REF2": r / with_e,
        "REF3": r / known,
        "CON1": (i + p + r + o) / every,
        "CON2": (i + p + r + o) / with_e,
        "CON3": (i + p + r + o) / known,
    }


# SPEC 11's table and list of rates, in their order.
DISPOSITIONS = [
    ("1.1", "complete"), ("1.2", "partial"), ("4.80", "quota filled"), ("4.10", "not eligible"),
    ("2.11", "refusal"), ("2.12", "break-off"), ("3.19", "no reply"), ("3.20", "not delivered"),
    ("4.30", "non-working number"),
]  # fmt: skip
RATE_NAMES = ["RR1", "RR2", "RR3", "RR4", "RR5", "RR6", "COOP1", "COOP2", "COOP3", "COOP4",
              "REF1", "REF2", "REF3", "CON1", "CON2", "CON3"]  # fmt: skip


def assert_rates(found: dict, expected: dict[str, Fraction]) -> None:
    """Every one of the sixteen rates, to the last bit a float holds."""
    assert list(found) == RATE_NAMES
    for name, value in expected.items():
        assert found[name] == pytest.approx(float(value), rel=1e-12), name


def test_the_worked_example(app, invite, twilio, sms, clock):
    run_worked_example(invite, twilio, sms)
    report = outcomes(app)
    assert [(row["code"], row["name"]) for row in report["dispositions"]] == DISPOSITIONS
    assert counts(report) == INVITED_COUNTS
    assert counts(report, "interim") == INTERIM
    assert (report["cases"], report["interim"], report["walk_ins"]) == (10, 3, 1)
    assert report["e"] == pytest.approx(6 / 8)
    assert_rates(report["rates"], INVITED_RATES)
    assert_rates(report["rates"], independent_rates(INVITED_COUNTS, 6 / 8))

    walk_ins = outcomes(app, walk_ins=True)
    assert counts(walk_ins) == INVITED_COUNTS | {"1.1": 2}
    assert (walk_ins["cases"], walk_ins["walk_ins"], walk_ins["e"]) == (11, 1, pytest.approx(7 / 9))
    assert_rates(walk_ins["rates"], WITH_WALK_INS)

    given = outcomes(app, e=0.5)  # e given: U counts half
    assert given["e"] == 0.5
    assert given["rates"]["RR3"] == pytest.approx(1 / 7)
    assert_rates(given["rates"], independent_rates(INVITED_COUNTS, 0.5))

    assert_reported_alike(app, report, walk_ins)
    assert_exported(app)

    clock.set(clock.now() + timedelta(days=3))  # every open session idle past expire_after
    final = outcomes(app)
    assert counts(final) == INVITED_COUNTS and final["interim"] == 0


def assert_exported(app) -> None:
    """The export's `disposition` and `attempts` of each session."""
    text = app.test_cli_runner().invoke(args=["export", "poll"]).output
    found = {
        row["phone"]: (row["disposition"], row["attempts"])
        for row in csv.DictReader(io.StringIO(text))
    }
    assert found == {
        COMPLETE: ("1.1", "1"),
        PARTIAL: ("1.2", "1"),
        ONE_ANSWER: ("2.12", "1"),
        STOP_AT_ONCE: ("2.11", "1"),
        REFUSED: ("2.11", "1"),
        SCREENED_OUT: ("4.10", "1"),
        SILENT: ("3.19", "1"),
        UNDELIVERED: ("3.20", "1"),
        INVALID: ("2.11", "1"),
        WALK_IN: ("1.1", "0"),
    }  # NOT_MOBILE has a case but no session: its invitation was refused


def assert_reported_alike(app, report: dict, walk_ins: dict) -> None:
    """The command, the API and the results page say what the service says."""
    cli = app.test_cli_runner()
    result = cli.invoke(args=["surveys", "outcomes", "poll", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == report
    text = cli.invoke(args=["surveys", "outcomes", "poll", "--include-walk-ins"]).output
    assert "poll: 11 cases (3 interim; 1 walk-ins)" in text
    assert re.search(r"^2\.11 +refusal +3 +1$", text, re.MULTILINE)
    assert re.search(r"^RR1 +0\.2222$", text, re.MULTILINE)  # 2/9
    client = app.test_client()
    admin = {"Authorization": "Bearer " + app.config["ADMIN_TOKEN"]}
    api = "/studio/api/surveys/poll/outcomes"
    assert client.get(api, headers=admin).get_json() == report
    assert client.get(api + "?walk_ins=1", headers=admin).get_json() == walk_ins
    assert client.get(api + "?e=2", headers=admin).status_code == 400
    assert client.get(api + "?e=nan", headers=admin).status_code == 400
    for bad in ("nan", "2"):  # the command refuses what the API does, in one line
        refused = cli.invoke(args=["surveys", "outcomes", "poll", "--json", "--e", bad])
        assert refused.exit_code == 2 and "is not" in refused.output, refused.output
    assert client.get("/studio/api/surveys/nope/outcomes", headers=admin).status_code == 404
    assert sign_in(client).status_code == 302
    page = client.get("/studio/surveys/poll").get_data(as_text=True)
    assert '<tr data-code="2.11"><td>2.11</td><td>refusal</td><td>3</td><td>1</td></tr>' in page
    assert '<dd data-rate="RR2">25%</dd>' in page


def test_outcome_ends_the_survey_with_its_outro(app, sms):
    assert sms.send(WALK_IN, "POLL") == "May we ask you four questions?"
    assert sms.send(WALK_IN, "no") == "Thanks! (refused)"
    other = "+12025550198"
    sms.send(other, "POLL")
    sms.send(other, "yes")
    assert sms.send(other, "12") == "Thanks! (ineligible)"
    assert counts(outcomes(app, walk_ins=True)) == {"2.11": 1, "4.10": 1}
    service = app.extensions["survey_service"]
    summary = service.summary(service.surveys.get("poll"))
    assert summary.sessions["completed"] == 2 and summary.completion_rate == 0  # no 1.1
    assert service.results("poll").completion_rate == 0
    service.try_start("+15555550123", service.surveys.get("poll"), "SM" + "7" * 32)
    assert outcomes(app, walk_ins=True)["cases"] == 2  # a test session is never a case
    assert outcomes(app, walk_ins=True, since=date(2099, 1, 1))["cases"] == 0  # begun before
    assert outcomes(app, walk_ins=True, until=date(2000, 1, 1))["cases"] == 0


def test_a_default_survey_that_yields_to_a_keyword_makes_no_case(app, sms, surveys_dir):
    hello = "default: true\nquestions:\n  - {id: age, type: number, text: 'Your age?'}\n"
    saved(surveys_dir / "hello.yaml", hello)
    app.extensions["survey_service"].catalog.refresh()
    assert sms.send(WALK_IN, "hi") == "Your age?"
    assert sms.send(WALK_IN, "POLL") == "May we ask you four questions?"
    service = app.extensions["survey_service"]
    assert service.outcomes("hello", walk_ins=True)["cases"] == 0
    assert outcomes(app, walk_ins=True)["cases"] == 1


@pytest.mark.parametrize(
    ("facts", "code"),
    [
        (Facts(ended="completed"), "1.1"),
        (Facts(ended="completed", answered=True, partial=True), "1.1"),
        (Facts(ended="refused", answered=True), "2.11"),
        (Facts(ended="quota_full", answered=True, partial=True), "4.80"),
        (Facts(ended="opted_out", answered=True, partial=True), "1.2"),
        (Facts(ended="expired", answered=True), "2.12"),
        (Facts(ended="opted_out"), "2.11"),
        (Facts(replied=True, delivery="bad"), "2.11"),
        (Facts(delivery="ok"), "3.19"),
        (Facts(delivery="failed"), "3.20"),
        (Facts(delivery="bad"), "4.30"),
        (Facts(), "3.19"),  # a walk-in that sent only its keyword: the bot's reply went
    ],
)
def test_a_session_gets_the_first_code_that_fits(facts, code):
    assert facts.code() == code


def test_rates_are_none_without_a_denominator():
    assert set(rates({}).values()) == {None}
    assert rates({"4.30": 3})["RR1"] is None


def test_an_invitation_refused_for_an_opt_out_or_dropped_unsent_makes_no_case(
    app, invite, twilio, sms
):
    twilio.script(COMPLETE, 21610)  # opted out at the carrier: no case (SPEC 11)
    assert invite(COMPLETE, PARTIAL, survey="poll").exit_code == 0
    callback(sms, twilio.accepted(PARTIAL)[0].sid, "failed", "30036")  # dropped unsent
    report = outcomes(app)
    assert report["cases"] == 0 and counts(report) == {}


def test_a_case_moves_on_to_its_number_s_next_invitation(app, invite, twilio, clock):
    twilio.script(NOT_MOBILE, 21614)
    assert invite(NOT_MOBILE, survey="poll").exit_code == 0
    assert counts(outcomes(app)) == {"4.30": 1}
    assert invite(NOT_MOBILE, survey="poll").exit_code == 0  # no session was left: again
    # The new session's message went: it decides now, as the first code in the table.
    assert counts(outcomes(app)) == {"3.19": 1} and outcomes(app)["interim"] == 1


def test_surveys_check_warns_when_recontacts_outlast_the_session(app, tmp_path):
    path = tmp_path / "late.yaml"
    path.write_text(
        "recontact: [1d, 2d]\nexpire_after: 2d\nquestions:\n  - {id: a, type: text, text: Hi}\n"
    )
    result = app.test_cli_runner().invoke(args=["surveys", "check", str(path)])
    assert "late.yaml:1: recontact delays add up to 3d, but sessions expire after 2d" in (
        result.output
    )


ARMED = """\
title: Armed
keywords: [ARMED]
arms: [{id: short, weight: 1}, {id: long, weight: 1}]
questions:
  - {id: name, type: text, text: "Your name?"}
"""


def test_the_report_takes_one_arm(app, sms, surveys_dir):
    saved(surveys_dir / "armed.yaml", ARMED)
    service = app.extensions["survey_service"]
    service.catalog.refresh()
    phones = [f"+1202555030{n}" for n in range(4)]
    for phone in phones:
        sms.send(phone, "ARMED")
    sms.send(phones[0], "Ann")  # one complete, in whichever arm it drew
    with service.engine.connect() as conn:
        arms = dict(conn.exec_driver_sql("SELECT phone, arm FROM survey_session").fetchall())
    first = arms[phones[0]]
    report = service.outcomes("armed", walk_ins=True, arm=first)
    assert report["cases"] == sum(arm == first for arm in arms.values()) == 2
    assert counts(report)["1.1"] == 1
    other = service.outcomes("armed", walk_ins=True, arm="long" if first == "short" else "short")
    assert other["cases"] == 2 and "1.1" not in counts(other)


# Published figures of rOpenSci's outcomerate (an R package implementing AAPOR's Standard
# Definitions, 9th edition; its README, github.com/ropensci/outcomerate): I=4, P=2, R=1,
# NC=1, O=1, UH=1, UO=1, NE=1, with e = eligibility_rate() = 9/10, printed to 3 places.
PUBLISHED = {
    "RR1": 0.364, "RR2": 0.545, "RR3": 0.370, "RR4": 0.556, "RR5": 0.444, "RR6": 0.667,
    "COOP1": 0.500, "COOP2": 0.750, "COOP3": 0.571, "COOP4": 0.857,
    "REF1": 0.091, "REF2": 0.093, "REF3": 0.111, "CON1": 0.727, "CON2": 0.741, "CON3": 0.889,
}  # fmt: skip


def test_the_rates_match_published_figures_with_every_group():
    groups = Groups(I=4, P=2, R=1, NC=1, O=1, U=2, NE=1)  # U = UH + UO
    assert groups.e() == pytest.approx(0.9)
    found = group_rates(groups)
    assert {name: round(value, 3) for name, value in found.items()} == PUBLISHED


SHUFFLED = """\
partial_after: b
shuffle: [[a, b]]
questions:
  - {id: a, type: text, text: "A?"}
  - {id: b, type: text, text: "B?"}
  - {id: c, type: text, text: "C?"}
"""


@pytest.mark.parametrize(
    ("shown", "answered", "partial"),
    [
        (["a", "b"], {"a": "x"}, False),  # b not reached yet
        (["b", "a"], {"b": "x"}, True),  # b asked first and answered
        (["b", "a"], {"b": "x", "a": "y"}, True),
        (["b", "a"], {}, False),
        (["a", "b"], {"a": "x", "b": "y", "c": "z"}, True),
    ],
)
def test_a_partial_is_judged_in_the_file_s_order_whatever_the_order_asked(shown, answered, partial):
    survey = load_survey(SHUFFLED.encode(), "shuffled.yaml")
    run = Run("shuffled", survey.version, "c", NOW, NOW, answers=answered)
    run.orders = {"questions": shown}
    assert note(run, survey, message=True).facts.partial is partial


def test_a_question_after_partial_after_in_the_file_makes_a_partial_in_any_order_asked():
    # SPEC 12: "after" in partial_after means file order, whatever order a session saw.
    source = SHUFFLED.replace("partial_after: b", "partial_after: a")
    survey = load_survey(source.encode(), "s.yaml")
    run = Run("shuffled", survey.version, "a", NOW, NOW, answers={"b": "x"})
    run.orders = {"questions": ["b", "a"]}
    assert note(run, survey, message=True).facts.partial is True  # b comes after a in the file
    run.orders = {"questions": ["a", "b"]}
    assert note(run, survey, message=True).facts.partial is True
