"""`make bench`: Skillmark's lesson page and dashboard against a bare Flask hello-world.

Modules: ``data`` (the generated instance: courses, learner, progress), ``servers`` (gunicorn on
free loopback ports), ``client`` (login and page checks), ``wrk`` (load runs with wrk_report.lua),
``report`` (medians, ratios, verdicts), ``run`` (the command), ``profile`` (one request, profiled).
"""
