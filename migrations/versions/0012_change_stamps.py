"""change stamps: a random number per learner (and one for the catalog) that changes with their data

The learner dashboard is cached per process (lms/progress/dashboard_cache.py, decision 0026); an
entry is good while the stamps it was rendered under are unchanged. Database triggers replace a
stamp whenever a row the dashboard reads is written, by any code path (the ORM, Core statements,
COPY, a psql session): enrollments, item completions, quiz attempts, capstone submissions, review
cards and credentials stamp their learner; courses and pathways stamp the catalog.

A stamp is random rather than a counter so that a database emptied and refilled (tests, a restore)
never repeats a stamp a long-lived process has cached. ``change_stamps.scope`` has no foreign key on
purpose: a learner's rows deleted by the cascade of their account's deletion stamp them, and the
stamp must not fail because the account row is already gone.

Both databases upsert the stamp (``INSERT ... ON CONFLICT (scope) DO UPDATE``). Not SQLite's
``INSERT OR REPLACE``: the conflict policy of a statement that fires a trigger overrides the
trigger's own, so an outer ``INSERT OR IGNORE`` would silently drop the stamp; an upsert is not a
conflict policy and is not overridden (tests/progress/test_dashboard_cache.py checks it). PostgreSQL
uses one PL/pgSQL function for every table, told by its argument how to find the scope.

SQLite drops a table's triggers with the table: a later migration that rebuilds one of these tables
in batch mode must create its triggers again (the tests write to every stamped table of a database
migrated to head and fail if one does not stamp).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# table -> how its rows name the scope they stamp
STAMPED = {
    "enrollments": "user",
    "credentials": "user",
    "item_completions": "enrollment",
    "quiz_attempts": "enrollment",
    "submissions": "enrollment",
    "review_cards": "enrollment",
    "courses": "catalog",
    "pathways": "catalog",
}
OPERATIONS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}

PG_FUNCTION = """
CREATE FUNCTION change_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec record;
    stamp_scope text;
BEGIN
    IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
    IF TG_ARGV[0] = 'catalog' THEN
        stamp_scope := 'catalog';
    ELSIF TG_ARGV[0] = 'user' THEN
        stamp_scope := 'learner:' || rec.user_id;
    ELSE
        SELECT 'learner:' || e.user_id INTO stamp_scope FROM enrollments e WHERE e.id = rec.enrollment_id;
    END IF;
    IF stamp_scope IS NOT NULL THEN
        INSERT INTO change_stamps (scope, stamp) VALUES (stamp_scope, (random() * 9007199254740991)::bigint)
        ON CONFLICT (scope) DO UPDATE SET stamp = EXCLUDED.stamp;
    END IF;
    RETURN NULL;
END
$$
"""


def _sqlite_trigger(table: str, kind: str, operation: str) -> str:
    row = OPERATIONS[operation]
    if kind == "catalog":
        source = "SELECT 'catalog', random() WHERE true"
    elif kind == "user":
        source = f"SELECT 'learner:' || {row}.user_id, random() WHERE {row}.user_id IS NOT NULL"
    else:
        source = f"SELECT 'learner:' || user_id, random() FROM enrollments WHERE id = {row}.enrollment_id"
    # ("WHERE true": SQLite's parser needs a WHERE before an upsert's ON CONFLICT after a SELECT.)
    return (f"CREATE TRIGGER change_stamp_{table}_{operation} AFTER {operation.upper()} ON {table} BEGIN "
            f"INSERT INTO change_stamps (scope, stamp) {source} "
            f"ON CONFLICT (scope) DO UPDATE SET stamp = excluded.stamp; END")


def upgrade() -> None:
    op.create_table('change_stamps',
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('stamp', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_change_stamps'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table, kind in STAMPED.items():
            op.execute(f"CREATE TRIGGER change_stamp AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION change_stamp('{kind}')")
    else:
        for table, kind in STAMPED.items():
            for operation in OPERATIONS:
                op.execute(_sqlite_trigger(table, kind, operation))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in STAMPED:
            op.execute(f"DROP TRIGGER change_stamp ON {table}")
        op.execute("DROP FUNCTION change_stamp()")
    else:
        for table in STAMPED:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER change_stamp_{table}_{operation}")
    op.drop_table('change_stamps')
