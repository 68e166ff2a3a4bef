"""Article-extraction quality on the ScrapingHub benchmark: bare trafilatura vs extract_html.

    .venv/bin/python bench/extraction_quality.py [path/to/extraction-bench]

The benchmark's score: tokenise with \\w+, take the multiset of 4-token shingles of the
prediction and of the ground truth; per page tp = overlap, fp = extra predicted shingles,
fn = missed shingles, each divided by tp + fp + fn; precision and recall are means over pages
(a page with tp + fp = 0 is left out of precision, one with tp + fn = 0 out of recall; a page
with fp = fn = 0 scores 1); F1 is the harmonic mean of the two means.

Reads the pages in place and writes nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trafilatura

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.common import EXTRACTION_BENCH, require_data  # noqa: E402
from service.extraction import extract_html  # noqa: E402

_TOKEN_RE = re.compile(r"\w+")
# The benchmark's shingle size.
SHINGLE_SIZE = 4


@dataclass(frozen=True)
class Page:
    page_id: str
    url: str
    html: bytes
    article_body: str


@dataclass(frozen=True)
class Quality:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class Score(Quality):
    pages_per_second: float


def load_pages(bench_dir: Path) -> list[Page]:
    ground_truth = json.loads((bench_dir / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, truth in sorted(ground_truth.items()):
        html = gzip.decompress((bench_dir / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append(Page(page_id, truth["url"], html, truth["articleBody"]))
    return pages


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN_RE.findall(text)
    return Counter(
        tuple(tokens[i : i + SHINGLE_SIZE]) for i in range(len(tokens) - SHINGLE_SIZE + 1)
    )


def page_fractions(predicted: str, truth: str) -> tuple[float, float, float]:
    """(tp, fp, fn) as fractions of their sum; (1, 0, 0) when both sides are empty."""
    predicted_shingles, true_shingles = _shingles(predicted), _shingles(truth)
    tp = sum((predicted_shingles & true_shingles).values())
    fp = sum((predicted_shingles - true_shingles).values())
    fn = sum((true_shingles - predicted_shingles).values())
    total = tp + fp + fn
    if total == 0 or fp == fn == 0:
        return 1.0, 0.0, 0.0
    return tp / total, fp / total, fn / total


def mean_precision_recall(pages: list[Page], predictions: list[str]) -> tuple[float, float]:
    """The benchmark's mean precision and recall over pages (pages without predicted or true
    shingles are left out of the respective mean)."""
    precisions: list[float] = []
    recalls: list[float] = []
    for page, predicted in zip(pages, predictions, strict=True):
        tp, fp, fn = page_fractions(predicted, page.article_body)
        if tp + fp > 0:
            precisions.append(tp / (tp + fp))
        if tp + fn > 0:
            recalls.append(tp / (tp + fn))
    return sum(precisions) / len(precisions), sum(recalls) / len(recalls)


def evaluate(pages: list[Page], extractor: Callable[[Page], str]) -> Score:
    started = time.perf_counter()
    predictions = [extractor(page) for page in pages]
    elapsed = time.perf_counter() - started
    precision, recall = mean_precision_recall(pages, predictions)
    return Score(precision=precision, recall=recall, pages_per_second=len(pages) / elapsed)


def bare_trafilatura(page: Page) -> str:
    # As the benchmark runs it.
    return trafilatura.extract(page.html, url=page.url, include_comments=False) or ""


def trafilatura_as_configured(page: Page) -> str:
    # extract_html's trafilatura settings without its cleaning: isolates what cleaning adds.
    return (
        trafilatura.extract(
            page.html, url=page.url, include_comments=False, fast=True,
            deduplicate=False, with_metadata=False,
        )
        or ""
    )  # fmt: skip


def newsdedup_extract_html(page: Page) -> str:
    return extract_html(page.html, url=page.url).text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("bench_dir", nargs="?", type=Path, default=EXTRACTION_BENCH)
    args = parser.parse_args(argv)
    require_data(
        args.bench_dir,
        "The extraction benchmark (html/*.html.gz and ground-truth.json)",
        "pass its folder as the first argument",
    )
    pages = load_pages(args.bench_dir)
    extractors: dict[str, Callable[[Page], str]] = {
        "trafilatura.extract(include_comments=False)": bare_trafilatura,
        "  same + fast (no cleaning)": trafilatura_as_configured,
        "extract_html (trafilatura + cleaning)": newsdedup_extract_html,
    }
    print(f"{len(pages)} pages from {args.bench_dir}")
    print(f"{'extractor':<46} {'F1':>6} {'P':>6} {'R':>6} {'pages/s':>8}")
    for name, extractor in extractors.items():
        score = evaluate(pages, extractor)
        print(
            f"{name:<46} {score.f1:6.3f} {score.precision:6.3f} {score.recall:6.3f}"
            f" {score.pages_per_second:8.1f}"
        )


if __name__ == "__main__":
    main()
