"""Course review pages: reading is public; writing needs the course completed; replying needs its
instructor; forms with mistakes come back with what was typed; the catalog shows the average and the
count; and no page's statement count grows with the number of reviews."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from lms.auth.services import grant
from lms.course_reviews import services
from lms.course_reviews.models import CourseReview
from lms.db import utcnow
from lms.notifications.models import Notification
from tests.conftest import Auth
from tests.course_reviews.conftest import live_summary, stored_summary

REVIEWS = "/courses/reviewed-course/reviews"
REVIEW = "/courses/reviewed-course/review"


def _page(client, url: str = REVIEWS) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _review(db, user, course, rating: int = 4, body: str = "Useful and clear.") -> CourseReview:
    review = services.save_review(db, user.id, course, rating, body, utcnow()).review
    db.commit()
    return review


def _text(page: str) -> str:
    """The page's text as read (tags dropped, whitespace collapsed)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# -- reading ---------------------------------------------------------------------------------------------

def test_anyone_reads_the_reviews_with_public_names_only(client, db, course, learner_who):
    learner = learner_who(course, email="ada.lovelace@example.com", name="Ada Lovelace")
    _review(db, learner, course, 4, "The **cleaning** module is gold.")
    page = _page(client)
    text = _text(page)
    assert "Rated 4.0 out of 5 from 1 review." in text
    assert "Ada L." in page and "Lovelace" not in page and "ada.lovelace@" not in page
    assert "<strong>cleaning</strong>" in page
    assert "Rated 4 out of 5" in text  # the stars, in words
    assert "Completed this course? Log in to review it." in text
    assert 'name="rating"' not in page  # (no form for a visitor)
    assert '<caption id="distribution-caption"' in page and '<th scope="row">4 stars</th><td>1</td>' in page


def test_an_unknown_course_is_a_404_everywhere(auth, client, db, course, learner_who, instructor):
    assert client.get("/courses/no-such-course/reviews").status_code == 404
    learner = learner_who(course, email="done@example.com")
    auth.login(learner.email)
    assert auth.post("/courses/no-such-course/review", {"rating": "5"}).status_code == 404
    assert auth.post("/courses/no-such-course/review/delete").status_code == 404
    auth.logout()
    auth.login(instructor.email)
    assert auth.post("/courses/no-such-course/reviews/1/reply", {"reply": "Hi"}).status_code == 404


def test_the_reviews_page_pages_back_newest_first(client, db, course, learner_who):
    for n in range(12):
        _review(db, learner_who(course, email=f"p{n}@example.com", name=f"Person {chr(65 + n)}"), course, 3)
    page = _page(client)
    names = re.findall(r'<h3 class="card-title">(Person \w\.)</h3>', page)
    assert names[:2] == ["Person L.", "Person K."] and len(names) == services.PAGE_SIZE
    older = re.search(r'href="(/courses/reviewed-course/reviews\?before=\d+)"', page).group(1)
    page2 = _page(client, older)
    assert re.findall(r'<h3 class="card-title">(Person \w\.)</h3>', page2) == ["Person B.", "Person A."]
    assert "Back to the newest reviews" in page2
    assert client.get(REVIEWS + "?before=abc").status_code == 200  # a bad cursor: the first page


# -- who may write -------------------------------------------------------------------------------------------

def test_writing_needs_a_login_and_a_csrf_token(auth, client, course):
    response = auth.post(REVIEW, {"rating": "5"}, form_page="/login")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(REVIEW, data={"rating": "5"}).status_code == 400  # no token


def test_a_learner_not_enrolled_is_told_so(auth, db, course, make_user):
    make_user("visitor@example.com")
    auth.login("visitor@example.com")
    text = _text(_page(auth.client))
    assert "Only learners who have completed this course can review it, and you are not enrolled." in text
    assert "See the course and enroll" in text
    response = auth.post(REVIEW, {"rating": "5", "body": "Sneaky"}, form_page=REVIEWS)
    assert response.status_code == 403
    assert "you are not enrolled" in response.get_data(as_text=True)
    assert db.scalar(select(CourseReview.id)) is None


