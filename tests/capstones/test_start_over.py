"""Starting the capstone over after a decided version (the one caller: renewing a credential), and
each round's own allowance of revisions."""

from __future__ import annotations

import pytest

from lms.capstones import services
from tests.capstones.conftest import FULL_MARKS, LOW_MARKS, graded, submitted


def test_start_over_is_refused_until_the_last_version_is_decided_and_starts_a_first_draft(db, capstone_setup):
    setup = capstone_setup()
    record = setup.record(db)
    # Nothing handed in yet (a credential awarded by hand, renewed by capstone): the first draft.
    draft = services.start_over(db, setup.enrollment.id, record)
    assert (draft.version, draft.state) == (1, "draft")
    db.commit()
    first = submitted(db, setup)
    assert first.id == draft.id
    assert services.start_over(db, setup.enrollment.id, record).id == first.id  # open: that one
    assert graded(db, setup, first, LOW_MARKS).outcome == "needs_revision"
    with pytest.raises(services.NotEditable, match="decided"):
        services.start_over(db, setup.enrollment.id, record)  # a revision is the way on


def test_after_a_pass_start_over_makes_an_empty_draft_graded_as_a_first_hand_in(db, capstone_setup, store):
    setup = capstone_setup(max_revisions=1)
    first = submitted(db, setup, store)
    graded(db, setup, first, FULL_MARKS)
    record = setup.record(db)
    draft = services.start_over(db, setup.enrollment.id, record)
    db.commit()
    assert (draft.version, draft.state, draft.text, draft.links) == (2, "draft", "", [])
    assert services.versions_of(db, setup.enrollment.id, setup.item.id)[-1].files == []
    second = submitted(db, setup)
    context = services.grading_context(db, setup.course.id, second.id)
    assert context.revision_number == 1
    assert graded(db, setup, second, LOW_MARKS).outcome == "needs_revision"  # its round has a revision left
    services.start_revision(db, setup.enrollment.id, record)
    db.commit()
    third = submitted(db, setup)
    assert services.grading_context(db, setup.course.id, third.id).revision_number == 2
    assert graded(db, setup, third, LOW_MARKS).outcome == "not_passed"  # and only the one
    again = services.start_over(db, setup.enrollment.id, record)  # after "not passed" too
    assert again.version == 4


def test_the_grading_page_counts_revisions_within_the_round(client, auth, db, capstone_setup):
    setup = capstone_setup(max_revisions=1)
    graded(db, setup, submitted(db, setup), FULL_MARKS)
    services.start_over(db, setup.enrollment.id, setup.record(db))
    db.commit()
    second = submitted(db, setup)
    services.claim(db, second.id, setup.grader.id)
    db.commit()
    auth.login(setup.grader.email)
    page = client.get(f"/courses/capstone-course/capstone/submissions/{second.id}").get_data(as_text=True)
    assert "1 revision left" in page
