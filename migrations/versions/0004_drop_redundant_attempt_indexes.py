"""drop indexes that a unique index already covers

quiz_attempts.enrollment_id is the first column of uq(enrollment_id, quiz_item_id, number) and
attempt_answers.attempt_id the first of uq(attempt_id, question_id): both databases use those for
lookups by the first column alone, so the separate indexes only made every submit write more pages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:05:00
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attempt_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_answers_attempt_id')
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempts_enrollment_id')


def downgrade() -> None:
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_quiz_attempts_enrollment_id', ['enrollment_id'], unique=False)
    with op.batch_alter_table('attempt_answers', schema=None) as batch_op:
        batch_op.create_index('ix_attempt_answers_attempt_id', ['attempt_id'], unique=False)