def test_a_learner_halfway_is_told_how_far_they_are(auth, db, course, learner_who):
    learner = learner_who(course, share=0.5)
    auth.login(learner.email)
    page = _page(auth.client)
    assert "Complete the course to review it: 3 of 6 steps done." in page and 'name="rating"' not in page
    assert "Continue the course" in page
    response = auth.post(REVIEW, {"rating": "5"}, form_page=REVIEWS)
    assert response.status_code == 403
    assert "Complete the course to review it: 3 of 6 steps done." in response.get_data(as_text=True)
    course_page = _page(auth.client, "/courses/reviewed-course")
    assert "Complete the course to review it: 3 of 6 steps done." in course_page


def test_a_learner_who_completed_writes_edits_and_deletes_their_review(auth, db, course, learner_who):
    learner = learner_who(course, name="Ada Lovelace")
    auth.login(learner.email)
    page = _page(auth.client)
    assert "<legend>Your rating: 1 (poor) to 5 (excellent)</legend>" in page
    assert re.search(r'<input type="radio" id="rating-1" name="rating" value="1" required>\s*'
                     r'<label class="choice-label" for="rating-1">.*1 star \(poor\)</label>', page)
    assert 'Published as “Ada L.”' in page
    assert "You have completed this course." in _page(auth.client, "/courses/reviewed-course")

    response = auth.post(REVIEW, {"rating": "4", "body": "Clear lessons."}, form_page=REVIEWS)
    assert response.status_code == 302 and response.headers["Location"].endswith("/reviews#your-review")
    page = _page(auth.client)
    assert "Thank you: your review is published." in page
    assert "Ada L. (you)" in page and "Rated 4.0 out of 5 from 1 review" in page
    assert 'value="4" required checked' in page and ">Clear lessons.</textarea>" in page
    assert "Update my review" in page and "Delete my review" in page

    auth.post(REVIEW, {"rating": "2", "body": "Clear lessons, but too fast."}, form_page=REVIEWS)
    page = _page(auth.client)
    assert "Your review is updated." in page and "Rated 2.0 out of 5 from 1 review" in page
    assert stored_summary(db, course.id) == (1, 2)
    auth.post(REVIEW, {"rating": "2", "body": "Clear lessons, but too fast."}, form_page=REVIEWS)
    assert "Nothing changed: that is already your review." in _page(auth.client)

    course_page = _page(auth.client, "/courses/reviewed-course")
    assert "Your review" in course_page and "Edit or delete your review" in course_page

    response = auth.post(REVIEW + "/delete", form_page=REVIEWS)
    assert response.status_code == 302
    page = _page(auth.client)
    assert "Your review is deleted." in page and "No reviews yet." in page and "Publish my review" in page
    assert stored_summary(db, course.id) == (0, 0) == live_summary(db, course.id)
    response = auth.post(REVIEW + "/delete", form_page=REVIEWS)
    assert response.status_code == 404 and "You have no review of this course to delete." in response.get_data(
        as_text=True)


def test_mistakes_come_back_with_the_form_as_typed(auth, db, course, learner_who):
    learner = learner_who(course)
    auth.login(learner.email)
    response = auth.post(REVIEW, {"body": "My text <b>kept</b>"}, form_page=REVIEWS)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<p class="error" id="rating-error">Choose a rating from 1 (poor) to 5 (excellent).</p>' in page
    assert 'aria-describedby="rating-error"' in page
    assert ">My text &lt;b&gt;kept&lt;/b&gt;</textarea>" in page

    response = auth.post(REVIEW, {"rating": "9", "body": "x" * 2001}, form_page=REVIEWS)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "2 things to fix" in page
    assert "A rating is a whole number from 1 (poor) to 5 (excellent)" in page
    assert "Your review is 2,001 characters long; the limit is 2,000. Shorten it by 1 characters." in page
    assert 'aria-invalid="true"' in page and " checked" not in page

    response = auth.post(REVIEW, {"rating": "3", "body": "y" * 2500}, form_page=REVIEWS)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="3" required checked' in page and "y" * 2500 in page
    assert db.scalar(select(CourseReview.id)) is None and stored_summary(db, course.id) == (0, 0)


