"""job outbox (replaces the mail outbox), periodic job runs, notifications and email preferences

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 15:50:00.000000

Mail becomes one kind of job ("mail.send"): unsent messages of the old `outbox` table are copied
into `jobs` (sent ones are history nobody reads and are dropped with the table).
"""
from alembic import op
import sqlalchemy as sa
import lms.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OPEN_JOB = 'done_at IS NULL AND failed_at IS NULL'
MAIL_MAX_ATTEMPTS = 8


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('run_after', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=120), nullable=True),
    sa.Column('claimed_until', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint('max_attempts >= 1', name=op.f('ck_jobs_positive_max_attempts')),
    sa.CheckConstraint('attempts >= 0 AND attempts <= max_attempts', name=op.f('ck_jobs_attempts_in_range')),
    sa.CheckConstraint('done_at IS NULL OR failed_at IS NULL', name=op.f('ck_jobs_done_or_failed')),
    sa.CheckConstraint('done_at IS NULL OR attempts >= 1', name=op.f('ck_jobs_done_after_attempt')),
    sa.CheckConstraint('failed_at IS NULL OR (attempts >= 1 AND last_error IS NOT NULL)', name=op.f('ck_jobs_failed_with_error')),
    sa.CheckConstraint('(claimed_by IS NULL) = (claimed_until IS NULL)', name=op.f('ck_jobs_claim_complete')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_done_at'), ['done_at'], unique=False)
        batch_op.create_index('ix_jobs_due', ['run_after'], unique=False, sqlite_where=sa.text(OPEN_JOB), postgresql_where=sa.text(OPEN_JOB))

    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('period_start', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_job_runs_job_id_jobs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('name', 'period_start', name=op.f('uq_job_runs_name_period_start'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_job_id'), ['job_id'], unique=False)

    _copy_outbox_into_jobs()
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_sent_at'))
    op.drop_table('outbox')

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("link IS NULL OR link LIKE '/%'", name=op.f('ck_notifications_link_is_site_path')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_id_id', ['user_id', 'id'], unique=False)

    op.create_table('notification_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.Column('updated_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_preferences'))
    )

    # A plain ADD COLUMN on SQLite too: batch mode would rebuild `users`, and dropping the old table
    # with foreign keys on would cascade-delete every enrollment and role that refers to it.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE users ADD COLUMN unread_notifications INTEGER DEFAULT 0 NOT NULL '
                   'CONSTRAINT ck_users_unread_not_negative CHECK (unread_notifications >= 0)')
    else:
        op.add_column('users', sa.Column('unread_notifications', sa.Integer(), server_default=sa.text('0'), nullable=False))
        op.create_check_constraint(op.f('ck_users_unread_not_negative'), 'users', 'unread_notifications >= 0')


def downgrade() -> None:
    # SQLite drops a column together with its own column CHECK; PostgreSQL drops the CHECK with it too.
    op.execute('ALTER TABLE users DROP COLUMN unread_notifications')
    op.drop_table('notification_preferences')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_id_id')
    op.drop_table('notifications')

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint('(sent_at IS NULL) OR (attempts >= 1)', name=op.f('ck_outbox_sent_after_attempt')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_sent_at'), ['sent_at'], unique=False)
    _copy_jobs_into_outbox()

    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_job_id'))
    op.drop_table('job_runs')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_due', sqlite_where=sa.text(OPEN_JOB), postgresql_where=sa.text(OPEN_JOB))
        batch_op.drop_index(batch_op.f('ix_jobs_done_at'))
    op.drop_table('jobs')


# Lightweight table descriptions for the data copies (not the models: those change after today).
_outbox = sa.table('outbox', sa.column('id', sa.Integer), sa.column('to_address', sa.String),
                   sa.column('subject', sa.String), sa.column('body', sa.Text),
                   sa.column('created_at', lms.db.UTCDateTime()), sa.column('sent_at', lms.db.UTCDateTime()),
                   sa.column('attempts', sa.Integer), sa.column('last_error', sa.Text))
_jobs = sa.table('jobs', sa.column('id', sa.Integer), sa.column('kind', sa.String), sa.column('payload', sa.JSON),
                 sa.column('created_at', lms.db.UTCDateTime()), sa.column('run_after', lms.db.UTCDateTime()),
                 sa.column('attempts', sa.Integer), sa.column('max_attempts', sa.Integer),
                 sa.column('done_at', lms.db.UTCDateTime()), sa.column('failed_at', lms.db.UTCDateTime()),
                 sa.column('last_error', sa.Text))


def _copy_outbox_into_jobs() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_outbox).where(_outbox.c.sent_at.is_(None)).order_by(_outbox.c.id)).all()
    # The old outbox gave up after 5 attempts; a message that did is copied as failed, with its error.
    jobs = []
    for row in rows:
        attempts = min(row.attempts, MAIL_MAX_ATTEMPTS)
        gave_up = row.attempts >= 5
        jobs.append({
            'kind': 'mail.send', 'payload': {'to': row.to_address, 'subject': row.subject, 'body': row.body},
            'created_at': row.created_at, 'run_after': row.created_at, 'attempts': attempts,
            'max_attempts': MAIL_MAX_ATTEMPTS, 'done_at': None,
            'failed_at': row.created_at if gave_up and attempts >= 1 else None,
            'last_error': row.last_error or ('gave up in the old outbox' if gave_up else None),
        })
    if jobs:
        bind.execute(_jobs.insert(), jobs)


def _copy_jobs_into_outbox() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_jobs).where(_jobs.c.kind == 'mail.send', _jobs.c.done_at.is_(None))
                        .order_by(_jobs.c.id)).all()
    messages = [{'to_address': row.payload['to'], 'subject': row.payload['subject'][:200],
                 'body': row.payload['body'], 'created_at': row.created_at, 'sent_at': None,
                 'attempts': row.attempts, 'last_error': row.last_error} for row in rows]
    if messages:
        bind.execute(_outbox.insert(), messages)
