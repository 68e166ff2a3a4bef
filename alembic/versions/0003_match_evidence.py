"""Match evidence: why each article joined its story (or started one), kept as it was decided.

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


def upgrade() -> None:
    # Recomputing the evidence later would use a different corpus (IDF moves as it grows) and
    # perhaps different settings; a story page must show why the service decided as it did.
    op.add_column("articles", sa.Column("match_evidence", JSONB))


def downgrade() -> None:
    op.drop_column("articles", "match_evidence")
