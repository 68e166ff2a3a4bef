"""Operations around the service, outside the domain: the command line, running the whole stack
on one machine without Docker, database migrations, and the evaluation client that drives a
running service over HTTP. Nothing in service/ or workers/ imports from here."""

from pathlib import Path

# The checkout (or, in the Docker image, /app): where alembic.ini, seeds/ and the packages live.
REPO_ROOT = Path(__file__).resolve().parent.parent
