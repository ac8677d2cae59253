"""Browser test: a learner takes a timed quiz on a phone, in Debian's Chromium, with JavaScript on.

Open the quiz, start an attempt, answer: quiz.js saves each answer by itself (no Save button
pressed), so a fresh load of the attempt still shows it. Then submit and read the score on the
review page. Every page visited must fit the 390 px screen (no horizontal scrolling).

Needs Debian's Chromium at /usr/bin/chromium (never a browser downloaded by Playwright). Without
it the test is skipped, except on CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from lms.quizzes.models import AttemptAnswer, QuizAttempt
from tests.conftest import PASSWORD
from tests.quizzes.conftest import quiz_setup  # noqa: F401 - a fixture, used by name

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True, has_touch=True)
TIMEOUT_MS = 10_000
QUIZ_URL = "/courses/quiz-course/module-1/check"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the CI image must provide it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        _missing("Debian's chromium is not installed: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright for Python is not installed: pip install -r requirements-dev.txt")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The test's app served on a free loopback port from a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def assert_fits_phone(page) -> None:
    """No horizontal scrolling on a 390 px wide phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} scrolls sideways: scrollWidth {width} > 390"


def test_learner_takes_a_quiz_with_autosave_and_reads_the_score(browser, live_server, db, quiz_setup):  # noqa: F811
    from playwright.sync_api import expect

    setup = quiz_setup("pass_score: 60\ntime_limit: 10")
    context = browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # Log in, then open the quiz: its rules and a start button.
        page.goto(f"/login?next={QUIZ_URL}")
        page.get_by_label("Email").fill(setup.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(re.escape(QUIZ_URL) + "$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Module 1 check")
        expect(page.get_by_text("10 min")).to_be_visible()
        assert_fits_phone(page)

        # Start: the attempt page, with the countdown that quiz.js adds.
        page.get_by_role("button", name="Start the quiz").click()
        expect(page).to_have_url(re.compile(r"/check/attempts/1$"))
        expect(page.get_by_role("heading", name=re.compile(r"^Question 1 of 4"))).to_be_visible()
        expect(page.locator(".quiz-countdown")).to_have_text(re.compile(r"Time left: (10:00|9:[0-5]\d)"))
        assert_fits_phone(page)

        # Answer one question and press nothing: the answer saves by itself.
        status = page.get_by_role("status")
        page.get_by_label("2", exact=True).check()
        expect(status).to_have_text(re.compile(r"Answers saved at"))
        db.rollback()
        attempt = db.scalars(select(QuizAttempt)).one()
        assert db.scalars(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id)).all(), \
            "autosave stored nothing"

        # A fresh load of the attempt (a new tab: nothing restored by the browser) shows the answer.
        fresh = context.new_page()
        fresh.goto(f"{QUIZ_URL}/attempts/1")
        expect(fresh.get_by_label("2", exact=True)).to_be_checked()
        assert_fits_phone(fresh)
        fresh.close()

        # A typed answer saves when the field is left.
        page.get_by_label("Your answer", exact=True).fill("Paris")
        page.get_by_label("Your answer", exact=True).press("Tab")
        expect(status).to_have_text(re.compile(r"Answers saved at"))
        page.get_by_label("Your answer (a number)").fill("10")
        page.get_by_label("list", exact=True).check()
        page.get_by_label("dict", exact=True).check()

        # Submit: the review page shows the score, the verdict and the feedback.
        page.get_by_role("button", name="Submit for grading").click()
        expect(page).to_have_url(re.compile(r"/check/attempts/1$"))
        result = page.locator(".quiz-result")
        expect(result).to_contain_text("100%")
        expect(result).to_contain_text("Passed")
        expect(page.get_by_text("Yes: two items.")).to_be_visible()
        expect(page.locator(".answer-status").first).to_contain_text("Correct")
        assert_fits_phone(page)

        # Back on the quiz page, the attempt is listed with its result.
        page.get_by_role("link", name="Back to the quiz").click()
        expect(page.get_by_role("table", name="Your attempts")).to_contain_text("100% · passed")
        assert_fits_phone(page)
        assert not errors, errors
    finally:
        context.close()
