"""Every Prometheus metric of newsdedup, named once, here.

Names follow Prometheus' conventions: the `newsdedup_` prefix, base units (seconds), `_total` on
counters, and bounded labels only (a route template, a stage, a match kind, the kind of a failure
reason): never a URL, a host or an id.

Events are recorded where they happen: requests by the API's middleware
(service/api/instrumentation.py), stage latencies and article outcomes by the worker steps
(service/processing.py), poll outcomes where a poll of a source ends (service/sources/polling.py),
task retries by a Celery signal (workers/celery_app.py). State that PostgreSQL and Redis already
hold (backlog, sources by status, queue depth) is read when /metrics is scraped, by
`StateCollector`, so it is never stale and never double counted.

Multiprocess mode. The API and every Celery pool process are separate processes, each with its
own registry; without a shared place the API's /metrics would see none of the workers' counts.
When PROMETHEUS_MULTIPROC_DIR is set, every process writes its values to memory-mapped files
in that directory and /metrics adds them up (prometheus_client.multiprocess). `./dev up` and the
tests get a directory from ops/stack.py, emptied before the processes start; docker-compose
mounts one volume into the api and worker containers. PROMETHEUS_MULTIPROC_DIR is read from the
environment, not from Settings, because prometheus_client itself reads it under that name.

The "encode" stage (the semantic-matching work's sentence encoder) is timed where it runs with
`with stage_timer(Stage.ENCODE): ...`; its series exists, at zero, from the start.
"""

from __future__ import annotations

import enum
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from service.repositories.articles import Backlog

log = logging.getLogger(__name__)
T = TypeVar("T")

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_ENV) or None


# Each process's files are named after it. The API and worker containers of docker-compose share
# one directory but not a PID namespace (both may run a PID 7), so the name is host and PID. No
# underscore: prometheus_client splits file names on it.
_HOST = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"


def process_identifier(pid: int | None = None) -> str:
    return f"{_HOST}-{os.getpid() if pid is None else pid}"


if multiprocess_dir():
    # Before any metric is made: every value then lives in this process's file.
    values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
        process_identifier=process_identifier
    )


# --- label values: fixed sets ----------------------------------------------------------------


class Stage(enum.StrEnum):
    FETCH = "fetch"  # the page's download (network)
    EXTRACT = "extract"  # HTML or text to clean article text
    ENCODE = "encode"  # the sentence encoder, timed by the semantic-matching work
    ASSIGN = "assign"  # candidates, verification score, story assignment (under the locks)


# Match kinds as stored (service.models.MatchKind); "canonical" means the article started a story.
MATCH_KINDS = ("canonical", "exact", "near_copy", "rewrite")

# A failure reason is "<kind>: <detail>" ("not an article: cookie wall", "fetch failed: url
# refused: private address"); the detail is unbounded (it may quote a host or a status), so only
# the kind is a label value, mapped to this fixed set.
FAILURE_KINDS = {
    "fetch failed": "fetch_failed",
    "not an article": "not_an_article",
    "extraction failed": "extraction_failed",
    "no article text found": "no_text",
    "nothing to process": "nothing_to_process",
    "gave up": "gave_up",  # "gave up after 5 attempts: processing never finished"
}
OTHER = "other"

# A poll's outcome as the fetch log writes it (service.models.FetchOutcome).
JOIN_SIGNALS = ("wording", "meaning")
JOIN_LANGUAGES = ("same", "cross")
POLL_OUTCOMES = ("new_items", "no_new_items", "not_modified", "unchanged", "failed", "deferred")
# A source's status as service.sources.views says it: new (never polled), ok, failing, stopped.
SOURCE_STATUSES = ("new", "ok", "failing", "stopped")


def failure_kind(reason: str | None) -> str:
    """The bounded label value for a failure reason: its kind (the text before its first colon)
    if that is a known kind, else "other"."""
    kind = (reason or "").split(":", 1)[0].strip().casefold()
    if kind.startswith("gave up"):  # the kind carries the attempt count
        kind = "gave up"
    return FAILURE_KINDS.get(kind, OTHER)


# --- the metrics ---------------------------------------------------------------------------

# From 5 ms (a page request, a cached read) to 60 s (beyond the 30 s fetch timeout, so a fetch
# that hits it still lands in a bucket below +Inf).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

