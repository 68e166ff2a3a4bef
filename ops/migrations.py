"""Database migrations: Alembic, against alembic.ini and alembic/ in the checkout (or, in the
Docker image, the working directory). The migration history is the only way the schema is made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from ops import REPO_ROOT


def migrations_root() -> Path:
    """The folder holding alembic.ini: the checkout, or the working directory of an installed
    package (the Docker image copies alembic/ and alembic.ini to /app)."""
    for candidate in (REPO_ROOT, Path.cwd()):
        if (candidate / "alembic.ini").exists():
            return candidate
    raise FileNotFoundError("alembic.ini not found next to the package or in the working directory")


def alembic_config(database_url: str) -> Config:
    root = migrations_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    config.attributes["database_url"] = database_url
    return config


def migrate(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