def test_scripts_in_a_review_never_reach_the_page(auth, client, db, course, learner_who):
    learner = learner_who(course)
    auth.login(learner.email)
    auth.post(REVIEW, {"rating": "5", "body": "Nice<script>alert('pwned')</script> <img src=x onerror=alert(1)>"},
              form_page=REVIEWS)
    auth.logout()
    for url in (REVIEWS, "/courses/reviewed-course"):
        page = _page(client, url)
        assert "Nice" in page and "alert(" not in page and "onerror" not in page


def test_no_one_changes_another_learner_s_review(auth, db, course, learner_who):
    first = learner_who(course, email="first@example.com", name="First Person")
    second = learner_who(course, email="second@example.com", name="Second Person")
    mine = _review(db, first, course, 5, "Mine.")
    auth.login(second.email)
    response = auth.post(REVIEW + "/delete", form_page=REVIEWS)
    assert response.status_code == 404
    auth.post(REVIEW, {"rating": "1", "body": "Theirs."}, form_page=REVIEWS)
    db.expire_all()
    assert db.get(CourseReview, mine.id).body == "Mine." and db.get(CourseReview, mine.id).rating == 5
    assert sorted(db.scalars(select(CourseReview.body))) == ["Mine.", "Theirs."]
    assert stored_summary(db, course.id) == (2, 6)
    # Instructors' routes are closed to learners, reviewers included.
    assert auth.post(f"{REVIEWS}/{mine.id}/reply", {"reply": "Ha"}, form_page=REVIEWS).status_code == 403


# -- replies ---------------------------------------------------------------------------------------------

def test_the_instructor_replies_edits_and_removes_a_reply(auth, db, course, learner_who, instructor):
    learner = learner_who(course, name="Ada Lovelace")
    review = _review(db, learner, course, 3, "The setup lesson needs work.")
    auth.login(instructor.email)
    page = _page(auth.client)
    assert "As course staff you do not review this course; reply to learners' reviews below." in page
    assert f'<label class="label" for="reply-{review.id}">Your reply to Ada L.</label>' in page
    url = f"{REVIEWS}/{review.id}/reply"

    response = auth.post(url, {"reply": "   "}, form_page=REVIEWS)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<details open>" in page and "Write a reply first" in page and 'aria-invalid="true"' in page
    response = auth.post(url, {"reply": "Long " + "z" * 2000}, form_page=REVIEWS)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Shorten it by 5 characters." in page and "Long " + "z" * 2000 in page

    response = auth.post(url, {"reply": "Thanks: we **rewrote** it."}, form_page=REVIEWS)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#review-{review.id}")
    page = _page(auth.client)
    assert "Your reply is published under the review." in page
    assert "Reply from the course team</strong> · Ines I." in page and "<strong>rewrote</strong>" in page
    assert db.scalar(select(Notification.title).where(Notification.user_id == learner.id)) == (
        "A reply to your review of Reviewed Course")

    response = auth.post(url + "/delete", form_page=REVIEWS)
    assert response.status_code == 302
    page = _page(auth.client)
    assert "The reply is removed." in page and "Reply from the course team" not in page
    assert auth.post(url + "/delete", form_page=REVIEWS).status_code == 404


def test_replying_is_for_the_course_s_instructors_and_admins(auth, db, course, make_course, make_user, learner_who):
    review = _review(db, learner_who(course), course)
    grader = make_user("grader@example.com")
    grant(db, grader, "grader", course.slug)
    make_course("other-course")
    other = make_user("other-instructor@example.com")
    grant(db, other, "instructor", "other-course")
    make_user("admin@example.com", admin=True)
    db.commit()
    url = f"{REVIEWS}/{review.id}/reply"
    for email in ("grader@example.com", "other-instructor@example.com"):
        auth.login(email)
        assert auth.post(url, {"reply": "Hi"}, form_page=REVIEWS).status_code == 403
        assert 'for="reply-' not in _page(auth.client)
        auth.logout()
    auth.login("admin@example.com")
    assert auth.post(url, {"reply": "From the team."}, form_page=REVIEWS).status_code == 302
    # A review of another course through this course's address is not found.
    assert auth.post(f"/courses/other-course/reviews/{review.id}/reply", {"reply": "x"},
                     form_page=REVIEWS).status_code == 404


