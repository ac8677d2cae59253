"""What the dashboards share (learner, grader, admin and course dashboards): counts per calendar week
computed by the database (``weeks``) and small server-rendered SVG charts (``svg``)."""
