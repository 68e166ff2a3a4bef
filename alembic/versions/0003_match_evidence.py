"""Match evidence: why each article joined its story (or started one), kept as it was decided;
and the creation and update times, always set by their defaults, declared NOT NULL as the
models say.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TIMESTAMPS = (
    ("articles", "created_at"),
    ("articles", "updated_at"),
    ("stories", "created_at"),
    ("stories", "updated_at"),
    ("idempotency_keys", "created_at"),
)


def upgrade() -> None:
    # Recomputing the evidence later would use a different corpus (IDF moves as it grows) and
    # perhaps different settings; a story page must show why the service decided as it did.
    op.add_column("articles", sa.Column("match_evidence", JSONB))
    for table, column in TIMESTAMPS:
        # Every row got now() from the column's default; none can be NULL.
        op.execute(f"UPDATE {table} SET {column} = now() WHERE {column} IS NULL")
        op.alter_column(table, column, nullable=False)


def downgrade() -> None:
    for table, column in TIMESTAMPS:
        op.alter_column(table, column, nullable=True)
    op.drop_column("articles", "match_evidence")
