"""`flask backup DIR` and `flask restore DIR`, without Flask: a backup is a folder

    manifest.json                     format, versions, when, the database kind, every file's size and sha256
    database/skillmark.sqlite3        (SQLite: the online backup API's copy) or
    database/skillmark.pgdump         (PostgreSQL: pg_dump --format=custom)
    uploads/ab/cd/<sha256>            every stored upload, checked against its name while copied
    media/<sha256>.<ext>              course assets (<instance>/media/), checked the same way
    keys/credential-keys/*.pem        the issuer's signing keys (<instance>/credential-keys/)
    keys/secret_key                   the generated session key, when the instance has one (development)
    exports/course-<id>/export-<id>.csv  the course exports the snapshot lists as ready (LMS_EXPORTS_DIR)

Course media is included although `flask courses sync` rewrites the assets of the courses in the
checkout it reads: lessons of retired courses and of older course versions keep pointing at assets
that checkout may no longer have, and a restore should not depend on finding the courses repository
at the right commit (decision 0021).

Order is what makes the backup whole: the database snapshot first, then the files. An upload (or a
course asset) is stored (fsynced, renamed to its hash) before the transaction of the row that
references it commits, so every file a snapshot references already exists when the snapshot is
taken. Uploads are removed only after the transaction that dropped their last reference commits
(lms.account_data), which may fall between the snapshot and the copy: the backup therefore checks
that every file the snapshot references was copied, and takes a fresh snapshot when one went
missing meanwhile. (Media files are never removed.) Course exports are copied the same way, after the
snapshot, for the rows it lists as ready (the job renames the file into place before it marks the row
ready); one deleted meanwhile is an export older than 7 days being pruned, so it is left out and
listed in the manifest, not a reason for a new snapshot (decision 0021).

The backup is written into a hidden sibling folder and renamed to DIR at the end; a failure removes
it. A restore checks the manifest and every file's checksum before it changes anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from lms.backup import database
from lms.backup.database import BackupError, Snapshot
from lms.credentials.keystore import KEY_FOLDER
from lms.migrate import ROOT, alembic_config
from lms.uploads.storage import fsync_dir

FORMAT = "skillmark-backup"
FORMAT_VERSION = 2  # 2: course exports (exports/...); version 1 backups (without them) still restore
READABLE_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024
ATTEMPTS = 3
_HEX = re.compile(r"[0-9a-f]{64}")
_UPLOAD_PATH = re.compile(r"uploads/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")
_MEDIA_NAME = re.compile(r"([0-9a-f]{64})(\.[A-Za-z0-9]{1,10})?")
_MEDIA_PATH = re.compile(r"media/([0-9a-f]{64})(\.[A-Za-z0-9]{1,10})?")
_KEY_PATH = re.compile(r"keys/(credential-keys/[^/]+\.pem|secret_key)")
_EXPORT_PATH = re.compile(r"exports/(course-[0-9]+/export-[0-9]+\.csv)")  # lms.instructor.exports.export_path


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    skipped: list[str] = field(default_factory=list)  # stray files in uploads/ or media/, damaged files
    missing: list[str] = field(default_factory=list)  # referenced files absent (only with allow_missing)
    attempts: int = 1
    exports_missing: list[str] = field(default_factory=list)  # ready exports whose file was not there


@dataclass
class RestoreResult:
    manifest: dict
    files_added: int = 0
    keys_restored: int = 0
    moved_aside: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


class _RetrySnapshot(Exception):
    def __init__(self, missing: list[str]):
        self.missing = missing


# -- helpers --------------------------------------------------------------------------------------

def app_version() -> str:
    try:
        return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def code_head(database_url: str) -> tuple[str, set[str]]:
    """The migrations' head revision and every revision the code knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(database_url))
    return script.get_current_head(), {rev.revision for rev in script.walk_revisions()}


