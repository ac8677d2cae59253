"""capstone.md: the front matter's deliverables, rubric, pass rule and checks, each mistake on its line."""

from __future__ import annotations

import json
import re

import pytest

from lms.content import ERROR, WARNING, load_courses
from lms.content.capstone import MB, Capstone, Criterion, Level, key_from_title, parse_capstone
from lms.content.source import DuplicateKey, parse_yaml_mapping, split_front_matter
from lms.uploads.types import FILE_TYPES
from tests.conftest import ROOT, write_course

# The line numbers in the tests refer to this document (line 1 is the opening ---).
BASE = r"""---
title: "Capstone: trips"
max_revisions: 1
deliverables:
  text: required
  links:
    min: 1
    max: 2
    label: Repository
  files:
    max: 3
    max_size_mb: 5
    types: [ipynb, pdf]
rubric:
  - key: question
    title: Question
    required: true
    levels:
      - {points: 0, title: Missing}
      - {points: 1, title: Partial}
      - {points: 2, title: Clear}
  - title: Cleaning log
    levels:
      - points: 0
        title: Missing
      - points: 2
        title: Partial
      - points: 4
        title: Complete
pass:
  min_points: 4
checks:
  headings: [Summary, Cleaning log]
  min_words: 50
  file_types: [ipynb]
  link_patterns: ['^https://github\.com/']
---
The brief.
"""


SMALL = """---
title: T
{extra}rubric:
{criteria}pass: {{min_points: 1}}
---
Brief
"""
CRITERION = "  - title: A\n    levels:\n      - {points: 0, title: Missing}\n      - {points: 1, title: Done}\n"


def small(extra: str = "", criteria: str = CRITERION) -> str:
    """A valid capstone of one criterion (line 3 is ``extra``'s first line, or ``rubric:``)."""
    return SMALL.format(extra=extra, criteria=criteria)


def _edit(line: int, new: str | None, text: str = BASE) -> str:
    """BASE with one line replaced (None removes it; several lines may replace one)."""
    lines = text.splitlines()
    if new is None:
        del lines[line - 1]
    else:
        lines[line - 1:line] = new.split("\n")
    return "\n".join(lines) + "\n"


def parse(text: str):
    doc = split_front_matter(text, "capstone.md")
    return parse_capstone(doc.meta, "capstone.md")


def problems(text: str, severity: str = ERROR) -> list[str]:
    return [f"{p.line}: {p.message}" for p in parse(text)[1] if p.severity == severity]


def only_error(text: str) -> str:
    capstone, found = parse(text)
    errors = [f"{p.line}: {p.message}" for p in found if p.severity == ERROR]
    assert capstone is None
    assert len(errors) == 1, errors
    return errors[0]


# -- a valid capstone --------------------------------------------------------------------------------------

def test_the_base_document_is_read_with_its_defaults():
    capstone, found = parse(BASE)
    assert found == []
    assert capstone.title == "Capstone: trips" and capstone.max_revisions == 1
    assert capstone.deliverables.text == "required"
    links, files = capstone.deliverables.links, capstone.deliverables.files
    assert (links.min, links.max, links.label) == (1, 2, "Repository")
    assert (files.min, files.max, files.types) == (0, 3, ("ipynb", "pdf"))
    assert files.max_file_bytes == 5 * MB and files.max_total_bytes == 15 * MB  # max * max_size_mb
    question, cleaning = capstone.rubric
    assert question == Criterion(key="question", title="Question", description="",
                                 levels=(Level(0, "Missing"), Level(1, "Partial"), Level(2, "Clear")),
                                 required=True, min_points=1)  # default: the level above the lowest
    assert cleaning.key == "cleaning-log" and not cleaning.required and cleaning.min_points is None
    assert cleaning.max_points == 4 and capstone.max_points == 6
    assert capstone.pass_rule.min_points == 4
    assert capstone.checks == {"headings": ("Summary", "Cleaning log"), "min_words": 50, "file_types": ("ipynb",),
                               "link_patterns": (r"^https://github\.com/",)}


def test_a_minimal_capstone_asks_for_text_and_allows_two_revisions():
    capstone, found = parse(small())
    assert found == []
    assert capstone.deliverables.text == "required" and capstone.deliverables.links is None
    assert capstone.deliverables.files is None and capstone.checks == {} and capstone.max_revisions == 2


