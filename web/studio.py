"""The studio (SPEC 9): results, drop-off per question and a phone in the browser.

Pages for authors and analysts under /studio/, for holders of ADMIN_TOKEN:
they sign in once into a signed session cookie (`web.access`). Every figure
comes from `Service.results`; the try page talks to the same Service and
database as SMS, on a test number of its own per browser session.
"""

from __future__ import annotations

import collections
import json
import logging
import secrets
import time
from dataclasses import asdict
from functools import wraps
from pathlib import Path
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException, TooManyRequests

from bot.design import count_of
from bot.model import STATUSES, Survey
from bot.segments import TWILIO_MAX_CHARACTERS
from service import Inbound, UnknownSurvey, survey_languages
from web import charts
from web.access import (
    admin_token,
    check_csrf,
    csrf_token,
    require_admin,
    session_available,
    sign_in,
    sign_out,
    signed_in,
    try_token,
)
from web.context import current_service
from web.export import TRUE, filters
from web.twilio_signature import FORM_TYPE, strict_form

log = logging.getLogger("survey")
bp = Blueprint(
    "studio",
    __name__,
    url_prefix="/studio",
    template_folder="templates",
    static_folder="static/studio",
    static_url_path="/static",
)
TEST_NUMBER = "studio:"  # the try page's numbers: never a real phone number's
# Scripts, styles, fonts and images from this site only; forms post here only.
CONTENT_POLICY = "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
EXPORTS = (  # the download links of a results page: (label, file extension, query)
    ("Wide CSV", "csv", {}),
    ("Wide, labels", "csv", {"labels": "1"}),
    ("Wide, one column per pick", "csv", {"multi": "columns"}),
    ("Long CSV", "csv", {"format": "long"}),
    ("SPSS (.sav)", "sav", {}),
    ("Stata (.dta)", "dta", {}),
    ("Flow Results (.zip)", "zip", {}),
    ("Codebook (.md)", "md", {}),
)


@bp.before_request
def _guard() -> None:
    """404 without ADMIN_TOKEN; every form post must carry the session's CSRF token."""
    if not admin_token():
        abort(404, "The studio is disabled: ADMIN_TOKEN is not set.")
    session_available()  # 503 while the database (and the cookie's key) cannot be read
    if request.method == "POST":
        if request.mimetype == FORM_TYPE:
            # Flask's own parsing keeps or replaces bytes that are not UTF-8; a
            # reply on the try page is read as strictly as Twilio's (the form is
            # then parsed from the cached body).
            strict_form(request.get_data(cache=True))
        check_csrf()


@bp.after_request
def _own_site_only(response: Response) -> Response:
    """Let the browser load nothing from another site, and no page frame the studio."""
    response.headers["Content-Security-Policy"] = CONTENT_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Answers and tokens in pages: never kept by the browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def _template_helpers() -> dict:
    """What every studio template may use."""
    helpers = {"csrf_token": csrf_token, "signed_in": signed_in, "statuses": STATUSES}
    return helpers | {"percent": charts.percent, "charts": charts}


def wants_page() -> bool:
    """Whether an error should be a studio page: a browser asked for one of its pages."""
    path = request.path
    return (
        path.startswith("/studio/")
        and not path.startswith("/studio/api/")
        and "text/html" in request.headers.get("Accept", "")
    )


def error_page(err: HTTPException) -> Response | None:
    """A 4xx as a studio page (a title, the reason, the way back); None if it cannot be drawn.

    The page is drawn outside the blueprint's own requests too (an unknown /studio/
    address), so it is given the helpers the blueprint's pages get.
    """
    try:
        helpers = _template_helpers() if admin_token() else {"signed_in": lambda: False}
        html = render_template(
            "studio/error.html", code=err.code, name=err.name, reason=err.description, **helpers
        )
    except Exception:  # the session unreadable, say: the plain line still says why
        log.exception("studio error page")
        return None
    return Response(html, err.code, mimetype="text/html")


def page(view):
    """A page for signed-in users; others go to the login page and come back."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not signed_in():
            return redirect(url_for("studio.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return guarded


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The token form; a right token signs in, a wrong one is logged and counted."""
    if request.method == "GET":
        return render_template("studio/login.html", error=None)
    try:
        right = try_token(request.form.get("token", ""), "studio login")
    except TooManyRequests as refused:
        body = render_template("studio/login.html", error=refused.description)
        return Response(body, status=429, headers={"Retry-After": str(refused.retry_after)})
    if not right:
        return render_template("studio/login.html", error="Wrong token."), 401
    sign_in()
    return redirect(_local(request.args.get("next")))


