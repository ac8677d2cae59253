"""`flask uploads sweep`: remove uploaded files no row references any more."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from lms.account_data import files
from lms.db import get_db
from lms.uploads import get_upload_store

uploads_cli = AppGroup("uploads", help="Uploaded files (content-addressed, in the instance folder).")


@uploads_cli.command("sweep")
@click.option("--dry-run", is_flag=True, help="Say what would be removed and remove nothing.")
@click.option("--grace-minutes", default=files.GRACE_SECONDS // 60, show_default=True, type=click.IntRange(0),
              help="Keep files written this recently (an upload in flight has no row yet).")
def sweep(dry_run: bool, grace_minutes: int) -> None:
    """Remove stored uploads that no submission references (left by a crash between an account's
    deletion and its file clean-up, or by an interrupted upload). Safe to run at any time, on one node."""
    db = get_db()
    result = files.sweep(db, get_upload_store(), grace_seconds=grace_minutes * 60, dry_run=dry_run)
    db.rollback()
    verb = "would remove" if dry_run else "removed"
    for sha256 in result.removed:
        click.echo(f"{verb} {sha256}")
    click.echo(f"{verb} {len(result.removed)} unreferenced file(s); kept {result.kept_referenced} referenced, "
               f"{result.kept_young} written in the last {grace_minutes} minutes")
