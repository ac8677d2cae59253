"""cascade revocations: a pathway credential revoked with a course credential names that credential

credentials.revoked_with_id: the course credential whose revocation revoked this pathway credential.
Until now the cascade was recognised by the first sentence of the revoke reason, so a reason an admin
typed could pass for one. Existing cascades are filled in: the holder's course credential revoked at
the same instant (services.revoke revokes both in one transaction, with one timestamp). On SQLite the
table is rebuilt (batch mode), which drops its triggers: the change-stamp triggers (0012) are read
before and created again after.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

CASCADE_REASON = "A course credential it rests on was revoked."  # lms.credentials.held, as of this release


def _rebuilding_credentials(change) -> None:
    bind = op.get_bind()
    triggers = []
    if bind.dialect.name == "sqlite":
        triggers = bind.execute(sa.text(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'credentials'")).scalars().all()
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        change(batch_op)
    for sql in triggers:
        op.execute(sql)


def upgrade() -> None:
    def add(batch_op):
        batch_op.add_column(sa.Column('revoked_with_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_credentials_revoked_with_id_credentials'), 'credentials',
                                    ['revoked_with_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_credentials_revoked_with_is_revoked'),
                                         'revoked_with_id IS NULL OR revoked_at IS NOT NULL')
    _rebuilding_credentials(add)
    op.execute(sa.text(
        "UPDATE credentials SET revoked_with_id = ("
        " SELECT basis.id FROM credentials AS basis JOIN achievements ON achievements.id = basis.achievement_id"
        " WHERE basis.user_id = credentials.user_id AND basis.revoked_at = credentials.revoked_at"
        " AND achievements.kind = 'course' ORDER BY basis.id LIMIT 1) "
        "WHERE revoked_at IS NOT NULL AND revoke_reason LIKE :cascade AND achievement_id IN ("
        " SELECT id FROM achievements WHERE kind = 'pathway')").bindparams(cascade=CASCADE_REASON + "%"))


def downgrade() -> None:
    def drop(batch_op):
        batch_op.drop_constraint(batch_op.f('ck_credentials_revoked_with_is_revoked'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_credentials_revoked_with_id_credentials'), type_='foreignkey')
        batch_op.drop_column('revoked_with_id')
    _rebuilding_credentials(drop)
