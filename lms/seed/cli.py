"""`flask seed --size S|M|L` (registered by lms.cli.register). See lms/seed/services.py and decision 0023."""

from __future__ import annotations

import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.db import get_db
from lms.seed import services
from lms.seed.sizes import SIZES


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


@click.command("seed")
@click.option("--size", "size_name", required=True, type=click.Choice(sorted(SIZES), case_sensitive=False),
              help="S: 100 learners, 5 courses; M: 1,000 and 20; L: 10,000 and 100 (docs/operations.md).")
@click.option("--seed", "seed_value", default=1, show_default=True, type=int,
              help="Random seed: the same seed gives the same data.")
@click.option("--password", default=None,
              help="Password of every generated account (default: derived from --seed, printed).")
@with_appcontext
def seed(size_name: str, seed_value: int, password: str | None) -> None:
    """Fill an empty, migrated database with generated courses, learners and their history (development
    and load tests; refused in production). One transaction: a failure leaves nothing."""
    settings = current_app.config["LMS_SETTINGS"]
    if settings.is_production:
        _fail("generated data is for development and load tests; unset LMS_ENV=production to seed")
    size = SIZES[size_name.upper()]
    password = password or services.default_password(seed_value)
    db = get_db()
    started = time.perf_counter()
    try:
        report = services.seed(db, current_app.extensions["lms.password_hasher"], size, seed=seed_value,
                               password=password, now=services.anchor_now(),
                               courses_dir=settings.instance_dir / "seed-courses",
                               progress=lambda line: click.echo(f"  {line}", err=True))
        t = time.perf_counter()
        db.commit()
        report.timings.append(("commit", 0, time.perf_counter() - t))
    except services.SeedRefused as exc:
        db.rollback()
        _fail(f"seed refused: {exc.message} Nothing was written.")
    except BaseException:
        db.rollback()
        raise
    t = time.perf_counter()
    if services.vacuum(db.get_bind()):
        report.timings.append(("vacuum (after the commit)", 0, time.perf_counter() - t))
    click.echo(f"seeded size {size_name.upper()} (seed {seed_value}) in {time.perf_counter() - started:.1f} s")
    for what, rows, seconds in report.timings:
        click.echo(f"  {what:<58} {rows:>10,} {seconds:>8.1f} s")
    click.echo(f"courses written to {report.courses_dir} (a `flask courses sync` of another folder leaves them; "
               "a sync of LMS_COURSES_DIR retires them unless they are copied there)")
    click.echo(f"password of every generated account: {password}")
    click.echo(f"  learner    {report.learner_email}")
    click.echo(f"  instructor {report.instructor_email}")
    click.echo(f"  grader     {report.grader_email}")
    click.echo(f"  admin      {report.admin_email}")
    if report.credential_path:
        click.echo(f"  a public credential: {settings.public_url}{report.credential_path}")
