"""gunicorn settings for Skillmark: `gunicorn -c deploy/gunicorn.conf.py wsgi:app` (what `make serve` runs).

Every value can be changed from the environment without editing this file (docs/operations.md lists
them). Sync workers: each handles one request at a time, which suits short database-bound requests
behind a proxy that buffers slow clients (nginx, see deploy/nginx.conf); raise WEB_CONCURRENCY rather
than adding threads. The app writes its own access log with the request id (lms/observability/logs.py),
so gunicorn's is off.
"""

import multiprocessing
import os

bind = os.environ.get("LMS_BIND", "127.0.0.1:8000")
# Two workers per core plus one keeps the CPUs busy while some workers wait on the database.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
timeout = int(os.environ.get("LMS_WORKER_TIMEOUT", "30"))  # a worker silent this long is killed and replaced
graceful_timeout = 30  # on restart, requests in flight get this long to finish
keepalive = 2
backlog = 2048  # connections waiting for a free worker (200 concurrent clients queue here, not fail)
# Workers are replaced after this many requests (with jitter, so not all at once): a slow leak in
# any library can never grow a worker without bound.
max_requests = int(os.environ.get("LMS_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# Load the app once in the master: workers share its memory pages (wsgi.py freezes them out of the
# garbage collector so they stay shared), and a broken configuration stops `gunicorn` at once.
preload_app = True
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LMS_LOG_LEVEL", "info").lower()
# X-Forwarded-For/-Proto are read by the app itself, as many proxies deep as LMS_PROXY_HOPS says.


def post_fork(server, worker):
    """Each worker opens its own database connections: those the master may have opened while
    loading the app must not be shared across processes (SQLAlchemy's rule for forking)."""
    from lms.db import get_engine  # noqa: PLC0415
    from wsgi import app  # noqa: PLC0415

    get_engine(app).dispose(close=False)