def _copy_hashing(source: Path, target: Path) -> tuple[int, str]:
    """Copy ``source`` to ``target`` (created, fsynced, mode 0600), returning its size and sha256."""
    digest, size = hashlib.sha256(), 0
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as src, os.fdopen(descriptor, "wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size, digest.hexdigest()


def _hash_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, _files in os.walk(root):
        fsync_dir(Path(folder))


def _entry(root: Path, path: Path, size: int | None = None, sha256: str | None = None) -> dict:
    if size is None or sha256 is None:
        size, sha256 = _hash_file(path)
    return {"path": path.relative_to(root).as_posix(), "size": size, "sha256": sha256}


def _stored_uploads(uploads_dir: Path) -> Iterator[tuple[str, str | None, Path]]:
    """(path relative to the folder, the sha256 its name gives or None for a stray file, path) of
    every upload; temporaries of uploads in flight (``.upload-*``) are skipped without a word."""
    if not uploads_dir.is_dir():
        return
    for path in sorted(uploads_dir.rglob("*")):
        if path.is_dir() or path.name.startswith(".upload-"):
            continue
        relative = path.relative_to(uploads_dir).as_posix()
        name = path.name
        good = _HEX.fullmatch(name) and relative == f"{name[:2]}/{name[2:4]}/{name}"
        yield relative, name if good else None, path


def _stored_media(media_dir: Path) -> Iterator[tuple[str, str | None, Path]]:
    """The same for course media: ``<sha256><extension>``, flat (``.incoming-*``: a sync in flight)."""
    if not media_dir.is_dir():
        return
    for path in sorted(media_dir.rglob("*")):
        if path.is_dir() or path.name.startswith(".incoming-"):
            continue
        relative = path.relative_to(media_dir).as_posix()
        match = _MEDIA_NAME.fullmatch(relative)
        yield relative, match[1] if match else None, path


# -- backup ---------------------------------------------------------------------------------------

def check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} is a file, not a folder: name a new or empty folder for the backup")
    if target.is_dir() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new or empty folder (a dated one, e.g. "
                          f"{target.parent / datetime.now(UTC).strftime('%Y-%m-%dT%H%M')}); nothing was written")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist: create it first (backups are written "
                          "beside the target, then renamed into place)")
    if not os.access(target.parent, os.W_OK):
        raise BackupError(f"cannot write in {target.parent}: check its owner and permissions")


def backup(settings, target: Path, *, allow_missing: bool = False,
           after_snapshot: Callable[[Snapshot], None] | None = None) -> BackupResult:
    """Back up the instance of ``settings`` into the new or empty folder ``target``.

    ``after_snapshot`` is called between the database snapshot and the copy of the uploads (tests)."""
    target = Path(target).absolute()
    check_target(target)
    for folder in (settings.uploads_dir, settings.media_dir, settings.exports_dir):
        if target.resolve().is_relative_to(folder.resolve()):
            raise BackupError(f"{target} is inside {folder}, which the backup copies: choose a folder outside it")
    kind = database.kind_of(settings.database_url)
    for attempt in range(1, ATTEMPTS + 1):
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        try:
            result = _backup_into(settings, kind, work, allow_missing=allow_missing or attempt == ATTEMPTS,
                                  after_snapshot=after_snapshot)
            if result.missing and not allow_missing:
                raise BackupError(
                    f"{len(result.missing)} file(s) that the database references are not in the instance "
                    f"folder {settings.instance_dir} (first: {result.missing[0]}), in {ATTEMPTS} snapshots in a row: "
                    "they are lost from this instance. Restore them from an earlier backup, or run `flask backup "
                    "--allow-missing` to back up the rest (the manifest lists what is missing). Nothing was written.")
            if target.is_dir():
                target.rmdir()  # empty, checked above; rename(2) onto it would do too
            os.replace(work, target)
            fsync_dir(target.parent)
            result.path, result.attempts = target, attempt
            return result
        except _RetrySnapshot:
            continue
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    raise AssertionError("unreachable")  # the last attempt allows missing files, so it returns or raises


