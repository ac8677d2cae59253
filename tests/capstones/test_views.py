"""Capstone pages over HTTP: the learner's page, uploads and downloads, the queue, grading, sharing."""

from __future__ import annotations

import io
import re

from sqlalchemy import delete, select

from lms.auth.models import CourseRole
from lms.auth.services import grant
from lms.capstones import services
from lms.capstones.models import Submission, SubmissionFile
from tests.capstones.conftest import FULL_MARKS, GOOD_TEXT, LOW_MARKS, PNG_BYTES, submitted

PAGE = "/courses/capstone-course/capstone"


def _post(auth, url, data=None, **kwargs):
    return auth.post(url, data, form_page=PAGE, **kwargs)


def _files_on_disk(app) -> list:
    root = app.config["LMS_SETTINGS"].uploads_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_the_learner_page_shows_the_brief_what_to_submit_and_the_rubric(client, auth, capstone_setup):
    capstone_setup()
    auth.login("learner@example.com")
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for expected in ("Analyse", "Link to your repository", "txt, csv, pdf, png", "Question and data",
                     "A clear question tied to the data", "at least 8 of 12 points", "Save draft"):
        assert expected in html, expected


def test_a_learner_not_enrolled_cannot_open_the_capstone(client, auth, capstone_setup, make_user):
    capstone_setup()
    make_user("outsider@example.com")
    auth.login("outsider@example.com")
    assert client.get(PAGE).status_code == 403


def test_save_then_submit_through_the_form(client, auth, db, capstone_setup):
    capstone_setup()
    auth.login("learner@example.com")
    saved = _post(auth, PAGE + "/draft", {"text": GOOD_TEXT, "links": "https://github.com/lee/x\n",
                                          "action": "save"})
    assert saved.status_code == 302
    assert db.scalar(select(Submission.state)) == "draft"
    sent = _post(auth, PAGE + "/draft", {"text": GOOD_TEXT, "links": "https://github.com/lee/x",
                                         "action": "submit"}, follow_redirects=True)
    assert "Submitted" in sent.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(Submission.state)) == "submitted"


