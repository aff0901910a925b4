"""trigram indexes for the big lists' search (PostgreSQL only)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 01:00:00

The lists find a word anywhere in a reference, a name or a postcode (`ILIKE '%word%'`,
admin_views/search.py). Without an index PostgreSQL reads all 100,000 pupils for every search
(300 ms a page, bench/RESULTS.md); a pg_trgm GIN index finds the few matching rows directly.
pg_trgm ships with PostgreSQL and is a trusted extension: the database's owner can create it.
GIN's pending list (rows written but not yet merged into the index) is capped at 256 kB, not
4 MB: every search reads the whole list, and after the benchmark county's bulk load a 4 MB
list made each search 270 ms until autovacuum merged it (29 ms after); 256 kB keeps a search
under 10 ms for +0.9 s per 50,000 pupils inserted.
SQLite has no such index and needs none (its LIKE scan is the cheaper one), so nothing changes
there. Downgrading drops the indexes and leaves the extension, which other objects may use.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_LIST_KB = 256
COLUMNS = (
    ("pupil", "reference"),
    ("pupil", "first_name"),
    ("pupil", "last_name"),
    ("pupil", "postcode"),
    ("transport_application", "reference"),
    ("concessionary_application", "reference"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in COLUMNS:
        op.create_index(
            f"ix_{table}_{column}_trgm",
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
            postgresql_with={"gin_pending_list_limit": PENDING_LIST_KB},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in reversed(COLUMNS):
        op.drop_index(f"ix_{table}_{column}_trgm", table_name=table)
