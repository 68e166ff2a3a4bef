"""The bare floor of section 1: the work semantic matching cannot avoid, with nothing else.

Two processes (as `newsdedup up` runs two pool processes), forked after the parent loaded the
encoder with one OpenMP thread, as the Celery worker does before it forks its pool. Each takes
every other article of the same corpus section 1 posts and, per article, embeds the text the
service embeds (service.dedup.encoder: the title and cleaned text cut to the token cap) and
computes the MinHash of the article's story features (service.dedup.signature). No database, no
HTTP, no queue, no locks. Cleaning, the not-article gate and the features are the service's own
functions, run before the clock starts: the floor times the encoder plus MinHash alone. Articles
the service's gate refuses (it never embeds them) count as articles but cost nothing here.

    python -m bench.floor ARTICLES.json [PROCESSES]

ARTICLES.json is a list of {"title", "text"}. Prints one JSON line: articles/s over the wall
time from the common start to the last process's end, CPU ms per article in the encoder and in
MinHash, and the processes' RSS.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import psutil

from bench.common import run_module

PROCESSES = 2


@dataclass(frozen=True)
class FloorInput:
    title: str | None
    text: str  # cleaned, as the service stores it
    key_features: list[str]


@dataclass(frozen=True)
class FloorResult:
    articles: int
    processes: int
    articles_per_s: float
    encode_cpu_ms: float  # per embedded article
    minhash_cpu_ms: float  # per article
    embedded: int  # articles the gate let through
    rss_mib: list[float]
    max_tokens: int

    @property
    def cpu_ms_per_article(self) -> float:
        """CPU per article of the sample, what the gate refused (free here) included."""
        return (self.encode_cpu_ms + self.minhash_cpu_ms) * self.embedded / max(1, self.articles)

    @property
    def minhash_articles_per_s(self) -> float:
        """MinHash alone in as many processes: the lexical mode's (weak) floor."""
        return self.processes * 1000 / self.minhash_cpu_ms if self.minhash_cpu_ms else 0.0


def run(articles: list[dict[str, str]], processes: int = PROCESSES) -> FloorResult:
    """The floor over these articles ({"title", "text"}), in a process of its own, as a fresh
    worker parent would be."""
    with tempfile.TemporaryDirectory(prefix="newsdedup-bench-floor-") as tmp:
        path = Path(tmp) / "articles.json"
        path.write_text(json.dumps(articles), encoding="utf-8")
        found = run_module("bench.floor", [str(path), str(processes)])
    return FloorResult(**found)


def prepare(articles: list[dict[str, str]]) -> list[FloorInput | None]:
    """Each article as the service's processing step would have it before it embeds: cleaned
    text, language, story features; None for what the gate refuses (it is never embedded)."""
    from bench.simulation import article_content
    from bench.simulation import prepare as prepare_article

    prepared: list[FloorInput | None] = []
    for i, article in enumerate(articles):
        processed = prepare_article(
            str(i), article_content(article.get("title"), article["text"])
        ).processed
        prepared.append(
            None
            if processed is None
            else FloorInput(
                processed.title, processed.text, sorted(processed.features.key_features())
            )
        )
    return prepared


def _work(
    share: list[FloorInput | None], max_tokens: int, start: Barrier, results: Connection
) -> None:
    from service.dedup.encoder import encoder
    from service.dedup.signature import SignatureScheme, minhash_values
    from service.settings import get_settings

    settings = get_settings()
    scheme = SignatureScheme(num_perm=settings.minhash_num_perm, bands=settings.lsh_bands)
    model = encoder(max_tokens)
    encode_s = minhash_s = 0.0
    start.wait()
    began = time.monotonic()
    for item in share:
        if item is None:
            continue
        t0 = time.process_time()
        model.embed(item.title, item.text)
        t1 = time.process_time()
        minhash_values(item.key_features, scheme)
        t2 = time.process_time()
        encode_s += t1 - t0
        minhash_s += t2 - t1
    ended = time.monotonic()
    rss = psutil.Process().memory_info().rss / 2**20
    results.send((began, ended, encode_s, minhash_s, rss))
    results.close()


def measure(articles: list[dict[str, str]], processes: int) -> dict[str, Any]:
    from service.dedup.encoder import encoder
    from service.settings import get_settings

    max_tokens = get_settings().embedding_max_tokens
    prepared = prepare(articles)
    # As the Celery worker's parent does (service.processing.warm_up): load the model and embed
    # once with one OpenMP thread, then fork; the pool processes share the memory-mapped model.
    encoder(max_tokens).warm_up()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(processes + 1)
    pipes = [context.Pipe(duplex=False) for _ in range(processes)]
    workers = [
        context.Process(target=_work, args=(prepared[i::processes], max_tokens, start, sender))
        for i, (_, sender) in enumerate(pipes)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    found = [receiver.recv() for receiver, _ in pipes]
    for worker in workers:
        worker.join()
    began = min(f[0] for f in found)
    ended = max(f[1] for f in found)
    embedded = sum(item is not None for item in prepared)
    return {
        "articles": len(articles),
        "processes": processes,
        "articles_per_s": len(articles) / (ended - began),
        "encode_cpu_ms": sum(f[2] for f in found) / max(1, embedded) * 1000,
        "minhash_cpu_ms": sum(f[3] for f in found) / max(1, embedded) * 1000,
        "embedded": embedded,
        "rss_mib": [round(f[4], 1) for f in found],
        "max_tokens": max_tokens,
    }


def main() -> None:
    path, *rest = sys.argv[1:]
    articles = json.loads(Path(path).read_text(encoding="utf-8"))
    print(json.dumps(measure(articles, int(rest[0]) if rest else PROCESSES)))


if __name__ == "__main__":
    main()
