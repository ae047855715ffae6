"""The studio's pages: who may see them, CSRF, throttling, cookies, and what each page shows."""

from __future__ import annotations

import re

import pytest
from test_results import FUNNEL

from conftest import survey_folder

PAGES = ["/studio/", "/studio/surveys/funnel", "/studio/surveys/funnel/try"]
API = "/studio/api/surveys/funnel/results"
EXPORT = "/surveys/funnel/export.csv"
BROKEN = "id: broken\nquestions:\n  - id: q\n    type: colour\n    text: Hm?\n"


@pytest.fixture
def surveys_dir(tmp_path):
    """The funnel survey and a file that does not load."""
    return survey_folder(tmp_path, funnel=FUNNEL, broken=BROKEN)


def csrf_of(page: str) -> str:
    """The CSRF token in a page's form."""
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def sign_in(client, token: str = "admin-secret-token", address: str = "127.0.0.1"):
    """Post the login form as a browser would: fetch it, then send it with its CSRF token."""
    form = client.get("/studio/login").get_data(as_text=True)
    return client.post(
        "/studio/login",
        data={"csrf": csrf_of(form), "token": token},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.fixture
def studio(client):
    """A client signed in to the studio."""
    assert sign_in(client).status_code == 302
    return client


def send(client, path: str, **fields):
    """Post a studio form with the session's CSRF token."""
    token = csrf_of(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf": token, **fields})


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
@pytest.mark.parametrize("path", PAGES)
def test_pages_send_strangers_to_the_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/studio/login?next=")


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
@pytest.mark.parametrize("path", [API, EXPORT])
def test_data_needs_the_token_or_a_session(client, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 403
    assert (
        client.get(path, headers={"Authorization": "Bearer admin-secret-token"}).status_code == 200
    )


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
@pytest.mark.parametrize("path", [*PAGES, "/studio/login", API])
def test_the_studio_is_off_without_a_token(make_client, path):
    assert make_client(ADMIN_TOKEN=None).get(path).status_code == 404


@pytest.mark.parametrize("path", [*PAGES, API, EXPORT])
def test_a_session_opens_every_page_and_the_data(studio, path):
    assert studio.get(path).status_code == 200


@pytest.mark.parametrize(
    ("public_url", "secure"), [("https://survey.example.org", True), ("http://10.0.0.5", False)]
)
@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_the_cookie_is_httponly_lax_and_secure_on_https(make_client, public_url, secure):
    response = sign_in(make_client(PUBLIC_URL=public_url))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure


def test_a_wrong_token_is_refused_and_logged(client, caplog):
    response = sign_in(client, token="guess", address="10.1.1.1")
    assert response.status_code == 401 and "Wrong token" in response.get_data(as_text=True)
    assert "wrong token from 10.1.1.1" in caplog.text
    assert client.get("/studio/").status_code == 302


def test_eleven_tries_a_minute_are_too_many_even_with_the_right_token(client):
    for _ in range(10):
        assert sign_in(client, token="guess", address="10.2.2.2").status_code == 401
    refused = sign_in(client, address="10.2.2.2")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert sign_in(client, address="10.3.3.3").status_code == 302  # another address


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/studio/login", {"token": "admin-secret-token"}),
        ("/studio/logout", {}),
        ("/studio/surveys/funnel/try", {"body": "hello"}),
        ("/studio/surveys/funnel/try", {"start": "1"}),
    ],
)
def test_forms_without_the_csrf_token_are_refused_and_change_nothing(studio, app, path, fields):
    for token in (None, "forged"):
        data = fields | ({"csrf": token} if token else {})
        response = studio.post(path, data=data)
        assert response.status_code == 400
        assert "CSRF" in response.get_data(as_text=True)
    assert studio.get("/studio/").status_code == 200  # still signed in
    service = app.extensions["survey_service"]
    assert service.summary(service.surveys.get("funnel"), tests=True).sessions["total"] == 0


def test_logout_ends_the_session(studio):
    assert send(studio, "/studio/logout").status_code == 302
    assert studio.get("/studio/").status_code == 302
    assert studio.get(API).status_code == 401


def test_a_new_admin_token_ends_old_sessions(studio, app):
    app.config["ADMIN_TOKEN"] = "rotated"
    assert studio.get("/studio/").status_code == 302


@pytest.mark.parametrize(
    ("target", "landing"),
    [
        ("/studio/surveys/funnel", "/studio/surveys/funnel"),
        ("//evil.example.com/", "/studio/"),
        ("https://evil.example.com/", "/studio/"),
        ("/studio/%0d%0aX-Evil:%201", "/studio/"),  # a line break in a header: refused
        ("/studio/%09surveys", "/studio/"),
    ],
)
@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_signing_in_goes_back_only_to_a_studio_page(client, target, landing):
    form = client.get("/studio/login").get_data(as_text=True)
    data = {"csrf": csrf_of(form), "token": "admin-secret-token"}
    assert client.post(f"/studio/login?next={target}", data=data).location == landing


@pytest.mark.parametrize(
    ("query", "reason"),
    [("status=done", "status must be one of"), ("since=yesterday", "Not an ISO date")],
)
def test_bad_filters_get_a_400_that_says_why(studio, query, reason):
    for path in ("/studio/surveys/funnel", API):
        response = studio.get(f"{path}?{query}")
        assert response.status_code == 400 and reason in response.get_data(as_text=True)


def test_an_unknown_survey_is_a_404(studio):
    assert studio.get("/studio/surveys/nope").status_code == 404
    assert studio.get("/studio/api/surveys/nope/results").status_code == 404


def test_the_list_shows_served_retired_and_broken_surveys(studio, sms, surveys_dir):
    sms.send("+15550000001", "FUNNEL")
    sms.send("+15550000001", "1")
    (surveys_dir / "funnel.yaml").rename(surveys_dir / "funnel.retired")
    page = studio.get("/studio/").get_data(as_text=True)
    row = re.search(r'<tr data-survey="funnel">.*?</tr>', page, re.S).group(0)
    assert "retired" in row and "funnel.yaml" in row and "FUNNEL" in row
    cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', row)
    assert cells == ["1", "1", "1", "0", "0", "0", "0", "–"]  # versions, total, by status, rate
    assert "broken.yaml:4:" in page


def test_the_results_page_has_each_question_in_order_with_a_chart(studio, sms):
    for reply in ["FUNNEL", "2", "<script>alert(1)</script>", "3", "yes"]:
        sms.send("+15550000001", reply)
    page = studio.get("/studio/surveys/funnel").get_data(as_text=True)
    assert re.findall(r'data-question="(\w+)"', page) == ["color", "why", "size", "ok"]
    color = page[page.index('data-question="color"') : page.index('data-question="why"')]
    assert "<svg" in color and "<title" in color and ">Blue</text>" in color
    assert ">1 (100%)</text>" in color  # a count with its share of those who answered
    assert re.search(r'data-figure="color.asked">1<', color)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="/surveys/funnel/export.csv?labels=1"' in page


def test_the_try_page_answers_through_the_same_engine_as_a_test_number(studio, app):
    path = "/studio/surveys/funnel/try"
    assert send(studio, path, start="1").status_code == 302
    for reply in ["2", "<b>because</b>", "3", "yes"]:
        assert send(studio, path, body=reply).status_code == 302
    page = studio.get(path).get_data(as_text=True)
    said = re.findall(r'<li data-from="(\w+)"', page)
    assert said == ["bot"] + ["you", "bot"] * 4
    assert "&lt;b&gt;because&lt;/b&gt;" in page and "<b>because" not in page
    assert "Thank you!" in page
    service = app.extensions["survey_service"]
    funnel = service.surveys.get("funnel")
    assert service.summary(funnel).sessions["total"] == 0
    assert service.summary(funnel, tests=True).sessions["completed"] == 1


def test_each_browser_session_gets_its_own_test_number(app):
    numbers = set()
    for _ in range(2):
        client = app.test_client()
        sign_in(client)
        page = client.get("/studio/surveys/funnel/try").get_data(as_text=True)
        numbers.add(re.search(r"<code>(studio:[0-9a-f]+)</code>", page).group(1))
    assert len(numbers) == 2


def test_an_empty_reply_is_a_400(studio):
    response = send(studio, "/studio/surveys/funnel/try", body="  ")
    assert response.status_code == 400 and "Type a reply" in response.get_data(as_text=True)
