"""Initial schema: articles, stories, the LSH band index, corpus statistics, the story view.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STORY_MEMBERS_VIEW = """
CREATE VIEW story_members AS
SELECT s.id AS story_id,
       s.size AS story_size,
       s.canonical_article_id,
       canonical.title AS canonical_title,
       canonical.url AS canonical_url,
       a.id AS article_id,
       a.title,
       a.url,
       a.source,
       a.match_kind,
       a.similarity,
       a.id = s.canonical_article_id AS is_canonical,
       a.published_at,
       a.created_at
FROM stories s
JOIN articles a ON a.story_id = s.id
LEFT JOIN articles canonical ON canonical.id = s.canonical_article_id
"""


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("canonical_article_id", sa.BigInteger, nullable=True),
        sa.Column("size", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("error", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("content", sa.Text),
        sa.Column("content_kind", sa.String(8)),
        sa.Column("text", sa.Text),
        sa.Column("text_hash", sa.LargeBinary),
        sa.Column("language", sa.String(8)),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("story_id", sa.BigInteger, sa.ForeignKey("stories.id"), nullable=True),
        sa.Column("match_kind", sa.String(16)),
        sa.Column("similarity", sa.Float),
        sa.Column("matched_article_id", sa.BigInteger),
        sa.Column("features", JSONB),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("processed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('queued', 'processing', 'done', 'failed')", name="ck_articles_status"
        ),
        sa.CheckConstraint(
            "match_kind IS NULL OR match_kind IN ('canonical', 'exact', 'near_copy', 'rewrite')",
            name="ck_articles_match_kind",
        ),
        # A failed article always says why.
        sa.CheckConstraint(
            "status <> 'failed' OR error IS NOT NULL", name="ck_articles_failed_reason"
        ),
    )
    op.create_foreign_key(
        "fk_stories_canonical", "stories", "articles", ["canonical_article_id"], ["id"]
    )
    op.create_index("ix_articles_story_id", "articles", ["story_id"])
    op.create_index("ix_articles_text_hash", "articles", ["text_hash"])
    op.create_index("ix_articles_url", "articles", ["url"])
    # The sweeper looks for work that has waited too long.
    op.create_index(
        "ix_articles_pending",
        "articles",
        ["updated_at"],
        postgresql_where=sa.text("status IN ('queued', 'processing')"),
    )
    op.create_index("ix_stories_created_at", "stories", ["created_at", "id"])

    op.create_table(
        "article_signatures",
        sa.Column(
            "article_id",
            sa.BigInteger,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("scheme", JSONB, nullable=False),
        sa.Column("hashvalues", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "lsh_bands",
        sa.Column("band_key", sa.BigInteger, primary_key=True),
        sa.Column(
            "article_id",
            sa.BigInteger,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_lsh_bands_article_id", "lsh_bands", ["article_id"])
    op.create_table(
        "term_document_frequencies",
        sa.Column("term", sa.Text, primary_key=True),
        sa.Column("document_count", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "corpus_counters",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "source_lines",
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.BigInteger, primary_key=True),
        sa.Column("article_count", sa.Integer, nullable=False, server_default="0"),
    )
    op.execute(STORY_MEMBERS_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS story_members")
    op.drop_table("source_lines")
    op.drop_table("corpus_counters")
    op.drop_table("term_document_frequencies")
    op.drop_table("lsh_bands")
    op.drop_table("article_signatures")
    op.drop_constraint("fk_stories_canonical", "stories", type_="foreignkey")
    op.drop_table("articles")
    op.drop_table("stories")
