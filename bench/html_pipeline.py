"""Sections 2 and 3: the HTML pipeline and the quality of what it stores.

The 181 pages of the extraction benchmark are served by a local threaded HTTP server; each is
POSTed as a URL (with its outlet as `source`), so it goes fetch -> extract -> clean -> dedup as a
real page would. Quality is the benchmark's score of the stored text (GET /articles/{id}).
CPU per page is counted per process group during the timed pass; the profile (section 6 for
the HTML pipeline) comes from a second pass on a fresh service, because py-spy's sampling of
three processes would slow the timed one.
"""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import psycopg
import trafilatura

from bench.common import (
    EXTRACTION_BENCH,
    ServiceCpu,
    Stack,
    percentile,
    running_stack,
)
from bench.extraction_quality import Page, Quality, load_pages, mean_precision_recall
from bench.raw_pipeline import start_profiler, top_functions, top_inclusive

WORKERS = 2
# Where a worker's time goes on a page, as inclusive shares of the profile's samples.
PROFILE_STAGES = [
    "fetch_article (service/processing.py",
    "fetch_page (",
    "process_article (service/processing.py",
    "extract_html (",
    "bare_extraction (",
    "page_title_and_date (",
    "clean_paragraphs (",
    "detect_language (",
    "extract_features (",
    "assign_story (",
    "_do_ping_w_event (",
    "commit (sqlalchemy/orm/session.py",
]


@dataclass
class HtmlResult:
    pages: int
    pages_per_s: float
    p50_ms: float
    p99_ms: float
    failed: int
    failed_reasons: dict[str, int]
    service_quality: Quality
    bare_pages_per_s: float
    bare_quality: Quality
    cores_used: int
    # CPU ms per page: workers, api, postgres
    cpu_ms_per_page: dict[str, float]
    profile: list[tuple[str, float, float]]
    profile_stages: dict[str, float]
    profile_note: str

    @property
    def per_core_ratio(self) -> float:
        return (self.pages_per_s / self.cores_used) / self.bare_pages_per_s


def score(pages: list[Page], predictions: list[str]) -> Quality:
    return Quality(*mean_precision_recall(pages, predictions))


class _Handler(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.pages.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(pages: list[Page]) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = type(
        "PageHandler", (_Handler,), {"pages": {f"{p.page_id}.html": p.html for p in pages}}
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def bare(pages: list[Page], repeats: int = 1) -> tuple[float, list[str]]:
    """trafilatura.extract(include_comments=False), as the benchmark runs it, one process."""
    outputs: list[str] = []
    started = time.perf_counter()
    for _ in range(repeats):
        outputs = [
            trafilatura.extract(p.html, url=p.url, include_comments=False) or "" for p in pages
        ]
    return len(pages) * repeats / (time.perf_counter() - started), outputs


def run(profile_s: float = 30.0) -> HtmlResult:
    pages = load_pages(EXTRACTION_BENCH)
    bare_rate, bare_texts = bare(pages)
    server, base = serve(pages)
    try:
        rows, texts, cpu_ms = _timed_pass(pages, base)
        profile, stages, note = (
            _profiled_pass(pages, base, profile_s) if profile_s else ([], {}, "")
        )
    finally:
        server.shutdown()
    done = [r for r in rows if r[1] == "done"]
    failed = [r for r in rows if r[1] == "failed"]
    reasons: dict[str, int] = {}
    for r in failed:
        key = str(r[2])[:60]
        reasons[key] = reasons.get(key, 0) + 1
    span = max(float(r[5]) for r in rows if r[5] is not None) - min(float(r[4]) for r in rows)
    latencies = [float(r[3]) * 1000 for r in done + failed]
    return HtmlResult(
        pages=len(pages),
        pages_per_s=len(pages) / span,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        failed=len(failed),
        failed_reasons=reasons,
        service_quality=score(pages, texts),
        bare_pages_per_s=bare_rate,
        bare_quality=score(pages, bare_texts),
        cores_used=min(WORKERS, os.cpu_count() or WORKERS),
        cpu_ms_per_page=cpu_ms,
        profile=profile,
        profile_stages=stages,
        profile_note=note,
    )


def _post_and_wait(stack: Stack, pages: list[Page], base: str) -> list[int]:
    with httpx.Client(base_url=stack.base_url, timeout=60) as client:
        items = [
            {
                "url": f"{base}/{p.page_id}.html",
                "source": (urlsplit(p.url).hostname or "").removeprefix("www."),
            }
            for p in pages
        ]
        answer = client.post("/articles/batch", json={"articles": items})
        answer.raise_for_status()
        ids = [int(a["id"]) for a in answer.json()["articles"]]
    with psycopg.connect(stack.libpq_url, autocommit=True) as db:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            left = db.execute(
                "SELECT count(*) FROM articles WHERE status IN ('queued', 'processing')"
            ).fetchone()
            if left is not None and left[0] == 0:
                break
            time.sleep(0.1)
    return ids


def _timed_pass(
    pages: list[Page], base: str
) -> tuple[list[tuple[Any, ...]], list[str], dict[str, float]]:
    with running_stack(WORKERS) as stack:
        cpu = ServiceCpu(stack)
        ids = _post_and_wait(stack, pages, base)
        used = cpu.used()
        with (
            httpx.Client(base_url=stack.base_url, timeout=60) as client,
            psycopg.connect(stack.libpq_url, autocommit=True) as db,
        ):
            rows = db.execute(
                "SELECT id, status, error, extract(epoch FROM processed_at - created_at), "
                "extract(epoch FROM created_at), extract(epoch FROM processed_at) FROM articles"
            ).fetchall()
            texts = [client.get(f"/articles/{i}").json().get("text") or "" for i in ids]
    return rows, texts, {name: 1000 * s / len(pages) for name, s in used.items()}


def _profiled_pass(
    pages: list[Page], base: str, profile_s: float
) -> tuple[list[tuple[str, float, float]], dict[str, float], str]:
    with running_stack(WORKERS) as stack:
        output = stack.data_dir / "html-profile.txt"
        profiler, note = start_profiler(stack.worker_pid, output, profile_s)
        if profiler is None:
            return [], {}, note
        time.sleep(1.0)  # py-spy attaches to the worker and its pool
        _post_and_wait(stack, pages, base)
        profiler.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        try:
            profiler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            profiler.kill()
        if not output.exists():
            return [], {}, "py-spy produced no samples"
        return top_functions(output), top_inclusive(output, PROFILE_STAGES), note
