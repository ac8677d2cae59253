"""`flask` commands: db, courses, users, demo, jobs, credentials. Run from the repository root (Flask finds wsgi.py).

Each command prints what it did, and exits non-zero with a message that says what to do when it
cannot do it. Database work happens in one transaction per command: all or nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from lms.db import get_db
from lms.errors import DomainError


def _settings():
    return current_app.config["LMS_SETTINGS"]


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


# -- flask db -----------------------------------------------------------------------------------

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from lms.migrate import upgrade  # noqa: PLC0415

    upgrade(_settings().database_url, revision)
    click.echo(f"database is at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1 for one step)."""
    from lms.migrate import downgrade  # noqa: PLC0415

    downgrade(_settings().database_url, revision)
    click.echo(f"database downgraded to {revision}")


# -- flask courses ------------------------------------------------------------------------------

courses_cli = AppGroup("courses", help="Course content: check, sync and list courses from disk.")


def _print_problems(problems) -> None:
    colours = {"error": "red", "warning": "yellow", "notice": "cyan"}
    for problem in problems:
        click.secho(str(problem), fg=colours.get(problem.severity), err=problem.severity == "error")


@courses_cli.command("check")
@click.argument("path", type=click.Path(path_type=Path), required=False)
def courses_check(path: Path | None) -> None:
    """Validate a course folder (or a folder of courses) without touching the database."""
    from lms.content import load_courses  # noqa: PLC0415

    result = load_courses(path or _settings().courses_dir)
    _print_problems(result.problems)
    if not result.ok:
        _fail(f"{len(result.errors)} error(s): fix them and run the check again.")
    click.echo(f"ok: {len(result.courses)} course(s): {', '.join(c.slug for c in result.courses)}")
    if result.pathways:
        click.echo(f"ok: {len(result.pathways)} pathway(s): {', '.join(p.slug for p in result.pathways)}")


@courses_cli.command("sync")
@click.argument("path", type=click.Path(path_type=Path), required=False)
def courses_sync(path: Path | None) -> None:
    """Import or update courses (and the pathways in its _pathways/) from PATH (default: LMS_COURSES_DIR).
    All or nothing."""
    from lms.catalog.services import sync_courses, sync_pathways  # noqa: PLC0415
    from lms.content import load_courses  # noqa: PLC0415

    # Only a sync of the configured courses folder retires courses missing from it.
    whole_catalog = path is None or Path(path).resolve() == _settings().courses_dir
    result = load_courses(path or _settings().courses_dir)
    _print_problems(result.problems)
    if not result.ok:
        _fail(f"{len(result.errors)} error(s): nothing was changed. Fix them and sync again.")
    db = get_db()
    try:
        report = sync_courses(db, result.courses, _settings().media_dir, retire_missing=whole_catalog)
        if result.pathways is not None:  # (a folder of courses: one course folder leaves pathways alone)
            report += sync_pathways(db, result.pathways, _settings().media_dir, retire_missing=whole_catalog)
        db.commit()
    except DomainError as exc:
        db.rollback()
        _fail(f"{exc.message} Nothing was changed.")
    except Exception:
        db.rollback()
        raise
    for change in report:
        for line in change.lines():
            click.echo(line)
    if any(change.slug.startswith("pathway ") and change.status in ("created", "updated") for change in report):
        click.echo("Learners who already hold a new or changed pathway's course credentials get its credential "
                   "from `flask credentials reconcile`.")


@courses_cli.command("list")
def courses_list() -> None:
    """List synced courses."""
    from lms.catalog.models import Course  # noqa: PLC0415

    for course in get_db().scalars(select(Course).order_by(Course.slug)):
        state = "retired" if course.retired_at else "live"
        click.echo(f"{course.slug}\t{state}\t{course.title}")


