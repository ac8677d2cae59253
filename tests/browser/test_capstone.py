"""Browser test: the capstone loop on a phone, in Debian's Chromium.

A learner writes the project, attaches a file and submits; a grader finds it through the header's
"Grading" link, claims it, scores the rubric and saves the review; the learner reads the outcome and
the feedback, and has a notification. Every page visited must fit the 390 px screen.

Needs Debian's Chromium at /usr/bin/chromium (never a browser downloaded by Playwright). Without
it the test is skipped, except on CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lms.capstones.models import Submission
from tests.browser.conftest import PHONE, TIMEOUT_MS, assert_fits_phone
from tests.capstones.conftest import GOOD_TEXT
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PAGE = "/courses/capstone-course/capstone"


def _log_in(page, email: str, next_url: str) -> None:
    page.goto(f"/login?next={next_url}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_capstone_is_submitted_graded_and_read_on_a_phone(browser, live_server, db, tmp_path,
                                                            capstone_setup):  # noqa: F811
    from playwright.sync_api import expect

    setup = capstone_setup()
    expect.set_options(timeout=TIMEOUT_MS)
    errors: list[str] = []
    learner = browser.new_context(base_url=live_server, **PHONE)
    grader = browser.new_context(base_url=live_server, **PHONE)
    for context in (learner, grader):
        context.set_default_timeout(TIMEOUT_MS)
    try:
        # The learner writes the project and saves a draft.
        page = learner.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        _log_in(page, setup.learner.email, PAGE)
        expect(page).to_have_url(re.compile(re.escape(PAGE) + "$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Capstone: analyse the trips")
        assert_fits_phone(page)
        page.get_by_label("Write-up").fill(GOOD_TEXT)
        page.get_by_label(re.compile("^Links, one per line")).fill("https://github.com/lee/bikes")
        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_text("Draft saved.")).to_be_visible()

        # Attach a file, then submit.
        data = tmp_path / "trips.csv"
        data.write_text("trip_id,minutes\n1,12\n2,30\n")
        page.get_by_label("Add a file").set_input_files(str(data))
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_text("“trips.csv” attached.")).to_be_visible()
        expect(page.get_by_role("link", name="trips.csv")).to_be_visible()
        page.get_by_role("button", name="Save and submit").click()
        expect(page.get_by_text(re.compile("^Submitted. A grader will review it"))).to_be_visible()
        assert_fits_phone(page)

        # The grader finds it from the header, claims it and scores the rubric.
        desk = grader.new_page()
        desk.on("pageerror", lambda error: errors.append(str(error)))
        _log_in(desk, setup.grader.email, "/courses")
        desk.get_by_role("link", name="Grading", exact=True).click()
        expect(desk.get_by_role("heading", level=1)).to_have_text("Grading queue")
        assert_fits_phone(desk)
        desk.get_by_role("link", name=re.compile("Lee Learner, version 1")).click()
        expect(desk.get_by_text("Automated checks")).to_be_visible()
        assert_fits_phone(desk)
        desk.get_by_role("button", name="Claim and grade").click()
        marks = {"Question and data": "Proficient · 2", "Cleaning log": "Complete · 4",
                 "Analysis": "Partial · 2", "Communication": "Clear · 1"}
        for criterion, level in marks.items():
            desk.get_by_role("group", name=re.compile("^" + re.escape(criterion))).get_by_label(level).check()
        desk.get_by_label("Comment on “Analysis” (optional)").fill("Compare the weekend and weekday medians.")
        desk.get_by_label("Overall feedback for the learner").fill("A solid first analysis.")
        desk.get_by_role("button", name="Save the review").click()
        expect(desk.get_by_text(re.compile(r"^Graded: Passed \(9 of 12 points\)"))).to_be_visible()
        assert_fits_phone(desk)
        db.rollback()
        assert db.scalar(select(Submission.state)) == "passed"

        # The learner reads the outcome and the feedback, and has a notification.
        page.goto(PAGE)
        expect(page.locator("#status")).to_contain_text("Well done: your capstone passed.")
        expect(page.locator("#status")).to_contain_text("A solid first analysis.")
        expect(page.locator("#status")).to_contain_text("Compare the weekend and weekday medians.")
        expect(page.get_by_role("link", name=re.compile(r"^Notifications \(1"))).to_be_visible()
        assert_fits_phone(page)
        assert not errors, errors
    finally:
        learner.close()
        grader.close()
