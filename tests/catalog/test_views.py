"""Catalog search and filters, the course page, media files."""

from __future__ import annotations


def test_catalog_lists_and_searches_by_title_and_skill(client, make_course):
    make_course("python-basics", extra_course_yml="")
    make_course("web-design", extra_course_yml="")
    page = client.get("/courses").get_data(as_text=True)
    assert "Python Basics" in page and "Web Design" in page
    by_skill = client.get("/courses?q=web-design").get_data(as_text=True)
    assert "Web Design" in by_skill and "Python Basics" not in by_skill
    by_title = client.get("/courses?q=PYTHON").get_data(as_text=True)
    assert "Python Basics" in by_title and "Web Design" not in by_title
    none = client.get("/courses?q=%25_%25").get_data(as_text=True)  # LIKE wildcards are literal
    assert "No course matches" in none


def test_level_filter_and_bad_level(client, courses_root, db, app):
    from lms.catalog.services import sync_courses
    from lms.content import load_courses
    from tests.conftest import write_course

    write_course(courses_root, "easy")
    write_course(courses_root, "hard", extra_course_yml="")
    (courses_root / "hard" / "course.yml").write_text(
        (courses_root / "hard" / "course.yml").read_text().replace("level: beginner", "level: advanced"))
    sync_courses(db, load_courses(courses_root).courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    advanced = client.get("/courses?level=advanced").get_data(as_text=True)
    assert "Hard" in advanced and "Easy" not in advanced
    assert client.get("/courses?level=<script>").status_code == 200


def test_course_page_shows_what_a_learner_needs_to_decide(client, make_course):
    make_course("py")
    page = client.get("/courses/py").get_data(as_text=True)
    assert "A course used by the tests about py." in page
    assert "Last reviewed" in page and "1 October 2026" in page
    assert "Write tests" in page  # outcomes
    assert "Module 1" in page and "1.2 Lesson 1.2" in page
    assert "What the credential requires" in page
    assert "Sign up to enroll" in page


def test_course_page_lists_assessments(client, db, app, courses_root):
    from lms.catalog.services import sync_courses
    from lms.content import load_courses
    from tests.conftest import write_course

    folder = write_course(courses_root, "py")
    (folder / "01-module-1" / "09-check.md").write_text(
        "---\ntype: quiz\ntitle: Module 1 check\n---\n## Q?\n- [x] yes\n- [ ] no\n")
    (folder / "capstone.md").write_text(
        "---\ntitle: Analyse a dataset\nrubric:\n  - title: Analysis\n    levels:\n"
        "      - {points: 0, title: Missing}\n      - {points: 2, title: Complete}\n"
        "pass:\n  min_points: 2\n---\nBrief\n")
    sync_courses(db, load_courses(folder).courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    page = client.get("/courses/py").get_data(as_text=True)
    assert "Module 1 check" in page and "Analyse a dataset" in page


def test_unknown_course_is_a_404_page(client):
    response = client.get("/courses/does-not-exist")
    assert response.status_code == 404
    assert "There is no course at this address" in response.get_data(as_text=True)


def test_media_served_by_hash_with_safe_headers(client, make_course, db):
    from sqlalchemy import select

    from lms.catalog.models import MediaFile

    make_course("py")
    media = db.scalars(select(MediaFile)).one()
    response = client.get(f"/media/{media.sha256}.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "immutable" in response.headers["Cache-Control"]
    assert client.get(f"/media/{media.sha256}.png").status_code == 404
    assert client.get("/media/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/media/" + "0" * 64 + ".svg").status_code == 404
