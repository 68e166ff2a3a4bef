"""Article embeddings: the sentence encoder's row for each processed article, stored once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # 384 float16 values (768 bytes): computing an embedding costs ~50 ms of CPU, so it is made
    # once, when the article is processed, and read back whenever the article is a candidate.
    # NULL while the encoder is off (NEWSDEDUP_SEMANTIC_MATCHING=false).
    op.add_column("articles", sa.Column("embedding", sa.LargeBinary))


def downgrade() -> None:
    op.drop_column("articles", "embedding")
