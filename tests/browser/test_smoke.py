"""Browser smoke test: a new learner's first visit on a phone, in Debian's Chromium.

Register, browse the catalog, enroll, read a lesson, mark it done, and see the progress on the
dashboard. Every page visited must fit the 390 px screen (no horizontal scrolling).

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
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True, has_touch=True)
TIMEOUT_MS = 10_000


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
