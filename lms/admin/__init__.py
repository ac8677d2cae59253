"""The admin overview (users, active learners, enrollments, credentials per week, grading backlog)
and the admin work that otherwise needs the command line: find users, grant and remove roles, sync
a course folder after a preview of what will change. The blueprint is in views.py.
"""
