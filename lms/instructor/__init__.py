"""The course dashboard for a course's instructors: enrollments over time, the completion funnel,
quiz facility and pass rates, capstone outcomes and time to grade, credentials issued, and learners
at risk with a nudge by email. Charts are server-rendered SVG with a data table and a CSV download.
The blueprint is in views.py.
"""
