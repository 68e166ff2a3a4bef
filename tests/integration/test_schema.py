"""The SQLAlchemy models and the Alembic migrations describe the same schema.

A fresh database is migrated to head and compared with the models by Alembic's autogenerate: any
difference in tables, columns, column types, nullability, primary and foreign keys fails. Two
things are compared one way only, because the migrations may say more than the models:
- indexes: every index a model declares must exist; the indexes the migrations add for queries
  (the sweeper's partial index, look-ups by URL or hash) need not be declared on the models.
- server defaults: a server default a model declares must be the migration's; a column the model
  gives no server default may have one in the database (for rows written by plain SQL).
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column

from ops.migrations import migrate
from service.db import make_engine
from service.models import Base


def only_declared_indexes(
    item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave out an index the database has and the models do not declare."""
    return not (type_ == "index" and reflected and compare_to is None)


def declared_server_defaults(
    context: MigrationContext,
    inspected_column: Column[Any],
    metadata_column: Column[Any],
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """No difference where the model declares no server default; else Alembic compares."""
    return False if metadata_column.server_default is None else None


def shown(value: Any) -> str:
    """A server default as SQL text; anything else as itself."""
    value = getattr(value, "arg", value)
    return str(getattr(value, "text", repr(value)))


def describe(difference: Any) -> str:
    """One line for one of compare_metadata's differences: an operation tuple, or a list of
    column modifications."""
    if isinstance(difference, list):
        return "; ".join(describe(modification) for modification in difference)
    operation, *rest = difference
    if operation.startswith("modify_"):
        _, table, column, _, database, models = rest
        return f"{operation} {table}.{column}: database {shown(database)}, models {shown(models)}"
    return f"{operation} {' '.join(str(part) for part in rest)}"


def schema_differences(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": declared_server_defaults,
                    "include_object": only_declared_indexes,
                },
            )
            return [describe(d) for d in compare_metadata(context, Base.metadata)]
    finally:
        engine.dispose()


def test_models_match_a_fresh_database_migrated_to_head(empty_database_url: str) -> None:
    migrate(empty_database_url)

    differences = schema_differences(empty_database_url)

    assert not differences, "models and migrations differ:\n" + "\n".join(differences)
