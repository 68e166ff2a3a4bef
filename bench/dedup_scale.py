"""Section 4: the dedup decision at 10k / 100k (/ 1M) stored articles.

Synthetic stored articles are drawn per language from the dev set's real vocabulary: the number
of terms and names of a real article, each term drawn in proportion to its document frequency.
So unrelated articles share common terms and names as real ones do, which is what decides how
many band rows a query touches. Their signatures, band rows, features and document frequencies
are COPYed straight into a fresh embedded PostgreSQL; then assign_story is timed on fresh
articles (70% new stories, 30% near-copies of stored ones), each in a rolled-back transaction,
in a separate process whose RSS is the worker's. Baseline: datasketch's in-memory MinHashLSH
with the same bands (64 x 2) over the same signatures, in its own process.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import psycopg

from bench.common import DEV_SET, REPO_ROOT

NUM_PERM = 128
BANDS = 64
MAX_TERMS = 150
MAX_NAMES = 40
NEAR_COPY_SHARE = 0.3
SEED = 7
LOAD_CHUNK = 20_000


@dataclass
class ScaleResult:
    stored: int
    load_s: float
    p50_ms: float
    p99_ms: float
    mean_candidates: float
    # Near-copy queries whose stored original was among the candidates: (found, near copies).
    originals_found: tuple[int, int]
    rss_mib: float
    top_sql: list[tuple[str, float]]
    base_p50_ms: float
    base_p99_ms: float
    base_rss_mib: float
    base_mean_candidates: float


@dataclass
class Vocabulary:
    languages: list[str]
    language_p: np.ndarray
    features: list[str]  # "t:stem" / "n:stem" across languages
    terms: dict[str, tuple[np.ndarray, np.ndarray]]  # language -> (feature index, p)
    names: dict[str, tuple[np.ndarray, np.ndarray]]
    term_counts: dict[str, list[int]]
    name_counts: dict[str, list[int]]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    from service.dedup.features import extract_features, stem
    from service.extraction import detect_language, stopwords

    term_df: dict[str, Counter[str]] = {}
    name_df: dict[str, Counter[str]] = {}
    term_counts: dict[str, list[int]] = {}
    name_counts: dict[str, list[int]] = {}
    seen: set[str] = set()
    with DEV_SET.open(encoding="utf-8") as lines:
        for line in lines:
            pair = json.loads(line)
            for side in ("1", "2"):
                text = pair["text" + side] or ""
                if len(text) < 200 or text in seen:
                    continue
                seen.add(text)
                language = detect_language(text) or "en"
                features = extract_features(
                    pair["title" + side], text, stopwords=stopwords(language), language=language
                )
                terms = list(features.term_weights)[:MAX_TERMS]
                names = sorted({stem(n) for n in features.names})[:MAX_NAMES]
                term_df.setdefault(language, Counter()).update(terms)
                name_df.setdefault(language, Counter()).update(names)
                term_counts.setdefault(language, []).append(len(terms))
                name_counts.setdefault(language, []).append(len(names))
    languages = sorted(term_counts, key=lambda lang: -len(term_counts[lang]))
    shares = np.array([len(term_counts[lang]) for lang in languages], dtype=float)
    index: dict[str, int] = {}

    def table(df: Counter[str], prefix: str) -> tuple[np.ndarray, np.ndarray]:
        keys = [prefix + k for k in df]
        ids = np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)
        weights = np.array(list(df.values()), dtype=float)
        return ids, weights / weights.sum()

    term_tables = {lang: table(term_df[lang], "t:") for lang in languages}
    name_tables = {lang: table(name_df[lang], "n:") for lang in languages if name_df[lang]}
    return Vocabulary(
        languages,
        shares / shares.sum(),
        sorted(index, key=index.__getitem__),
        term_tables,
        name_tables,
        term_counts,
        name_counts,
    )


@dataclass
class Synthetic:
    language: str
    terms: list[str]  # stems, in text order
    names: list[str]
    hashvalues: np.ndarray


def synthetic_article(vocab: Vocabulary, key: int, near_copy_of: int | None = None) -> Synthetic:
    if near_copy_of is not None:
        base = synthetic_article(vocab, near_copy_of)
        rng = np.random.default_rng((SEED, key, 1))
        keep = [t for t in base.terms if rng.random() > 0.1]
        ids, p = vocab.terms[base.language]
        extra = [vocab.features[i][2:] for i in rng.choice(ids, size=5, p=p)]
        terms = list(dict.fromkeys(keep[:5] + extra + keep[5:]))
        return _with_signature(vocab, base.language, terms, base.names)
    rng = np.random.default_rng((SEED, key))
    language = vocab.languages[rng.choice(len(vocab.languages), p=vocab.language_p)]
    n_terms = int(rng.choice(vocab.term_counts[language]))
    n_names = int(rng.choice(vocab.name_counts[language]))
    ids, p = vocab.terms[language]
    terms = list(dict.fromkeys(vocab.features[i][2:] for i in rng.choice(ids, n_terms, p=p)))
    names: list[str] = []
    if language in vocab.names and n_names:
        ids, p = vocab.names[language]
        names = list(dict.fromkeys(vocab.features[i][2:] for i in rng.choice(ids, n_names, p=p)))
    return _with_signature(vocab, language, terms, names)


_SINGLETONS: dict[str, np.ndarray] = {}


def _singleton(feature: str) -> np.ndarray:
    """The MinHash of one feature alone; a set's MinHash is the element-wise min of these."""
    found = _SINGLETONS.get(feature)
    if found is None:
        import datasketch

        from service.dedup.signature import MINHASH_SEED

        minhash = datasketch.MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
        minhash.update(feature.encode("utf-8"))
        found = _SINGLETONS[feature] = np.asarray(minhash.hashvalues, dtype=np.uint64)
    return found


