"""`make bench`: Skillmark's lesson page, dashboard and quiz start+submit against a bare Flask hello-world.

Modules: ``data`` (the generated instance: courses, learner, progress, the quiz course and its
learners), ``quiz`` (the 20-question quiz, its answers, in-process grading time), ``servers``
(gunicorn on free loopback ports), ``client`` (logins and page and quiz checks), ``wrk`` (load runs
with wrk_report.lua, or wrk_quiz.lua for the quiz scenario), ``report`` (medians, ratios, verdicts),
``run`` (the command), ``profile`` (one request, profiled; ``--scenario quiz`` for the quiz).
"""