HTTP_REQUESTS = Counter(
    "newsdedup_http_requests_total",
    "HTTP requests answered by the API, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "newsdedup_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
ARTICLES_DONE = Counter(
    "newsdedup_articles_done_total",
    "Articles processed into a story, by how they matched: canonical (started a new story), "
    "exact, near_copy, rewrite.",
    ["match_kind"],
)
ARTICLES_FAILED = Counter(
    "newsdedup_articles_failed_total",
    "Articles that ended failed, by the kind of their reason.",
    ["reason"],
)
STAGE_SECONDS = Histogram(
    "newsdedup_stage_duration_seconds",
    "Time a worker spent in one stage of an article: fetch, extract, encode, assign.",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
SOURCE_POLLS = Counter(
    "newsdedup_source_polls",
    "Polls of sources (feeds, sitemaps) by outcome, as the fetch log writes it: new_items, "
    "no_new_items, not_modified, unchanged, failed, and deferred each time a poll waits for its "
    "host (it counts again when it ends).",
    ["outcome"],
)
STORY_JOINS = Counter(
    "newsdedup_story_joins",
    "Articles that joined a story as a near copy or rewrite, by the signal that carried the "
    "decision (wording: shared rare terms and lead; meaning: the sentence encoder) and by "
    "whether the two articles are in one language (same) or not (cross).",
    ["signal", "languages"],
)
ATTRIBUTION_VETOES = Counter(
    "newsdedup_attribution_vetoes",
    "Articles kept out of their best candidate's story only because the two leads cite "
    "different original reporters (NEWSDEDUP_ATTRIBUTION_VETO).",
)
TASK_RETRIES = Counter(
    "newsdedup_task_retries_total",
    "Celery task retries (database errors retried with backoff), by task name.",
    ["task"],
)

# Every series of a fixed label set exists from the start, at zero, so that rate() and alerts
# see a 0 rather than no data before the first event.
for _kind in MATCH_KINDS:
    ARTICLES_DONE.labels(_kind)
for _failure in (*FAILURE_KINDS.values(), OTHER):
    ARTICLES_FAILED.labels(_failure)
for _stage in Stage:
    STAGE_SECONDS.labels(_stage.value)
for _outcome in POLL_OUTCOMES:
    SOURCE_POLLS.labels(_outcome)
for _signal in JOIN_SIGNALS:
    for _languages in JOIN_LANGUAGES:
        STORY_JOINS.labels(_signal, _languages)


def record_done(match_kind: str) -> None:
    ARTICLES_DONE.labels(match_kind if match_kind in MATCH_KINDS else OTHER).inc()


def record_decision(match_kind: str, evidence: Mapping[str, Any]) -> None:
    """A join's deciding signal, or a veto that kept an article apart."""
    if match_kind in ("near_copy", "rewrite"):
        signal = str(evidence.get("deciding_signal", "wording"))
        STORY_JOINS.labels(
            "meaning" if signal.startswith("meaning") else "wording",
            "cross" if evidence.get("cross_language") else "same",
        ).inc()
    elif match_kind == "canonical" and evidence.get("vetoed"):
        ATTRIBUTION_VETOES.inc()


def record_failed(reason: str | None, count: int = 1) -> None:
    if count:
        ARTICLES_FAILED.labels(failure_kind(reason)).inc(count)


def record_poll(outcome: str) -> None:
    SOURCE_POLLS.labels(outcome if outcome in POLL_OUTCOMES else OTHER).inc()


@contextmanager
def stage_timer(stage: Stage) -> Iterator[None]:
    """Time one stage of an article, also when it raises."""
    started = perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(stage.value).observe(perf_counter() - started)


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_REQUEST_SECONDS.labels(method, route).observe(seconds)


def mark_process_dead(pid: int) -> None:
    """For a process that exits (a Celery pool process): its live gauges leave the sum; its
    counters and histograms stay, so totals never go backwards."""
    directory = multiprocess_dir()
    if directory:
        multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
            process_identifier(pid), directory
        )


# --- state read at scrape time ---------------------------------------------------------------


class StateCollector(Collector):
    """Gauges read when scraped: the backlog and the sources by status from PostgreSQL, the
    queue depths from Redis. A backend that does not answer leaves its gauges out and sets
    newsdedup_backend_up to 0: the scrape itself never fails, so the API's own counters are
    there when most needed."""

    def __init__(
        self,
        *,
        backlog: Callable[[], Backlog],
        sources: Callable[[], dict[str, int]],
        queue_depths: Callable[[], dict[str, int]] | None,
    ) -> None:
        self.backlog = backlog
        self.sources = sources
        self.queue_depths = queue_depths

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "newsdedup_backend_up",
            "1 if the backend answered this scrape's state queries, else 0.",
            labels=["backend"],
        )
        postgres = _read_state(up, "postgres", lambda: (self.backlog(), self.sources()))
        if postgres is not None:
            backlog, sources = postgres
            pending = GaugeMetricFamily(
                "newsdedup_backlog_articles",
                "Articles accepted but not final, by status (PostgreSQL, read at scrape time).",
                labels=["status"],
            )
            for status in ("queued", "processing"):
                pending.add_metric([status], backlog.by_status.get(status, 0))
            yield pending
            yield GaugeMetricFamily(
                "newsdedup_backlog_oldest_age_seconds",
                "How long the oldest article not yet final has waited since it was accepted.",
                value=backlog.oldest_age_s,
            )
            by_status = GaugeMetricFamily(
                "newsdedup_sources",
                "Sources by status: new (never polled), ok, failing, stopped (PostgreSQL, read "
                "at scrape time).",
                labels=["status"],
            )
            for status in SOURCE_STATUSES:
                by_status.add_metric([status], sources.get(status, 0))
            yield by_status
        depths = None if self.queue_depths is None else _read_state(up, "redis", self.queue_depths)
        if depths is not None:
            queued = GaugeMetricFamily(
                "newsdedup_queue_messages",
                "Messages waiting in each Celery queue (Redis, read at scrape time).",
                labels=["queue"],
            )
            for queue, depth in sorted(depths.items()):
                queued.add_metric([queue], depth)
            yield queued
        yield up


def _read_state(up: GaugeMetricFamily, backend: str, read: Callable[[], T]) -> T | None:
    """What `read` returns, with the backend marked up; None, marked down, if it raised."""
    try:
        value = read()
    except Exception as error:
        log.warning("metrics: %s state not read: %s", backend, error)
        up.add_metric([backend], 0)
        return None
    up.add_metric([backend], 1)
    return value


def exposition(state: Collector) -> bytes:
    """The Prometheus text exposition: every process's events (added up from the multiprocess
    directory when there is one, else this process's own) and the state read now."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(state)
        return generate_latest(registry)
    now = CollectorRegistry()
    now.register(state)
    return generate_latest(REGISTRY) + generate_latest(now)
