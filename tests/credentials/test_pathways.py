"""Pathways: their achievements at sync, their credentials issued with the course credential that completes
them (every path), N of a list, what does not count, renewal, reconcile, and the progress service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.catalog.models import Pathway
from lms.catalog.services import sync_courses, sync_pathways
from lms.content import load_courses
from lms.credentials.issuance import _issue, issue_due_pathways, reconcile, settings_of, signing_issuer
from lms.credentials.models import Achievement, AchievementVersion, Credential, StatusList
from lms.credentials.pathways import pathway_progress
from lms.credentials.sync import PathwaySlugTaken
from lms.credentials.verification import verify_credential
from lms.db import utcnow
from tests.capstones.conftest import FULL_MARKS
from tests.content.test_pathway import write_pathway, write_quiz_course
from tests.credentials.conftest import grade
from tests.credentials.shared_verifier import verify_documents

ALL_AB = "title: A and B\nsummary: Both.\ncourses: [course-a, course-b]\n"
TWO_OF_ABC = "title: Two of three\nsummary: Any two.\ncourses: [course-a, course-b, course-c]\nrequire: 2\n"


def sync_folder(app, db, root):
    result = load_courses(root)
    assert result.ok, [str(p) for p in result.problems]
    media = app.config["LMS_SETTINGS"].media_dir
    report = sync_courses(db, result.courses, media, retire_missing=True)
    report += sync_pathways(db, result.pathways or [], media, retire_missing=True)
    db.commit()
    return report


def award(db, user, slug: str, now=None) -> Credential:
    """Issue the live version of achievement ``slug`` to ``user`` through the issuance service (as a manual
    award does), committed."""
    achievement_id, version_id = db.execute(
        select(Achievement.id, AchievementVersion.id).join(AchievementVersion)
        .where(Achievement.slug == slug, AchievementVersion.retired_at.is_(None))).one()
    credential = _issue(db, signing_issuer(settings_of(db)), user.id, achievement_id, version_id, now or utcnow())
    db.commit()
    return credential


def pathway_credentials(db, user, slug: str, current_only: bool = True) -> list[Credential]:
    stmt = (select(Credential).join(Achievement).where(Credential.user_id == user.id, Achievement.slug == slug)
            .order_by(Credential.id))
    if current_only:
        stmt = stmt.where(Credential.revoked_at.is_(None), Credential.superseded_at.is_(None))
    return list(db.scalars(stmt))


@pytest.fixture
def catalog(app, db, courses_root):
    """Courses a, b (valid 12 months) and c, and the pathways `all-ab` (both) and `two-of-abc` (any two)."""
    write_quiz_course(courses_root, "course-a")
    write_quiz_course(courses_root, "course-b", expiring=True)
    write_quiz_course(courses_root, "course-c")
    write_pathway(courses_root, "all-ab", ALL_AB)
    write_pathway(courses_root, "two-of-abc", TWO_OF_ABC)
    sync_folder(app, db, courses_root)
    return courses_root


def test_a_sync_stores_each_pathway_as_a_versioned_achievement_and_retires_a_removed_one(app, db, catalog):
    achievement = db.scalar(select(Achievement).where(Achievement.slug == "two-of-abc"))
    assert achievement.kind == "pathway" and achievement.course_id is None and achievement.retired_at is None
    [spec] = db.scalars(select(AchievementVersion.spec).where(AchievementVersion.achievement_id == achievement.id))
    assert spec["requires"] == {"courses": ["course-a", "course-b", "course-c"], "count": 2}
    assert spec["pathway"] == {"slug": "two-of-abc", "title": "Two of three"} and spec["name"] == "Two of three"
    assert [r.status for r in sync_folder(app, db, catalog) if r.slug.startswith("pathway")] == ["unchanged"] * 2
    write_pathway(catalog, "two-of-abc", TWO_OF_ABC.replace("require: 2", "require: 1"))
    report = sync_folder(app, db, catalog)
    assert "  ~ credential (version 2)" in next(r for r in report if r.slug == "pathway two-of-abc").lines()
    versions = db.execute(select(AchievementVersion.version, AchievementVersion.retired_at.is_(None))
                          .where(AchievementVersion.achievement_id == achievement.id)
                          .order_by(AchievementVersion.version)).all()
    assert versions == [(1, False), (2, True)]
    (catalog / "_pathways" / "two-of-abc.yml").unlink()
    report = sync_folder(app, db, catalog)
    assert "pathway two-of-abc: retired" in [line for r in report for line in r.lines()]
    db.expire_all()
    assert db.get(Achievement, achievement.id).retired_at is not None
    assert db.scalar(select(Pathway.retired_at).where(Pathway.slug == "two-of-abc")) is not None
    assert pathway_progress(db, None) and [p.slug for p in pathway_progress(db, None)] == ["all-ab"]


def test_the_last_course_credential_issues_the_pathway_credential_that_both_verifiers_accept(
        app, db, capstone_setup, courses_root, tmp_path):
    setup = capstone_setup()  # capstone-course, graded below
    write_quiz_course(courses_root, "course-a")
    write_pathway(courses_root, "stack", "title: Stack\nsummary: S.\ncourses: [course-a, capstone-course]\n")
    sync_folder(app, db, courses_root)
    first = award(db, setup.learner, "course-a")
    assert pathway_credentials(db, setup.learner, "stack") == []
    grade(db, setup, FULL_MARKS)  # the capstone passes: its course credential, then the pathway's
    [course_credential] = pathway_credentials(db, setup.learner, "capstone-course")
    [credential] = pathway_credentials(db, setup.learner, "stack")
    document = credential.document
    assert document["name"] == "Stack" and "result" not in document["credentialSubject"]
    assert document["credentialSubject"]["achievement"]["id"] == "http://localhost/achievements/stack"
    assert "resultDescription" not in document["credentialSubject"]["achievement"]
    assert [e["id"] for e in document["evidence"]] == [f"http://localhost/credentials/{first.public_id}",
                                                        f"http://localhost/credentials/{course_credential.public_id}"]
    assert {e["genre"] for e in document["evidence"]} == {"Course credential"}
    assert "validUntil" not in document and credential.valid_until is None
    issuer = signing_issuer(app.config["LMS_SETTINGS"])
    listing = db.get(StatusList, credential.status_list_id)
    verdict = verify_credential(document, issuer.resolve, fetch_status_list=lambda url: listing.document)
    assert verdict.status == "valid", verdict.reasons
    [independent] = verify_documents(tmp_path, [document])
    assert independent.verified, independent.errors


def test_any_n_of_a_list_and_never_a_second_credential(db, catalog, make_user):
    learner = make_user()
    award(db, learner, "course-a")
    assert pathway_credentials(db, learner, "two-of-abc") == []
    award(db, learner, "course-c")
    [credential] = pathway_credentials(db, learner, "two-of-abc")
    assert len(credential.document["evidence"]) == 2
    award(db, learner, "course-b")  # a third course: both pathways are held now, each once
    assert len(pathway_credentials(db, learner, "two-of-abc", current_only=False)) == 1
    assert len(pathway_credentials(db, learner, "all-ab")) == 1
    assert issue_due_pathways(db, learner.id) == []
    assert reconcile(db).issued == []


def test_revoked_and_expired_course_credentials_do_not_count(db, catalog, make_user):
    learner = make_user()
    revoked = award(db, learner, "course-a")
    revoked.revoked_at, revoked.revoke_reason = utcnow(), "Issued by mistake."
    db.commit()
    award(db, learner, "course-c")
    assert pathway_credentials(db, learner, "two-of-abc") == []
    other = make_user()
    expired = award(db, other, "course-b", now=utcnow() - timedelta(days=400))  # valid 12 months: expired
    assert expired.valid_until < utcnow()
    award(db, other, "course-a")
    assert pathway_credentials(db, other, "all-ab") == [] and pathway_credentials(db, other, "two-of-abc") == []
    [progress] = [p for p in pathway_progress(db, other.id) if p.slug == "all-ab"]
    assert progress.still_needed == 1 and [c.slug for c in progress.missing] == ["course-b"]


def test_the_pathway_lasts_as_long_as_its_course_credentials_and_is_renewed_with_them(db, catalog, make_user):
    learner = make_user()
    award(db, learner, "course-a")
    old_b = award(db, learner, "course-b", now=utcnow() - timedelta(days=300))
    [pathway] = pathway_credentials(db, learner, "all-ab")
    assert pathway.valid_until == old_b.valid_until  # the earliest expiry of what it rests on
    assert pathway.document["validUntil"].startswith(f"{old_b.valid_until:%Y-%m-%d}")
    # Course b is renewed (superseded, then issued again): the pathway credential is renewed with it.
    old_b.superseded_at = utcnow()
    db.commit()
    new_b = award(db, learner, "course-b")
    [renewed] = pathway_credentials(db, learner, "all-ab")
    assert renewed.id != pathway.id and renewed.valid_until == new_b.valid_until
    db.refresh(pathway)
    assert pathway.superseded_at is not None and pathway.superseded_by_id == renewed.id
    assert new_b.public_id in str(renewed.document["evidence"])
    assert issue_due_pathways(db, learner.id) == []  # nothing new to rest on: no third


def test_n_of_a_list_rests_on_the_credentials_that_last_longest(db, catalog, make_user):
    learner = make_user()
    award(db, learner, "course-b")  # expires in 12 months
    award(db, learner, "course-a")  # (completes two of three, expiring with b)
    [first] = pathway_credentials(db, learner, "two-of-abc")
    assert first.valid_until is not None
    award(db, learner, "course-c")  # a and c never expire: the pathway credential need not either
    [renewed] = pathway_credentials(db, learner, "two-of-abc")
    assert renewed.valid_until is None and len(renewed.document["evidence"]) == 2
    assert "course-b" not in str([e["name"] for e in renewed.document["evidence"]])


def test_reconcile_issues_pathways_that_became_due_without_a_new_course_credential(app, db, catalog, make_user):
    learner = make_user()
    (catalog / "_pathways" / "all-ab.yml").unlink()
    sync_folder(app, db, catalog)
    award(db, learner, "course-a")
    award(db, learner, "course-b")
    write_pathway(catalog, "all-ab", ALL_AB)  # added after the learner held both
    sync_folder(app, db, catalog)
    assert pathway_credentials(db, learner, "all-ab") == []
    report = reconcile(db)
    db.commit()
    assert report.issued == [(learner.id, "all-ab")] and report.not_signed == 0
    assert len(pathway_credentials(db, learner, "all-ab")) == 1
    assert reconcile(db).issued == []


def test_reconcile_reports_the_pathway_issued_with_the_course_credential(app, db, capstone_setup, courses_root):
    setup = capstone_setup()
    write_quiz_course(courses_root, "course-a")
    write_pathway(courses_root, "stack", "title: Stack\nsummary: S.\ncourses: [course-a, capstone-course]\n")
    sync_folder(app, db, courses_root)
    award(db, setup.learner, "course-a")
    setup.learner.email_verified_at = None
    db.commit()
    grade(db, setup, FULL_MARKS)
    setup.learner.email_verified_at = utcnow()  # (behind the service's back: no event)
    db.commit()
    report = reconcile(db)
    assert report.issued == [(setup.learner.id, "capstone-course"), (setup.learner.id, "stack")]


def test_progress_says_what_is_held_and_missing_in_three_statements_at_any_size(app, db, courses_root,
                                                                                make_user, count_queries):
    learner = make_user()
    for slug in ("course-a", "course-b"):
        write_quiz_course(courses_root, slug)
    write_pathway(courses_root, "all-ab", ALL_AB)
    sync_folder(app, db, courses_root)
    award(db, learner, "course-a")
    with count_queries() as small:
        [progress] = pathway_progress(db, learner.id)
    assert progress.title == "A and B" and progress.required == 2 and progress.requires_all
    assert [(c.slug, c.title, c.held) for c in progress.courses] == [("course-a", "Course A", True),
                                                                     ("course-b", "Course B", False)]
    assert progress.held_count == 1 and progress.still_needed == 1 and not progress.held
    for slug in ("course-c", "course-d", "course-e"):
        write_quiz_course(courses_root, slug)
    write_pathway(courses_root, "wide", "title: Wide\nsummary: W.\ncourses: [course-a, course-c, course-d, "
                                        "course-e]\nrequire: 2\n")
    write_pathway(courses_root, "cd", "title: C and D\nsummary: S.\ncourses: [course-c, course-d]\n")
    sync_folder(app, db, courses_root)
    award(db, learner, "course-c")  # completes `wide` (a and c)
    award(db, learner, "course-d")  # completes `cd`
    with count_queries() as large:
        found = pathway_progress(db, learner.id)
    assert large.count == small.count == 3
    assert [p.slug for p in found] == ["all-ab", "cd", "wide"]  # by title
    by_slug = {p.slug: p for p in found}
    assert by_slug["wide"].held and by_slug["cd"].held and not by_slug["all-ab"].held
    assert by_slug["wide"].still_needed == 0 and by_slug["wide"].credential_public_id
    with count_queries() as visitor:
        assert all(not p.held and p.held_count == 0 for p in pathway_progress(db, None))
    assert visitor.count == 2


def test_a_pathway_cannot_take_the_slug_of_a_retired_courses_credential(app, db, courses_root):
    write_quiz_course(courses_root, "course-a")
    write_quiz_course(courses_root, "course-b")
    write_quiz_course(courses_root, "old-course")
    sync_folder(app, db, courses_root)
    import shutil

    shutil.rmtree(courses_root / "old-course")
    write_pathway(courses_root, "old-course", ALL_AB)
    with pytest.raises(PathwaySlugTaken, match="has the slug of a course's credential"):
        sync_folder(app, db, courses_root)
    db.rollback()
    assert db.scalar(select(func.count(Pathway.id))) == 0


def test_the_pathway_credentials_resting_on_a_course_credential(db, catalog, make_user):
    from lms.credentials.pathways import pathway_credentials_resting_on

    learner = make_user()
    a = award(db, learner, "course-a")
    c = award(db, learner, "course-c")
    b = award(db, learner, "course-b")
    [all_ab] = pathway_credentials(db, learner, "all-ab")
    [two] = pathway_credentials(db, learner, "two-of-abc")  # rests on a and c (issued before b)
    assert pathway_credentials_resting_on(db, a) == sorted([all_ab, two], key=lambda x: x.id)
    assert pathway_credentials_resting_on(db, b) == [all_ab]
    assert pathway_credentials_resting_on(db, c) == [two]


def test_a_pathway_credential_and_its_achievement_have_public_pages(db, client, catalog, make_user):
    learner = make_user(name="Pat Holder")
    award(db, learner, "course-a")
    award(db, learner, "course-b")
    [credential] = pathway_credentials(db, learner, "all-ab")
    page = client.get(f"/credentials/{credential.public_id}")
    assert page.status_code == 200 and "Pat Holder" in page.get_data(as_text=True)
    achievement = client.get("/achievements/all-ab")
    assert achievement.status_code == 200 and "A and B" in achievement.get_data(as_text=True)


def test_revoking_a_course_credential_revokes_the_pathways_on_it_and_reissues_on_what_remains(db, catalog,
                                                                                             make_user):
    from lms.credentials import services

    learner = make_user()
    admin = make_user(admin=True)
    a = award(db, learner, "course-a")
    award(db, learner, "course-c")
    b = award(db, learner, "course-b")
    [all_ab] = pathway_credentials(db, learner, "all-ab")
    [two] = pathway_credentials(db, learner, "two-of-abc")  # rests on a and c
    services.revoke(db, a.public_id, admin.id, True, "The course-a capstone was plagiarised.", utcnow())
    db.commit()
    db.refresh(all_ab)
    db.refresh(two)
    assert all_ab.revoked_at is not None and two.revoked_at is not None
    assert "plagiarised" in two.revoke_reason
    assert all_ab.revoked_with_id == two.revoked_with_id == a.id  # what brought them down
    # Any two of three: b and c still make two, so a new pathway credential rests on them.
    [again] = pathway_credentials(db, learner, "two-of-abc")
    urls = {e["id"].rsplit("/", 1)[1] for e in again.document["evidence"]}
    assert a.public_id not in urls and b.public_id in urls
    assert pathway_credentials(db, learner, "all-ab") == []


def test_a_pathway_credential_the_issuer_revoked_is_not_issued_again(app, db, client, auth, capstone_setup,
                                                                     courses_root, make_user):
    """Revoked by an admin for its own sake (not with a course credential): neither a later issuing event
    nor the nightly reconcile issues it again, although the learner still holds what earned it; the
    pathway page says so instead of "on its way"."""
    from lms.credentials import services
    from lms.jobs import run_due

    setup = capstone_setup()
    write_quiz_course(courses_root, "course-a")
    write_pathway(courses_root, "either", "title: Either\nsummary: E.\ncourses: [course-a, capstone-course]\n"
                                          "require: 1\n")
    sync_folder(app, db, courses_root)
    admin = make_user(admin=True)
    award(db, setup.learner, "course-a")
    [pathway] = pathway_credentials(db, setup.learner, "either")
    services.revoke(db, pathway.public_id, admin.id, True, "Earned on an account shared by two people.", utcnow())
    db.commit()

    assert issue_due_pathways(db, setup.learner.id) == []
    grade(db, setup, FULL_MARKS)  # an issuing event: the capstone passes, its course credential is issued
    assert len(pathway_credentials(db, setup.learner, "capstone-course")) == 1
    assert reconcile(db).issued == []
    db.commit()
    nightly = run_due(app.extensions["lms.sessionmaker"], utcnow() + timedelta(seconds=1),
                      settings=app.config["LMS_SETTINGS"])
    assert any("credentials.reconcile" in line for line in nightly.scheduled)
    db.expire_all()
    assert pathway_credentials(db, setup.learner, "either") == []
    assert [c.revoked_at is not None for c in pathway_credentials(db, setup.learner, "either", False)] == [True]

    [progress] = pathway_progress(db, setup.learner.id, slug="either")
    assert progress.revoked and progress.still_needed == 0 and not progress.held
    auth.login(setup.learner.email)
    page = client.get("/pathways/either").get_data(as_text=True)
    assert "credential was revoked, so it is not issued again automatically" in page and "on its way" not in page


def test_a_direct_revocation_whose_reason_reads_like_a_cascade_is_still_final(db, catalog, make_user):
    """The column decides, not the text: an admin who writes the cascade's sentence revokes for good."""
    from lms.credentials import services
    from lms.credentials.held import CASCADE_REASON

    learner = make_user()
    admin = make_user(admin=True)
    award(db, learner, "course-a")
    award(db, learner, "course-c")
    [two] = pathway_credentials(db, learner, "two-of-abc")
    services.revoke(db, two.public_id, admin.id, True, f"{CASCADE_REASON} Or so the admin wrote.", utcnow())
    db.commit()
    db.refresh(two)
    assert two.revoked_with_id is None
    assert issue_due_pathways(db, learner.id) == []
    [progress] = pathway_progress(db, learner.id, slug="two-of-abc")
    assert progress.revoked and progress.still_needed == 0


