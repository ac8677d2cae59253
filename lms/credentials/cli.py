"""`flask credentials`: the issuer's signing keys (and, as issue 5 proceeds, issuing and checking)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from lms.credentials.export import ExportError, export_credentials
from lms.credentials.fetch import fetch_status_list
from lms.credentials.issuer import issuer_from_settings
from lms.credentials.keys import KeyFormatError, generate_private_key, private_key_to_pem, public_key_from_did_key
from lms.credentials.keystore import NoIssuerKey, create_key, key_folder, load_keyring
from lms.credentials.verification import verify_credential
from lms.db import get_db

credentials_cli = AppGroup("credentials", help="Open Badges 3.0 credentials: the issuer's keys, checking credentials.")


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


@credentials_cli.command("keygen")
@click.option("--rotate", is_flag=True, help="Add a new current key although one exists (the old ones keep verifying).")
@click.option("--print", "print_only", is_flag=True,
              help="Print a new PEM key for LMS_ISSUER_KEY instead of storing it in the instance folder.")
def keygen(rotate: bool, print_only: bool) -> None:
    """Create the issuer's Ed25519 signing key in the instance folder (mode 0600)."""
    settings = current_app.config["LMS_SETTINGS"]
    if print_only:
        click.echo(private_key_to_pem(generate_private_key()).decode("ascii"), nl=False)
        return
    if settings.issuer_key:
        _fail("LMS_ISSUER_KEY is set, so the signing key comes from the environment: to rotate, put a new "
              "key there (`flask credentials keygen --print`) and add the old public key to LMS_ISSUER_RETIRED_KEYS")
    try:
        existing = load_keyring(settings.instance_dir, None, settings.issuer_retired_keys)
    except NoIssuerKey:
        existing = None
    except KeyFormatError as exc:
        _fail(f"an existing key cannot be read, so no key was added: {exc}")
    if existing is not None and not rotate:
        _fail(f"a signing key exists ({existing.current.multikey}); pass --rotate to add a new current key "
              "(credentials signed with the old one keep verifying)")
    key = create_key(settings.instance_dir)
    click.echo(f"new signing key {key.multikey} in {key_folder(settings.instance_dir)}")
    click.echo(f"issuer: {issuer_from_settings(settings).id}")


@credentials_cli.command("keys")
def keys_list() -> None:
    """List the issuer's keys: the current one signs, retired ones still verify."""
    settings = current_app.config["LMS_SETTINGS"]
    try:
        issuer = issuer_from_settings(settings)
    except (NoIssuerKey, KeyFormatError) as exc:
        _fail(str(exc))
    click.echo(f"issuer: {issuer.id} (LMS_ISSUER_DID={settings.issuer_did})")
    for key in issuer.keyring.all:
        state = "current" if key is issuer.keyring.current else "retired"
        click.echo(f"{state}\t{key.multikey}\t{key.source}")


@credentials_cli.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--offline", is_flag=True, help="Do not fetch status lists: revocation is reported as unknown.")
def verify(paths: tuple[Path, ...], offline: bool) -> None:
    """Check credential files from the documents alone: signature, issuer, dates, and revocation
    (from the status list each names, fetched over HTTP unless --offline). Exits 1 unless all are valid."""
    settings = current_app.config["LMS_SETTINGS"]
    try:
        resolve = issuer_from_settings(settings).resolve  # did:key, and this platform's own did:web
    except (NoIssuerKey, KeyFormatError):
        resolve = public_key_from_did_key
    fetch = None if offline else fetch_status_list
    all_valid = True
    for path in paths:
        try:
            verdict = verify_credential(path.read_bytes(), resolve, fetch_status_list=fetch)
        except ValueError as exc:
            click.secho(f"{path}: not checked: {exc}", fg="red")
            all_valid = False
            continue
        colour = "green" if verdict.status == "valid" else "red"
        click.secho(f"{path}: {verdict.status}", fg=colour)
        for reason in verdict.reasons:
            click.echo(f"  {reason}")
        all_valid &= verdict.status == "valid"
    if not all_valid:
        sys.exit(1)


@credentials_cli.command("reconcile")
def reconcile_command() -> None:
    """Issue every credential that is due but not held, and report what was done."""
    from lms.credentials.issuance import reconcile  # noqa: PLC0415 (imports the capstone and quiz services)
    from lms.db import get_db  # noqa: PLC0415

    db = get_db()
    report = reconcile(db)
    db.commit()
    for user_id, slug in report.issued:
        click.echo(f"issued {slug} to user {user_id}")
    click.echo(f"{len(report.issued)} issued, {report.still_blocked} learners still blocked"
               + (f", {report.not_signed} not signed: no signing key (run `flask credentials keygen`)"
                  if report.not_signed else ""))
    if report.not_signed:
        sys.exit(1)


@credentials_cli.command("export")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--current-only", is_flag=True, help="Skip revoked and superseded credentials.")
def export_command(directory: Path, current_only: bool) -> None:
    """Write every issued credential to DIRECTORY (created if missing) as <public id>.json, the signed
    document exactly as its holder downloads it. Files of the same name are replaced."""
    try:
        count = export_credentials(get_db(), directory, current_only)
    except ExportError as exc:
        _fail(str(exc))
    click.echo(f"exported {count} credential{'s' if count != 1 else ''} to {directory}")
