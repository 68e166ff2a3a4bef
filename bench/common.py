"""Shared pieces of the benchmarks: the machine, a fresh embedded stack, percentiles, RSS."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
# Data that lives beside the checkout, never in it (the dev set's news texts are third-party):
# see the README's Quality section.
SHARED = REPO_ROOT.parent / "shared"
DEV_SET = SHARED / "eval" / "semeval_dev.jsonl"
EXTRACTION_BENCH = SHARED / "extraction-bench"
# The exit status of a benchmark whose data is absent.
NO_DATA_EXIT = 2
# The two matching modes the bench measures side by side: the default (the sentence encoder on)
# and the lexical mode a deployment that cannot pay the encoder's CPU runs.
MODES = ("semantic", "lexical")
# Where the bench keeps what it computed from data outside the checkout (dev-set embeddings):
# gitignored, never committed.
CACHE_DIR = REPO_ROOT / "bench" / ".cache"


def mode_env(mode: str) -> dict[str, str]:
    """The service's environment for a matching mode."""
    if mode not in MODES:
        raise ValueError(f"unknown matching mode {mode!r}: one of {', '.join(MODES)}")
    return {"NEWSDEDUP_SEMANTIC_MATCHING": "true" if mode == "semantic" else "false"}


def require_data(path: Path, what: str, how_to_point: str) -> Path:
    """`path` if it exists; else say what is missing and how to point at it, and exit."""
    if not path.exists():
        print(
            f"{what} is not at {path}.\nIt is not part of the checkout; {how_to_point}.",
            file=sys.stderr,
        )
        raise SystemExit(NO_DATA_EXIT)
    return path


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def machine_summary() -> str:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = psutil.virtual_memory().total / 2**30
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        commit += " (+uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return (
        f"machine: nproc={os.cpu_count()}, CPU {cpu}, RAM {ram_gib:.1f} GiB, "
        f"Python {platform.python_version()}\ngit commit: {commit}"
    )


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def run_module(module: str, args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m module args` from the checkout in its own process (so its RSS and CPU are
    its own) and return the JSON object its last output line holds."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{module} failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def stage_seconds(base_url: str) -> dict[str, tuple[int, float]]:
    """(count, total seconds) of each worker stage (fetch, extract, encode, assign) from the
    service's /metrics: the stage histograms every pool process records."""
    from prometheus_client.parser import text_string_to_metric_families

    body = httpx.get(f"{base_url}/metrics", timeout=30).text
    counts: dict[str, float] = {}
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        if family.name != "newsdedup_stage_duration_seconds":
            continue
        for sample in family.samples:
            stage = sample.labels.get("stage", "")
            if sample.name.endswith("_count"):
                counts[stage] = counts.get(stage, 0.0) + sample.value
            elif sample.name.endswith("_sum"):
                sums[stage] = sums.get(stage, 0.0) + sample.value
    return {stage: (int(counts[stage]), sums.get(stage, 0.0)) for stage in counts}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mib(processes: list[psutil.Process]) -> list[float]:
    sizes = []
    for process in processes:
        try:
            sizes.append(process.memory_info().rss / 2**20)
        except psutil.NoSuchProcess:
            continue
    return sizes


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def postgres_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name"]):
        name = process.info.get("name") or ""
        if name.startswith("postgres"):
            found.append(process)
    return found


@dataclass
class Stack:
    """A running newsdedup as `newsdedup up` runs it, in a temp dir."""

    base_url: str
    database_url: str
    redis_url: str
    api_pid: int
    worker_pid: int
    data_dir: Path
    _cleanup: list[Any] = field(default_factory=list)

    @property
    def libpq_url(self) -> str:
        return self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def worker_children(self) -> list[psutil.Process]:
        """The worker's child processes: the prefork pool and the embedded beat."""
        try:
            children: list[psutil.Process] = psutil.Process(self.worker_pid).children()
        except psutil.NoSuchProcess:
            return []
        return children

    def pool_processes(self, workers: int) -> list[psutil.Process]:
        """The pool processes are the children that did the work: the most CPU time."""
        return sorted(self.worker_children(), key=lambda p: cpu_seconds([p]), reverse=True)[
            :workers
        ]

    def pause_workers(self) -> None:
        for process in process_tree(self.worker_pid):
            process.send_signal(signal.SIGSTOP)

    def resume_workers(self) -> None:
        for process in process_tree(self.worker_pid):
            process.send_signal(signal.SIGCONT)


class ServiceCpu:
    """CPU seconds the service uses from now on, by group: the Celery worker tree (as it is at
    the start), the API, and every PostgreSQL process (backends come and go, so by pid)."""

    def __init__(self, stack: Stack) -> None:
        self._groups = {
            "workers": process_tree(stack.worker_pid),
            "api": process_tree(stack.api_pid),
        }
        self._before = {name: cpu_seconds(ps) for name, ps in self._groups.items()}
        self._postgres_before = {p.pid: cpu_seconds([p]) for p in postgres_processes()}

    def used(self) -> dict[str, float]:
        used = {name: cpu_seconds(ps) - self._before[name] for name, ps in self._groups.items()}
        used["postgres"] = sum(
            cpu_seconds([p]) - self._postgres_before.get(p.pid, 0.0) for p in postgres_processes()
        )
        return used


@contextmanager
def running_stack(workers: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Fresh embedded PostgreSQL + Redis, migrations, API and Celery workers; all stopped after.
    The service's log goes to service.log in the stack's folder, not to the benchmark's output."""
    from ops.stack import local_stack

    with tempfile.TemporaryDirectory(prefix="newsdedup-bench-") as tmp:
        data_dir = Path(tmp)
        env = {
            "NEWSDEDUP_FETCH_ALLOW_LOOPBACK": "true",
            # Every page comes from one local server: the per-host politeness gate (one
            # request a second, two in flight) would measure itself, not the pipeline.
            "NEWSDEDUP_POLITENESS_MIN_INTERVAL_S": "0",
            "NEWSDEDUP_POLITENESS_MAX_IN_FLIGHT": "1000",
            **(extra_env or {}),
        }
        with local_stack(
            data_dir, workers=workers, extra_env=env, log_path=data_dir / "service.log"
        ) as local:
            stack = Stack(
                local.api_url,
                local.database_url,
                local.redis_url,
                local.api_pid,
                local.worker_pid,
                data_dir,
            )
            try:
                yield stack
            finally:
                # A benchmark may have paused the workers; stopping them needs them running.
                stack.resume_workers()