def _with_signature(
    vocab: Vocabulary, language: str, terms: list[str], names: list[str]
) -> Synthetic:
    from service.dedup.features import StoryFeatures

    article = Synthetic(language, terms, names, np.empty(0, dtype=np.uint64))
    # The service's own key_features, so stored and fresh signatures are made the same way.
    keys = StoryFeatures.from_json(features_json(article)).key_features()
    if keys:
        article.hashvalues = np.stack([_singleton(k) for k in keys]).min(axis=0)
    else:
        article.hashvalues = np.full(NUM_PERM, 2**32 - 1, dtype=np.uint64)
    return article


def features_json(article: Synthetic) -> dict[str, object]:
    from service.dedup.features import LEAD_TERMS, StoryFeatures, position_weight

    weights = {t: round(position_weight(i), 3) for i, t in enumerate(article.terms)}
    return StoryFeatures(
        term_weights=weights,
        lead_terms=tuple(article.terms[:LEAD_TERMS]),
        names=tuple(article.names),
        attributions=(),
        word_count=len(article.terms) * 3,
        language=article.language,
    ).to_json()


def band_keys(hashvalues: np.ndarray) -> list[int]:
    from service.dedup.signature import SignatureScheme
    from service.dedup.signature import band_keys as service_band_keys

    return service_band_keys(hashvalues, SignatureScheme(num_perm=NUM_PERM, bands=BANDS))


# ---------------------------------------------------------------------------------------------
# Bulk load


def bulk_load(url: str, first: int, last: int, signatures: np.ndarray, df: Counter[str]) -> None:
    """COPY articles first..last (1-based ids) with their stories, signatures and band rows."""
    from service.dedup.signature import SignatureScheme

    vocab = vocabulary()
    scheme = json.dumps(SignatureScheme(num_perm=NUM_PERM, bands=BANDS).to_json())
    with psycopg.connect(url) as db:
        db.execute("SET session_replication_role = replica")  # no FK triggers while loading
        db.execute("ALTER TABLE lsh_bands DROP CONSTRAINT IF EXISTS lsh_bands_pkey")
        db.execute("DROP INDEX IF EXISTS ix_lsh_bands_article_id")
        with (
            db.cursor().copy("COPY stories (id, canonical_article_id, size) FROM STDIN") as stories,
        ):
            for i in range(first, last + 1):
                stories.write_row((i, i, 1))
        # One COPY at a time per connection: rows are made in chunks, then copied table by table.
        for chunk_start in range(first, last + 1, LOAD_CHUNK):
            chunk_end = min(last, chunk_start + LOAD_CHUNK - 1)
            article_rows: list[tuple[object, ...]] = []
            signature_rows: list[tuple[object, ...]] = []
            band_rows: list[tuple[object, ...]] = []
            for i in range(chunk_start, chunk_end + 1):
                article = synthetic_article(vocab, i)
                signatures[i - 1] = article.hashvalues.astype(np.uint32)
                df.update(article.terms)
                text = " ".join(article.terms)
                article_rows.append(
                    (
                        i,
                        "done",
                        f"outlet{i % 300}.example",
                        " ".join(article.terms[:8]),
                        text,
                        hashlib.sha256(text.encode()).digest(),
                        article.language,
                        i,
                        "canonical",
                        json.dumps(features_json(article)),
                        "2021-06-01T00:00:00Z",
                    )
                )
                signature_rows.append((i, scheme, article.hashvalues.astype("<u4").tobytes()))
                band_rows.extend((key, i) for key in band_keys(article.hashvalues))
            _copy(
                db,
                "COPY articles (id, status, source, title, text, text_hash, language, story_id, "
                "match_kind, features, processed_at) FROM STDIN",
                article_rows,
            )
            _copy(
                db,
                "COPY article_signatures (article_id, scheme, hashvalues) FROM STDIN",
                signature_rows,
            )
            _copy(db, "COPY lsh_bands (band_key, article_id) FROM STDIN", band_rows)
        db.execute("TRUNCATE term_document_frequencies")
        with db.cursor().copy(
            "COPY term_document_frequencies (term, document_count) FROM STDIN"
        ) as terms:
            for term, count in df.items():
                terms.write_row((term, count))
        db.execute(
            "INSERT INTO corpus_counters (name, value) VALUES ('documents', %s) "
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            (last,),
        )
        db.execute(
            "ALTER TABLE lsh_bands ADD CONSTRAINT lsh_bands_pkey PRIMARY KEY (band_key, article_id)"
        )
        db.execute("CREATE INDEX ix_lsh_bands_article_id ON lsh_bands (article_id)")
        for table, column in (("articles", "id"), ("stories", "id")):
            db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), %s)", (last + 1,)
            )
        db.commit()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("VACUUM ANALYZE")