def test_levels_are_stored_ascending_whatever_the_order_written():
    text = BASE.replace("      - {points: 0, title: Missing}\n      - {points: 1, title: Partial}\n"
                        "      - {points: 2, title: Clear}\n",
                        "      - {points: 2, title: Clear}\n      - {points: 0, title: Missing}\n"
                        "      - {points: 1, title: Partial}\n")
    capstone, _ = parse(text)
    assert [lv.points for lv in capstone.rubric[0].levels] == [0, 1, 2]
    assert capstone.rubric[0].min_points == 1


def test_an_empty_links_key_asks_for_links_with_the_defaults():
    capstone, found = parse(_edit(6, "  links:", _edit(7, None, _edit(8, None, _edit(9, None)))))
    assert found == []
    assert capstone.deliverables.links.min == 0 and capstone.deliverables.links.max == 5


def test_total_size_defaults_to_at_most_100_mb():
    capstone, _ = parse(_edit(11, "    max: 20", _edit(12, "    max_size_mb: 50")))
    assert capstone.deliverables.files.max_total_bytes == 100 * MB
    capstone, _ = parse(_edit(12, "    max_size_mb: 2.5\n    total_size_mb: 4.5"))
    files = capstone.deliverables.files
    assert files.max_file_bytes == int(2.5 * MB) and files.max_total_bytes == int(4.5 * MB)


def test_a_pass_rule_of_required_criteria_alone():
    capstone, found = parse(_edit(30, "pass: {}", _edit(31, None)))
    assert found == [] and capstone.pass_rule.min_points is None


def test_key_from_title():
    assert key_from_title("Data & cleaning") == "data-cleaning"
    assert key_from_title("Qualité du rapport") == "qualite-du-rapport"
    assert key_from_title("日本語") == ""


# -- JSON ------------------------------------------------------------------------------------------------

def test_json_round_trips_exactly_and_holds_no_positions():
    capstone, _ = parse(BASE)
    data = capstone.to_json()
    stored = json.loads(json.dumps(data))
    assert Capstone.from_json(stored) == capstone
    assert Capstone.from_json(stored).to_json() == data
    assert json.dumps(parse(BASE)[0].to_json()) == json.dumps(data)  # deterministic, key order included
    assert "line" not in json.dumps(data)
    assert list(data) == ["format", "title", "max_revisions", "deliverables", "rubric", "pass", "checks",
                          "review"]
    assert data["rubric"][1]["levels"][2] == {"points": 4, "title": "Complete", "description": ""}


def test_json_is_the_same_whatever_the_order_of_checks_and_whole_numbers_written_as_decimals():
    reordered = _edit(33, "  link_patterns: ['^https://github\\.com/']",
                      _edit(36, "  headings: [Summary, Cleaning log]"))
    assert reordered != BASE
    decimals = BASE.replace("min_points: 4", "min_points: 4.0").replace("points: 4\n", "points: 4.0\n")
    assert decimals != BASE
    assert parse(reordered)[0].to_json() == parse(BASE)[0].to_json() == parse(decimals)[0].to_json()


def test_fractional_points_round_trip():
    capstone, _ = parse(BASE.replace("{points: 1, title: Partial}", "{points: 0.5, title: Partial}")
                        .replace("min_points: 4", "min_points: 4.5"))
    assert capstone.rubric[0].min_points == 0.5 and capstone.max_points == 6
    assert Capstone.from_json(json.loads(json.dumps(capstone.to_json()))) == capstone


def test_json_of_an_unknown_format_is_refused():
    data = parse(BASE)[0].to_json()
    data["format"] = 99
    with pytest.raises(ValueError, match="unknown capstone JSON format 99"):
        Capstone.from_json(data)


# -- the top level ---------------------------------------------------------------------------------------

def test_unknown_top_level_key_suggests_the_right_one():
    message = only_error(_edit(3, "max_revision: 1"))
    assert message == ("3: unknown key `max_revision` in the capstone's front matter; did you mean `max_revisions`? "
                       "allowed keys: title, max_revisions, deliverables, rubric, pass, checks, review")


def test_missing_title():
    assert only_error(_edit(2, None)) == ("2: missing required key `title` in the capstone's front matter; "
                                          "add `title: ...`")


