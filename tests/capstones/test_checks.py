"""Automated checks on a submission (lms/capstones/checks.py, pure): what each found, for the grader."""

from __future__ import annotations

import time

import pytest

from lms.capstones.checks import (
    CHECK_TYPES,
    PATTERN_TIMEOUT_SECONDS,
    CheckResult,
    count_words,
    markdown_headings,
    run_checks,
)
from lms.content.capstone import CHECK_KEYS

REPORT = """# Summary

Members ride on weekdays; casual riders at weekends.

Data and inspection
-------------------

144 trips, 8 stations.

## 2. Cleaning log {#cleaning}

```python
## Limitations
df = df.drop_duplicates()
```

~~~
# Not a heading either
~~~

    ## Indented code is not a heading

### **Analysis**:
"""


def _one(checks: dict, text: str = "", links=(), files=()) -> CheckResult:
    [result] = run_checks(checks, text, list(links), list(files))
    return result


def test_the_registry_covers_every_check_the_format_allows():
    assert tuple(CHECK_TYPES) == CHECK_KEYS
    assert all(CHECK_TYPES[key].type == key and CHECK_TYPES[key].label for key in CHECK_KEYS)


def test_headings_of_any_level_outside_code_blocks():
    assert markdown_headings(REPORT) == ["Summary", "Data and inspection", "2. Cleaning log {#cleaning}",
                                         "**Analysis**:"]


def test_headings_found_and_missing():
    result = _one({"headings": ("summary", "Data and Inspection", "Cleaning log", "Analysis", "Limitations")},
                  REPORT)
    assert result == CheckResult("headings", "Required headings", False,
                                 "found 4 of 5 headings; missing: Limitations")


def test_a_heading_inside_a_code_block_does_not_count():
    text = "## Summary\n\n```\n## Limitations\n```\n\n    ## Method\n"
    assert _one({"headings": ("Limitations",)}, text).found == "found 0 of 1 headings; missing: Limitations"
    assert _one({"headings": ("Method",)}, text).passed is False
    assert _one({"headings": ("Summary",)}, text).passed is True


def test_a_fence_stays_open_until_a_fence_as_long():
    text = "````\n```\n## Inside\n```\n````\n## Outside\n"
    assert markdown_headings(text) == ["Outside"]


def test_unicode_headings_match_case_and_form_insensitively():
    text = "## RÉSUMÉ\n\n## Straße und Wege\n\n## Ａｎａｌｙｓｉｓ\n"  # full-width letters
    decomposed = "Re\u0301sume\u0301"
    result = _one({"headings": (decomposed, "STRASSE UND WEGE", "analysis")}, text)
    assert result.passed and result.found == "found 3 of 3 headings"


def test_headings_pass_only_when_all_are_there():
    assert _one({"headings": ("Summary",)}, REPORT).passed
    assert not _one({"headings": ("Summary", "Charts")}, REPORT).passed
    assert _one({"headings": ("Summary",)}, "").found == "found 0 of 1 headings; missing: Summary"


def test_words_do_not_count_markdown_syntax_or_code():
    text = ("## Summary {#summary}\n\n- one **two** `three`\n1. four\n\n| a | b |\n|---|---|\n\n"
            "See [the chart](https://example.org/a/b/c) ![alt text](x.png) <br> --- # !\n\n"
            "```\ncode words here\n```\n")
    # Summary / one two three / four / a b / See the chart alt text
    assert count_words(text) == 12


def test_list_paragraphs_indented_by_four_spaces_are_words_not_code():
    assert count_words("1. First step\n\n    Then the details of it.\n") == 7
    assert count_words("Intro.\n\n    indented code\n") == 1


def test_unspaced_scripts_count_each_character():
    assert count_words("数据清洗 and more") == 6


def test_min_words_reports_the_count():
    assert _one({"min_words": 3}, "One two three.") == CheckResult("min_words", "Length of the text", True,
                                                                   "3 words (needs 3)")
    assert _one({"min_words": 300}, "Just one") == CheckResult("min_words", "Length of the text", False,
                                                               "2 words (needs 300)")
    assert _one({"min_words": 2}, "Word").found == "1 word (needs 2)"


def test_file_types():
    files = [("bikes.ipynb", ".ipynb"), ("notes.TXT", "txt"), ("more.ipynb", "ipynb")]
    result = _one({"file_types": ("ipynb", "pdf")}, files=files)
    assert result == CheckResult("file_types", "Required file types", False,
                                 "found 1 of 2 file types: ipynb (bikes.ipynb, more.ipynb); missing: pdf")
    assert _one({"file_types": ("ipynb", "txt")}, files=files).passed
    assert _one({"file_types": ("pdf",)}).found == "no files attached; needs pdf"


def test_link_patterns():
    checks = {"link_patterns": (r"^https://(github\.com|gitlab\.com)/", r"/releases/")}
    result = _one(checks, links=["https://gitlab.com/a/b"])
    assert result == CheckResult("link_patterns", "Link addresses", False,
                                 "1 of 2 patterns matched by a link; no link matches `/releases/`")
    assert _one(checks, links=["https://example.org/x/releases/1", "https://github.com/a/b"]).passed
    assert _one(checks).found == "no links given"
    assert not _one({"link_patterns": (r"^https://github\.com/",)}, links=["http://github.com/a"]).passed


def test_a_catastrophic_pattern_is_cut_off_and_counted_as_not_found():
    link = "https://" + "a" * 60 + "!"
    started = time.monotonic()
    result = _one({"link_patterns": (r"^https://(a|aa)+$",)}, links=[link])
    assert time.monotonic() - started < 20 * PATTERN_TIMEOUT_SECONDS
    assert not result.passed
    assert result.found == ("0 of 1 patterns matched by a link; took too long to test (over 0.05 s), counted as "
                            "not found: `^https://(a|aa)+$`")


def test_a_timeout_on_one_link_does_not_hide_a_match_on_another():
    result = _one({"link_patterns": (r"^https://(a|aa)+$",)}, links=["https://" + "a" * 60 + "!", "https://aaa"])
    assert result.passed


def test_checks_run_in_the_format_order():
    checks = {"link_patterns": ("^https://",), "min_words": 1, "headings": ("Summary",), "file_types": ("pdf",)}
    results = run_checks(checks, "## Summary\n\nText", ["https://x.org"], [("r.pdf", "pdf")])
    assert [r.type for r in results] == list(CHECK_KEYS) and all(r.passed for r in results)
    assert run_checks({}, "text", [], []) == []


def test_an_unknown_check_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown check type"):
        run_checks({"spelling": True}, "", [], [])
