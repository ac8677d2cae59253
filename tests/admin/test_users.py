"""Finding users, granting and removing course roles, the admin flag: each change audited, each bad
input answered with a clear message and a 4xx, the last admin kept."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update

from lms.admin import services
from lms.audit.models import AuditEvent
from lms.auth.models import CourseRole, User
from lms.db import utcnow
from lms.errors import DomainError


def _flash_or_error(response) -> str:
    page = response.get_data(as_text=True)
    match = re.search(r'<div class="form-errors" role="alert"><p>(.*?)</p>', page, re.S)
    return match.group(1) if match else ""


def _names(page: str) -> list[str]:
    return re.findall(r'<a href="/admin/users/\d+">([^<]+)</a>', page)


# -- search -------------------------------------------------------------------------------------------

def test_search_by_email_or_name_ignores_case(as_admin, make_user):
    make_user("ada.lovelace@example.com", name="Ada Lovelace")
    make_user("charles@example.com", name="Charles Babbage")
    make_user("grace@navy.example.com", name="Grace Hopper")
    page = as_admin.client.get("/admin/users?q=LOVELACE").get_data(as_text=True)
    assert _names(page) == ["Ada Lovelace"]
    page = as_admin.client.get("/admin/users?q=babb").get_data(as_text=True)
    assert _names(page) == ["Charles Babbage"]
    page = as_admin.client.get("/admin/users?q=navy.EXAMPLE").get_data(as_text=True)
    assert _names(page) == ["Grace Hopper"] and "1 account matching" in page
    page = as_admin.client.get("/admin/users").get_data(as_text=True)
    assert _names(page) == ["Ada Lovelace", "Charles Babbage", "Grace Hopper", "Root Admin"]  # by email
    assert "5" not in re.search(r'class="result-count"[^>]*>([^<]*)', page).group(1)
    assert "4 accounts" in page


def test_percent_and_underscore_match_themselves(as_admin, make_user):
    make_user("a_b@example.com", name="Under Score")
    make_user("axb@example.com", name="No Underscore")
    make_user("pct@example.com", name="Full 100% Effort")
    make_user("pcx@example.com", name="Full 1000 Effort")
    assert _names(as_admin.client.get("/admin/users?q=a_b").get_data(as_text=True)) == ["Under Score"]
    assert _names(as_admin.client.get("/admin/users?q=100%25").get_data(as_text=True)) == ["Full 100% Effort"]
    assert _names(as_admin.client.get("/admin/users?q=%25").get_data(as_text=True)) == ["Full 100% Effort"]
    assert _names(as_admin.client.get("/admin/users?q=%5C").get_data(as_text=True)) == []  # a backslash


def test_deleted_accounts_are_not_listed(db, as_admin, make_user):
    gone = make_user("gone@example.com", name="Gone Person")
    db.execute(update(User).where(User.id == gone.id).values(deleted_at=utcnow()))
    db.commit()
    assert "Gone Person" not in as_admin.client.get("/admin/users").get_data(as_text=True)
    assert as_admin.client.get(f"/admin/users/{gone.id}").status_code == 404


def test_the_list_pages_by_email_without_overlap(as_admin, make_user):
    for n in range(30):
        make_user(f"person{n:02d}@example.com", name=f"Person {n:02d}")
    page = as_admin.client.get("/admin/users?q=person").get_data(as_text=True)
    first = _names(page)
    assert len(first) == services.USERS_PAGE_SIZE and first[0] == "Person 00" and "30 accounts" in page
    following = re.search(r'href="(/admin/users\?q=person&amp;after=\d+)"', page).group(1).replace("&amp;", "&")
    second = _names(as_admin.client.get(following).get_data(as_text=True))
    assert second == [f"Person {n:02d}" for n in range(25, 30)]
    assert as_admin.client.get("/admin/users?after=notanumber").status_code == 200  # a bad cursor: page one


def test_the_list_shows_roles(db, as_admin, make_user, make_course):
    from lms.auth.services import grant

    make_course("roles-course")
    grader = make_user("grader@example.com", name="Gia Grader")
    grant(db, grader, "grader", "roles-course")
    db.commit()
    page = as_admin.client.get("/admin/users").get_data(as_text=True)
    row = re.search(r"Gia Grader</a>.*?</tr>", page, re.S).group(0)
    assert "grader of roles-course" in row
    assert "admin" in re.search(r"Root Admin</a>.*?</tr>", page, re.S).group(0)


def _statements(client, count_queries, url: str) -> int:
    client.get(url)  # warm per-process caches, as in steady state
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_the_users_pages_statements_do_not_grow_with_users(db, as_admin, make_user, make_course, count_queries):
    from lms.auth.services import grant

    make_course("counted-course")
    for n in range(2):
        grant(db, make_user(f"small{n}@example.com"), "grader", "counted-course")
    db.commit()
    small = _statements(as_admin.client, count_queries, "/admin/users")
    small_search = _statements(as_admin.client, count_queries, "/admin/users?q=small")
    for n in range(2, 12):
        user = make_user(f"small{n}@example.com")
        grant(db, user, "grader", "counted-course")
        grant(db, user, "instructor", "counted-course")
    db.commit()
    assert _statements(as_admin.client, count_queries, "/admin/users") == small
    assert _statements(as_admin.client, count_queries, "/admin/users?q=small") == small_search
    assert small <= 6


# -- course roles -------------------------------------------------------------------------------------

@pytest.fixture
def person(make_user):
    return make_user("person@example.com", name="Pat Person")


def _grant(as_admin, user_id: int, course: str, role: str):
    return as_admin.post(f"/admin/users/{user_id}/roles", {"course": course, "role": role},
                         form_page=f"/admin/users/{user_id}")


def _remove(as_admin, user_id: int, course: str, role: str):
    return as_admin.post(f"/admin/users/{user_id}/roles/remove", {"course": course, "role": role},
                         form_page=f"/admin/users/{user_id}")


def test_grant_and_remove_a_role_audited(db, as_admin, admin, person, make_course):
    course = make_course("role-course")
    response = _grant(as_admin, person.id, "role-course", "grader")
    assert response.status_code == 302
    page = as_admin.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Granted: now a grader of “Role Course”." in page
    assert re.search(r"Role Course.*?<td>Grader</td>", page, re.S)
    db.rollback()
    assert db.scalar(select(CourseRole.granted_by_id).where(CourseRole.user_id == person.id)) == admin.id
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "role.grant"))
    assert (event.subject_id, event.actor_id, event.data) == (person.id, admin.id,
                                                              {"role": "grader", "course_id": course.id})

    response = _remove(as_admin, person.id, "role-course", "grader")
    assert response.status_code == 302
    page = as_admin.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Removed: no longer a grader of “Role Course”." in page and "is a learner" in page
    db.rollback()
    assert db.scalar(select(func.count()).select_from(CourseRole)) == 0
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "role.revoke"))
    assert (event.subject_id, event.actor_id) == (person.id, admin.id)


@pytest.mark.parametrize(("course", "role", "status", "message"), [
    ("no-such-course", "grader", 400, "There is no course “no-such-course”; choose one from the list."),
    ("bad-input-course", "superuser", 400, "There is no role “superuser” for a course; choose instructor or grader."),
    ("bad-input-course", "admin", 400, "There is no role “admin” for a course; choose instructor or grader."),
    ("", "grader", 400, "Choose the course the role is for."),
    ("bad-input-course", "", 400, "There is no role “” for a course; choose instructor or grader."),
])
def test_bad_grants_are_refused_with_a_clear_message(db, as_admin, person, make_course, course, role, status,
                                                     message):
    make_course("bad-input-course")
    response = _grant(as_admin, person.id, course, role)
    assert response.status_code == status
    assert _flash_or_error(response) == message
    db.rollback()
    assert db.scalar(select(func.count()).select_from(CourseRole)) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_duplicate_grant_and_removing_a_role_not_held_are_refused(db, as_admin, person, make_course):
    make_course("dup-course")
    assert _grant(as_admin, person.id, "dup-course", "instructor").status_code == 302
    response = _grant(as_admin, person.id, "dup-course", "instructor")
    assert response.status_code == 409
    assert _flash_or_error(response) == "Pat Person is already an instructor of “Dup Course”; nothing changed."
    response = _remove(as_admin, person.id, "dup-course", "grader")
    assert response.status_code == 409
    assert _flash_or_error(response) == "Pat Person is not a grader of “Dup Course”; nothing changed."
    response = _remove(as_admin, person.id, "nowhere", "grader")
    assert response.status_code == 400 and "There is no course “nowhere”" in _flash_or_error(response)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(CourseRole)) == 1
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_roles_are_granted_in_live_courses_only_but_removed_anywhere(db, as_admin, person, make_course):
    from lms.auth.services import grant

    course = make_course("old-course")
    grant(db, person, "grader", "old-course")
    course.retired_at = utcnow()
    db.commit()
    response = _grant(as_admin, person.id, "old-course", "instructor")
    assert response.status_code == 400 and "is retired" in _flash_or_error(response)
    page = as_admin.client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert "(retired)" in page and 'value="old-course"' in page and "<option value=\"old-course\"" not in page
    assert _remove(as_admin, person.id, "old-course", "grader").status_code == 302


def test_unknown_user_is_not_found(as_admin, make_course):
    make_course("any-course")
    assert as_admin.client.get("/admin/users/999999").status_code == 404
    assert as_admin.client.get("/admin/users/99999999999999999999999").status_code == 404  # beyond any id
    assert as_admin.client.get("/admin/courses/any-course/syncs/99999999999999999999").status_code == 404
    assert _grant(as_admin, 999999, "any-course", "grader").status_code == 404


# -- the admin flag ------------------------------------------------------------------------------------

def _admin_flag(as_admin, user_id: int, action: str):
    return as_admin.post(f"/admin/users/{user_id}/admin", {"action": action}, form_page=f"/admin/users/{user_id}")


def test_make_and_remove_an_admin(db, as_admin, admin, person):
    response = _admin_flag(as_admin, person.id, "grant")
    assert response.status_code == 302
    assert "Pat Person is now an admin." in as_admin.client.get(response.headers["Location"]).get_data(as_text=True)
    response = _admin_flag(as_admin, person.id, "grant")
    assert response.status_code == 409
    assert _flash_or_error(response) == "Pat Person is already an admin; nothing changed."
    response = _admin_flag(as_admin, person.id, "remove")
    assert response.status_code == 302
    response = _admin_flag(as_admin, person.id, "remove")
    assert response.status_code == 409 and _flash_or_error(response) == "Pat Person is not an admin; nothing changed."
    db.rollback()
    events = db.execute(select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.data).order_by(AuditEvent.id)).all()
    assert [tuple(e) for e in events] == [("role.grant", admin.id, {"role": "admin"}),
                                          ("role.revoke", admin.id, {"role": "admin"})]


def test_the_admin_form_needs_a_known_action(db, as_admin, person):
    response = _admin_flag(as_admin, person.id, "toggle")
    assert response.status_code == 400 and "Choose whether to make this person an admin" in _flash_or_error(response)
    db.rollback()
    assert not db.get(User, person.id).is_admin


def test_an_admin_cannot_remove_their_own_admin_flag(db, as_admin, admin, person):
    _admin_flag(as_admin, person.id, "grant")  # even with another admin around
    page = as_admin.client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert "You cannot remove your own admin rights" in page and 'value="remove"' not in page
    response = _admin_flag(as_admin, admin.id, "remove")
    assert response.status_code == 403
    assert _flash_or_error(response).startswith("You cannot remove your own admin rights. Ask another admin")
    db.rollback()
    assert db.get(User, admin.id).is_admin


def test_the_last_admin_keeps_the_flag(db, admin, person):
    with pytest.raises(services.LastAdmin, match="Root Admin is the only admin"):
        services.set_admin(db, person.id, admin.id, False)
    db.rollback()
    with pytest.raises(services.LastAdmin):
        services.set_admin(db, None, admin.id, False)  # (the command line has no actor)
    db.rollback()
    services.set_admin(db, admin.id, person.id, True)
    db.commit()
    services.set_admin(db, person.id, admin.id, False)  # two admins: one may go
    db.commit()
    with pytest.raises(services.LastAdmin):
        services.set_admin(db, None, person.id, False)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(User).where(User.is_admin.is_(True))) == 1


def test_a_deleted_admin_does_not_count(db, admin, person, make_user):
    other = make_user("other-admin@example.com", admin=True)
    db.execute(update(User).where(User.id == other.id).values(deleted_at=utcnow()))
    db.commit()
    with pytest.raises(services.LastAdmin):
        services.set_admin(db, person.id, admin.id, False)


def test_errors_are_domain_errors_with_4xx():
    for error in (services.AdminInputError, services.RoleAlreadyHeld, services.RoleNotHeld, services.LastAdmin,
                  services.OwnAdminFlag):
        assert issubclass(error, DomainError) and 400 <= error.status_code < 500
