"""The operator's documentation names every setting the code reads (README's Configuration table or
docs/operations.md), so a new setting cannot ship undocumented."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTING = re.compile(r"""["'](LMS_[A-Z0-9_]+|WEB_CONCURRENCY)["']""")


def _settings_read_by(paths) -> set[str]:
    found = set()
    for path in paths:
        found |= set(SETTING.findall(path.read_text()))
    return found


def test_every_setting_is_documented():
    code = [ROOT / "lms" / "config.py", *sorted((ROOT / "deploy").glob("*.py"))]
    settings = _settings_read_by(code)
    assert len(settings) > 20, "the pattern no longer finds the settings in lms/config.py"
    documented = (ROOT / "README.md").read_text() + (ROOT / "docs" / "operations.md").read_text()
    missing = sorted(name for name in settings if f"`{name}" not in documented)
    assert missing == [], f"add these settings to README's Configuration table: {missing}"