def _backup_into(settings, kind: str, work: Path, *, allow_missing: bool,
                 after_snapshot: Callable[[Snapshot], None] | None) -> BackupResult:
    os.chmod(work, 0o700)  # keys and personal data inside
    created_at = datetime.now(UTC)
    dump = work / database.dump_file_name(kind)
    dump.parent.mkdir()
    if kind == "sqlite":
        snapshot = database.sqlite_snapshot(settings.database_url, dump)
    else:
        snapshot = database.postgresql_snapshot(settings.database_url, dump)
    os.chmod(dump, 0o600)
    head, known = code_head(settings.database_url)
    if snapshot.revision not in known:
        raise BackupError(f"the database is at migration {snapshot.revision!r}, which this code does not know: "
                          "back it up with the Skillmark version that migrated it")
    if after_snapshot is not None:
        after_snapshot(snapshot)
    files = [_entry(work, dump)]

    # Files, after the snapshot: everything it references was stored before it was taken.
    stores = (("uploads", _stored_uploads(settings.uploads_dir)), ("media", _stored_media(settings.media_dir)))
    copied: set[str] = set()
    skipped: list[str] = []
    for folder, entries in stores:
        for relative, sha256_of_name, source in entries:
            path = f"{folder}/{relative}"
            if sha256_of_name is None:
                skipped.append(f"{path}: not a stored file")
                continue
            destination = work / path
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                size, sha256 = _copy_hashing(source, destination)
            except FileNotFoundError:  # removed (unreferenced) since the folder was listed
                destination.unlink(missing_ok=True)
                continue
            if sha256 != sha256_of_name:
                destination.unlink()
                if path in snapshot.referenced and not allow_missing:
                    raise BackupError(f"{source} is damaged: its content's sha256 is {sha256}, not its name. "
                                      "Restore that file from an earlier backup (or run `flask backup "
                                      "--allow-missing` to back up the rest, recording it as missing). Nothing was "
                                      "written.")
                skipped.append(f"{path}: damaged (its content does not match its name)")
                continue
            copied.add(path)
            files.append(_entry(work, destination, size, sha256))
    missing = sorted(snapshot.referenced - copied)
    if missing and not allow_missing:
        raise _RetrySnapshot(missing)  # removed after the snapshot (an erasure committed meanwhile)

    # Course exports: the files of the exports the snapshot lists as ready.
    exports_copied, exports_missing = _copy_exports(settings.exports_dir, work, snapshot.exports, files)

    # Keys: the issuer's signing keys, and the generated session key of a development instance.
    key_sources = sorted(p for p in (settings.instance_dir / KEY_FOLDER).glob("*.pem") if not p.name.startswith("."))
    secret = settings.instance_dir / "secret_key"
    for source, relative in [(p, f"keys/{KEY_FOLDER}/{p.name}") for p in key_sources] + \
            ([(secret, "keys/secret_key")] if secret.is_file() else []):
        destination = work / relative
        destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        size, sha256 = _copy_hashing(source, destination)
        files.append(_entry(work, destination, size, sha256))

    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": app_version(),
        "alembic_revision": snapshot.revision,
        "code_head_revision": head,
        "created_at": created_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "database": {"kind": kind, "file": database.dump_file_name(kind), "tables": snapshot.tables,
                     **snapshot.details},
        "uploads": _counts("uploads", copied, snapshot.referenced),
        "media": _counts("media", copied, snapshot.referenced),
        "missing": missing,
        "exports": {"stored": exports_copied, "ready": len(snapshot.exports), "missing": exports_missing},
        "files": sorted(files, key=lambda entry: entry["path"]),
    }
    _fsync_tree(work)
    manifest_path = work / MANIFEST
    descriptor = os.open(manifest_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(manifest, out, indent=2, sort_keys=False)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    fsync_dir(work)
    return BackupResult(work, manifest, skipped, missing, exports_missing=exports_missing)


def _copy_exports(exports_dir: Path, work: Path, listed: set[str], files: list[dict]) -> tuple[int, list[str]]:
    """Copy the file of every export ``listed`` (backup paths) into ``work``, adding its entry to
    ``files``. Returns how many were copied and the paths that were not there (pruned since the
    snapshot, or lost: their downloads say the file is missing, as they did in the instance)."""
    copied, missing = 0, []
    for path in sorted(listed):
        match = _EXPORT_PATH.fullmatch(path)
        if match is None:  # (a name this code never writes: not a file to follow out of the folder)
            missing.append(path)
            continue
        destination = work / path
        destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            size, sha256 = _copy_hashing(exports_dir / match[1], destination)
        except FileNotFoundError:
            destination.unlink(missing_ok=True)
            missing.append(path)
            continue
        files.append(_entry(work, destination, size, sha256))
        copied += 1
    return copied, missing


def _counts(folder: str, copied: set[str], referenced: set[str]) -> dict:
    return {"stored": sum(1 for p in copied if p.startswith(f"{folder}/")),
            "referenced": sum(1 for p in referenced if p.startswith(f"{folder}/"))}


# -- verify ---------------------------------------------------------------------------------------

def _safe_relative(raw) -> str:
    if not isinstance(raw, str) or not raw:
        raise BackupError("manifest.json lists a file without a path: the manifest is damaged")
    path = PurePosixPath(raw)
    if path.is_absolute() or ".." in path.parts or path.as_posix() != raw:
        raise BackupError(f"manifest.json lists {raw!r}, which is not a plain path inside the backup: refused")
    return raw


def read_manifest(source: Path) -> dict:
    source = Path(source)
    if not source.exists():
        raise BackupError(f"{source} does not exist: name the folder `flask backup` wrote")
    if not source.is_dir():
        raise BackupError(f"{source} is a file, not a backup folder: name the folder `flask backup` wrote")
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} has no {MANIFEST}: it is not a Skillmark backup (or an incomplete copy of one)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path} is not valid JSON ({exc}): the manifest is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a Skillmark backup manifest")
    if manifest.get("format_version") not in READABLE_VERSIONS:
        raise BackupError(f"{path} has format version {manifest.get('format_version')!r}; this Skillmark reads "
                          f"versions {', '.join(map(str, READABLE_VERSIONS))}: restore it with the version that "
                          "wrote it")
    db = manifest.get("database")
    files = manifest.get("files")
    if not isinstance(db, dict) or db.get("kind") not in ("sqlite", "postgresql") or not isinstance(files, list):
        raise BackupError(f"{path} is missing its database or files section: the manifest is damaged")
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("size"), int) \
                or not isinstance(entry.get("sha256"), str):
            raise BackupError(f"{path} has a file entry without a size or sha256: the manifest is damaged")
        _safe_relative(entry.get("path"))
    return manifest


