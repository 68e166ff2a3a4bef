"""The few extraction-benchmark pages shipped with the tests (tests/fixtures/extraction-bench)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent / "fixtures" / "extraction-bench"

# ctpost.com repeats its headline in the body; cityam.com ends with "Read more:" cross-links;
# bbc.com closes with "Follow Newsbeat on Instagram, Facebook, Twitter and YouTube."
CTPOST = "05844573ca7e1fba714d715bb11ca08c26e25328999c74a1cb3bc8a0e4399f0f"
CITYAM = "360c732d1fdbfc6895d7096c0c0b8c0d581bb1af80160f4c6a0f1fd9ff85e469"
BBC = "70cb2d5bca75ab5a8f6bb378a38a52f882f6bda508de93b12502e74936d86ff2"


@dataclass(frozen=True)
class BenchmarkPage:
    url: str
    html: bytes
    article_body: str  # hand-checked


@cache
def _ground_truth() -> dict[str, dict[str, str]]:
    truth: dict[str, dict[str, str]] = json.loads(
        (PAGES_DIR / "ground-truth.json").read_text(encoding="utf-8")
    )
    return truth


def benchmark_page(page_id: str) -> BenchmarkPage:
    truth = _ground_truth()[page_id]
    html = gzip.decompress((PAGES_DIR / "html" / f"{page_id}.html.gz").read_bytes())
    return BenchmarkPage(truth["url"], html, truth["articleBody"])
