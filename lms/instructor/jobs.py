"""Background jobs of the course dashboard: refreshing a course's summary (lms/instructor/models.py CourseStats)."""