def verify(source: Path) -> dict:
    """Check the manifest and every file against it (size, sha256; uploads also against their name;
    nothing unlisted). Returns the manifest, or raises BackupError naming the first problem."""
    source = Path(source)
    manifest = read_manifest(source)
    listed: set[str] = set()
    for entry in manifest["files"]:
        relative = entry["path"]
        if relative in listed:
            raise BackupError(f"manifest.json lists {relative} twice: the manifest is damaged")
        listed.add(relative)
        upload, media = _UPLOAD_PATH.fullmatch(relative), _MEDIA_PATH.fullmatch(relative)
        if not (upload or media or _KEY_PATH.fullmatch(relative) or _EXPORT_PATH.fullmatch(relative)
                or relative == manifest["database"].get("file")):
            raise BackupError(f"manifest.json lists {relative}, which no backup contains: refused")
        if (upload and not (upload[3][:2] == upload[1] and upload[3][2:4] == upload[2]
                            and entry["sha256"] == upload[3])) or (media and entry["sha256"] != media[1]):
            raise BackupError(f"{relative}: a stored file's name must be its sha256 ({entry['sha256']}): refused")
        path = source / relative
        if path.is_symlink() or not path.is_file():
            raise BackupError(f"{relative} is listed in the manifest but missing from {source}: the backup is "
                              "incomplete; nothing was changed")
        size, sha256 = _hash_file(path)
        if size != entry["size"] or sha256 != entry["sha256"]:
            raise BackupError(f"{relative} does not match the manifest (size {size}, sha256 {sha256}; expected "
                              f"{entry['size']}, {entry['sha256']}): the backup is damaged; nothing was changed")
    if manifest["database"].get("file") not in listed:
        raise BackupError("manifest.json lists no database file: the backup is incomplete; nothing was changed")
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source).as_posix()
        if path.is_file() and relative != MANIFEST and relative not in listed:
            raise BackupError(f"{relative} is in the backup folder but not in its manifest: refused (remove it, "
                              "or use the backup as `flask backup` wrote it)")
    return manifest


