"""Capstone projects: submissions, grading, the grader queue."""
