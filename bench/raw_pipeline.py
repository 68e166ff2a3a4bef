"""Section 1 (raw-text pipeline) in both matching modes, its bare floor, and section 6 (profile
of a worker during it).

The service runs as `newsdedup up` runs it: a fresh embedded stack, 2 worker processes, once per
matching mode (semantic: the sentence encoder on, the default; lexical:
NEWSDEDUP_SEMANTIC_MATCHING=false), each stack fresh and fed the same corpus. Articles go in
through POST /articles/batch (50 a request) while a feeder keeps a bounded number in flight, so
latency is that of a loaded service, not of a 10,000-deep backlog. Latency is processed_at -
created_at from PostgreSQL; throughput is articles over the span from the first created_at to
the last processed_at. Per-stage times are the service's own stage histograms, read from
/metrics at the end of each run.

The floor (bench/floor.py) is the encoder plus MinHash on the same articles in two processes,
with nothing else; it runs after the two stacks have stopped, on a sample of the corpus.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from bench import floor
from bench.common import (
    MODES,
    REPO_ROOT,
    ServiceCpu,
    mode_env,
    percentile,
    process_tree,
    rss_mib,
    running_stack,
    stage_seconds,
)
from bench.corpus import Article, Corpus, make_corpus

POST_BATCH = 50
# What the service's PostgreSQL backends are doing, sampled 4 times a second.
WAIT_SQL = (
    "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'on CPU'), query "
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend' AND state <> 'idle'"
)
# Where a worker's time goes, as inclusive shares of the profile's samples.
PROFILE_STAGES = [
    "process_article (service/processing.py",
    "extract (service/processing.py",
    "detect_language (",
    "extract_features (",
    "embed (",
    "assign_story (",
    "find_candidates (",
    "document_frequencies (",
    "choose_story (",
    "index_article (",
    "lock_keys (",
    "known_boilerplate (",
    "count_source_lines (",
    "execute (sqlalchemy/orm/session.py",
    "commit (sqlalchemy/orm/session.py",
]
WORKERS = 2
# Articles the floor embeds, an even sample of the corpus: its rate is steady after a few hundred
# articles (the input is capped at 48 tokens, so nearly every article costs the same), and all
# 10,000 would add ~5 minutes to the run.
FLOOR_ARTICLES = 2_000


@dataclass
class PipelineResult:
    mode: str
    articles: int
    duplicate_share: float
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    failed: int
    failed_reasons: Counter[str]
    pair_recall: float
    pairs: int
    mixed_stories: int
    mixed_stories_labelled_same: int
    stories: int
    pool_rss_mib: list[float]
    worker_tree_rss_mib: float
    cpu_share: dict[str, float]
    inflight: int
    # Each worker stage's (count, total seconds), from the service's /metrics.
    stages: dict[str, tuple[int, float]] = field(default_factory=dict)
    profile: list[tuple[str, float, float]] = field(default_factory=list)
    profile_stages: dict[str, float] = field(default_factory=dict)
    profile_note: str = ""
    # (state | wait event | query, mean number of service backends in it per sample)
    backend_waits: list[tuple[str, float]] = field(default_factory=list)

    @property
    def cpu_ms_per_article(self) -> float:
        """CPU per article of every process of the service (workers, PostgreSQL, API)."""
        return sum(ms for name, ms in self.cpu_share.items() if not name.startswith("_"))


@dataclass
class RawResult:
    """Section 1: each mode's run, the floor, and the bare-datasketch baseline."""

    modes: dict[str, PipelineResult]
    floor: floor.FloorResult | None
    baseline_throughput: float
    baseline_recall: float
    baseline_mixed: int

    def floor_ratio(self, mode: str = "semantic") -> float | None:
        """The mode's articles/s over the floor's (semantic mode only: the floor is the
        encoder's work)."""
        if self.floor is None or mode != "semantic" or mode not in self.modes:
            return None
        return self.modes[mode].throughput / self.floor.articles_per_s

    def floor_cpu_ratio(self, mode: str = "semantic") -> float | None:
        """The floor's CPU per article over the mode's (all its processes): what the throughput
        ratio is when both saturate the same cores, whatever else ran between the two (a
        cross-check of floor_ratio on a busy machine)."""
        if self.floor is None or mode != "semantic" or mode not in self.modes:
            return None
        return self.floor.cpu_ms_per_article / self.modes[mode].cpu_ms_per_article


def run(
    n: int,
    *,
    duplicate_share: float,
    inflight: int,
    profile_s: float,
    workers: int = WORKERS,
    modes: tuple[str, ...] = MODES,
    floor_articles: int | None = None,
) -> RawResult:
    corpus = make_corpus(n, duplicate_share)
    print(
        f"  corpus: {len(corpus.articles)} articles, {corpus.originals} originals, "
        f"{corpus.duplicate_share:.0%} near-duplicate copies",
        flush=True,
    )
    results = {}
    for mode in modes:
        results[mode] = run_service(
            corpus, inflight=inflight, profile_s=profile_s, workers=workers, mode=mode
        )
        print(
            f"  {mode}: {results[mode].throughput:.1f} articles/s, p50 "
            f"{results[mode].p50_ms:.0f} ms, p99 {results[mode].p99_ms:.0f} ms",
            flush=True,
        )
    floor_result = None
    if "semantic" in modes:
        sample = floor_sample(corpus, FLOOR_ARTICLES if floor_articles is None else floor_articles)
        floor_result = floor.run([{"title": a.title, "text": a.text} for a in sample], workers)
        print(
            f"  floor (encoder + MinHash, {workers} processes, {len(sample):,} articles): "
            f"{floor_result.articles_per_s:.1f} articles/s",
            flush=True,
        )
    base_throughput, base_recall, base_mixed = run_baseline(corpus)
    return RawResult(results, floor_result, base_throughput, base_recall, base_mixed)