def test_a_pathway_credential_revoked_with_a_course_credential_is_issued_again_when_all_are_held(
        db, catalog, make_user, monkeypatch):
    """The cascade (reason: a course credential it rests on was revoked) is not a decision about the
    pathway: once the learner holds every required course credential again (an admin's manual award of
    the revoked course here), it is issued again, by the award's own issuance or by reconcile."""
    from lms.catalog.models import Course
    from lms.credentials import issuance, services
    from lms.credentials.held import CASCADE_REASON

    admin = make_user(admin=True)
    course_a = db.scalar(select(Course.id).where(Course.slug == "course-a"))
    for n, missed in enumerate((False, True)):  # the award issues it; or that is missed and reconcile does
        learner = make_user(f"cascade{n}@example.com")
        a = award(db, learner, "course-a")
        award(db, learner, "course-b")
        [first] = pathway_credentials(db, learner, "all-ab")
        services.revoke(db, a.public_id, admin.id, True, "The course-a capstone was plagiarised.", utcnow())
        db.commit()
        db.refresh(first)
        assert first.revoke_reason.startswith(CASCADE_REASON)
        assert pathway_credentials(db, learner, "all-ab") == []  # b alone is not both
        [progress] = pathway_progress(db, learner.id, slug="all-ab")
        assert not progress.revoked and progress.still_needed == 1

        with monkeypatch.context() as patch:
            if missed:
                patch.setattr(issuance, "issue_due_pathways", lambda *args, **kwargs: [])
            new_a = services.award_manually(db, admin.id, True, course_a, learner.email,
                                            "Re-examined in person: the work is their own.", utcnow())
            db.commit()
        if missed:
            assert pathway_credentials(db, learner, "all-ab") == []
            # (two-of-abc rested on a and b too: it fell with a, and comes back with it)
            assert sorted(reconcile(db).issued) == [(learner.id, "all-ab"), (learner.id, "two-of-abc")]
            db.commit()
        [again] = pathway_credentials(db, learner, "all-ab")
        assert again.id != first.id and new_a.public_id in str(again.document["evidence"])
        assert a.public_id not in str(again.document["evidence"])
        assert issue_due_pathways(db, learner.id) == [] and reconcile(db).issued == []


