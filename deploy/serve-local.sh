#!/usr/bin/env bash
# `make serve`: the production setup on this machine. gunicorn (deploy/gunicorn.conf.py) with
# LMS_ENV=production against PostgreSQL and Redis, one RQ job worker and a run-due loop standing in
# for the systemd timer. Ctrl-C stops all three.
#
# Defaults fit this project's machines (PostgreSQL on 127.0.0.1:5432 with trust auth, Redis on
# 127.0.0.1:6379); override any LMS_* variable in the environment. The database is created if missing.
# The demo accounts are not loaded (production refuses them): create an admin with
#   LMS_ENV=production LMS_SECRET_KEY=$(cat instance-serve/secret_key) ... flask users create ...
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
export LMS_ENV=production
export LMS_INSTANCE_DIR=${LMS_INSTANCE_DIR:-$PWD/instance-serve}
export LMS_DATABASE_URL=${LMS_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/skillmark}
export LMS_REDIS_URL=${LMS_REDIS_URL:-redis://127.0.0.1:6379/0}
export LMS_BIND=${LMS_BIND:-127.0.0.1:${PORT:-8000}}
export LMS_PUBLIC_URL=${LMS_PUBLIC_URL:-http://$LMS_BIND}
mkdir -p "$LMS_INSTANCE_DIR"
if [ -z "${LMS_SECRET_KEY:-}" ]; then
  # Production never generates a key by itself; for a local run, keep one in the instance folder.
  [ -s "$LMS_INSTANCE_DIR/secret_key" ] || (umask 077; "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))' > "$LMS_INSTANCE_DIR/secret_key")
  LMS_SECRET_KEY=$(cat "$LMS_INSTANCE_DIR/secret_key")
  export LMS_SECRET_KEY
fi

"$BIN/python" - <<'PY'
"""Create the database named in LMS_DATABASE_URL if the server lacks it (PostgreSQL only)."""
import os, sys
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(os.environ["LMS_DATABASE_URL"])
if url.get_backend_name() != "postgresql":
    sys.exit(0)
try:
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}) is None:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
            print(f"created database {url.database}")
except Exception as exc:  # noqa: BLE001
    sys.exit(f"PostgreSQL at {url.render_as_string(hide_password=True)} did not answer ({exc}).\n"
             "Start it (Debian: apt-get install postgresql && systemctl start postgresql) or set LMS_DATABASE_URL.")
PY
"$BIN/python" - <<'PY'
"""Redis must answer: the rate limits and the job queue live there."""
import os, sys
import redis
url = os.environ["LMS_REDIS_URL"]
try:
    redis.Redis.from_url(url, socket_connect_timeout=2).ping()
except Exception as exc:  # noqa: BLE001
    sys.exit(f"Redis at {url} did not answer ({exc}).\n"
             "Start it (Debian: apt-get install redis-server) or set LMS_REDIS_URL.")
PY

"$BIN/flask" --app wsgi db upgrade
"$BIN/flask" --app wsgi courses sync

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
"$BIN/flask" --app wsgi jobs worker & pids+=($!)
( while sleep 60; do "$BIN/flask" --app wsgi jobs run-due > /dev/null || true; done ) & pids+=($!)
echo "Serving Skillmark (production setup) on http://$LMS_BIND  (Ctrl-C to stop)"
"$BIN/gunicorn" -c deploy/gunicorn.conf.py wsgi:app
