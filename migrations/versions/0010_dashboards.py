"""dashboards: spaced review, course reviews, course stats, prerequisites, nudges

Tables for issue 6: review cards (Leitner boxes of missed questions), course reviews with the
instructor's reply, per-course dashboard snapshots; prerequisites on courses and modules (an empty
list for every existing row: courses stay open), when a learner was last nudged, and the indexes the
dashboards' range queries read.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:00:21.276371
"""
from alembic import op
import sqlalchemy as sa
import lms.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('course_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('reply_html', sa.Text(), nullable=True),
    sa.Column('replied_by_id', sa.Integer(), nullable=True),
    sa.Column('replied_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(reply IS NULL AND reply_html IS NULL AND replied_at IS NULL) OR (reply IS NOT NULL AND reply_html IS NOT NULL AND replied_at IS NOT NULL)', name=op.f('ck_course_reviews_reply_complete')),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_course_reviews_rating_1_to_5')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_reviews_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['replied_by_id'], ['users.id'], name=op.f('fk_course_reviews_replied_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_course_reviews_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_reviews')),
    sa.UniqueConstraint('course_id', 'user_id', name=op.f('uq_course_reviews_course_id_user_id'))
    )
    with op.batch_alter_table('course_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_course_reviews_course_rating', ['course_id', 'rating'], unique=False)
        batch_op.create_index('ix_course_reviews_course_newest', ['course_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_reviews_user_id'), ['user_id'], unique=False)

    op.create_table('course_stats',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_stats_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', name=op.f('pk_course_stats'))
    )
    op.create_table('review_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('quiz_item_id', sa.Integer(), nullable=False),
    sa.Column('question_key', sa.String(length=120), nullable=False),
    sa.Column('box', sa.Integer(), nullable=False),
    sa.Column('due_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.Column('lapses', sa.Integer(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_reviewed_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('missed_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_answer', sa.JSON(), nullable=True),
    sa.CheckConstraint('box BETWEEN 1 AND 5', name=op.f('ck_review_cards_known_box')),
    sa.CheckConstraint('reviews >= 0 AND lapses >= 0', name=op.f('ck_review_cards_counts_not_negative')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_review_cards_enrollment_id_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['quiz_item_id'], ['items.id'], name=op.f('fk_review_cards_quiz_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_cards')),
    sa.UniqueConstraint('enrollment_id', 'quiz_item_id', 'question_key', name=op.f('uq_review_cards_enrollment_id_quiz_item_id_question_key'))
    )
    with op.batch_alter_table('review_cards', schema=None) as batch_op:
        batch_op.create_index('ix_review_cards_enrollment_due', ['enrollment_id', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_cards_quiz_item_id'), ['quiz_item_id'], unique=False)

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prerequisites', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('rating_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('rating_total', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_check_constraint(
            'rating_totals_consistent',
            'rating_count >= 0 AND rating_total >= rating_count AND rating_total <= 5 * rating_count')

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nudged_at', lms.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_enrollments_course_activity', ['course_id', 'last_activity_at'], unique=False)
        batch_op.create_index('ix_enrollments_last_activity_at', ['last_activity_at'], unique=False)

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.create_index('ix_credentials_issued_at', ['issued_at'], unique=False)

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index('ix_reviews_grader_graded_at', ['grader_id', 'graded_at'], unique=False)

    with op.batch_alter_table('modules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prerequisites', sa.JSON(), nullable=False, server_default='[]'))

    # Each quiz's role moves onto its item, so the outline (which reads items alone) can tell module
    # quizzes (steps) from placement and recertification quizzes; existing quizzes take their stored role.
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quiz_role', sa.String(length=20), nullable=True))
    op.execute("UPDATE items SET quiz_role = COALESCE("
               "(SELECT quizzes.role FROM quizzes WHERE quizzes.item_id = items.id), 'module') "
               "WHERE kind = 'quiz'")
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_check_constraint('quizzes_have_a_role', "(kind = 'quiz') = (quiz_role IS NOT NULL)")
        batch_op.create_check_constraint('known_quiz_role',
                                         "quiz_role IN ('module', 'placement', 'recertification')")



def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_items_known_quiz_role'), type_='check')
        batch_op.drop_constraint(op.f('ck_items_quizzes_have_a_role'), type_='check')
        batch_op.drop_column('quiz_role')

    with op.batch_alter_table('modules', schema=None) as batch_op:
        batch_op.drop_column('prerequisites')

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_reviews_grader_graded_at')

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index('ix_credentials_issued_at')

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollments_last_activity_at')
        batch_op.drop_index('ix_enrollments_course_activity')
        batch_op.drop_column('nudged_at')

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_courses_rating_totals_consistent'), type_='check')
        batch_op.drop_column('rating_total')
        batch_op.drop_column('rating_count')
        batch_op.drop_column('prerequisites')

    with op.batch_alter_table('review_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_cards_quiz_item_id'))
        batch_op.drop_index('ix_review_cards_enrollment_due')

    op.drop_table('review_cards')
    op.drop_table('course_stats')
    with op.batch_alter_table('course_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_reviews_user_id'))
        batch_op.drop_index('ix_course_reviews_course_newest')
        batch_op.drop_index('ix_course_reviews_course_rating')

    op.drop_table('course_reviews')