@courses_cli.command("reconcile-ratings")
def courses_reconcile_ratings() -> None:
    """Recount each course's rating summary (shown in the catalog) from its reviews.

    Needed only after reviews were changed outside Skillmark (by hand in SQL, a restore of one table);
    the review pages keep the summary in step in the same transaction."""
    from lms.course_reviews.services import reconcile_summaries  # noqa: PLC0415

    db = get_db()
    corrected = reconcile_summaries(db)
    db.commit()
    for slug, old_n, old_total, new_n, new_total in corrected:
        click.echo(f"{slug}: {old_n} ratings totalling {old_total} -> {new_n} totalling {new_total}")
    click.echo(f"{len(corrected)} course(s) corrected" if corrected else "Every course's rating summary is correct.")


# -- flask users --------------------------------------------------------------------------------

users_cli = AppGroup("users", help="Accounts and roles.")


def _hasher():
    return current_app.extensions["lms.password_hasher"]


def _user_or_fail(email: str):
    from lms.auth.services import find_user_by_email  # noqa: PLC0415

    user = find_user_by_email(get_db(), email)
    if user is None:
        _fail(f"no account with email {email!r}; create it with `flask users create {email} --name ...`")
    return user


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name, as shown on credentials.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")
@click.option("--admin", is_flag=True, help="Make the user a site administrator.")
@click.option("--verified/--unverified", default=True, help="Mark the email as verified (default).")
def users_create(email: str, name: str, password: str, admin: bool, verified: bool) -> None:
    """Create an account."""
    from lms.auth.services import create_user  # noqa: PLC0415

    db = get_db()
    try:
        user = create_user(db, _hasher(), email, name, password, is_admin=admin, verified=verified)
        db.commit()
    except DomainError as exc:
        db.rollback()
        _fail(exc.message)
    click.echo(f"created {user.email}" + (" (admin)" if admin else ""))


@users_cli.command("grant")
@click.argument("email")
@click.argument("role", type=click.Choice(["admin", "instructor", "grader"]))
@click.option("--course", "course_slug", help="Course slug, for the instructor and grader roles.")
def users_grant(email: str, role: str, course_slug: str | None) -> None:
    """Give ROLE to a user: admin, or instructor/grader of a course."""
    from lms.auth.services import grant  # noqa: PLC0415

    _change_role(grant, email, role, course_slug, "granted", "already had")


@users_cli.command("revoke")
@click.argument("email")
@click.argument("role", type=click.Choice(["admin", "instructor", "grader"]))
@click.option("--course", "course_slug", help="Course slug, for the instructor and grader roles.")
def users_revoke(email: str, role: str, course_slug: str | None) -> None:
    """Take ROLE away from a user."""
    from lms.auth.services import revoke  # noqa: PLC0415

    _change_role(revoke, email, role, course_slug, "revoked", "did not have")


def _change_role(action, email, role, course_slug, done_word, noop_word) -> None:
    db = get_db()
    user = _user_or_fail(email)
    try:
        changed = action(db, user, role, course_slug)
        db.commit()
    except DomainError as exc:
        db.rollback()
        _fail(exc.message)
    where = f" of {course_slug}" if role != "admin" else ""
    click.echo(f"{done_word} {role}{where} for {user.email}" if changed else f"{user.email} {noop_word} {role}{where}")


@users_cli.command("list")
def users_list() -> None:
    """List accounts and their roles."""
    from lms.auth.models import User  # noqa: PLC0415
    from lms.auth.services import roles_of  # noqa: PLC0415

    db = get_db()
    for user in db.scalars(select(User).where(User.deleted_at.is_(None)).order_by(User.email)):
        roles = ["admin"] if user.is_admin else []
        roles += [f"{role}:{slug}" for role, slug in roles_of(db, user)]
        click.echo(f"{user.email}\t{user.name}\t{' '.join(roles) or 'learner'}")


# -- flask demo ---------------------------------------------------------------------------------

@click.command("demo")
@with_appcontext
@click.option("--password", envvar="LMS_DEMO_PASSWORD", default=None,
              help="Password of the demo accounts (LMS_DEMO_PASSWORD; development default: see README).")