def floor_sample(corpus: Corpus, size: int) -> list[Article]:
    """An even sample of the corpus in posting order (all of it for 0 or more than it has)."""
    if size <= 0 or size >= len(corpus.articles):
        return list(corpus.articles)
    step = len(corpus.articles) / size
    return [corpus.articles[int(i * step)] for i in range(size)]


def run_service(
    corpus: Corpus,
    *,
    inflight: int,
    profile_s: float,
    workers: int = WORKERS,
    mode: str = "semantic",
) -> PipelineResult:
    with running_stack(workers, extra_env=mode_env(mode)) as stack:
        ids: list[int] = []
        rss_peak: dict[int, float] = {}
        tree_peak = 0.0
        stop = threading.Event()

        def sample_rss() -> None:
            nonlocal tree_peak
            while not stop.is_set():
                for child in stack.worker_children():
                    for pid_rss in rss_mib([child]):
                        rss_peak[child.pid] = max(rss_peak.get(child.pid, 0.0), pid_rss)
                tree_peak = max(tree_peak, sum(rss_mib(process_tree(stack.worker_pid))))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        cpu = ServiceCpu(stack)
        waits: Counter[str] = Counter()
        wait_samples = 0
        profiler: subprocess.Popen[bytes] | None = None
        profile_file = stack.data_dir / "profile.txt"
        profile_note = ""
        n = len(corpus.articles)
        with (
            httpx.Client(base_url=stack.base_url, timeout=60) as client,
            psycopg.connect(stack.libpq_url, autocommit=True) as db,
        ):
            position = 0
            next_wait_sample = 0.0
            while True:
                pending = db.execute(
                    "SELECT count(*) FROM articles WHERE status IN ('queued', 'processing')"
                ).fetchone()
                assert pending is not None
                busy = int(pending[0])
                if position < n and busy + POST_BATCH <= inflight:
                    batch = corpus.articles[position : position + POST_BATCH]
                    answer = client.post(
                        "/articles/batch", json={"articles": [a.payload() for a in batch]}
                    )
                    answer.raise_for_status()
                    ids.extend(int(a["id"]) for a in answer.json()["articles"])
                    position += len(batch)
                    continue
                if profiler is None and profile_s > 0 and position >= n // 5:
                    profiler, profile_note = start_profiler(
                        stack.worker_pid, profile_file, profile_s
                    )
                if position >= n and busy == 0:
                    break
                if time.monotonic() >= next_wait_sample:
                    next_wait_sample = time.monotonic() + 0.25
                    wait_samples += 1
                    for state, event, query in db.execute(WAIT_SQL).fetchall():
                        waits[f"{state} | {event} | {' '.join(str(query).split())[:70]}"] += 1
                time.sleep(0.02)
            cpu_used = cpu.used()
            stage_times = stage_seconds(stack.base_url)
            stop.set()
            sampler.join()
            rows = db.execute(
                "SELECT id, status, story_id, error, "
                "extract(epoch FROM processed_at - created_at), "
                "extract(epoch FROM created_at), extract(epoch FROM processed_at) "
                "FROM articles ORDER BY id"
            ).fetchall()
        pool = stack.pool_processes(workers)
        pool_rss = [rss_peak.get(p.pid, 0.0) for p in pool]
        if profiler is not None:
            try:
                profiler.wait(timeout=profile_s + 30)
            except subprocess.TimeoutExpired:
                profiler.kill()
        profile = top_functions(profile_file) if profile_file.exists() else []
        stages = top_inclusive(profile_file, PROFILE_STAGES) if profile else {}
        if profiler is not None and not profile:
            err = profiler.stderr.read().decode(errors="replace") if profiler.stderr else ""
            profile_note = "py-spy produced no samples: " + err.strip()[-300:]

    by_id = {int(r[0]): r for r in rows}
    done = [by_id[i] for i in ids if by_id[i][1] == "done"]
    failed = [by_id[i] for i in ids if by_id[i][1] == "failed"]
    latencies = [float(r[4]) * 1000 for r in done]
    start = min(float(r[5]) for r in rows)
    end = max(float(r[6]) for r in rows if r[6] is not None)
    story_of = {i: by_id[i][2] for i in ids if by_id[i][1] == "done"}
    recall, pairs, mixed, mixed_same, stories = cluster_quality(
        corpus, ids, lambda i: story_of.get(i)
    )
    total_cpu = sum(cpu_used.values()) or 1.0
    return PipelineResult(
        mode=mode,
        articles=len(ids),
        duplicate_share=corpus.duplicate_share,
        throughput=len(ids) / (end - start),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        failed=len(failed),
        failed_reasons=Counter(str(r[3]).split(":")[0][:40] for r in failed),
        pair_recall=recall,
        pairs=pairs,
        mixed_stories=mixed,
        mixed_stories_labelled_same=mixed_same,
        stories=stories,
        pool_rss_mib=pool_rss,
        worker_tree_rss_mib=tree_peak,
        cpu_share={
            name: used / len(ids) * 1000 for name, used in cpu_used.items()
        }  # CPU ms per article
        | {"_total_s": total_cpu},
        inflight=inflight,
        stages=stage_times,
        profile=profile,
        profile_stages=stages,
        profile_note=profile_note,
        backend_waits=[(k, v / max(1, wait_samples)) for k, v in waits.most_common(8)],
    )


