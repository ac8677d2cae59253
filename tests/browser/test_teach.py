"""An instructor's course dashboard on a phone: the charts, the tables and an export's row fit the
390 px screen (tables scroll inside their own box; nothing widens the page)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PHONE, TIMEOUT_MS, assert_fits_phone
from tests.browser.test_capstone import _log_in

pytestmark = pytest.mark.browser


def test_the_course_dashboard_and_an_export_fit_a_phone(browser, live_server, capstone_setup):  # noqa: F811
    from playwright.sync_api import expect

    setup = capstone_setup()
    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        dashboard = f"/teach/{setup.course.slug}"
        _log_in(page, setup.instructor.email, dashboard)
        expect(page).to_have_url(re.compile(re.escape(dashboard) + "$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Course dashboard")
        assert_fits_phone(page)
        # Jobs run inline here: the export is built right after the request that queued it.
        page.get_by_role("button", name="Export learners' progress (CSV)").click()
        expect(page.get_by_text("The export is queued.")).to_be_visible()
        page.reload()
        expect(page.get_by_role("link", name=re.compile("^Download the export of"))).to_be_visible()
        assert_fits_phone(page)
        assert errors == []
    finally:
        context.close()