# -- restore --------------------------------------------------------------------------------------

def restore(settings, source: Path, *, force: bool = False) -> RestoreResult:
    """Restore a backup into the instance of ``settings``. The app must be stopped."""
    source = Path(source).absolute()
    manifest = verify(source)  # before anything else: a damaged backup changes nothing
    kind = database.kind_of(settings.database_url)
    if manifest["database"]["kind"] != kind:
        raise BackupError(f"this is a backup of a {manifest['database']['kind']} database and LMS_DATABASE_URL names "
                          f"a {kind} one: restore it into the same kind of database")
    head, known = code_head(settings.database_url)
    revision = manifest.get("alembic_revision")
    if revision not in known:
        raise BackupError(f"the backup's database is at migration {revision!r}, newer than this code knows (its "
                          f"newest is {head}): restore it with Skillmark {manifest.get('app_version')} or later")
    has_rows = database.sqlite_has_rows if kind == "sqlite" else database.postgresql_has_rows
    full = has_rows(settings.database_url)
    if full and not force:
        raise BackupError(f"the database already holds data ({', '.join(full[:5])}{', ...' if len(full) > 5 else ''}): "
                          "restoring replaces it. Run again with --force to replace it, or point LMS_DATABASE_URL at "
                          "an empty database. Nothing was changed.")
    if kind == "postgresql":
        database.find_tool("pg_restore"), database.find_tool("psql")  # before any file is touched

    result = RestoreResult(manifest)
    try:
        stored = _restore_files(settings, source, manifest, result)
    except OSError as exc:
        raise BackupError(f"{exc.strerror or exc}: {exc.filename or ''} while storing the backup's files; the "
                          "files it had stored were removed and nothing else was changed") from None
    dump = source / manifest["database"]["file"]
    try:
        if kind == "sqlite":
            database.sqlite_restore(settings.database_url, dump)
        else:
            database.postgresql_restore(settings.database_url, dump)
    except BaseException as exc:
        stored.undo()  # the files this restore stored, referenced by nothing now, or put back as they were
        if isinstance(exc, OSError):
            raise BackupError(f"{exc.strerror or exc}: {exc.filename or ''} while replacing the database; it "
                              "was not replaced, and the files this restore had stored were removed") from None
        raise
    stored.done()
    try:
        _restore_keys(settings, source, manifest, result)
    except OSError as exc:
        raise BackupError(f"{exc.strerror or exc}: {exc.filename or ''} while putting the keys in place: the "
                          "database and files WERE restored, the keys were not; copy keys/ from the backup into "
                          f"{settings.instance_dir} by hand (credential-keys/ and secret_key)") from None
    if revision != head:
        result.messages.append(f"The backup's database is at migration {revision}, older than this code's {head}: "
                               "run `flask db upgrade` now, before starting the app.")
    if manifest.get("missing"):
        result.messages.append(f"{len(manifest['missing'])} referenced file(s) were missing when this backup was "
                               "made (listed in its manifest under \"missing\"); they will answer 404.")
    exports = manifest.get("exports")
    if exports is None and manifest["database"].get("tables", {}).get("course_exports"):
        result.messages.append("This backup was made before backups held course exports: the restored exports' "
                               "downloads say their file is missing (the clean-up removes them within 7 days; "
                               "instructors can export again).")
    elif exports and exports.get("missing"):
        result.messages.append(f"{len(exports['missing'])} course export file(s) were already gone when this "
                               "backup was made (listed under \"exports\"); their downloads say the file is "
                               "missing.")
    return result


