"""`flask backup DIR` and `flask restore DIR [--force]` (registered by lms.cli.register)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.backup import services
from lms.backup.database import BackupError
from lms.db import get_engine


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


def _run(action, failed: str, os_error_note: str):
    """``action()``, or exit 1 with its message: a refusal (BackupError) or the system's reason."""
    try:
        return action()
    except BackupError as exc:
        _fail(f"{failed}: {exc.message}")
    except OSError as exc:
        _fail(f"{failed}: {exc.strerror or exc}: {exc.filename or ''} ({os_error_note})")


def _size(manifest: dict) -> str:
    total = sum(entry["size"] for entry in manifest["files"])
    return f"{total / 1024 / 1024:.1f} MB"


@click.command("backup")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path, file_okay=True, dir_okay=True))
@click.option("--allow-missing", is_flag=True,
              help="Back up even when files the database references are missing or damaged (listed in the manifest).")
@with_appcontext
def backup(directory: Path, allow_missing: bool) -> None:
    """Back up the database, uploads, course media, course exports and keys into DIR (a new or empty
    folder), with a manifest of checksums. Safe while the app runs: the database is one consistent snapshot."""
    settings = current_app.config["LMS_SETTINGS"]
    result = _run(lambda: services.backup(settings, directory, allow_missing=allow_missing), "backup failed",
                  "nothing was written")
    manifest = result.manifest
    for stray in result.skipped:
        click.secho(f"skipped {stray}", fg="yellow", err=True)
    for path in result.missing:
        click.secho(f"missing {path}: referenced by the database, not backed up", fg="yellow", err=True)
    for path in result.exports_missing:
        click.secho(f"missing {path}: a ready course export without its file, not backed up (its download says "
                    "the file is missing)", fg="yellow", err=True)
    tables = manifest["database"]["tables"]
    click.echo(f"backed up {manifest['database']['kind']} database at {manifest['alembic_revision']} "
               f"({len(tables)} tables, {sum(tables.values())} rows), {manifest['uploads']['stored']} uploads, "
               f"{manifest['media']['stored']} media files, {manifest['exports']['stored']} course export(s), "
               f"{sum(1 for e in manifest['files'] if e['path'].startswith('keys/'))} key file(s): "
               f"{_size(manifest)} in {result.path}")


@click.command("restore")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
@with_appcontext
def restore(directory: Path, force: bool) -> None:
    """Restore a backup written by `flask backup` (checksums verified first). Stop the app and the
    job runners before restoring."""
    settings = current_app.config["LMS_SETTINGS"]
    engine = get_engine()
    engine.dispose()  # no pooled connection to the database being replaced
    try:
        result = _run(lambda: services.restore(settings, directory, force=force), "restore refused",
                      "nothing was changed")
    finally:
        engine.dispose()
    manifest = result.manifest
    click.echo(f"restored the {manifest['database']['kind']} database of {manifest['created_at']} "
               f"(migration {manifest['alembic_revision']}), {result.files_added} file(s) added, "
               f"{result.keys_restored} key file(s) restored")
    for path in result.moved_aside:
        click.echo(f"kept the instance's previous {path.name.split('.replaced-')[0]} as {path}")
    for message in result.messages:
        click.secho(message, fg="yellow")
