"""The studio in a real browser: headless Chromium from Debian's packages, driven by Selenium.

The app is served on 127.0.0.1 by werkzeug in a thread. Each page is saved
as a screenshot in tests/artifacts/ (git ignores it). Without chromium and
chromedriver the tests skip with the reason, except where CI=true or
REQUIRE_BROWSER=1, where they fail.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from conftest import ROOT
from service import Inbound
from web.factory import create_app

try:  # a test dependency (requirements-dev.txt); without it the tests say why they skip
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service as Driver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError:
    webdriver = None

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WIDTH, HEIGHT = 1280, 900
CHROME = 150  # the window around the page: its height is not the viewport's
# Scripted respondents, so the pages have something to show (visit-feedback).
RESPONDENTS = [
    ["FEEDBACK", "Ana", "1", "9", "yes", "1,3", "4", "yesterday"],
    ["FEEDBACK", "Bo", "2", "6", "Parking was full", "yes", "2", "12", "11/20"],
    ["FEEDBACK", "Cy", "3", "2", "SKIP", "no"],
    ["FEEDBACK", "Di", "bad", "11", "eleven", "twelve"],
    ["FEEDBACK", "Ed", "1", "STOP"],
    ["FEEDBACK", "Flo", "satisfied", "10", "yes", "1 2 3", "40", "today"],
]
# A study with a target, a quota and arms (SPEC 12), and four respondents of one block.
STUDY = """\
id: study
title: Brand study
keywords: [STUDY]
target: 10
quotas:
  - {when: "answers.gender == 'f'", target: 2}
arms:
  - {id: short, weight: 1}
  - {id: long, weight: 1}
questions:
  - {id: gender, type: choice, text: "Gender?", choices: [{label: F, value: f}, M]}
  - {id: brand, type: text, text: "Brand?"}
"""
STUDY_RESPONDENTS = [["STUDY", "1", "Acme"], ["STUDY", "1", "Bolt"], ["STUDY", "2", "Crest"]]
# A choice label longer than a chart's label column holds.
LONG_LABELS = """\
id: water
keywords: [WATER]
questions:
  - id: supply
    type: choice
    text: "Your water supply?"
    choices: [Excellent, Very poor and getting worse every single week]
