"""The typed models describe the schema the migrations make: a database migrated to head with
Alembic is compared with ``service.models`` by Alembic's own autogenerate comparison, so a
column, type, nullability, foreign key or index in one and not the other fails here."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from service.models import Base

# Differences older than this test, by (kind, table, name): indexes 0001/0002 made without
# declaring them on the models, and created_at/updated_at columns the models type as required
# while the migrations leave them nullable (both filled by server defaults). Listed so that
# every new difference fails; whoever aligns them removes them from here.
KNOWN_BEFORE_0004 = {
    ("remove_index", "articles", "ix_articles_pending"),
    ("remove_index", "articles", "ix_articles_story_id"),
    ("remove_index", "articles", "ix_articles_text_hash"),
    ("remove_index", "articles", "ix_articles_url"),
    ("remove_index", "idempotency_keys", "ix_idempotency_keys_created_at"),
    ("remove_index", "lsh_bands", "ix_lsh_bands_article_id"),
    ("remove_index", "stories", "ix_stories_created_at"),
    ("modify_nullable", "articles", "created_at"),
    ("modify_nullable", "articles", "updated_at"),
    ("modify_nullable", "idempotency_keys", "created_at"),
    ("modify_nullable", "stories", "created_at"),
    ("modify_nullable", "stories", "updated_at"),
}


def _described(difference: Any) -> tuple[str, str, str]:
    if isinstance(difference, list):  # column modifications come as a list of one tuple
        kind, _, table, column, *_ = difference[0]
        return (kind, table, column)
    kind, item = difference[0], difference[1]
    if kind.endswith("_index"):
        return (kind, item.table.name, item.name)
    if kind.endswith("_column"):
        return (kind, difference[2], difference[3].name)
    if kind.endswith("_table"):
        return (kind, item.name, "")
    if kind.endswith("_fk"):
        return (kind, item.parent.name, item.name or "")
    return (kind, str(item), "")


def test_the_models_match_the_schema_alembic_makes(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()

    found = {_described(d) for d in differences}
    assert found - KNOWN_BEFORE_0004 == set()
