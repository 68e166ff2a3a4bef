"""Timing probe for section 4, run in its own process so its RSS is a worker's.

    python -m bench.dedup_probe service DATABASE_URL QUERIES.json
    python -m bench.dedup_probe baseline STORED.npy QUERIES.npy

Prints one JSON line: p50/p99 latency, mean candidates, RSS, and (service) the SQL statements
that took the most time inside assign_story. The matching mode is the service's setting
(NEWSDEDUP_SEMANTIC_MATCHING): semantic, each query's embedding (made before, never timed) is
handed to assign_story as processing.prepare hands it; the encoder is never loaded here.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.common import percentile

WARMUP = 20
# The hashing scheme of datasketch 2.0 MinHash, which made the signatures.
SCHEME = "affine32"


def rss_mib() -> float:
    return float(psutil.Process().memory_info().rss / 2**20)


def probe_service(database_url: str, queries_file: str) -> dict[str, Any]:
    import os

    os.environ["NEWSDEDUP_DATABASE_URL"] = database_url
    from sqlalchemy import event, text

    from service import processing
    from service.db import get_engine, get_session_factory
    from service.dedup.assign import MatchSettings, ProcessedArticle, assign_story
    from service.dedup.features import StoryFeatures
    from service.repositories import band_index
    from service.settings import get_settings

    queries = json.loads(Path(queries_file).read_text(encoding="utf-8"))
    engine = get_engine()
    timing = {"on": False}
    sql: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if timing["on"]:
            entry = sql[" ".join(statement.split())[:80]]
            entry[0] += 1
            entry[1] += time.perf_counter() - conn.info["t0"]

    candidates: list[int] = []
    found_ids: list[set[int]] = []
    original_find = band_index.find_candidates

    def counting_find(*args: Any, **kwargs: Any) -> Any:
        found = original_find(*args, **kwargs)
        candidates.append(len(found))
        found_ids.append({member.article_id for member in found})
        return found

    band_index.find_candidates = counting_find
    settings = MatchSettings.from_settings(get_settings())
    semantic = settings.semantic is not None
    factory = get_session_factory()
    latencies = []
    for n, query in enumerate(queries):
        features = StoryFeatures.from_json(query["features"])
        cleaned = query["text"]
        digest = processing.text_hash(cleaned)
        with factory() as session:
            article_id = session.execute(
                text(
                    "INSERT INTO articles (status, url, text, text_hash, features) "
                    "VALUES ('processing', :url, :text, :hash, CAST(:features AS jsonb)) "
                    "RETURNING id"
                ),
                {
                    "url": query["url"],
                    "text": cleaned,
                    "hash": digest,
                    "features": json.dumps(query["features"]),
                },
            ).scalar_one()
            timing["on"] = n >= WARMUP
            looked_up = len(found_ids)
            started = time.perf_counter()
            assign_story(
                article_id,
                ProcessedArticle(
                    url=query["url"],
                    title=None,
                    text=cleaned,
                    text_hash=digest,
                    language=features.language,
                    published_at=None,
                    features=features,
                    embedding=np.asarray(query["embedding"], dtype=np.float32)
                    if semantic
                    else None,
                ),
                settings=settings,
                session=session,
            )
            elapsed = time.perf_counter() - started
            if len(found_ids) == looked_up:  # an exact re-post: no candidate look-up
                found_ids.append(set())
            timing["on"] = False
            session.rollback()
        if n >= WARMUP:
            latencies.append(elapsed * 1000)
    measured = max(1, len(latencies))
    # Near copies of a stored article: is that article among the candidates?
    near_copies = [
        (query["near_copy_of"], ids)
        for query, ids in zip(queries, found_ids, strict=True)
        if query.get("near_copy_of")
    ]
    originals_found = sum(original in ids for original, ids in near_copies)
    top_sql = sorted(sql.items(), key=lambda kv: -kv[1][1])[:12]
    return {
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "mean_candidates": float(np.mean(candidates[WARMUP:])) if candidates else 0.0,
        "rss_mib": rss_mib(),
        "near_copy_originals_found": [originals_found, len(near_copies)],
        "top_sql": [(statement, total / measured * 1000) for statement, (_, total) in top_sql],
    }


def probe_baseline(stored_file: str, queries_file: str) -> dict[str, Any]:
    from datasketch import LeanMinHash, MinHashLSH

    stored = np.load(stored_file)
    queries = np.load(queries_file)
    before = rss_mib()
    lsh = MinHashLSH(num_perm=stored.shape[1], params=(64, 2))
    for key, row in enumerate(stored):
        lsh.insert(key, LeanMinHash(seed=1, hashvalues=row.astype(np.uint64), scheme=SCHEME))
    del stored
    latencies = []
    sizes = []
    for n, row in enumerate(queries):
        minhash = LeanMinHash(seed=1, hashvalues=row.astype(np.uint64), scheme=SCHEME)
        started = time.perf_counter()
        found = lsh.query(minhash)
        elapsed = time.perf_counter() - started
        if n >= WARMUP:
            latencies.append(elapsed * 1000)
            sizes.append(len(found))
    return {
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "mean_candidates": float(np.mean(sizes)) if sizes else 0.0,
        "rss_mib": rss_mib(),
        "index_mib": rss_mib() - before,
    }


def main() -> None:
    mode, *args = sys.argv[1:]
    result = probe_service(*args) if mode == "service" else probe_baseline(*args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