def _local(target: str | None) -> str:
    """Where to go after signing in: a studio page of this site, never another site.

    Never a target with a control character either: a line break cannot go in
    the Location header (Werkzeug refuses it, which was a 500 instead of signing in).
    """
    if (
        target
        and target.startswith("/studio/")
        and not target.startswith("/studio//")
        and target.isprintable()
    ):
        return target
    return url_for("studio.index")


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """End the session (a form, so a link elsewhere cannot sign anyone out)."""
    if request.method == "GET":
        return render_template("studio/logout.html")
    sign_out()
    return redirect(url_for("studio.login"))


@bp.get("/")
@page
def index():
    """Every survey, served or retired, with its figures; files that do not load."""
    service = current_service()
    service.catalog.refresh()
    tests = _tests()
    rows = [_survey_row(survey, count, tests) for survey, count in _all_surveys()]
    problems = [_problem(p) for p in service.catalog.problems()]
    return render_template("studio/index.html", rows=rows, problems=problems, tests=tests)


def _problem(problem) -> str:
    """`file:line: message`, the file named within the surveys folder."""
    folder = Path(current_app.config["SURVEYS_DIR"]).resolve()
    path = Path(problem.path).resolve()
    name = path.relative_to(folder) if path.is_relative_to(folder) else path
    return f"{name}:{problem.line}: {problem.message}"


def _all_surveys() -> list[tuple[Survey, int]]:
    """Served surveys, then retired ones, each with its number of stored versions."""
    service = current_service()
    stored = service.stored_surveys()
    served = {s.id: s for s in service.surveys.surveys()}
    found = [(survey, max(stored.get(sid, 0), 1)) for sid, survey in sorted(served.items())]
    for sid in sorted(set(stored) - set(served)):
        try:
            found.append((service.surveys.find(sid), stored[sid]))
        except UnknownSurvey:  # no stored version loads any more: nothing to show
            continue
    return found


def _survey_row(survey: Survey, versions: int, tests: bool) -> dict:
    """One survey's line in the list."""
    service = current_service()
    return {
        "survey": survey,
        "served": service.surveys.get(survey.id) is not None,
        "languages": survey_languages(survey),
        "versions": versions,
        "summary": service.summary(survey, tests=tests),
    }


@bp.get("/surveys/<survey_id>")
@page
def survey_page(survey_id: str):
    """A survey's results with filters, per question in survey order, with charts."""
    survey, found, chosen = _results(survey_id)
    service = current_service()
    versions = [s.version for s in service.surveys.history(survey.id)]
    exports = [
        (label, _export_url(survey.id, extension, query, chosen))
        for label, extension, query in EXPORTS
    ]
    return render_template(
        "studio/survey.html",
        survey=survey,
        results=found,
        chosen=chosen,
        versions=versions or [survey.version],
        languages=survey_languages(survey),
        arms=[arm.id for arm in survey.arms],
        standing=[(what, count_of(n, wanted)) for what, n, wanted in service.standing(survey)],
        statuses=STATUSES,
        exports=exports,
        charts=charts,
        api=url_for("studio.api_results", survey_id=survey.id, **_present(chosen)),
        outcomes=_outcomes(survey.id),
    )


def _results(survey_id: str):
    """The survey, its results and the filters chosen, from the query string."""
    chosen = filters(request.args)
    tests = _tests()
    try:
        survey = current_service().surveys.find(survey_id)
    except UnknownSurvey:
        abort(404, f"No survey {survey_id!r}.")
    arms = [arm.id for arm in survey.arms]
    if chosen.get("arm") is not None and chosen["arm"] not in arms:
        abort(400, f"arm must be one of the survey's arms ({', '.join(arms) or 'it has none'}).")
    found = current_service().results(survey_id, tests=tests, **chosen)
    return survey, found, {**chosen, "include_tests": "1" if tests else None}


def _tests() -> bool:
    """Whether test sessions were asked for (`include_tests=1`)."""
    return request.args.get("include_tests") in TRUE


def _present(chosen: dict) -> dict:
    """The filters that were given, as query-string values."""
    return {k: str(v) for k, v in chosen.items() if v is not None}


def _export_url(survey_id: str, extension: str, query: dict, chosen: dict) -> str:
    """A download link with the page's filters that the exports understand."""
    kept = {k: v for k, v in _present(chosen).items() if k in EXPORT_FILTERS}
    if extension == "csv":
        base = url_for("export.download", survey_id=survey_id)
    else:
        base = url_for("export.research", survey_id=survey_id, extension=extension)
    return base + "?" + urlencode(kept | query)


EXPORT_FILTERS = ("arm", "status", "since", "until", "include_tests")