def test_the_dashboard_shows_pathways_started_and_earned(db, client, auth, catalog, make_user, enroll):
    learner = make_user("path@example.com")
    auth.login("path@example.com")
    assert "Your pathways" not in client.get("/dashboard").get_data(as_text=True)  # nothing held yet
    award(db, learner, "course-a")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Your pathways" in page and "1 of 2 course credentials held" in page
    award(db, learner, "course-b")
    assert "Pathway credential earned" in client.get("/dashboard").get_data(as_text=True)


def test_the_dashboards_pathway_courses_are_named_from_the_enrollments_or_read(app, db, client, auth, catalog,
                                                                               make_user, enroll, count_queries):
    """The titles of a pathway's courses the learner is enrolled in come with the enrollments; the others
    are read in one more statement. Either way the same names."""
    from lms.catalog.models import Course

    learner = make_user("titles@example.com")
    auth.login("titles@example.com")
    award(db, learner, "course-a")
    client.get("/dashboard")
    app.extensions["lms.dashboard_cache"].clear()  # (rendered, not served from the dashboard cache)
    with count_queries() as not_enrolled:
        page = client.get("/dashboard").get_data(as_text=True)
    title_b = db.scalar(select(Course.title).where(Course.slug == "course-b"))
    missing_b = f'<li><a href="/courses/course-b">{title_b}</a></li>'
    assert missing_b in page and "Your pathways" in page
    for slug in ("course-a", "course-b", "course-c"):
        enroll(learner, db.scalar(select(Course).where(Course.slug == slug)))
    client.get("/dashboard")
    app.extensions["lms.dashboard_cache"].clear()
    with count_queries() as enrolled:
        page = client.get("/dashboard").get_data(as_text=True)
    assert page.count(missing_b) == 2  # (both pathways still miss course b)
    assert not [s for s in enrolled.statements if "courses.slug IN" in s]
    assert [s for s in not_enrolled.statements if "courses.slug IN" in s]
    assert enrolled.count == not_enrolled.count - 1  # (the enrollments are read either way)


