"""grader queue by course: a PostgreSQL-only index of waiting capstone versions led by the course

The queue of a grader's several courses reads each course's oldest waiting versions from it (a LATERAL
top-N per course) instead of fetching every waiting row of those courses and sorting them, which is
what PostgreSQL did with ix_submissions_waiting at size L. SQLite gets nothing: with such an index its
planner sorts every waiting row instead of reading ix_submissions_waiting in order (the comment on
that index in lms/capstones/models.py). A new index only; building it locks writes to submissions
for as long as it takes (well under a second for 100,000 versions).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

WAITING = sa.text("state IN ('submitted', 'in_review')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index('ix_submissions_waiting_by_course', 'submissions',
                        ['course_id', 'submitted_at', 'id', 'state', 'claim_expires_at'], unique=False,
                        postgresql_where=WAITING)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_submissions_waiting_by_course', table_name='submissions', postgresql_where=WAITING)
