"""Fixtures the dashboard tests share with other packages' tests."""

from tests.capstones.conftest import capstone_setup  # noqa: F401 (a fixture: a capstone course, learner, grader)
from tests.credentials.test_pathways import catalog  # noqa: F401 (a fixture: courses and pathways synced)
