"""Conformance with Moodle: the golden cases from Moodle's own GIFT tests (shared/spec).

Import: every case parses (as one question) to what Moodle's importer expects, mapped to our model by
tests/questions/moodle_mapping.py. The Moodle fields outside our model are listed there
(NOT_IN_MODEL, with reasons) and checked to be the only ones left out.
Export: every case our model can express exports to exactly Moodle's text.

Cases our model cannot express would be listed in NOT_EXPRESSIBLE (strict xfail, with the reason);
today there are none. The one case marked `uncertain` (test_export_question_with_tags_and_idnumber,
whose question Moodle builds with its data generator) is not excluded: its `{QUESTION_ID}`
placeholder is replaced by an id of ours, as the spec's README suggests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.questions.formats import gift
from lms.questions.model import Quiz

from . import moodle_mapping as mm

CASES = mm.load_cases()  # fails under CI, skips elsewhere, when shared/spec is absent

# Case id -> why our model cannot express it (run as strict xfail, so a fix is noticed). None today.
NOT_EXPRESSIBLE: dict[str, str] = {}
# What export() must report as unexpressed for a case (Moodle settings in our model that GIFT drops).
EXPECTED_UNEXPRESSED = {
    "test_export_shortanswer": ["question 1 'Shortanswer': case-sensitive matching (GIFT short answers are "
                                "case-insensitive on import)"],
    "test_export_shortanswer_with_general_feedback": ["question 1 'Shortanswer': case-sensitive matching (GIFT "
                                                      "short answers are case-insensitive on import)"],
}
UNCERTAIN_ID = 4242  # stands for the database id in the one `uncertain` case


def _case_id(case: dict) -> str:
    return case["name"] + (f"[{case['dataset']}]" if "dataset" in case else "")


def _params(kind: str) -> list:
    params = []
    for case in CASES[kind]:
        case_id = _case_id(case)
        marks = [pytest.mark.xfail(strict=True, reason=NOT_EXPRESSIBLE[case_id])] if case_id in NOT_EXPRESSIBLE \
            else []
        params.append(pytest.param(case, id=case_id, marks=marks))
    return params


def _expected_export(case: dict) -> tuple[object, str]:
    """The header id to export with, and Moodle's text (with the uncertain case's placeholder filled)."""
    text = case["gift"].replace("\r\n", "\n")
    question_id = case["question"]["id"]
    if case.get("uncertain"):
        question_id = UNCERTAIN_ID
        text = text.replace("{QUESTION_ID}", str(UNCERTAIN_ID))
    return question_id, text


def test_the_lists_name_real_cases():
    ids = {_case_id(c) for kind in ("import", "export") for c in CASES[kind]}
    assert set(NOT_EXPRESSIBLE) <= ids
    assert set(EXPECTED_UNEXPRESSED) <= ids
    uncertain = [_case_id(c) for kind in ("import", "export") for c in CASES[kind] if c.get("uncertain")]
    assert uncertain == ["test_export_question_with_tags_and_idnumber"], "the README names one uncertain case"


def test_the_model_and_the_not_in_model_list_do_not_overlap():
    mapped = set()
    for case in CASES["import"]:
        mapped |= set(mm.to_moodle(gift.parse(case["gift"]).questions[0]))
    assert not mapped & set(mm.NOT_IN_MODEL)


@pytest.mark.parametrize("case", _params("import"))
def test_import(case):
    quiz = gift.parse(case["gift"])
    assert len(quiz.questions) == 1
    ours = mm.to_moodle(quiz.questions[0])
    expected = case["expected"]
    unlisted = set(expected) - set(ours) - set(mm.NOT_IN_MODEL)
    assert not unlisted, f"Moodle fields neither mapped nor listed as not part of our model: {unlisted}"
    for key in sorted(set(expected) & set(ours)):
        assert mm.loose_equal(ours[key], expected[key]), f"{key}: ours {ours[key]!r}, Moodle {expected[key]!r}"
    for section, values in case.get("config", {}).items():
        for key in values:
            assert f"{section}.{key}" in mm.CONFIG_NOT_IN_MODEL


@pytest.mark.parametrize("case", _params("export"))
def test_export(case):
    question_id, expected = _expected_export(case)
    unread = mm.unmapped_keys(case["question"])
    assert unread <= set(mm.NOT_IN_MODEL) | mm.DATABASE_KEYS, f"unmapped Moodle fields: {unread}"
    question = mm.from_moodle(case["question"])
    result = gift.export(Quiz(title="", questions=(question,)), question_ids=[question_id])
    assert result.text == expected
    assert result.unexpressed == EXPECTED_UNEXPRESSED.get(case["name"], [])


@pytest.mark.parametrize("case", _params("export"))
def test_moodle_export_reads_back_and_writes_the_same(case):
    """Moodle's exported text through our importer and exporter again: the same text, same type."""
    question_id, expected = _expected_export(case)
    quiz = gift.parse(expected)
    assert len(quiz.questions) == 1
    assert mm.QTYPES[quiz.questions[0].type] == case["question"]["qtype"]
    assert gift.export(quiz, question_ids=[question_id]).text == expected


def test_missing_cases_fail_under_ci_and_skip_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setattr(mm, "CASES_FILE", tmp_path / "absent.json")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cases are missing"):
        mm.load_cases()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="skipped outside CI"):
        mm.load_cases()


def test_the_spec_is_found_beside_the_repository():
    assert mm.SPEC_DIR == Path(__file__).resolve().parents[3] / "shared" / "spec"
    assert mm.CASES_FILE.is_file()