def _copy(
    db: psycopg.Connection[tuple[object, ...]], sql: str, rows: list[tuple[object, ...]]
) -> None:
    with db.cursor().copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def write_queries(path: Path, stored: int, count: int) -> np.ndarray:
    vocab = vocabulary()
    rng = np.random.default_rng((SEED, stored, 99))
    queries = []
    signatures = np.empty((count, NUM_PERM), dtype=np.uint32)
    for q in range(count):
        key = 10_000_000 + q
        near = int(rng.integers(1, stored + 1)) if rng.random() < NEAR_COPY_SHARE else None
        article = synthetic_article(vocab, key, near)
        signatures[q] = article.hashvalues.astype(np.uint32)
        queries.append(
            {
                "text": " ".join(article.terms),
                "features": features_json(article),
                "url": f"https://outlet.example/fresh/{key}",
                "near_copy_of": near,
            }
        )
    path.write_text(json.dumps(queries))
    return signatures


def run_probe(args: list[str]) -> dict[str, object]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-m", "bench.dedup_probe", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"probe failed: {out.stderr[-2000:]}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(sizes: list[int], queries: int) -> list[ScaleResult]:
    from ops.migrations import migrate
    from ops.stack import start_embedded_postgres

    vocabulary()
    results = []
    with tempfile.TemporaryDirectory(prefix="newsdedup-bench-scale-") as tmp:
        server, database_url = start_embedded_postgres(Path(tmp) / "postgres")
        url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        try:
            migrate(database_url)
            loaded = 0
            df: Counter[str] = Counter()
            signatures = np.empty((max(sizes), NUM_PERM), dtype=np.uint32)
            for size in sorted(sizes):
                started = time.perf_counter()
                bulk_load(url, loaded + 1, size, signatures, df)
                load_s = time.perf_counter() - started
                loaded = size
                query_file = Path(tmp) / f"queries-{size}.json"
                query_signatures = write_queries(query_file, size, queries)
                np.save(Path(tmp) / "stored.npy", signatures[:size])
                np.save(Path(tmp) / "queries.npy", query_signatures)
                service = run_probe(["service", database_url, str(query_file)])
                baseline = run_probe(
                    ["baseline", str(Path(tmp) / "stored.npy"), str(Path(tmp) / "queries.npy")]
                )
                results.append(
                    ScaleResult(
                        stored=size,
                        load_s=load_s,
                        p50_ms=float(service["p50_ms"]),  # type: ignore[arg-type]
                        p99_ms=float(service["p99_ms"]),  # type: ignore[arg-type]
                        mean_candidates=float(service["mean_candidates"]),  # type: ignore[arg-type]
                        originals_found=tuple(service["near_copy_originals_found"]),  # type: ignore[arg-type]
                        rss_mib=float(service["rss_mib"]),  # type: ignore[arg-type]
                        top_sql=[tuple(x) for x in service["top_sql"]],  # type: ignore[attr-defined]
                        base_p50_ms=float(baseline["p50_ms"]),  # type: ignore[arg-type]
                        base_p99_ms=float(baseline["p99_ms"]),  # type: ignore[arg-type]
                        base_rss_mib=float(baseline["rss_mib"]),  # type: ignore[arg-type]
                        base_mean_candidates=float(baseline["mean_candidates"]),  # type: ignore[arg-type]
                    )
                )
                print(
                    f"  {size:>9,} stored: loaded in {load_s:.0f} s; assign_story p50 "
                    f"{results[-1].p50_ms:.1f} ms p99 {results[-1].p99_ms:.1f} ms",
                    flush=True,
                )
        finally:
            if hasattr(server, "shutdown"):
                server.shutdown()
            elif hasattr(server, "cleanup"):
                server.cleanup()
    return results
