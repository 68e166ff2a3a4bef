"""Sources: the feeds and sitemaps the service polls, their documents' validators, their fetch
log; and what an article learns from its source and its page (feed GUID, final and canonical
URL, author, site name, declared language), with the time a deferred fetch may run again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-13
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.BigInteger, primary_key=True),
        # As given, after the fetch guard's syntax check: one source per URL.
        sa.Column("url", sa.Text, nullable=False, unique=True),
        # What the user said it is; "auto" takes whatever the first poll finds.
        sa.Column("kind", sa.String(16), nullable=False, server_default="auto"),
        # What the last successful poll found: rss, atom, sitemap, sitemap index.
        sa.Column("document_kind", sa.String(16)),
        sa.Column("title", sa.Text),
        # Set by the user (poll_minutes): the interval stays there instead of adapting.
        sa.Column("pinned_interval_s", sa.Integer),
        # The schedule (service.sources.schedule.PollState), one column per field.
        sa.Column("interval_s", sa.Integer, nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failing_since", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("last_polled_at", sa.DateTime(timezone=True)),
        # A claimed poll: whoever holds the token owns it until lease_until.
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("lease_token", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        # DELETE /sources/{id}: polling stops, the row and its articles stay.
        sa.Column("stopped_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("kind IN ('auto', 'rss', 'atom', 'sitemap')", name="ck_sources_kind"),
        # A failing source always says why.
        sa.CheckConstraint(
            "consecutive_failures = 0 OR last_error IS NOT NULL", name="ck_sources_failed_reason"
        ),
    )
    # The scheduler's look-up each minute: due sources that are still polled.
    op.create_index(
        "ix_sources_due",
        "sources",
        ["next_poll_at"],
        postgresql_where=sa.text("stopped_at IS NULL"),
    )

    op.create_table(
        "source_documents",
        sa.Column(
            "source_id",
            sa.BigInteger,
            sa.ForeignKey("sources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        # The source's own URL, or a child sitemap its index names.
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("body_hash", sa.LargeBinary),
        # A child's lastmod as its index lists it, and as it was when we last read the child.
        sa.Column("listed_lastmod", sa.DateTime(timezone=True)),
        sa.Column("fetched_lastmod", sa.DateTime(timezone=True)),
        sa.Column("fetched_at", sa.DateTime(timezone=True)),
    )

    op.create_table(
        "source_fetches",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "source_id",
            sa.BigInteger,
            sa.ForeignKey("sources.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("documents", sa.Integer, nullable=False, server_default="0"),
        sa.Column("items", sa.Integer, nullable=False, server_default="0"),
        sa.Column("new_items", sa.Integer, nullable=False, server_default="0"),
        sa.Column("detail", sa.Text),
        sa.CheckConstraint(
            "outcome IN ('new_items', 'no_new_items', 'not_modified', 'unchanged', 'failed', "
            "'deferred')",
            name="ck_source_fetches_outcome",
        ),
    )
    # A source's last fetches, newest first.
    op.create_index(
        "ix_source_fetches_source_started", "source_fetches", ["source_id", "started_at"]
    )

    op.add_column(
        "articles",
        sa.Column(
            "source_id",
            sa.BigInteger,
            sa.ForeignKey("sources.id", name="fk_articles_source_id", ondelete="SET NULL"),
        ),
    )
    op.add_column("articles", sa.Column("feed_guid", sa.Text))
    op.add_column("articles", sa.Column("final_url", sa.Text))
    op.add_column("articles", sa.Column("canonical_url", sa.Text))
    op.add_column("articles", sa.Column("author", sa.Text))
    op.add_column("articles", sa.Column("site_name", sa.Text))
    op.add_column("articles", sa.Column("page_language", sa.String(16)))
    # A fetch deferred by robots.txt or the politeness gate runs again then; the sweeper
    # leaves it alone until then.
    op.add_column("articles", sa.Column("fetch_not_before", sa.DateTime(timezone=True)))
    op.create_index("ix_articles_source_id", "articles", ["source_id"])
    # "Is this item's URL known?" matches an article's URL (ix_articles_url, 0001) or the
    # canonical URL its page declared.
    op.create_index("ix_articles_canonical_url", "articles", ["canonical_url"])


def downgrade() -> None:
    op.drop_index("ix_articles_canonical_url", "articles")
    op.drop_index("ix_articles_source_id", "articles")
    for column in (
        "fetch_not_before",
        "page_language",
        "site_name",
        "author",
        "canonical_url",
        "final_url",
        "feed_guid",
        "source_id",
    ):
        op.drop_column("articles", column)
    op.drop_table("source_fetches")
    op.drop_table("source_documents")
    op.drop_table("sources")