def test_negative_max_revisions():
    assert only_error(_edit(3, "max_revisions: -1")) == "3: `max_revisions` must be at least 0"


def test_a_key_written_twice_is_an_error():
    assert only_error(_edit(3, "max_revisions: 1\nmax_revisions: 3")) == (
        "4: `max_revisions` is written twice here (first on line 3); keep one: YAML would silently use the last")


def test_a_mapping_written_as_a_value():
    assert only_error(small("deliverables: text\n")) == (
        "3: `deliverables` holds settings: write `deliverables:` alone on its line and its settings below it, "
        "indented (`key: value`)")


# -- review ---------------------------------------------------------------------------------------------

def test_review_is_not_blind_unless_asked():
    assert parse(small())[0].blind_review is False
    assert parse(small("review:\n"))[0].blind_review is False
    capstone, found = parse(small("review:\n  blind: true\n"))
    assert found == [] and capstone.blind_review is True
    assert Capstone.from_json(json.loads(json.dumps(capstone.to_json()))).blind_review is True


def test_a_version_stored_before_blind_review_reads_as_not_blind():
    data = parse(small())[0].to_json()
    del data["review"]
    assert Capstone.from_json(data).blind_review is False


def test_blind_must_be_true_or_false():
    assert only_error(small("review:\n  blind: maybe\n")).startswith("4: `blind` must be true or false")


def test_unknown_key_in_review():
    assert only_error(small("review:\n  blnd: true\n")).startswith(
        "4: unknown key `blnd` in `review`; did you mean `blind`?")


def test_review_written_as_a_value():
    assert only_error(small("review: blind\n")).startswith("3: `review` holds settings")


# -- deliverables ----------------------------------------------------------------------------------------

def test_text_must_be_one_of_the_choices():
    assert only_error(_edit(5, "  text: sometimes")) == (
        "5: `text` must be one of: required, optional, none (got 'sometimes')")


def test_a_capstone_must_ask_for_something():
    assert only_error(small("deliverables:\n  text: none\n")) == (
        "3: the capstone asks for nothing: with `text: none`, add `links:` or `files:` under `deliverables`, or set "
        "`text: required`")


def test_links_min_above_max():
    assert only_error(_edit(7, "    min: 3")) == (
        "7: `min` (3) is more than `max` (2): make `min` at most `max`, or raise `max`")
    assert only_error(_edit(7, "    min: 6", _edit(8, None))) == (
        "7: `min` (6) is more than `max` (5, the default): make `min` at most `max`, or raise `max`")


def test_links_max_is_at_most_20():
    assert only_error(_edit(8, "    max: 21")) == "8: `max` must be at most 20"


def test_unknown_nested_key_in_links():
    assert only_error(_edit(9, "    lable: Repository")) == (
        "9: unknown key `lable` in `deliverables.links`; did you mean `label`? allowed keys: min, max, label")


def test_files_sizes_are_limited():
    assert only_error(_edit(12, "    max_size_mb: 0")) == "12: `max_size_mb` must be more than 0"
    assert only_error(_edit(12, "    max_size_mb: 60")) == "12: `max_size_mb` must be at most 50"
    assert only_error(_edit(12, "    max_size_mb: .inf")) == (
        "12: `max_size_mb` must be a finite number, e.g. `max_size_mb: 6`")
    assert only_error(_edit(12, "    max_size_mb: 5\n    total_size_mb: 150")) == (
        "13: `total_size_mb` must be at most 100")
    assert only_error(_edit(12, "    max_size_mb: 5\n    total_size_mb: 4")) == (
        "13: `total_size_mb` (4) is less than `max_size_mb` (5), so one file of the largest size would not fit: "
        "make `total_size_mb` at least 5")


def test_files_need_types():
    assert only_error(_edit(13, None)) == ("10: missing required key `types` in `deliverables.files`; "
                                           "add `types: ...`")
    assert only_error(_edit(13, "    types: []")) == "13: `types` is empty: list extensions, e.g. `types: [pdf, zip]`"


