# syntax=docker/dockerfile:1
#
# One image for every role; the compose file picks the role with the command:
#   newsdedup migrate | newsdedup api --host 0.0.0.0 --port 8000 | newsdedup worker ...
# Every dependency ships a manylinux wheel, so neither stage needs a compiler or any apt package.

# --- build: install the project and its runtime dependencies into a venv -----------------
FROM python:3.11.14-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src
# README* matches nothing when the file is absent; COPY accepts that since pyproject.toml matches.
COPY pyproject.toml README* ./
COPY service ./service
COPY workers ./workers
COPY ops ./ops
# No extras: the dev tools (pytest, ruff, mypy, hadolint, testcontainers) stay out of the image.
RUN pip install --no-cache-dir .

# --- runtime: the venv, the migrations, a non-root user ------------------------------------
FROM python:3.11.14-slim-bookworm AS runtime

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NEWSDEDUP_DATA_DIR=/var/lib/newsdedup

RUN groupadd --system --gid 10001 newsdedup \
    && useradd --system --uid 10001 --gid newsdedup --create-home \
        --home-dir /home/newsdedup --shell /usr/sbin/nologin newsdedup \
    && mkdir -p /var/lib/newsdedup \
    && chown newsdedup:newsdedup /var/lib/newsdedup

COPY --from=build /opt/venv /opt/venv

# `newsdedup migrate` runs alembic against alembic.ini and alembic/ in the working directory.
WORKDIR /app
COPY alembic.ini ./
COPY alembic ./alembic

USER 10001:10001

EXPOSE 8000

# Meant for the api role (the default command). /healthz answers 200 only when PostgreSQL and
# Redis both answer; urlopen raises on any other status, so the exit code is non-zero then.
# curl is not in the slim image, hence Python. The compose file disables this for the
# migrate and worker roles, which serve no HTTP.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["newsdedup"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
