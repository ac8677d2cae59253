"""login sessions: a row per login, so logging out ends every copy of the session cookie

A session cookie used to be valid until it was 31 days old, whatever happened after: a copy taken
before a logout kept working. Now the cookie names a login_sessions row (by a random token, stored
hashed), and logging out, "sign out everywhere else", a password reset or deleting the account end
it. Every session signed in before this release ends with the upgrade: people log in again once.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 16:20:00
"""
from alembic import op
import sqlalchemy as sa
import lms.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('started_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_login_sessions_ends_after_it_starts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_sessions_token_hash'))
    )
    op.create_index('ix_login_sessions_user_id_started_at', 'login_sessions', ['user_id', 'started_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_sessions_user_id_started_at', table_name='login_sessions')
    op.drop_table('login_sessions')
