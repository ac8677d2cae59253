"""course exports: learners' progress as CSV files built in the background

One table for issue 7's exports of large courses: who asked for which course's CSV and when, its job,
and the outcome (a ready export names its file, row count and size; a failed one its reason). CHECK
constraints hold the state machine; a partial unique index allows one queued export per course.
A new table only: nothing existing is rewritten.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:31:55.281573
"""
from alembic import op
import sqlalchemy as sa
import lms.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('course_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('finished_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('row_count', sa.Integer(), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("(state = 'failed') = (error IS NOT NULL)", name=op.f('ck_course_exports_failed_has_an_error')),
    sa.CheckConstraint("(state = 'queued') = (finished_at IS NULL)", name=op.f('ck_course_exports_finished_unless_queued')),
    sa.CheckConstraint("(state = 'ready') = (file_name IS NOT NULL)", name=op.f('ck_course_exports_ready_has_a_file')),
    sa.CheckConstraint("state <> 'ready' OR (row_count IS NOT NULL AND size_bytes IS NOT NULL)", name=op.f('ck_course_exports_ready_has_rows_and_size')),
    sa.CheckConstraint("state IN ('queued', 'ready', 'failed')", name=op.f('ck_course_exports_known_state')),
    sa.CheckConstraint('row_count IS NULL OR row_count >= 0', name=op.f('ck_course_exports_row_count_not_negative')),
    sa.CheckConstraint('size_bytes IS NULL OR size_bytes >= 0', name=op.f('ck_course_exports_size_not_negative')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_exports_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_course_exports_job_id_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_course_exports_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_exports'))
    )
    with op.batch_alter_table('course_exports', schema=None) as batch_op:
        batch_op.create_index('ix_course_exports_course_requested', ['course_id', 'requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_exports_job_id'), ['job_id'], unique=False)
        batch_op.create_index('ix_course_exports_requested_at', ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_exports_requested_by_id'), ['requested_by_id'], unique=False)
        batch_op.create_index('uq_course_exports_queued', ['course_id'], unique=True, sqlite_where=sa.text("state = 'queued'"), postgresql_where=sa.text("state = 'queued'"))



def downgrade() -> None:
    with op.batch_alter_table('course_exports', schema=None) as batch_op:
        batch_op.drop_index('uq_course_exports_queued', sqlite_where=sa.text("state = 'queued'"), postgresql_where=sa.text("state = 'queued'"))
        batch_op.drop_index(batch_op.f('ix_course_exports_requested_by_id'))
        batch_op.drop_index('ix_course_exports_requested_at')
        batch_op.drop_index(batch_op.f('ix_course_exports_job_id'))
        batch_op.drop_index('ix_course_exports_course_requested')

    op.drop_table('course_exports')