# -- the catalog ---------------------------------------------------------------------------------------------

def test_the_catalog_and_the_course_page_show_the_average_and_the_count(client, db, course, make_course, learner_who):
    make_course("unrated-course")
    for n, rating in enumerate((5, 4)):
        _review(db, learner_who(course, email=f"c{n}@example.com", name=f"Catalog {n}"), course, rating, f"Text {n}")
    page = _page(client, "/courses")
    assert '<span aria-hidden="true">★ 4.5 (2 reviews)</span><span class="visually-hidden">Rated 4.5 out of 5 from ' \
           '2 reviews</span>' in page
    assert page.count("reviews)</span>") == 1  # the unrated course shows no rating line
    course_page = _text(_page(client, "/courses/reviewed-course"))
    assert "Rating ★ 4.5 out of 5 (2 reviews)" in course_page
    assert "Rated 4.5 out of 5 from 2 reviews. Read all 2 reviews of Reviewed Course" in course_page
    assert "Text 0" in course_page and "Text 1" in course_page
    assert "Rating No reviews yet" in _text(_page(client, "/courses/unrated-course"))


def _statements(client, url: str, count_queries) -> tuple[int, list[str]]:
    client.get(url)  # warm the outline cache, as in steady state
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count, counter.statements


def test_no_page_s_statement_count_grows_with_the_reviews(app, auth, db, course, learner_who, instructor,
                                                        count_queries):
    viewer = learner_who(course, email="viewer@example.com")
    auth.login(viewer.email)
    instructor_client = app.test_client()
    Auth(instructor_client).login(instructor.email)
    anonymous = app.test_client()
    pages = [(anonymous, REVIEWS), (anonymous, "/courses/reviewed-course"), (auth.client, REVIEWS),
             (auth.client, "/courses/reviewed-course"), (instructor_client, REVIEWS),
             (instructor_client, "/courses/reviewed-course")]
    catalog_before = _statements(anonymous, "/courses", count_queries)[0]

    def measure() -> list[int]:
        return [_statements(client, url, count_queries)[0] for client, url in pages]

    reviewers = [learner_who(course, email=f"many{n}@example.com") for n in range(12)]
    _review(db, viewer, course, 5)  # (the viewer's own review is read with the others, in one statement)
    for reviewer in reviewers[:2]:
        review = _review(db, reviewer, course)
        services.reply(db, instructor.id, review.id, "Thanks!", utcnow())
    db.commit()
    two = measure()
    for reviewer in reviewers[2:]:
        review = _review(db, reviewer, course)
        services.reply(db, instructor.id, review.id, "Thanks!", utcnow())
    db.commit()
    twelve = measure()
    assert twelve == two, (two, twelve)
    assert max(two) <= 8, two
    catalog_after, statements = _statements(anonymous, "/courses", count_queries)
    assert catalog_after == catalog_before
    assert not [s for s in statements if "course_reviews" in s]  # the catalog reads the summary columns


def test_odd_form_values_never_end_in_a_500(auth, db, course, learner_who, instructor):
    from tests.test_bad_input import ODD_FORM_VALUES

    review = _review(db, learner_who(course, email="reviewer@example.com"), course)
    writer = learner_who(course, email="writer@example.com")
    auth.login(writer.email)
    for value in ODD_FORM_VALUES:
        for data in ({"rating": value, "body": value}, {"rating": "3", "body": value}, {"before": value}):
            response = auth.post(REVIEW, data, form_page=REVIEWS)
            assert response.status_code < 500, (data, response.status_code)
    auth.logout()
    auth.login(instructor.email)
    for value in ODD_FORM_VALUES:
        response = auth.post(f"{REVIEWS}/{review.id}/reply", {"reply": value, "before": value}, form_page=REVIEWS)
        assert response.status_code < 500, (value, response.status_code)
    assert stored_summary(db, course.id) == live_summary(db, course.id)
