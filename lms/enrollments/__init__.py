"""Enrollment in a course (with its track) and the record of completed items."""
