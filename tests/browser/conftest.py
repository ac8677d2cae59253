"""Browser fixtures: Debian's Chromium driven by Playwright, and the app served on a loopback port.

Needs Debian's Chromium at /usr/bin/chromium (never a browser downloaded by Playwright). Without it
browser tests are skipped, except on CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.capstones.conftest import capstone_setup  # noqa: F401 - a fixture, shared with the capstone browser test
from tests.quizzes.conftest import quiz_setup  # noqa: F401 - a fixture, shared with the quiz browser test

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
