"""Pathways in the catalog: the sync's rows, the catalog page's list, the public pathway page with a
learner's progress, in a constant number of statements; `flask courses check` and `sync`."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from lms.catalog.models import Pathway, PathwayCourse
from lms.catalog.services import list_pathways
from lms.content.specs import PATHWAY_PATH
from tests.content.test_pathway import write_pathway, write_quiz_course
from tests.credentials.test_pathways import ALL_AB, TWO_OF_ABC, award, sync_folder


def _catalog(app, db, root, pathways=(("all-ab", ALL_AB), ("two-of-abc", TWO_OF_ABC)), courses=("a", "b", "c")):
    for slug in courses:
        write_quiz_course(root, f"course-{slug}")
    for slug, text in pathways:
        write_pathway(root, slug, text)
    return sync_folder(app, db, root)


def test_a_sync_stores_pathways_with_their_courses_in_order_and_retires_removed_ones(app, db, courses_root):
    report = _catalog(app, db, courses_root)
    assert [line for r in report if r.slug.startswith("pathway") for line in r.lines()] == [
        "pathway all-ab: created", "  + credential (version 1)",
        "pathway two-of-abc: created", "  + credential (version 1)"]
    pathway = db.scalar(select(Pathway).where(Pathway.slug == "two-of-abc"))
    assert pathway.required_count == 2 and pathway.skills == ["testing", "course-a", "course-b", "course-c"]
    positions = db.execute(select(PathwayCourse.position, PathwayCourse.course_id)
                           .where(PathwayCourse.pathway_id == pathway.id).order_by(PathwayCourse.position)).all()
    assert [p for p, _ in positions] == [1, 2, 3]
    write_pathway(courses_root, "two-of-abc", TWO_OF_ABC.replace("[course-a, course-b, course-c]",
                                                                 "[course-c, course-a]"))
    assert next(r for r in sync_folder(app, db, courses_root) if r.slug == "pathway two-of-abc").status == "updated"
    [card] = [c for c in list_pathways(db) if c.slug == "two-of-abc"]
    assert [c.slug for c in card.courses] == ["course-c", "course-a"] and card.requires_all
    (courses_root / "_pathways" / "all-ab.yml").unlink()
    sync_folder(app, db, courses_root)
    assert [c.slug for c in list_pathways(db)] == ["two-of-abc"]


def test_the_catalog_lists_pathways_with_their_courses_in_one_statement(app, db, client, courses_root, count_queries):
    _catalog(app, db, courses_root, pathways=[("all-ab", ALL_AB)])
    with count_queries() as one:
        page = client.get("/courses").get_data(as_text=True)
    section = page[page.index('id="pathways-heading"'):]
    assert '<a class="card-link" href="/pathways/all-ab">A and B</a>' in section
    assert "all of these 2 courses" in section and "<li>Course A</li><li>Course B</li>" in section
    write_pathway(courses_root, "two-of-abc", TWO_OF_ABC)
    write_pathway(courses_root, "bc", "title: B and C\nsummary: S.\ncourses: [course-b, course-c]\n")
    sync_folder(app, db, courses_root)
    with count_queries() as three:
        page = client.get("/courses").get_data(as_text=True)
    assert three.count == one.count
    assert "any 2 of these 3 courses" in page
    assert "pathways-heading" not in client.get("/courses?q=course").get_data(as_text=True)  # a search: courses


def test_a_visitor_sees_the_pathway_and_its_courses(app, db, client, courses_root, count_queries):
    _catalog(app, db, courses_root)
    with count_queries() as queries:
        response = client.get("/pathways/two-of-abc")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and queries.count == 1
    assert "<h1>Two of three <span class=\"subtitle\">Pathway</span></h1>" in page
    assert "Any 2 of these courses" in page and "any 2 of 3 course credentials" in page
    assert page.count('class="card-link" href="/courses/course-') == 3
    assert "Log in to see your progress" in page and "Credential held" not in page
    assert client.get("/pathways/nope").status_code == 404


def test_a_learner_sees_what_they_hold_and_what_is_missing(app, db, client, auth, courses_root, make_user,
                                                           count_queries):
    _catalog(app, db, courses_root)
    learner = make_user("lee@example.com")
    award(db, learner, "course-a")
    auth.login("lee@example.com")
    client.get("/pathways/all-ab")  # (the first page after login warms the session)
    with count_queries() as small:
        page = client.get("/pathways/all-ab").get_data(as_text=True)
    assert "Your progress" in page and "1 of 2 course credentials held · 1 more needed" in page
    assert page.count("Credential held") == 1 and page.count("Not earned yet") == 1
    missing = page[page.index("Still to earn:"):]
    assert '<a href="/courses/course-b">Course B</a>' in missing[:missing.index("</ul>")]
    award(db, learner, "course-c")  # two of three: that pathway's credential is issued
    page = client.get("/pathways/two-of-abc").get_data(as_text=True)
    assert "Pathway credential earned" in page and "Your credential: Two of three" in page
    # More pathways and courses: the same statements.
    for slug in ("d", "e", "f"):
        write_quiz_course(courses_root, f"course-{slug}")
    write_pathway(courses_root, "wide", "title: Wide\nsummary: W.\ncourses: [course-a, course-b, course-d, "
                                        "course-e, course-f]\nrequire: 4\n")
    write_pathway(courses_root, "ef", "title: E and F\nsummary: S.\ncourses: [course-e, course-f]\n")
    sync_folder(app, db, courses_root)
    award(db, learner, "course-d")
    with count_queries() as large:
        page = client.get("/pathways/wide").get_data(as_text=True)
    assert large.count == small.count, (small.statements, large.count)
    assert "2 of 4 course credentials held · 2 more needed" in page and "Earn 2 more of:" in page


def test_the_pathway_route_serves_the_content_layers_path(app):
    with app.test_request_context():
        assert url_for("pathways.pathway", pathway_slug="x") == PATHWAY_PATH.format(pathway="x")


def test_courses_check_and_sync_include_the_pathways(app, db, courses_root):
    for slug in ("a", "b"):
        write_quiz_course(courses_root, f"course-{slug}")
    write_pathway(courses_root, "all-ab", ALL_AB)
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["courses", "check", str(courses_root)])
    assert checked.exit_code == 0 and "ok: 1 pathway(s): all-ab" in checked.output
    synced = runner.invoke(args=["courses", "sync", str(courses_root)])
    assert synced.exit_code == 0, synced.output
    assert "pathway all-ab: created" in synced.output and "flask credentials reconcile" in synced.output
    write_pathway(courses_root, "all-ab", ALL_AB + "require: 3\n")
    failed = runner.invoke(args=["courses", "sync", str(courses_root)])
    assert failed.exit_code == 1 and "_pathways/all-ab.yml:4: error: `require: 3`" in failed.output
