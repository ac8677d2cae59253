"""Browser smoke test: a new learner's first visit on a phone, in Debian's Chromium.

Register, browse the catalog, enroll, read a lesson, mark it done, and see the progress on the
dashboard. Every page visited must fit the 390 px screen (no horizontal scrolling).

Needs Debian's Chromium at /usr/bin/chromium (never a browser downloaded by Playwright). Without
it the test is skipped, except on CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PHONE, TIMEOUT_MS, assert_fits_phone

pytestmark = pytest.mark.browser

def test_new_learner_enrolls_reads_a_lesson_and_sees_progress(browser, live_server, make_course):
    from playwright.sync_api import expect

    make_course("smoke-course", modules=2, lessons=3)
    context = browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    try:
        # Register a new account.
        page.goto("/register")
        expect(page.get_by_role("heading", level=1)).to_have_text("Create your account")
        assert_fits_phone(page)
        page.get_by_label("Full name").fill("Phone Learner")
        page.get_by_label("Email").fill("phone.learner@example.com")
        page.get_by_label("Password").fill("a long enough passphrase")
        page.get_by_role("button", name="Create account").click()
        expect(page).to_have_url(re.compile(r"/dashboard$"))
        expect(page.get_by_text("not enrolled in any course yet")).to_be_visible()
        assert_fits_phone(page)

        # Open the catalog, then the course.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Courses").click()
        expect(page).to_have_url(re.compile(r"/courses$"))
        assert_fits_phone(page)
        page.get_by_role("link", name="Smoke Course").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Smoke Course")
        assert_fits_phone(page)

        # Choose a track and enroll: the first lesson opens.
        page.get_by_label(re.compile(r"^Audit track")).check()
        page.get_by_role("button", name="Enroll", exact=True).click()
        expect(page).to_have_url(re.compile(r"/courses/smoke-course/module-1/lesson-1$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Lesson 1.1")
        expect(page.get_by_text("Body of lesson 1.1.")).to_be_visible()
        assert_fits_phone(page)

        # Mark it done: the next lesson opens.
        page.get_by_role("button", name=re.compile(r"^Mark as done")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Lesson 1.2")
        assert_fits_phone(page)

        # The dashboard shows the progress.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
        expect(page).to_have_url(re.compile(r"/dashboard$"))
        progress = page.get_by_text(re.compile(r"\d+% done"))
        expect(progress).to_be_visible()
        percent = int(re.search(r"(\d+)% done", progress.inner_text()).group(1))
        assert 0 < percent < 100, progress.inner_text()
        expect(page.get_by_text(re.compile(r"1 of 6 activities"))).to_be_visible()
        assert_fits_phone(page)
    finally:
        context.close()
