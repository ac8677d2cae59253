"""Credentials tests build on the capstone tests' course (a capstone with a four-criterion rubric)."""

from tests.capstones.conftest import capstone_setup  # noqa: F401 (a fixture, shared)
