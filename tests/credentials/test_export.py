"""`flask credentials export DIR`: every credential as <public_id>.json, the stored document as downloaded."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.credentials import renewal
from lms.credentials.export import document_bytes, export_credentials
from lms.credentials.issuance import signing_issuer
from lms.credentials.models import Credential, StatusList
from lms.credentials.verification import verify_credential
from lms.db import utcnow
from tests.credentials.expiring import hold


@pytest.fixture
def several(app, db, expiring_course, make_user, enroll):
    """Four credentials: one renewed (so one superseded), one revoked, one current, with a non-ASCII name."""
    course = expiring_course(months=12)
    now = utcnow()
    renewed = hold(app, db, course.course, course.learner, now - timedelta(days=300))
    renewal.renew(db, course.learner.id, course.course.id, "quiz", now, now)
    revoked_user = make_user("revoked@example.com", name="Rev Oked")
    enroll(revoked_user, course.course)
    revoked = hold(app, db, course.course, revoked_user, now)
    revoked.revoked_at, revoked.revoke_reason = now, "Issued by mistake."
    zoe = make_user("zoe@example.com", name="Zoë Ångström")
    enroll(zoe, course.course)
    hold(app, db, course.course, zoe, now)
    db.commit()
    assert db.get(Credential, renewed.id).superseded_by_id is not None
    return {c.public_id: c for c in db.scalars(select(Credential))}


def test_export_writes_every_credential_exactly_as_downloaded(app, db, several, tmp_path):
    target = tmp_path / "export" / "credentials"  # created, parents too
    result = app.test_cli_runner().invoke(args=["credentials", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"exported 4 credentials to {target}"
    assert sorted(p.name for p in target.iterdir()) == sorted(f"{public_id}.json" for public_id in several)
    issuer = signing_issuer(app.config["LMS_SETTINGS"])
    for public_id, credential in several.items():
        data = (target / f"{public_id}.json").read_bytes()
        assert data == document_bytes(credential.document) and data.endswith(b"}\n")
        assert json.loads(data) == credential.document
        listing = db.get(StatusList, credential.status_list_id).document
        verdict = verify_credential(data, issuer.resolve, fetch_status_list=lambda url, listing=listing: listing)
        assert verdict.status == "valid", verdict.reasons  # (the revocation above bypassed the status list)
    zoe = next(c for c in several.values() if c.document["credentialSubject"].get("name") == "Zoë Ångström")
    text = (target / f"{zoe.public_id}.json").read_text(encoding="utf-8")
    assert '"name": "Zoë Ångström"' in text and "\\u00eb" not in text  # UTF-8, not escaped
    assert not [p for p in target.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_current_only_skips_revoked_and_superseded_and_a_rerun_replaces_files(app, db, several, tmp_path):
    current = {public_id for public_id, c in several.items() if c.revoked_at is None and c.superseded_at is None}
    assert len(current) == 2
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.txt").write_text("kept")
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["credentials", "export", "--current-only", str(target)])
        assert result.exit_code == 0, result.output
        assert "exported 2 credentials to" in result.output
    assert sorted(p.name for p in target.iterdir()) == sorted([*(f"{i}.json" for i in current), "stale.txt"])


def test_export_streams_rows_without_keeping_credentials_in_the_session(db, several, tmp_path):
    db.expunge_all()
    assert export_credentials(db, tmp_path / "out") == 4
    assert not [o for o in db.identity_map.values() if isinstance(o, Credential)]


def test_a_file_in_the_way_is_a_clear_error(app, tmp_path):
    in_the_way = tmp_path / "credentials.json"
    in_the_way.write_text("{}")
    result = app.test_cli_runner().invoke(args=["credentials", "export", str(in_the_way)])
    assert result.exit_code != 0
    assert "is a file, not a folder" in result.output
    assert in_the_way.read_text() == "{}"


def test_a_folder_that_cannot_be_made_or_written_is_a_clear_error(app, tmp_path, monkeypatch):
    from lms.credentials import export

    (tmp_path / "a-file").write_text("")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["credentials", "export", str(tmp_path / "a-file" / "below")])
    assert result.exit_code != 0 and "cannot create the folder" in result.output
    # (Tests may run as root, whom a mode of 0500 does not stop: the permission check is what is tested.)
    monkeypatch.setattr(export.os, "access", lambda path, mode: False)
    result = runner.invoke(args=["credentials", "export", str(tmp_path / "locked")])
    assert result.exit_code != 0 and "cannot write to" in result.output and "permission denied" in result.output


def test_an_export_that_fails_midway_says_so_and_leaves_no_partial_file(app, db, several, tmp_path, monkeypatch):
    from lms.credentials import export

    written = []

    def fsync_then_fail(descriptor):
        if written:
            raise OSError(28, "No space left on device")
        written.append(descriptor)

    monkeypatch.setattr(export.os, "fsync", fsync_then_fail)
    target = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["credentials", "export", str(target)])
    assert result.exit_code != 0
    assert "after 1 file(s): No space left on device" in result.output
    assert [p.suffix for p in target.iterdir()] == [".json"]  # the one done; no temporary file