def test_file_types_are_lower_case_known_extensions_without_a_dot():
    assert only_error(_edit(13, "    types: [ipynb, PDF]")) == (
        "13: write file types in lower case without a dot: `pdf`, not `PDF`")
    assert only_error(_edit(13, "    types: [ipynb, .pdf]")) == (
        "13: write file types in lower case without a dot: `pdf`, not `.pdf`")
    message = only_error(_edit(13, "    types: [ipynb, pdf, pdff]"))
    assert message.startswith("13: learners cannot upload `pdff` files; did you mean `pdf`? allowed types: ")
    assert "ipynb" in message and "zip" in message
    assert only_error(_edit(13, "    types: [ipynb, pdf, pdf]")) == (
        "13: `pdf` is listed twice (first on line 13); keep one")


def test_a_file_type_on_its_own_line_is_reported_there():
    assert only_error(_edit(13, "    types:\n      - ipynb\n      - exe")).startswith(
        "15: learners cannot upload `exe` files; allowed types: ")


# -- the rubric ------------------------------------------------------------------------------------------

def test_the_rubric_must_be_a_non_empty_list():
    assert only_error(small().replace("rubric:\n" + CRITERION, "rubric: []\n")) == (
        "3: the rubric has no criteria: add at least one, starting with `- title: ...` and its `levels:`")
    assert only_error(small().replace("rubric:\n" + CRITERION, "rubric:\n")) == (
        "3: the rubric has no criteria: add at least one, starting with `- title: ...` and its `levels:`")
    assert only_error(small().replace("rubric:\n" + CRITERION, "rubric: Question\n")) == (
        "3: `rubric` is a list: write `rubric:` alone on its line and each entry below it on a line starting with "
        "`- `")


def test_at_most_20_criteria():
    criteria = "".join(f"  - title: C{n}\n    levels: [{{points: 0, title: A}}, {{points: 1, title: B}}]\n"
                       for n in range(21))
    assert only_error(small(criteria=criteria)) == "44: the rubric has 21 criteria; keep it to 20 at most"
    assert parse(small(criteria=criteria.split("  - title: C20")[0]))[0] is not None


def test_a_criterion_that_is_not_a_mapping():
    assert only_error(small(criteria=CRITERION + "  - Cleaning log\n")) == (
        "8: criterion 2 of the rubric is not a set of settings: start it with `- title: ...`, then its `levels:` "
        "indented below")


def test_the_third_levels_points_of_the_second_criterion():
    assert only_error(_edit(28, "      - points: -1")) == "28: `points` must be at least 0"
    assert only_error(_edit(28, "      - points: lots")) == "28: `points` must be a number, e.g. `points: 6`"
    assert only_error(_edit(28, "      - points: 2")) == (
        "28: level 3 of criterion 2 (Cleaning log) gives 2 points, as does the level on line 26; give each level "
        "different points")


def test_unknown_key_in_a_level_suggests_the_right_one():
    capstone, found = parse(_edit(28, "      - pionts: 4"))
    assert capstone is None
    assert [f"{p.line}: {p.message}" for p in found] == [
        "28: unknown key `pionts` in level 3 of criterion 2 (Cleaning log); did you mean `points`? allowed keys: "
        "points, title, description",
        "28: missing required key `points` in level 3 of criterion 2 (Cleaning log); add `points: ...`",
    ]


def test_a_level_title_read_as_a_boolean_asks_for_quotes():
    assert only_error(_edit(29, "        title: Yes")) == (
        '29: `title` was read as true: put the text in quotes, e.g. `title: "Yes"`')


def test_a_level_that_is_not_a_mapping():
    assert only_error(_edit(20, "      - Partial")) == (
        "20: level 2 of criterion 1 (Question) is not a set of settings: write it as "
        "`- {points: 2, title: Developing, description: ...}`")


def test_two_to_six_levels():
    assert only_error(_edit(20, None, _edit(21, None))) == (
        "18: criterion 1 (Question) has 1 level; give it 2 to 6, e.g. `- {points: 0, title: Missing}` and "
        "`- {points: 2, title: Complete}`")
    seven = "\n".join(f"      - {{points: {n}, title: L{n}}}" for n in range(7))
    assert only_error(_edit(19, seven, _edit(20, None, _edit(21, None)))).startswith(
        "18: criterion 1 (Question) has 7 levels; give it 2 to 6")


def test_unknown_key_in_a_criterion():
    assert only_error(_edit(17, "    requird: true")) == (
        "17: unknown key `requird` in criterion 1 of the rubric; did you mean `required`? allowed keys: key, title, "
        "description, required, min_points, levels")