def demo(password: str | None) -> None:
    """Create demo accounts, roles and progress (development only). Safe to run again."""
    from lms.demo import DEMO_PASSWORD_DEFAULT, load_demo  # noqa: PLC0415

    if _settings().is_production:
        _fail("demo accounts are for development only; unset LMS_ENV=production to load them")
    db = get_db()
    try:
        from lms.uploads import get_upload_store  # noqa: PLC0415

        lines = load_demo(db, _hasher(), password or DEMO_PASSWORD_DEFAULT, get_upload_store())
        db.commit()
    except DomainError as exc:
        db.rollback()
        _fail(exc.message)
    for line in lines:
        click.echo(line)


# -- flask quizzes ------------------------------------------------------------------------------

quizzes_cli = AppGroup("quizzes", help="Quiz files: convert between Markdown, GIFT and canonical JSON.")
WRITERS = ("md", "gift", "json")


@quizzes_cli.command("convert")
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--to", "target", type=click.Choice(WRITERS), required=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Write here instead of standard output.")
def quizzes_convert(path: Path, target: str, output: Path | None) -> None:
    """Convert a quiz file. The input format comes from the extension (.md, .gift, .json).

    Anything the output format cannot express is listed on standard error (never dropped silently);
    an input with errors converts nothing and exits 1.
    """
    from lms.content.quizfiles import ConversionError, convert  # noqa: PLC0415

    try:
        result = convert(path, target)
    except ConversionError as exc:
        _print_problems(exc.problems)
        _fail(f"{len(exc.problems)} error(s): nothing was converted.")
    for line in result.unexpressed:
        click.secho(f"{path}: warning: not expressible in {target}: {line}", fg="yellow", err=True)
    if output:
        output.write_text(result.text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(result.text, nl=False)


@quizzes_cli.command("regrade")
@click.argument("quiz", metavar="COURSE/MODULE/QUIZ")
@click.option("--question", "key", required=True, help="The question's key (see the quiz's item analysis).")
@click.option("--dry-run", is_flag=True, help="Show what would change, change nothing.")
def quizzes_regrade(quiz: str, key: str, dry_run: bool) -> None:
    """Re-score past answers to a question with its current version (audited)."""
    from lms.catalog.models import Course, Item, Module  # noqa: PLC0415
    from lms.db import utcnow  # noqa: PLC0415
    from lms.quizzes.services import regrade_question  # noqa: PLC0415

    parts = quiz.strip("/").split("/")
    if len(parts) != 3:
        _fail("name the quiz as COURSE/MODULE/QUIZ, e.g. python-data-analysis/pandas-basics/check")
    db = get_db()
    item_id = db.scalar(select(Item.id).join(Module, Module.id == Item.module_id)
                        .join(Course, Course.id == Item.course_id)
                        .where(Course.slug == parts[0], Module.slug == parts[1], Item.slug == parts[2],
                               Item.kind == "quiz"))
    if item_id is None:
        _fail(f"no quiz at {quiz}; check the slugs with `flask courses list` and the course folder")
    try:
        changes = regrade_question(db, item_id, key, None, utcnow(), dry_run=dry_run)
        if not dry_run:
            db.commit()
    except DomainError as exc:
        db.rollback()
        _fail(exc.message)
    for change in changes:
        click.echo(f"attempt {change.attempt_id}: {change.before:g} -> {change.after:g} points")
    click.echo(f"{len(changes)} answer(s) {'would change' if dry_run else 'changed'}")


def register(app: Flask) -> None:
    from lms.account_data.cli import uploads_cli  # noqa: PLC0415
    from lms.backup.cli import backup, restore  # noqa: PLC0415
    from lms.credentials.cli import credentials_cli  # noqa: PLC0415
    from lms.jobs.cli import jobs_cli  # noqa: PLC0415
    from lms.seed.cli import seed  # noqa: PLC0415

    for command in (db_cli, courses_cli, users_cli, quizzes_cli, demo, jobs_cli, credentials_cli, uploads_cli,
                    backup, restore, seed):
        app.cli.add_command(command)