"""
WATER_RESPONDENTS = [["WATER", "2"]]
PHONE = (390, 844)  # a phone's viewport, in CSS pixels
DRAFT = "id: draft\ntitle: Draft\nquestions:\n  - id: q\n    type: colour\n    text: Hm?\n"
# What the try page sends, answering visit-feedback to the end.
TRY_REPLIES = ["Zed", "1", "10", "yes", "2", "3", "yesterday"]


def _browser_reason() -> str | None:
    """Why a browser test cannot run here, or None when it can."""
    if webdriver is None:
        return "selenium is not installed (pip install -r requirements-dev.txt)"
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        return f"{' and '.join(missing)} missing: apt-get install -y chromium chromium-driver"
    return None


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through the system's chromedriver; never a downloaded browser."""
    reason = _browser_reason()
    if reason:
        if os.environ.get("CI") == "true" or os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (CI or REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={WIDTH},{HEIGHT}")
    driver = webdriver.Chrome(service=Driver(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def served(tmp_path):
    """The app on a fresh SQLite database, served on 127.0.0.1 in a thread: its base URL."""
    surveys = tmp_path / "surveys"
    shutil.copytree(ROOT / "surveys", surveys)
    (surveys / "draft.yaml").write_text(DRAFT)
    (surveys / "study.yaml").write_text(STUDY)
    (surveys / "water.yaml").write_text(LONG_LABELS)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'studio.sqlite3'}",
            "SURVEYS_DIR": str(surveys),
            "ADMIN_TOKEN": "admin-secret-token",
        }
    )
    service = app.extensions["survey_service"]
    for n, replies in enumerate(RESPONDENTS + STUDY_RESPONDENTS + WATER_RESPONDENTS):
        for i, body in enumerate(replies):
            service.receive(Inbound(phone=f"+1555010000{n}", body=body, sid=f"SM{n:016x}{i:016x}"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    service.engine.dispose()


def shoot(driver, name: str) -> None:
    """Save the whole page as tests/artifacts/NAME.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(max(height + CHROME, HEIGHT), 6000))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    driver.set_window_size(WIDTH, HEIGHT)


def only_own_host(driver, base: str) -> None:
    """Assert the page loaded nothing, and links to nothing it would load, from another host."""
    own = urlsplit(base).netloc
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat([...document.querySelectorAll('[src], link[href]')]"
        ".map(e => e.src || e.href))"
    )
    assert loaded, "the page should load its stylesheet at least"
    assert {urlsplit(url).netloc for url in loaded} == {own}


def click(driver, selector: str) -> None:
    """Click the first element matching `selector` and wait for the next page to load."""
    page = by_css(driver, "html")[0]
    by_css(driver, selector)[0].click()
    WebDriverWait(driver, 10).until(lambda _: _gone(page))
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _gone(element) -> bool:
    """Whether an element of the previous page is no longer in the document."""
    try:
        element.is_enabled()
    except WebDriverException:  # stale, or its node belongs to no document any more
        return True
    return False


def by_css(driver, selector: str):
    """The elements matching a CSS selector."""
    return driver.find_elements(By.CSS_SELECTOR, selector)


def test_sign_in_try_a_survey_and_see_it_in_the_results(browser, served):
    browser.get(served + "/studio/")
    assert browser.current_url.startswith(served + "/studio/login")
    only_own_host(browser, served)
    shoot(browser, "login")
    by_css(browser, "#token")[0].send_keys("admin-secret-token")
    click(browser, ".login button")

    assert browser.current_url == served + "/studio/"
    assert {row.get_attribute("data-survey") for row in by_css(browser, "tr[data-survey]")} >= {
        "visit-feedback",
        "city-services",
    }
    assert by_css(browser, ".problems")[0].text.startswith(
        'draft.yaml:5: unknown question type "colour"'
    )
    only_own_host(browser, served)
    shoot(browser, "surveys")

    browser.get(served + "/studio/surveys/visit-feedback/try")
    click(browser, ".start button")
    for reply in TRY_REPLIES:
        by_css(browser, "#body")[0].send_keys(reply)
        click(browser, ".reply button")
    said = [e.get_attribute("data-from") for e in by_css(browser, "[data-from]")]
    assert said == ["bot"] + ["you", "bot"] * len(TRY_REPLIES)
    assert "Thanks Zed!" in by_css(browser, '[data-from="bot"]')[-1].text
    only_own_host(browser, served)
    shoot(browser, "try")

    browser.get(served + "/studio/surveys/visit-feedback")
    names = by_css(browser, '[data-question="name"]')[0].text
    assert "Ana" in names and "Zed" not in names  # a test session is left out
    by_css(browser, 'input[name="include_tests"]')[0].click()
    by_css(browser, '.filters select[name="status"] option[value="completed"]')[0].click()
    click(browser, ".filters button")
    assert "include_tests=1" in browser.current_url and "status=completed" in browser.current_url
    assert "Zed" in by_css(browser, '[data-question="name"]')[0].text
    assert by_css(browser, '[data-figure="sessions.total"]')[0].text == "5"
    assert by_css(browser, '[data-question="satisfaction"] svg title')
    only_own_host(browser, served)
    shoot(browser, "results")

    click(browser, ".logout button")
    browser.get(served + "/studio/")
    assert browser.current_url.startswith(served + "/studio/login")


def test_a_study_shows_its_quotas_and_filters_by_arm(browser, served):
    browser.get(served + "/studio/login")
    by_css(browser, "#token")[0].send_keys("admin-secret-token")
    click(browser, ".login button")
    browser.get(served + "/studio/surveys/study")
    quotas = {e.get_attribute("data-quota"): e.text for e in by_css(browser, "[data-quota]")}
    assert quotas == {"target": "3/10", "answers.gender == 'f'": "2/2 full"}
    by_css(browser, '.filters select[name="arm"] option[value="long"]')[0].click()
    click(browser, ".filters button")
    assert "arm=long" in browser.current_url
    long = int(by_css(browser, '[data-figure="sessions.total"]')[0].text)
    assert 1 <= long <= 2  # 3 respondents: a block of two, then one more
    only_own_host(browser, served)
    shoot(browser, "study")


def chart_geometry(driver) -> dict:
    """The page's overflow, the smallest chart text's height, and how far a label sticks out."""
    return driver.execute_script(
        """
        const texts = [...document.querySelectorAll('.chart text')];
        const out = texts.map(t => t.closest('svg').getBoundingClientRect().left
                                   - t.getBoundingClientRect().left);
        return {
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          smallest: Math.min(...texts.map(t => t.getBoundingClientRect().height)),
          outside: Math.max(...out),
        };
        """
    )


def test_charts_stay_readable_and_whole_on_a_phone_and_a_desktop(browser, served):
    browser.get(served + "/studio/login")
    by_css(browser, "#token")[0].send_keys("admin-secret-token")
    click(browser, ".login button")
    try:
        for name, size in (("water-phone", PHONE), ("water", (WIDTH, HEIGHT))):
            browser.set_window_size(*size)
            browser.get(served + "/studio/surveys/water")
            found = chart_geometry(browser)
            assert found["overflow"] <= 0, found  # the page never scrolls sideways
            assert found["smallest"] >= 12, found  # 13px text, not scaled down to 7px
            assert found["outside"] <= 0.5, found  # no label cut at the chart's left edge
            ARTIFACTS.mkdir(exist_ok=True)
            browser.execute_script(
                "document.querySelector('[data-question=supply]').scrollIntoView()"
            )
            browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))  # the chart, as seen
    finally:
        browser.set_window_size(WIDTH, HEIGHT)


def test_an_error_is_a_studio_page_with_its_reason_and_the_way_back(browser, served):
    browser.get(served + "/studio/login")
    by_css(browser, "#token")[0].send_keys("admin-secret-token")
    click(browser, ".login button")
    browser.get(served + "/studio/surveys/nope")
    assert browser.title == "404 Not Found · SMS surveys"
    assert "No survey 'nope'" in by_css(browser, ".problem")[0].text
    assert by_css(browser, ".logout button")  # still signed in, and can sign out
    shoot(browser, "error-404")
    browser.get(served + "/studio/nothing/here")  # no such page at all
    assert browser.title == "404 Not Found · SMS surveys"
    browser.get(served + "/studio/surveys/visit-feedback?status=bogus")
    assert browser.title == "400 Bad Request · SMS surveys"
    assert "status must be one of" in by_css(browser, ".problem")[0].text
    click(browser, "main a[href='/studio/']")
    assert browser.current_url == served + "/studio/"


def test_the_survey_list_shows_sessions_and_completion_on_a_phone(browser, served):
    browser.get(served + "/studio/login")
    by_css(browser, "#token")[0].send_keys("admin-secret-token")
    click(browser, ".login button")
    try:
        browser.set_window_size(*PHONE)
        browser.get(served + "/studio/")
        right = browser.execute_script(
            "return Math.max(...[...document.querySelectorAll('.surveys th, .surveys td')]"
            ".filter(th => th.offsetParent).map(th => th.getBoundingClientRect().right))"
        )
        seen = [th.text for th in by_css(browser, ".surveys thead th") if th.is_displayed()]
        assert seen == ["Survey", "Sessions", "Completion", "Last activity, UTC"]
        assert right <= browser.execute_script("return window.innerWidth"), right
        ARTIFACTS.mkdir(exist_ok=True)
        browser.execute_script("document.querySelector('tr[data-survey=study]').scrollIntoView()")
        browser.save_screenshot(str(ARTIFACTS / "surveys-phone.png"))  # rows with their dates
    finally:
        browser.set_window_size(WIDTH, HEIGHT)
