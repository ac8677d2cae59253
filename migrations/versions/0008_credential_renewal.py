"""credentials: superseded_at (renewal in two steps) and expiry_reminded_at

The "one current credential" index now looks at superseded_at, which a renewal sets before it
inserts the new credential; superseded_by_id links the two afterwards.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 17:10:00
"""
from alembic import op
import sqlalchemy as sa
import lms.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OLD = 'revoked_at IS NULL AND superseded_by_id IS NULL'
NEW = 'revoked_at IS NULL AND superseded_at IS NULL'


def upgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded_at', lms.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('expiry_reminded_at', lms.db.UTCDateTime(), nullable=True))
    op.execute("UPDATE credentials SET superseded_at = issued_at WHERE superseded_by_id IS NOT NULL")
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index('uq_credentials_current', sqlite_where=sa.text(OLD), postgresql_where=sa.text(OLD))
        batch_op.create_index('uq_credentials_current', ['user_id', 'achievement_id'], unique=True,
                              sqlite_where=sa.text(NEW), postgresql_where=sa.text(NEW))
        batch_op.create_check_constraint("superseded_has_a_time",
                                         'superseded_by_id IS NULL OR superseded_at IS NOT NULL')


def downgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_constraint('superseded_has_a_time', type_='check')
        batch_op.drop_index('uq_credentials_current', sqlite_where=sa.text(NEW), postgresql_where=sa.text(NEW))
        batch_op.create_index('uq_credentials_current', ['user_id', 'achievement_id'], unique=True,
                              sqlite_where=sa.text(OLD), postgresql_where=sa.text(OLD))
        batch_op.drop_column('expiry_reminded_at')
        batch_op.drop_column('superseded_at')