def test_criterion_keys_are_unique():
    assert only_error(_edit(22, "  - key: question\n    title: Cleaning log")) == (
        "22: criterion 2 (Cleaning log): the key `question` is also used by the criterion on line 15; give each "
        "criterion its own `key:`")
    assert only_error(_edit(15, "  - title: Cleaning log", _edit(16, None))) == (
        "21: criterion 2 (Cleaning log): the key `cleaning-log` is also used by the criterion on line 15; give "
        "each criterion its own `key:`")


def test_a_key_must_be_a_slug_and_a_title_must_give_one():
    assert only_error(_edit(15, "  - key: Question Key")).startswith("15: `key` must use lower-case letters")
    assert only_error(_edit(22, '  - title: "評価"')) == (
        "22: criterion 2 (評価): its title gives no key (letters or digits): add `key: ...`, e.g. `key: question`")


def test_min_points_of_a_required_criterion_is_one_of_its_levels():
    assert only_error(_edit(17, "    required: true\n    min_points: 1.5")) == (
        "18: criterion 1 (Question): `min_points` must be the points of one of its levels: 0, 1, 2")
    capstone, _ = parse(_edit(17, "    required: true\n    min_points: 2"))
    assert capstone.rubric[0].min_points == 2


def test_min_points_needs_required():
    assert only_error(_edit(23, "    min_points: 2\n    levels:")) == (
        "23: criterion 2 (Cleaning log): `min_points` applies only to a required criterion: add `required: true`, "
        "or remove `min_points`")


def test_min_points_at_the_lowest_level_is_a_warning():
    capstone, found = parse(_edit(17, "    required: true\n    min_points: 0"))
    assert capstone is not None and capstone.rubric[0].min_points == 0
    assert [f"{p.line}: {p.message}" for p in found if p.severity == WARNING] == [
        "18: criterion 1 (Question): `min_points` is the lowest level's points, so the criterion is always met; "
        "raise it (e.g. `min_points: 1`) or remove `required: true`"]


# -- the pass rule ---------------------------------------------------------------------------------------

def test_pass_min_points_cannot_exceed_the_rubric():
    assert only_error(_edit(31, "  min_points: 7")) == (
        "31: `min_points` is 7 but the rubric's highest total is 6: lower `min_points` or add points to the levels")
    assert parse(_edit(31, "  min_points: 6"))[0].pass_rule.min_points == 6


def test_a_pass_rule_must_say_something():
    assert only_error(_edit(17, None, _edit(30, "pass: {}", _edit(31, None)))) == (
        "29: the pass rule says nothing: add `min_points: N` (the total needed) under `pass`, or `required: true` "
        "to a criterion")


def test_pass_is_required_and_its_keys_checked():
    assert only_error(_edit(30, None, _edit(31, None))) == (
        "2: missing required key `pass` in the capstone's front matter; add `pass: ...`")
    assert only_error(_edit(31, "  min_point: 4")) == (
        "31: unknown key `min_point` in `pass`; did you mean `min_points`? allowed keys: min_points")


# -- checks ----------------------------------------------------------------------------------------------

def test_unknown_check_suggests_the_right_one():
    assert only_error(_edit(34, "  min_word: 50")) == (
        "34: unknown key `min_word` in `checks`; did you mean `min_words`? allowed keys: headings, min_words, "
        "file_types, link_patterns")


def test_each_check_at_most_once():
    assert only_error(_edit(34, "  min_words: 50\n  min_words: 80")) == (
        "35: `min_words` is written twice here (first on line 34); keep one: YAML would silently use the last")


def test_min_words_is_a_positive_whole_number():
    assert only_error(_edit(34, "  min_words: 0")) == "34: `min_words` must be at least 1"
    assert only_error(_edit(34, "  min_words: 2.5")) == "34: `min_words` must be a whole number, e.g. `min_words: 10`"


def test_text_checks_need_a_text_answer():
    errors = problems(_edit(5, "  text: none"))
    assert errors == [
        "33: `headings` looks at the text answer, but `deliverables.text` is `none`: set `text: required` (or "
        "`optional`), or remove `headings`",
        "34: `min_words` looks at the text answer, but `deliverables.text` is `none`: set `text: required` (or "
        "`optional`), or remove `min_words`",
    ]


