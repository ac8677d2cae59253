"""catalog: pathways (courses/_pathways/<slug>.yml) and their courses

A pathway's credential is an achievement of kind "pathway" (0007 allowed the kind); these tables hold
what the catalog shows: the pathway and its courses in order.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 21:15:00
"""
from alembic import op
import sqlalchemy as sa
import lms.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pathways',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('required_count', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('synced_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('required_count >= 1', name=op.f('ck_pathways_requires_a_course')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pathways')),
    sa.UniqueConstraint('slug', name=op.f('uq_pathways_slug'))
    )
    op.create_table('pathway_courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_pathway_courses_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathways.id'], name=op.f('fk_pathway_courses_pathway_id_pathways'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pathway_courses')),
    sa.UniqueConstraint('pathway_id', 'course_id', name=op.f('uq_pathway_courses_pathway_id_course_id')),
    sa.UniqueConstraint('pathway_id', 'position', name=op.f('uq_pathway_courses_pathway_id_position'))
    )
    with op.batch_alter_table('pathway_courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pathway_courses_course_id'), ['course_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pathway_courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pathway_courses_course_id'))

    op.drop_table('pathway_courses')
    op.drop_table('pathways')