@bp.get("/api/surveys/<survey_id>/results")
def api_results(survey_id: str) -> Response:
    """The results as JSON (SPEC 9), for a session or `Authorization: Bearer <ADMIN_TOKEN>`."""
    require_admin()
    _, found, _ = _results(survey_id)
    # json.dumps, not jsonify: Flask's sorts keys, and counts keep the choices' order.
    return Response(json.dumps(as_json(found), ensure_ascii=False), mimetype="application/json")


@bp.get("/api/surveys/<survey_id>/outcomes")
def api_outcomes(survey_id: str) -> Response:
    """Dispositions and rates as JSON (SPEC 11): `e=`, `since=`, `until=`, `arm=`, `walk_ins=1`."""
    require_admin()
    return Response(json.dumps(_outcomes(survey_id)), mimetype="application/json")


def _outcomes(survey_id: str) -> dict:
    """The survey's outcomes report for the query string's options; 404 or 400 with a reason."""
    args = request.args
    try:
        e = float(args["e"]) if args.get("e") else None
    except ValueError:
        abort(400, "e must be a number from 0 to 1.")
    if e is not None and not 0 <= e <= 1:
        abort(400, "e must be a number from 0 to 1.")
    chosen = filters(args, names=("since", "until"))
    try:
        return current_service().outcomes(
            survey_id,
            e=e,
            walk_ins=args.get("walk_ins") in TRUE,
            since=chosen.get("since"),
            until=chosen.get("until"),
            arm=args.get("arm") or None,
        )
    except UnknownSurvey:
        abort(404, f"No survey {survey_id!r}.")


def as_json(found) -> dict:
    """The JSON of SPEC 9, plus the completion rate and the median time to complete."""
    questions = []
    for funnel in found.questions:
        item = {k: v for k, v in asdict(funnel).items() if k != "values" and v is not None}
        questions.append(item)
    return {
        "survey": found.survey,
        "sessions": found.sessions,
        "completion_rate": found.completion_rate,
        "median_seconds_to_complete": found.median_seconds,
        "questions": questions,
    }


@bp.route("/surveys/<survey_id>/try", methods=["GET", "POST"])
@page
def try_survey(survey_id: str):
    """A phone in the browser: start the survey, send replies, read the conversation."""
    service = current_service()
    try:
        survey = service.surveys.served(survey_id)
    except UnknownSurvey:
        abort(404, f"No survey {survey_id!r} is served: only a served survey can be tried.")
    phone = _test_number()
    if request.method == "POST":
        sid = "ST" + secrets.token_hex(16)  # never a Twilio MessageSid (SM..., MM...)
        if "start" in request.form:
            _within_pace(phone)
            service.try_start(phone, survey, sid)
        else:
            body = _reply(request.form.get("body", ""))
            _within_pace(phone)
            service.receive(Inbound(phone=phone, body=body, sid=sid, test=True))
        return redirect(url_for("studio.try_survey", survey_id=survey.id) + "#last")
    messages = _messages(service.transcript(phone))
    return render_template("studio/try.html", survey=survey, messages=messages, phone=phone)


def _reply(body: str) -> str:
    """A typed reply as an SMS could carry it: 400 when it is empty, too long or holds NUL."""
    if not body.strip():
        abort(400, "Type a reply in the field named body.")
    if len(body) > TWILIO_MAX_CHARACTERS:
        abort(400, f"A reply is at most {TWILIO_MAX_CHARACTERS} characters, as by SMS.")
    if "\x00" in body:
        abort(400, "A reply cannot hold a NUL character.")
    return body


TRY_PACE = 30  # messages a minute on one test number, in one worker process
_SENT: dict[str, collections.deque] = {}  # test number -> times of its latest messages


def _within_pace(phone: str) -> None:
    """429 past TRY_PACE messages in the last minute from this browser session's number.

    A person types far slower; a script posting in a loop fills the database.
    Kept per process: with N workers a flood gets at most N times as far.
    """
    now = time.monotonic()
    if len(_SENT) > 10_000:  # forget idle numbers, so that the map stays small
        for number in [n for n, times in _SENT.items() if not times or times[-1] < now - 60]:
            del _SENT[number]
    times = _SENT.setdefault(phone, collections.deque())
    while times and times[0] < now - 60:
        times.popleft()
    if len(times) >= TRY_PACE:
        raise TooManyRequests(
            f"At most {TRY_PACE} messages a minute: wait a moment.", retry_after=60
        )
    times.append(now)


def _test_number() -> str:
    """This browser session's own test number, made on first use."""
    if "phone" not in session:
        session["phone"] = TEST_NUMBER + secrets.token_hex(6)
    return session["phone"]


def _messages(transcript: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(who, text) for each message: the starts have no text from "you"."""
    found = []
    for body, reply in transcript:
        if body:
            found.append(("you", body))
        if reply:
            found.append(("bot", reply))
    return found