def test_a_bad_link_keeps_what_the_learner_typed(client, auth, db, capstone_setup):
    capstone_setup()
    auth.login("learner@example.com")
    response = _post(auth, PAGE + "/draft", {"text": "My long careful write-up", "links": "javascript:alert(1)",
                                             "action": "save"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "not a web address" in html and "My long careful write-up" in html
    assert "javascript:alert(1)</textarea>" in html  # shown back, escaped, in the form only
    assert db.scalar(select(Submission)) is None


def _upload(auth, name, content, **kwargs):
    return _post(auth, PAGE + "/files", {"file": (io.BytesIO(content), name)},
                 content_type="multipart/form-data", **kwargs)


def test_upload_and_download_a_file_with_safe_headers(client, auth, db, capstone_setup):
    capstone_setup()
    auth.login("learner@example.com")
    response = _upload(auth, "../../etc/Trips 2026.csv", b"trip_id,minutes\n1,12\n", follow_redirects=True)
    assert "attached" in response.get_data(as_text=True)
    file = db.scalar(select(SubmissionFile))
    assert "/" not in file.name and ".." not in file.name
    download = client.get(f"{PAGE}/files/{file.id}")
    assert download.status_code == 200
    assert download.data == b"trip_id,minutes\n1,12\n"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "sandbox"


def test_an_oversized_file_is_refused_and_nothing_is_stored(client, auth, db, app, capstone_setup):
    capstone_setup()
    auth.login("learner@example.com")
    response = _upload(auth, "big.csv", b"a,b\n" * (400 * 1024), follow_redirects=True)  # 1.6 MB > 1 MB
    assert "larger than the 1 MB allowed" in response.get_data(as_text=True)
    assert db.scalar(select(SubmissionFile)) is None
    assert _files_on_disk(app) == []


def test_a_disallowed_type_renamed_to_an_allowed_extension_is_refused(client, auth, db, app, capstone_setup):
    capstone_setup()
    auth.login("learner@example.com")
    response = _upload(auth, "report.pdf", b"MZ\x90\x00" + b"\x00" * 200, follow_redirects=True)
    assert "is not a PDF" in response.get_data(as_text=True) or "not" in response.get_data(as_text=True)
    assert db.scalar(select(SubmissionFile)) is None
    assert _files_on_disk(app) == []
    ok = _upload(auth, "chart.png", PNG_BYTES, follow_redirects=True)
    assert "attached" in ok.get_data(as_text=True)


def test_an_upload_cut_off_mid_way_stores_nothing(client, auth, db, app, capstone_setup):
    capstone_setup()
    auth.login("learner@example.com")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(PAGE).get_data(as_text=True)).group(1)
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + b"a,b\n" * 1000
    # The body stops half-way while Content-Length promises all of it: a connection that dropped.
    response = client.post(PAGE + "/files", content_type=f"multipart/form-data; boundary={boundary}",
                           environ_overrides={"wsgi.input": io.BytesIO(body[: len(body) // 2 + 100]),
                                              "CONTENT_LENGTH": str(len(body) + 200)})
    assert response.status_code == 400
    assert "interrupted" in response.get_data(as_text=True)
    assert db.scalar(select(SubmissionFile)) is None
    assert _files_on_disk(app) == []


def test_another_learner_gets_a_404_for_a_file_graders_get_it(client, auth, db, capstone_setup, make_user, enroll):
    setup = capstone_setup()
    auth.login("learner@example.com")
    _upload(auth, "notes.txt", b"my notes\n")
    file = db.scalar(select(SubmissionFile))
    auth.logout()
    other = make_user("other@example.com")
    enroll(other, setup.course)
    auth.login("other@example.com")
    assert client.get(f"{PAGE}/files/{file.id}").status_code == 404
    auth.logout()
    auth.login(setup.grader.email)
    assert client.get(f"{PAGE}/files/{file.id}").status_code == 200


def test_the_grader_queue_lists_waiting_work_with_a_constant_number_of_queries(
        client, auth, db, capstone_setup, make_user, enroll, count_queries):
    setup = capstone_setup()
    record = setup.record(db)

    def add(n):
        for i in range(n):
            learner = make_user(name=f"Waiting {i}")
            enrollment = enroll(learner, setup.course)
            services.save_draft(db, enrollment.id, record, GOOD_TEXT, ["https://github.com/w/x"])
            db.flush()
            services.submit(db, enrollment.id, record)
        db.commit()

    add(3)
    auth.login(setup.grader.email)
    client.get("/grading")
    with count_queries() as few:
        page = client.get("/grading")
    assert page.status_code == 200 and page.get_data(as_text=True).count("queue-entry") == 3
    add(30)
    with count_queries() as many:
        page = client.get("/grading")
    html = page.get_data(as_text=True)
    assert html.count("queue-entry") == services.QUEUE_PAGE_SIZE and "Next page" in html
    assert many.count == few.count, (few.statements, many.statements)
    nxt = re.search(r'href="(/grading\?[^"]*after=[^"]+)"', html).group(1).replace("&amp;", "&")
    assert client.get(nxt).get_data(as_text=True).count("queue-entry") == 33 - services.QUEUE_PAGE_SIZE


def test_someone_who_grades_nothing_gets_a_clear_page(client, auth, capstone_setup):
    capstone_setup()
    auth.login("learner@example.com")
    response = client.get("/grading")
    assert response.status_code == 403 and "do not grade any course" in response.get_data(as_text=True)


def test_a_bad_queue_cursor_is_a_clear_400(client, auth, capstone_setup):
    setup = capstone_setup()
    auth.login(setup.grader.email)
    response = client.get("/grading?after=nonsense")
    assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)


def test_claim_and_grade_through_the_screen(client, auth, db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    auth.login(setup.grader.email)
    url = f"{PAGE}/submissions/{submission.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Claim and grade" in page and "Lee Learner" in page and "Automated checks" in page
    _post(auth, url + "/claim")
    page = client.get(url).get_data(as_text=True)
    assert 'name="score-question"' in page and "A clear question tied to the data" in page
    form = {f"score-{k}": str(v) for k, v in FULL_MARKS.items()} | {"comment": "Well argued.", "outcome": ""}
    done = _post(auth, url + "/grade", form, follow_redirects=True)
    assert "Graded: Passed (12 of 12 points)" in done.get_data(as_text=True)
    db.expire_all()
    assert db.get(Submission, submission.id).state == "passed"


def test_a_grading_error_keeps_everything_the_grader_entered(client, auth, db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    auth.login(setup.grader.email)
    url = f"{PAGE}/submissions/{submission.id}"
    _post(auth, url + "/claim")
    response = _post(auth, url + "/grade", {"score-question": "2", "comment-question": "Clear question.",
                                            "comment": "Long overall feedback I typed."})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose a level for every criterion" in html
    assert "Long overall feedback I typed." in html and "Clear question." in html
    assert 'value="2" checked' in html


def test_a_grader_of_another_course_cannot_open_the_grading_screen(client, auth, db, capstone_setup):
    setup = capstone_setup()
    other = capstone_setup(slug="other-course", learner_email="l2@example.com")
    submission = submitted(db, setup)
    auth.login(other.grader.email)
    assert client.get(f"{PAGE}/submissions/{submission.id}").status_code == 403
    # and a number from another course is not found through one's own course either
    assert client.get(f"/courses/other-course/capstone/submissions/{submission.id}").status_code == 404


def test_share_a_passed_capstone_publicly_then_stop(client, auth, db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    services.claim(db, submission.id, setup.grader.id)
    services.grade(db, submission.id, setup.grader.id, services.Grading(FULL_MARKS, {}, "Great."), can_override=False)
    db.commit()
    auth.login("learner@example.com")
    page = _post(auth, PAGE + "/share", {"action": "share"}, follow_redirects=True).get_data(as_text=True)
    url = re.search(r'Public at: <a href="([^"]+)"', page).group(1)
    path = url.replace("http://localhost", "")
    auth.logout()
    public = client.get(path)
    assert public.status_code == 200 and "Lee Learner" in public.get_data(as_text=True)
    assert public.headers["X-Robots-Tag"] == "noindex"
    auth.login("learner@example.com")
    _post(auth, PAGE + "/share", {"action": "unshare"})
    auth.logout()
    assert client.get(path).status_code == 404


def test_blind_review_shows_graders_a_pseudonym_and_never_the_name(client, auth, db, capstone_setup):
    setup = capstone_setup(blind=True)
    submission = submitted(db, setup)
    alias = services.pseudonym(setup.enrollment.id)
    auth.login(setup.grader.email)
    queue = client.get("/grading").get_data(as_text=True)
    url = f"{PAGE}/submissions/{submission.id}"
    _post(auth, url + "/claim")
    screen = client.get(url).get_data(as_text=True)
    for html in (queue, screen):
        assert alias in html
        assert "Lee Learner" not in html and setup.learner.email not in html


def test_without_blind_review_graders_see_the_name(client, auth, db, capstone_setup):
    setup = capstone_setup()
    submitted(db, setup)
    auth.login(setup.grader.email)
    queue = client.get("/grading").get_data(as_text=True)
    assert "Lee Learner" in queue and services.pseudonym(setup.enrollment.id) not in queue


def test_the_header_links_the_grading_queue_for_course_staff_only(client, auth, capstone_setup, count_queries):
    setup = capstone_setup()
    auth.login(setup.learner.email)
    client.get("/courses")
    with count_queries() as learner_view:
        page = client.get("/courses").get_data(as_text=True)
    assert 'href="/grading"' not in page
    auth.logout()
    auth.login(setup.grader.email)
    client.get("/courses")
    with count_queries() as grader_view:
        page = client.get("/courses").get_data(as_text=True)
    assert '<a href="/grading">Grading</a>' in page
    assert grader_view.count == learner_view.count  # the link's EXISTS rides on the session-user query
    assert 'href="/grading" aria-current="page">Grading' in client.get("/grading").get_data(as_text=True)


def test_every_version_of_a_write_up_on_the_grading_screen_keeps_ids_unique(client, auth, db, capstone_setup):
    setup = capstone_setup()
    first = submitted(db, setup)
    services.claim(db, first.id, setup.grader.id)
    services.grade(db, first.id, setup.grader.id, services.Grading(
        scores=LOW_MARKS, criterion_comments={}, comment="## Files\n\nAttach the CSV."), can_override=False)
    db.commit()
    services.start_revision(db, setup.enrollment.id, setup.record(db))
    db.commit()
    second = services.submit(db, setup.enrollment.id, setup.record(db))
    db.commit()
    auth.login(setup.grader.email)
    for url in (f"{PAGE}/submissions/{second.id}", PAGE):
        if url == PAGE:
            auth.logout()
            auth.login(setup.learner.email)
        html = client.get(url).get_data(as_text=True)
        ids = re.findall(r'\bid="([^"]+)"', html)
        assert "Attach the CSV." in html and html.count("Cleaning log</h3>") >= 2
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_the_written_out_paths_are_the_routes(app):
    from flask import url_for

    from lms.capstones.paths import capstone_path, submission_path

    with app.test_request_context():
        assert url_for("capstones.queue") == "/grading"  # the queue's filter form and the header write it out
        for slug in ("capstone-course", "données-101"):
            assert capstone_path(slug) == url_for("capstones.page", course_slug=slug)
            assert submission_path(slug, 42) == url_for("capstones.submission_page", course_slug=slug,
                                                        submission_id=42)


def test_a_queue_longer_than_the_cap_says_more_than(client, auth, db, capstone_setup, make_user, enroll, monkeypatch):
    setup = capstone_setup()
    record = setup.record(db)
    for i in range(3):
        enrollment = enroll(make_user(name=f"Many {i}"), setup.course)
        services.save_draft(db, enrollment.id, record, GOOD_TEXT, ["https://github.com/m/x"])
        db.flush()
        services.submit(db, enrollment.id, record)
    db.commit()
    auth.login(setup.grader.email)
    assert "3 waiting for a grader · 0 being graded" in client.get("/grading").get_data(as_text=True)
    monkeypatch.setattr(services, "QUEUE_COUNT_CAP", 2)
    page = client.get("/grading").get_data(as_text=True)
    assert "More than 2 in the queue" in page and page.count("queue-entry") == 3


def test_the_course_filter_marks_the_chosen_course_and_escapes_titles(client, auth, db, capstone_setup):
    setup = capstone_setup()
    setup.course.title = 'SQL <b>"joins"</b> & more'
    db.commit()
    auth.login(setup.grader.email)
    page = client.get("/grading?course=capstone-course").get_data(as_text=True)
    assert '<option value="capstone-course" selected>SQL &lt;b&gt;&#34;joins&#34;&lt;/b&gt; &amp; more</option>' in page
    page = client.get("/grading").get_data(as_text=True)
    assert '<option value="capstone-course">SQL &lt;b&gt;' in page


def test_queue_entries_escape_names_and_titles(client, auth, db, capstone_setup, make_user, enroll):
    setup = capstone_setup()
    setup.course.title = 'Bikes <i>&</i> "trips"'
    learner = make_user("mallory@example.com", name='<img src=x onerror="alert(1)">')
    enrollment = enroll(learner, setup.course)
    record = setup.record(db)
    services.save_draft(db, enrollment.id, record, GOOD_TEXT, ["https://github.com/m/x"])
    db.flush()
    submission = services.submit(db, enrollment.id, record)
    claimer = make_user("claimer@example.com", name="<b>Bold</b> Grader")
    grant(db, claimer, "grader", "capstone-course")
    db.commit()
    services.claim(db, submission.id, claimer.id)
    db.commit()
    auth.login(setup.grader.email)
    html = client.get("/grading?status=all").get_data(as_text=True)
    entry = html[html.index('<li class="card queue-entry">'):]
    entry = entry[:entry.index("</li>")]
    assert f'href="{PAGE}/submissions/{submission.id}"' in entry
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;, version 1" in entry
    assert "Bikes &lt;i&gt;&amp;&lt;/i&gt; &#34;trips&#34;" in entry
    assert "being graded by &lt;b&gt;Bold&lt;/b&gt; Grader" in entry
    assert "<img" not in entry and "<b>" not in entry and "<i>" not in entry


def test_the_queue_shows_a_new_role_and_a_new_title_at_once(client, auth, db, capstone_setup):
    setup = capstone_setup()
    other = capstone_setup(slug="second-course", learner_email="second@example.com")
    auth.login(setup.grader.email)
    assert 'value="second-course"' not in client.get("/grading").get_data(as_text=True)
    grant(db, setup.grader, "grader", "second-course")
    other.course.title = "Renamed course"
    db.commit()
    page = client.get("/grading").get_data(as_text=True)
    assert '<option value="second-course">Renamed course</option>' in page
    db.execute(delete(CourseRole).where(CourseRole.user_id == setup.grader.id))
    db.commit()
    assert client.get("/grading").status_code == 403
