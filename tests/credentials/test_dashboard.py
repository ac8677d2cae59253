"""The learner's dashboard: the blockers between them and each credential, and the credentials held,
in statements that do not grow with the courses."""

from __future__ import annotations

from sqlalchemy import select

from lms.catalog.models import Course
from tests.capstones.conftest import FULL_MARKS, submitted
from tests.conftest import dashboard_statements
from tests.credentials.conftest import grade


def test_the_dashboard_shows_the_blockers_then_the_credential(auth, client, db, capstone_setup):
    setup = capstone_setup()
    auth.login(setup.learner.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "To earn the credential: 1 step left" in page and "Submit your capstone project" in page
    assert "Your credentials" not in page
    grade(db, setup, FULL_MARKS)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Credential earned" in page and "Your credentials" in page
    assert "Valid · does not expire" in page
    assert "To earn the credential" not in page


def test_the_dashboards_statements_do_not_grow_with_credential_courses(app, auth, client, db, capstone_setup, enroll,
                                                                      count_queries):
    setup = capstone_setup(slug="first-course")
    auth.login(setup.learner.email)
    submitted(db, setup)
    one = dashboard_statements(app, client, count_queries)
    for n in range(3):
        other = capstone_setup(slug=f"more-{n}", learner_email=f"someone{n}@example.com")
        enroll(setup.learner, db.scalar(select(Course).where(Course.id == other.course.id)))
    page = client.get("/dashboard").get_data(as_text=True)
    assert page.count("Submit your capstone project") == 3
    assert "Your capstone is waiting for a grader" in page
    assert dashboard_statements(app, client, count_queries) == one


def test_a_sync_that_changes_the_credential_shows_on_the_next_dashboard(app, auth, client, db, capstone_setup,
                                                                        courses_root):
    from lms.catalog.services import sync_courses
    from lms.content import load_courses

    setup = capstone_setup()
    auth.login(setup.learner.email)
    assert "Submit your capstone project" in client.get("/dashboard").get_data(as_text=True)
    course_yml = courses_root / "capstone-course" / "course.yml"
    course_yml.write_text(course_yml.read_text() + "credential: false\n")
    result = load_courses(courses_root / "capstone-course")
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    # The dashboard caches each course's achievement by the course's version: the new one is read.
    assert "To earn the credential" not in client.get("/dashboard").get_data(as_text=True)
