"""attempt indexes: fewer pages written per submit, and a partial index for pending essays

quiz_attempts.enrollment_id is the first column of uq(enrollment_id, quiz_item_id, number) and
attempt_answers.attempt_id the first of uq(attempt_id, question_id): both databases use those for
lookups by the first column alone. The index on attempt_answers.question_id put each of a submit's
answer rows on a different index page; regrading now finds answers through their quiz's attempts.
Essays awaiting a grader get a partial index (only pending rows are in it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table('attempt_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_answers_attempt_id')
        batch_op.drop_index('ix_attempt_answers_question_id')
        batch_op.create_index('ix_attempt_answers_pending', ['attempt_id'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempts_enrollment_id')


def downgrade() -> None:
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_quiz_attempts_enrollment_id', ['enrollment_id'], unique=False)
    with op.batch_alter_table('attempt_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_answers_pending', sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index('ix_attempt_answers_question_id', ['question_id'], unique=False)
        batch_op.create_index('ix_attempt_answers_attempt_id', ['attempt_id'], unique=False)
