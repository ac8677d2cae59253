"""Progress: the learner's dashboard (instructor and grader dashboards come later)."""