def test_headings_are_distinct_and_not_empty():
    assert only_error(_edit(33, "  headings: [Summary, ' summary ']")) == (
        "33: the heading `summary` is listed twice (first on line 33); keep one (headings match whatever their "
        "case)")
    assert only_error(_edit(33, "  headings: []")) == (
        "33: `headings` is empty: list the headings the text must have, e.g. `headings: [Summary, Method]`, or "
        "remove it")


def test_file_types_check_needs_files_of_that_type():
    assert only_error(_edit(35, "  file_types: [ipynb, zip]")) == (
        "35: `zip` is not among `deliverables.files.types` (ipynb, pdf): add it there, or remove it here")
    assert only_error(_edit(35, "  file_types:\n    - ipynb\n    - Pdf")) == (
        "37: write file types in lower case without a dot: `pdf`, not `Pdf`")
    without_files = _edit(10, None, _edit(11, None, _edit(12, None, _edit(13, None))))
    assert only_error(without_files) == (
        "31: `file_types` looks at the uploaded files, but the capstone asks for none: add `files:` with "
        "`types: [...]` under `deliverables`, or remove `file_types`")


def test_link_patterns_need_links_and_valid_patterns():
    without_links = _edit(6, None, _edit(7, None, _edit(8, None, _edit(9, None))))
    assert only_error(without_links) == (
        "32: `link_patterns` looks at the links, but the capstone asks for none: add `links:` under `deliverables`, "
        "or remove `link_patterns`")
    message = only_error(_edit(36, "  link_patterns:\n    - '^https://'\n    - '(unclosed'"))
    assert message.startswith("38: the link pattern '(unclosed' is not a valid regular expression (")
    assert message.endswith("quote it in single quotes and escape a literal dot as `\\.`")
    assert only_error(_edit(36, "  link_patterns: ['^(a|a)+$']")) == (
        "36: link pattern: the regular expression '^(a|a)+$' can take exponential time on some inputs (nested "
        "repetition like (a+)+); simplify it")
    assert only_error(_edit(36, "  link_patterns: [3]")) == (
        "36: each link pattern is a regular expression in quotes, e.g. `'^https://github\\.com/'`")


def test_link_patterns_keep_their_spaces():
    capstone, _ = parse(_edit(36, "  link_patterns: ['^https://x ']"))
    assert capstone.checks["link_patterns"] == ("^https://x ",)


def test_problems_come_in_line_order():
    text = _edit(36, "  link_patterns: ['(']", _edit(28, "      - points: -1", _edit(3, "max_revisions: x")))
    lines = [p.line for p in parse(text)[1]]
    assert lines == sorted(lines) and lines == [3, 28, 36]


# -- nested line numbers (lms.content.source) ------------------------------------------------------------

def test_nested_lines_by_key_path():
    meta = split_front_matter(BASE, "capstone.md").meta
    assert meta.key_lines["rubric"] == 14 and meta.line("rubric") == 14
    assert meta.line("rubric", 1) == 22
    assert meta.line("rubric", 1, "levels", 2, "points") == 28
    assert meta.line("rubric", 1, "levels", 2, "title") == 29
    assert meta.line("deliverables", "files", "types", 1) == 13
    assert meta.line("rubric", 1, "levels", 2, "nothing") == 28  # the nearest written ancestor
    level = meta.sub("rubric", 1, "levels", 2)
    assert level.values == {"points": 4, "title": "Complete"} and level.first_line == 28
    assert level.key_lines == {"points": 28, "title": 29}
    with pytest.raises(TypeError):
        meta.sub("title")


