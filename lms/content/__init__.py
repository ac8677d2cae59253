"""Course content on disk -> frozen specs. Pure Python: no Flask, no database."""

from lms.content.loader import LoadResult, load_courses
from lms.content.source import ERROR, NOTICE, WARNING, Problem

__all__ = ["ERROR", "NOTICE", "WARNING", "LoadResult", "Problem", "load_courses"]