# -- awarding a pathway's credential by hand ------------------------------------------------------------

def test_an_admin_awards_again_a_pathway_credential_revoked_by_mistake(app, db, client, auth, catalog, make_user,
                                                                       tmp_path):
    """The way to put right a direct revocation, which is never undone and never issued again automatically:
    a new credential, resting on the course credentials the learner holds, with the reason audited."""
    from lms.audit.models import AuditEvent
    from lms.credentials import services

    learner = make_user("lee@example.com", name="Lee Learner")
    admin = make_user("admin@example.com", name="Ada Admin", admin=True)
    course_credentials = [award(db, learner, "course-a"), award(db, learner, "course-c")]
    [revoked] = pathway_credentials(db, learner, "two-of-abc")
    services.revoke(db, revoked.public_id, admin.id, True, "Revoked on the wrong learner's account.", utcnow())
    db.commit()
    assert issue_due_pathways(db, learner.id) == []

    auth.login("admin@example.com")
    assert "Award this pathway's credential by hand" in client.get("/pathways/two-of-abc").get_data(as_text=True)
    url = "/pathways/two-of-abc/award"
    reason = "The revocation of 7 December was meant for another account; awarded again."
    preview = auth.post(url, {"email": "LEE@example.com", "waiver": reason}, form_page=url)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Award to Lee Learner?" in text
    assert "earlier credential of this pathway was revoked" in text and "The waiver sets aside" not in text
    assert pathway_credentials(db, learner, "two-of-abc") == []  # a preview awards nothing
    done = auth.post(url, {"email": "lee@example.com", "waiver": reason, "confirm": "1"}, form_page=url)
    assert done.status_code == 302
    db.expire_all()
    [credential] = pathway_credentials(db, learner, "two-of-abc")
    assert credential.id != revoked.id and credential.awarded_by_id == admin.id and credential.waiver == reason
    assert [e["id"] for e in credential.document["evidence"]] == [
        f"http://localhost/credentials/{c.public_id}" for c in course_credentials]
    assert db.get(Credential, revoked.id).revoked_at is not None  # the mistake stays on the record
    listing = db.get(StatusList, credential.status_list_id)
    verdict = verify_credential(credential.document, signing_issuer(app.config["LMS_SETTINGS"]).resolve,
                                fetch_status_list=lambda url: listing.document)
    assert verdict.status == "valid", verdict.reasons
    [independent] = verify_documents(tmp_path, [credential.document])
    assert independent.verified, independent.errors
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "credential.award"))
    assert event.subject_id == credential.id and event.actor_id == admin.id
    assert event.data == {"waived": [], "replaces_revoked": revoked.id}
    again = auth.post(url, {"email": "lee@example.com", "waiver": reason}, form_page=url)
    assert again.status_code == 422 and "already holds this pathway" in again.get_data(as_text=True)


