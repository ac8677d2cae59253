"""A backup taken while a writer keeps uploading files and committing rows that reference them restores
to the database of one instant: a prefix of the writer's commits, each whole, with every file."""

from __future__ import annotations

import hashlib
import io
import threading
import time

from sqlalchemy import create_engine, delete, func, select

from lms.audit.models import AuditEvent
from lms.backup import services
from lms.capstones import services as capstone_services
from lms.capstones.models import SubmissionFile
from lms.db import get_engine
from lms.uploads.storage import UploadStore
from tests.backup.conftest import assert_clean_failure, run_cli

WRITER = "backup.test-writer"


class Writer(threading.Thread):
    """Commits transaction n: store upload n, then (one transaction) its submission_files row and an
    audit row with subject_id n. ``committed`` counts the transactions that returned from commit."""

    def __init__(self, app, settings, submission_id: int):
        super().__init__(daemon=True)
        self.maker = app.extensions["lms.sessionmaker"]
        self.store = UploadStore(settings.uploads_dir)
        self.submission_id = submission_id
        self.committed = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.maker() as db:
                n = 0
                while not self.stop.is_set():
                    stored = self.store.save(io.BytesIO(f"row {n}\n".encode() * (n % 50 + 1)), f"w{n:05d}.txt",
                                             allowed={"txt"}, max_bytes=1 << 20)
                    db.add(SubmissionFile(submission_id=self.submission_id, sha256=stored.sha256, name=f"w{n:05d}.txt",
                                          extension="txt", media_type=stored.media_type, size=stored.size))
                    db.add(AuditEvent(action=WRITER, subject_type="writer", subject_id=n))
                    db.commit()
                    n += 1
                    self.committed = n
                    time.sleep(0.002)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.committed < count:
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"writer stuck at {self.committed}"
            time.sleep(0.005)


def _attached(db, draft, store: UploadStore, content: bytes, name: str):
    """Store an upload and commit a submission_files row for it (what lms.capstones does)."""
    stored = store.save(io.BytesIO(content), name, allowed={"txt"}, max_bytes=1000)
    db.add(SubmissionFile(submission_id=draft.id, sha256=stored.sha256, name=name, extension="txt",
                          media_type=stored.media_type, size=stored.size))
    db.commit()
    db.close()
    return stored


def _draft(db, capstone_setup):
    setup = capstone_setup()
    record = setup.record(db)
    capstone_services.save_draft(db, setup.enrollment.id, record, "## Summary\n\nWork.", [])
    db.commit()
    return capstone_services.editable_draft(db, setup.enrollment.id, record)


def test_backup_under_concurrent_writes_restores_one_instant(app, db, capstone_setup, settings, tmp_path):
    draft = _draft(db, capstone_setup)
    db.close()
    writer = Writer(app, settings, draft.id)
    writer.start()
    seen: dict[str, int] = {}

    def after_snapshot(snapshot):
        seen["at_hook"] = writer.committed
        writer.wait_for(writer.committed + 10)  # commits (and files) that the snapshot must not contain

    try:
        writer.wait_for(10)
        seen["before"] = writer.committed
        result = services.backup(settings, tmp_path / "backup", after_snapshot=after_snapshot)
        seen["after"] = writer.committed
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error
    assert result.manifest["uploads"]["stored"] > result.manifest["uploads"]["referenced"]  # files after the snapshot

    fresh = settings.with_overrides(instance_dir=tmp_path / "restored-instance")
    get_engine(app).dispose()
    services.restore(fresh, tmp_path / "backup", force=True)
    get_engine(app).dispose()

    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        file_rows = list(conn.execute(select(SubmissionFile.name, SubmissionFile.sha256, SubmissionFile.size)
                                      .where(SubmissionFile.name.like("w%"))))
        audits = sorted(conn.execute(select(AuditEvent.subject_id).where(AuditEvent.action == WRITER)).scalars())
        audit_rows = conn.scalar(select(func.count()).select_from(AuditEvent))
    engine.dispose()
    names = sorted(int(name[1:6]) for name, _sha, _size in file_rows)
    k = len(names)
    # One instant: a prefix of the commits (0..k-1, none skipped), each transaction whole (its file row
    # and its audit row together), taken while the backup ran (after it started, before the hook).
    assert names == list(range(k)) and audits == names
    assert seen["before"] <= k <= seen["at_hook"] < seen["after"]
    assert result.manifest["database"]["tables"]["audit_events"] == audit_rows
    # Every file the restored rows reference is there, with the content its hash names.
    store = UploadStore(fresh.uploads_dir)
    for _name, sha256, size in file_rows:
        data = store.path_for(sha256).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256 and len(data) == size


def test_a_file_removed_after_the_snapshot_means_a_new_snapshot(app, db, capstone_setup, settings, tmp_path):
    """An erasure that commits between the snapshot and the copy removes a file the snapshot references:
    the backup notices and snapshots again, so the backup still holds every referenced file."""
    draft = _draft(db, capstone_setup)
    store = UploadStore(settings.uploads_dir)
    stored = _attached(db, draft, store, b"to be erased\n", "gone.txt")
    calls = []

    def erase_meanwhile(snapshot):
        sha = stored.sha256
        calls.append(f"uploads/{sha[:2]}/{sha[2:4]}/{sha}" in snapshot.referenced)
        if len(calls) == 1:
            with app.extensions["lms.sessionmaker"]() as other:
                other.execute(delete(SubmissionFile).where(SubmissionFile.sha256 == stored.sha256))
                other.commit()
            store.path_for(stored.sha256).unlink()

    result = services.backup(settings, tmp_path / "backup", after_snapshot=erase_meanwhile)
    assert calls == [True, False] and result.attempts == 2
    assert result.manifest["uploads"] == {"stored": 0, "referenced": 0} and result.manifest["missing"] == []


def test_a_referenced_file_lost_from_the_instance(app, db, capstone_setup, settings, tmp_path):
    draft = _draft(db, capstone_setup)
    store = UploadStore(settings.uploads_dir)
    stored = _attached(db, draft, store, b"precious\n", "lost.txt")
    store.path_for(stored.sha256).write_bytes(b"bit rot\n")
    damaged = run_cli(app, "backup", str(tmp_path / "b1"))
    assert_clean_failure(damaged, "is damaged", "Nothing was written")
    store.path_for(stored.sha256).unlink()
    lost = run_cli(app, "backup", str(tmp_path / "b2"))
    assert_clean_failure(lost, "1 file(s) that the database references", stored.sha256[:12],
                         "--allow-missing")
    assert not (tmp_path / "b1").exists() and not (tmp_path / "b2").exists()
    allowed = run_cli(app, "backup", str(tmp_path / "b3"), "--allow-missing")
    assert allowed.exit_code == 0, allowed.output
    assert f"missing uploads/{stored.sha256[:2]}/{stored.sha256[2:4]}/{stored.sha256}: referenced" in allowed.output
    restore = run_cli(app, "restore", str(tmp_path / "b3"), "--force")
    assert restore.exit_code == 0 and "1 referenced file(s) were missing" in restore.output
    with app.extensions["lms.sessionmaker"]() as check:
        assert check.scalar(select(SubmissionFile.name)) == "lost.txt"