def test_duplicate_keys_are_recorded_at_every_depth():
    meta = parse_yaml_mapping("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "x.yml")
    assert meta.values == {"a": 3, "b": {"c": 2}}
    assert meta.duplicate_keys == (DuplicateKey(("a",), 5, 1), DuplicateKey(("b", "c"), 4, 3))
    assert meta.line("b", "c") == 4  # the one whose value is used


def test_merge_keys_are_not_duplicates_and_aliases_are_walked_once():
    meta = parse_yaml_mapping("base: &b {points: 0, title: A}\nlevel:\n  <<: *b\n  points: 2\n", "x.yml")
    assert meta.values["level"] == {"points": 2, "title": "A"} and meta.duplicate_keys == ()
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    meta = parse_yaml_mapping(bomb, "x.yml")
    assert len(meta.node_lines) < 200  # not 9**9 paths
    assert parse_yaml_mapping("a: &x [*x]\n", "x.yml").line("a", 0) == 1  # a recursive anchor ends


def test_existing_callers_see_the_same_mapping():
    meta = parse_yaml_mapping("title: T\nsummary: S\n", "course.yml")
    assert (meta.values, meta.key_lines, meta.first_line) == ({"title": "T", "summary": "S"},
                                                               {"title": 1, "summary": 2}, 1)


# -- through the loader --------------------------------------------------------------------------------

@pytest.fixture
def course(tmp_path):
    return write_course(tmp_path, "good-course")


def test_the_loader_reports_nested_problems_with_file_and_line(course):
    (course / "capstone.md").write_text(_edit(28, "      - points: -1"))
    result = load_courses(course)
    assert [str(p) for p in result.errors] == ["good-course/capstone.md:28: error: `points` must be at least 0"]
    assert result.courses == []


def test_the_brief_is_rendered_like_a_lesson_and_the_capstone_is_on_the_item(course):
    (course / "capstone.md").write_text(BASE.replace("The brief.", "## Task\n\nSee ![the diagram](assets/diagram.svg) "
                                                                   "and [lesson 1](01-module-1/01-lesson-1.md)."))
    result = load_courses(course)
    assert result.problems == []
    item = result.courses[0].capstone
    assert item.kind == "capstone" and item.slug == "capstone" and item.title == "Capstone: trips"
    assert '<h2 id="task">Task</h2>' in item.html and 'src="/media/' in item.html
    assert 'href="/courses/good-course/module-1/lesson-1"' in item.html
    assert item.capstone == parse(BASE)[0]


def test_a_broken_link_in_the_brief_names_its_line(course):
    (course / "capstone.md").write_text(BASE.replace("The brief.", "Intro\n\n![chart](assets/missing.png)"))
    [error] = [str(p) for p in load_courses(course).errors]
    assert error.startswith("good-course/capstone.md:40: error: `assets/missing.png` points to")


def test_an_empty_brief_is_a_warning(course):
    (course / "capstone.md").write_text(BASE.replace("The brief.\n", ""))
    result = load_courses(course)
    assert result.ok
    assert [str(p) for p in result.problems if p.severity == WARNING] == [
        "good-course/capstone.md:38: warning: the capstone has no brief after the front matter: describe the task, "
        "what to hand in and how it is assessed"]


def test_the_content_hash_follows_the_rubric(course):
    (course / "capstone.md").write_text(BASE)
    first = load_courses(course).courses[0].capstone.content_hash
    (course / "capstone.md").write_text(BASE.replace("min_points: 4", "min_points: 5"))
    second = load_courses(course).courses[0].capstone.content_hash
    (course / "capstone.md").write_text(BASE)
    assert first != second and load_courses(course).courses[0].capstone.content_hash == first


# -- the documentation ---------------------------------------------------------------------------------

def _capstone_docs() -> str:
    doc = (ROOT / "docs/course-format.md").read_text()
    return doc[doc.index("## The capstone"):doc.index("## Checking and syncing")]


def test_the_documented_example_is_valid():
    example = re.search(r"### Example\n\n```markdown\n(.*?)\n```\n", _capstone_docs(), re.S).group(1)
    capstone, found = parse(example + "\n")
    assert found == [] and capstone.max_points == 6 and capstone.rubric[1].key == "cleaning-log"


def test_the_documented_upload_types_are_the_registry():
    listed = re.search(r"`lms/uploads/types.py`: ([a-z, ]+)\)", _capstone_docs()).group(1)
    assert listed.split(", ") == sorted(FILE_TYPES)


def test_the_shipped_capstones_are_valid_and_graded_on_at_least_four_criteria():
    result = load_courses(ROOT / "courses")
    assert result.ok
    capstones = [c.capstone for c in result.courses if c.capstone is not None]
    assert len(capstones) == 3
    for item in capstones:
        rubric = item.capstone.rubric
        assert len(rubric) >= 4 and all(3 <= len(c.levels) <= 4 for c in rubric), item.source_path
        assert all(level.description for c in rubric for level in c.levels), item.source_path
        assert item.capstone.checks and "<h2" in item.html