def test_a_pathway_award_by_hand_names_the_course_credentials_it_waives(db, catalog, make_user):
    from lms.credentials import services

    learner = make_user("lee@example.com", name="Lee Learner")
    admin = make_user(admin=True)
    award(db, learner, "course-a")
    preview = services.preview_pathway_award(db, True, "two-of-abc", "lee@example.com", utcnow())
    assert preview.blockers == ["Hold 1 more course credential of “Course B”, “Course C”"]
    assert preview.revoked is None
    assert services.preview_pathway_award(db, True, "all-ab", "lee@example.com", utcnow()).blockers == [
        "Hold the credential of “Course B”"]
    credential = services.award_pathway_manually(db, admin.id, True, "all-ab", "lee@example.com",
                                                 "Course B's content was taught in the spring workshop.", utcnow())
    db.commit()
    assert credential.waiver and len(credential.document["evidence"]) == 1  # what the learner does hold
    # It rests on course-a's credential like any other: revoking that one revokes it too.
    [course_a] = pathway_credentials(db, learner, "course-a")
    services.revoke(db, course_a.public_id, admin.id, True, "Course A's quiz answers were shared.", utcnow())
    db.commit()
    assert pathway_credentials(db, learner, "all-ab") == []


@pytest.mark.parametrize(("email", "waiver", "message"), [
    ("nobody@example.com", "A long enough waiver text.", "No account uses the address"),
    ("lee@example.com", "short", "10 to 2000 characters"),
    ("", "A long enough waiver text.", "Enter the learner&#39;s email address."),
])
def test_a_pathway_award_by_hand_refuses_what_it_cannot_do(client, auth, db, catalog, make_user, email, waiver,
                                                           message):
    make_user("lee@example.com")
    make_user("admin@example.com", admin=True)
    auth.login("admin@example.com")
    url = "/pathways/all-ab/award"
    response = auth.post(url, {"email": email, "waiver": waiver, "confirm": "1"}, form_page=url)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count(Credential.id))) == 0


def test_only_admins_award_a_pathway_by_hand(client, auth, db, catalog, make_user):
    from lms.credentials import services
    from lms.errors import Forbidden

    make_user("lee@example.com")
    auth.login("lee@example.com")
    assert "by hand" not in client.get("/pathways/all-ab").get_data(as_text=True)
    assert client.get("/pathways/all-ab/award").status_code == 403
    assert auth.post("/pathways/all-ab/award", {"email": "lee@example.com", "waiver": "A long enough text.",
                                                "confirm": "1"}).status_code == 403
    with pytest.raises(Forbidden):
        services.award_pathway_manually(db, 1, False, "all-ab", "lee@example.com", "Through the service.", utcnow())
    auth.logout()
    make_user("admin@example.com", admin=True)
    auth.login("admin@example.com")
    assert client.get("/pathways/no-such-pathway/award").status_code == 404
    assert db.scalar(select(func.count(Credential.id))) == 0
