"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi run`."""

import gc

from lms import create_app

app = create_app()
# Everything loaded so far (modules, templates, the app) lives as long as the process: moving it out
# of the garbage collector's generations spares every later full collection from walking it.
gc.freeze()
