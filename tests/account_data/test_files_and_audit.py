"""`flask uploads sweep`, and audit events that hold ids only."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.auth.models import User
from lms.uploads.storage import UploadStore
from tests.account_data.conftest import age_files


def _orphan(store: UploadStore, content: bytes) -> str:
    return store.save(io.BytesIO(content), "orphan.txt", allowed={"txt"}, max_bytes=1024).sha256


def test_sweep_removes_old_unreferenced_files_only(app, db, rich, store):
    r = rich()
    old_orphan, young_orphan = _orphan(store, b"left by a crash\n"), _orphan(store, b"an upload in flight\n")
    age_files(store, old_orphan, r.own_sha, r.shared_sha)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["uploads", "sweep", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"would remove {old_orphan}" in dry.output and store.exists(old_orphan)
    result = runner.invoke(args=["uploads", "sweep"])
    assert result.exit_code == 0, result.output
    assert "removed 1 unreferenced file(s); kept 2 referenced, 1 written in the last 15 minutes" in result.output
    assert not store.exists(old_orphan)
    assert store.exists(young_orphan) and store.exists(r.own_sha) and store.exists(r.shared_sha)
    assert runner.invoke(args=["uploads", "sweep", "--grace-minutes", "0"]).exit_code == 0
    assert not store.exists(young_orphan)


def test_audit_events_hold_no_names_or_emails(db, rich):
    """Every event the scenario wrote (capstone states, grading, credential issue, role grants) is
    searched for every person's name and address: the log survives erasure, so it must not hold them."""
    rich()
    people = db.execute(select(User.email, User.name)).all()
    events = db.scalars(select(AuditEvent)).all()
    assert {e.action for e in events} >= {"role.grant", "capstone.submitted", "capstone.graded"}
    for event in events:
        blob = json.dumps(event.data, ensure_ascii=False) + json.dumps(event.data)
        for email, name in people:
            assert email not in blob and name not in blob, (event.action, event.data)