@dataclass
class _StoredFiles:
    """What storing the backup's files changed in the instance, so that a failed database step can undo
    it: files added, and files replaced (their previous content kept aside until the restore is done)."""

    added: list[Path] = field(default_factory=list)
    replaced: list[tuple[Path, Path]] = field(default_factory=list)  # (target, its previous content)

    def undo(self) -> None:
        for path in self.added:
            path.unlink(missing_ok=True)
        for target, aside in self.replaced:
            if aside.exists():
                os.replace(aside, target)

    def done(self) -> None:
        for _target, aside in self.replaced:
            aside.unlink(missing_ok=True)


# Where each kind of file goes, and the prefix its folder's readers skip (uploads in flight, a sync in
# flight, an export being written: lms.instructor.exports.PARTIAL_PREFIX) for the temporary names.
_RESTORED_KINDS = ((_UPLOAD_PATH, "uploads/", "uploads_dir", ".upload-"),
                   (_MEDIA_PATH, "media/", "media_dir", ".incoming-"),
                   (_EXPORT_PATH, "exports/", "exports_dir", ".partial-"))


def _restore_files(settings, source: Path, manifest: dict, result: RestoreResult) -> _StoredFiles:
    """Store every upload, course asset and course export of the backup that the instance lacks (or
    holds with other content). Uploads and media are content-addressed, so files already there with the
    right content stay, and extra ones do no harm (`flask uploads sweep` removes unreferenced uploads;
    the exports clean-up removes stray exports after 7 days)."""
    stored = _StoredFiles()
    try:
        for entry in manifest["files"]:
            path, sha256 = entry["path"], entry["sha256"]
            kind = next((k for k in _RESTORED_KINDS if k[0].fullmatch(path)), None)
            if kind is None:
                continue
            _pattern, prefix, folder, hidden = kind
            target = getattr(settings, folder) / path.removeprefix(prefix)
            if target.is_file() and _hash_file(target)[1] == sha256:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f"{hidden}restore-{sha256[:16]}")
            temporary.unlink(missing_ok=True)
            _copy_hashing(source / path, temporary)
            if target.exists():
                aside = target.with_name(f"{hidden}replaced-{target.name}")
                os.replace(target, aside)
                stored.replaced.append((target, aside))
            else:
                stored.added.append(target)
            os.replace(temporary, target)
            fsync_dir(target.parent)
            result.files_added += 1
    except BaseException:
        stored.undo()
        raise
    return stored


def _restore_keys(settings, source: Path, manifest: dict, result: RestoreResult) -> None:
    """Put the backup's keys in place. Keys the instance holds that the backup does not are never
    deleted: the folder they are in is renamed ``credential-keys.replaced-<time>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    entries = [e for e in manifest["files"] if _KEY_PATH.fullmatch(e["path"])]
    pem = {PurePosixPath(e["path"]).name: e for e in entries if e["path"].startswith(f"keys/{KEY_FOLDER}/")}
    folder = settings.instance_dir / KEY_FOLDER
    current = {p.name: _hash_file(p)[1] for p in folder.glob("*.pem")} if folder.is_dir() else {}
    wanted = {name: e["sha256"] for name, e in pem.items()}
    if pem and current != wanted:
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{KEY_FOLDER}.restore-", dir=settings.instance_dir))
        try:
            for name, entry in pem.items():
                _copy_hashing(source / entry["path"], staging / name)
            if folder.exists():
                aside = folder.with_name(f"{KEY_FOLDER}.replaced-{stamp}")
                os.replace(folder, aside)
                result.moved_aside.append(aside)
            os.replace(staging, folder)
            fsync_dir(settings.instance_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        result.keys_restored += len(pem)
    secret = next((e for e in entries if e["path"] == "keys/secret_key"), None)
    target = settings.instance_dir / "secret_key"
    if secret and not (target.is_file() and _hash_file(target)[1] == secret["sha256"]):
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(".secret_key.restore")
        temporary.unlink(missing_ok=True)
        _copy_hashing(source / secret["path"], temporary)
        if target.exists():
            aside = target.with_name(f"secret_key.replaced-{stamp}")
            os.replace(target, aside)
            result.moved_aside.append(aside)
        os.replace(temporary, target)
        result.keys_restored += 1
