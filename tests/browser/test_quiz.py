"""Browser test: a learner takes a timed quiz on a phone, in Debian's Chromium, with JavaScript on.

Open the quiz, start an attempt, answer: quiz.js saves each answer by itself (no Save button
pressed), so a fresh load of the attempt still shows it. Then submit and read the score on the
review page. Every page visited must fit the 390 px screen (no horizontal scrolling).

Needs Debian's Chromium at /usr/bin/chromium (never a browser downloaded by Playwright). Without
it the test is skipped, except on CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lms.quizzes.models import AttemptAnswer, QuizAttempt
from tests.browser.conftest import PHONE, TIMEOUT_MS, assert_fits_phone
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

QUIZ_URL = "/courses/quiz-course/module-1/check"


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
