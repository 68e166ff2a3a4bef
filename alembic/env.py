"""Alembic environment: the only way the schema is made, in production and in tests."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from service.db import make_engine
from service.models import Base
from service.settings import get_settings

# Any number will do as long as every deploy uses the same one: it serialises migrations.
MIGRATION_LOCK_KEY = 7_305_201_881


def run_migrations_online() -> None:
    url = context.config.attributes.get("database_url") or get_settings().database_url
    if not url:
        raise RuntimeError("NEWSDEDUP_DATABASE_URL is not set")
    engine = make_engine(url)
    with engine.connect() as connection:
        # Two deploys starting together must not both migrate; and a migration must not wait
        # forever behind a long query holding a lock.
        connection.execute(text("SET lock_timeout = '10s'"))
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            context.configure(connection=connection, target_metadata=Base.metadata)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported; run against a database")
run_migrations_online()