def cluster_quality(
    corpus: Corpus, keys: list[int], cluster_of: object
) -> tuple[float, int, int, int, int]:
    """Share of (original, copy) pairs that ended in one cluster (pairs with a failed article
    left out); clusters holding more than one seed group, and how many of those join groups
    the dev set labels one story."""
    assert callable(cluster_of)
    original_cluster: dict[int, object] = {}
    for key, article in zip(keys, corpus.articles, strict=True):
        if article.is_original:
            original_cluster[article.group] = cluster_of(key)
    hits = pairs = 0
    members: dict[object, set[int]] = defaultdict(set)
    for key, article in zip(keys, corpus.articles, strict=True):
        cluster = cluster_of(key)
        if cluster is not None:
            members[cluster].add(article.group)
        if article.is_original:
            continue
        base = original_cluster.get(article.group)
        if base is None or cluster is None:
            continue
        pairs += 1
        hits += base == cluster
    mixed = [groups for groups in members.values() if len(groups) > 1]
    labelled = sum(
        1 for groups in mixed if len(groups) == 2 and frozenset(groups) in corpus.same_story_groups
    )
    return (hits / pairs if pairs else float("nan")), pairs, len(mixed), labelled, len(members)


def run_baseline(corpus: Corpus) -> tuple[float, float, int]:
    """Bare datasketch: word 5-shingles, 128 permutations, in-memory MinHashLSH (threshold
    0.5), one process; a copy joins the cluster of its first LSH hit."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    cluster: dict[int, int] = {}
    started = time.perf_counter()
    for key, article in enumerate(corpus.articles):
        words = re.findall(r"\w+", (article.title + "\n" + article.text).casefold())
        shingles = {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        minhash = MinHash(num_perm=128)
        minhash.update_batch([s.encode("utf-8") for s in shingles])
        hits = lsh.query(minhash)
        cluster[key] = cluster[min(hits)] if hits else key
        lsh.insert(key, minhash)
    elapsed = time.perf_counter() - started
    recall, _, mixed, _, _ = cluster_quality(corpus, list(range(len(corpus.articles))), cluster.get)
    return len(corpus.articles) / elapsed, recall, mixed


# ---------------------------------------------------------------------------------------------
# Section 6: py-spy on the worker while section 1 runs.


def py_spy_path() -> str | None:
    candidate = REPO_ROOT / ".venv" / "bin" / "py-spy"
    if candidate.exists():
        return str(candidate)
    return shutil.which("py-spy")


def start_profiler(
    worker_pid: int, output: Path, duration_s: float
) -> tuple[subprocess.Popen[bytes] | None, str]:
    binary = py_spy_path()
    if binary is None:
        return None, "py-spy not installed (pip install py-spy into .venv)"
    command = [
        binary,
        "record",
        "--pid",
        str(worker_pid),
        "--subprocesses",
        "--rate",
        "100",
        "--duration",
        str(int(duration_s)),
        "--format",
        "raw",
        "--output",
        str(output),
        "--nonblocking",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return process, f"py-spy record --subprocesses on the Celery worker for {int(duration_s)} s"


FRAME_RE = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    match = FRAME_RE.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('func')} ({path})"


def collapsed_stacks(raw_file: Path) -> Iterator[tuple[str, int]]:
    """(stack, sample count) for each line of py-spy's collapsed ("raw") output."""
    for line in raw_file.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            yield stack, int(count_text)


def top_functions(raw_file: Path, limit: int = 10) -> list[tuple[str, float, float]]:
    """(function, self %, total %) from py-spy's collapsed stacks, top by self time."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for stack, count in collapsed_stacks(raw_file):
        frames = [_frame_name(f) for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return []
    return [
        (name, 100 * count / total, 100 * inclusive[name] / total)
        for name, count in own.most_common(limit)
    ]


def top_inclusive(raw_file: Path, names: list[str]) -> dict[str, float]:
    """Inclusive share of the samples under functions whose name contains each given string."""
    found: Counter[str] = Counter()
    total = 0
    for stack, count in collapsed_stacks(raw_file):
        total += count
        for name in names:
            if name in stack:
                found[name] += count
    return {name: 100 * found[name] / total if total else 0.0 for name in names}
