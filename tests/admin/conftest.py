"""The admin tests' app reads its course folders from the test's own courses root (LMS_COURSES_DIR)."""

from __future__ import annotations

import pytest

from lms import create_app
from lms.db import get_engine
from tests.conftest import _clear_process_caches, _empty_all_tables, make_settings


@pytest.fixture
def app(tmp_path, database_url, courses_root):
    application = create_app(make_settings(tmp_path, database_url, courses_dir=courses_root))
    _clear_process_caches()
    yield application
    _empty_all_tables(get_engine(application))
    get_engine(application).dispose()
    _clear_process_caches()


@pytest.fixture
def admin(make_user):
    return make_user("root@example.com", name="Root Admin", admin=True)


@pytest.fixture
def as_admin(auth, admin):
    auth.login(admin.email)
    return auth
