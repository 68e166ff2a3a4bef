"""Section 4: the dedup decision at 10k / 100k (/ 1M) stored articles, in both matching modes.

Synthetic stored articles are drawn per language from the dev set's real vocabulary: the number
of terms and names of a real article, each term drawn in proportion to its document frequency.
So unrelated articles share common terms and names as real ones do, which is what decides how
many band rows a query touches. Their signatures, band rows, features and document frequencies
are COPYed straight into a fresh embedded PostgreSQL; then assign_story is timed on fresh
articles (70% new stories, 30% near-copies of stored ones), each in a rolled-back transaction,
in a separate process whose RSS is the worker's. Baseline: datasketch's in-memory MinHashLSH
with the same bands (64 x 2) over the same signatures, in its own process.

Embeddings. The store is a semantic one, as the service keeps it: each article's embedding
(float16, the service's encode_embedding) and its semantic band rows (the service's
semantic_keys of the embedding centred on its language's mean). Embedding 100k articles with
the encoder would take ~1.5 hours, so it embeds each distinct dev-set text of at least 200
characters once, as the service would (title and cleaned text, the encoder's token cap), caches
those ~1,900 rows under bench/.cache/ (gitignored; recomputed when the dev set, the cap or the
embedding version changes; ~2 minutes the first time), and gives each synthetic article a
dev-set row of its language plus Gaussian noise (STORY_NOISE), re-normalised: real e5 rows with
a spread of their own, so semantic cells fill as real articles would fill them. A near-copy
query takes its original's row plus smaller noise (COPY_NOISE). Computing the semantic keys of
each stored article costs ~1.5 ms, 150 s per 100k stored.

The decision is timed without the encoding: query embeddings are made before the clock starts
and handed to assign_story, as processing.prepare hands them. Both modes query the same store,
the semantic mode first (so the lexical mode runs on a warmer cache: the comparison leans
against the semantic mode): the lexical probe runs with NEWSDEDUP_SEMANTIC_MATCHING=false, never
probes the semantic keys (another key namespace), and reads stored embeddings it ignores.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import psycopg

from bench.common import CACHE_DIR, DEV_SET, MODES, mode_env, run_module

NUM_PERM = 128
BANDS = 64
MAX_TERMS = 150
MAX_NAMES = 40
NEAR_COPY_SHARE = 0.3
SEED = 7
LOAD_CHUNK = 20_000
MIN_TEXT_CHARS = 200
# Norm of the Gaussian noise added to a dev-set embedding (unit norm, ~0.87 of it e5's common
# direction) to make a synthetic article's. Centred, two articles made from one dev text then
# lie at cosine ~0.37: a related topic, below the ~0.5 of one story, above the ~0 of unrelated
# articles (the run prints the figures). 0.25 put them at 0.76, one story each.
STORY_NOISE = 0.6
# A near copy lies at centred cosine ~0.93 to its original: the same story in nearly the same
# words.
COPY_NOISE = 0.25


@dataclass
class ProbeResult:
    """assign_story timed in one matching mode."""

    p50_ms: float
    p99_ms: float
    mean_candidates: float
    # Near-copy queries whose stored original was among the candidates: (found, near copies).
    originals_found: tuple[int, int]
    rss_mib: float
    top_sql: list[tuple[str, float]]

    @classmethod
    def from_json(cls, found: dict[str, object]) -> ProbeResult:
        return cls(
            p50_ms=float(found["p50_ms"]),  # type: ignore[arg-type]
            p99_ms=float(found["p99_ms"]),  # type: ignore[arg-type]
            mean_candidates=float(found["mean_candidates"]),  # type: ignore[arg-type]
            originals_found=tuple(found["near_copy_originals_found"]),  # type: ignore[arg-type]
            rss_mib=float(found["rss_mib"]),  # type: ignore[arg-type]
            top_sql=[tuple(x) for x in found["top_sql"]],  # type: ignore[attr-defined]
        )


@dataclass
class ScaleResult:
    stored: int
    load_s: float
    modes: dict[str, ProbeResult]
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


def dev_texts() -> Iterator[tuple[str, str]]:
    """(title, text) of each distinct dev-set text of at least MIN_TEXT_CHARS characters."""
    seen: set[str] = set()
    with DEV_SET.open(encoding="utf-8") as lines:
        for line in lines:
            pair = json.loads(line)
            for side in ("1", "2"):
                text = pair["text" + side] or ""
                if len(text) < MIN_TEXT_CHARS or text in seen:
                    continue
                seen.add(text)
                yield pair["title" + side] or "", text


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    from service.dedup.features import extract_features, stem
    from service.extraction import detect_language, stopwords

    term_df: dict[str, Counter[str]] = {}
    name_df: dict[str, Counter[str]] = {}
    term_counts: dict[str, list[int]] = {}
    name_counts: dict[str, list[int]] = {}
    for title, text in dev_texts():
        language = detect_language(text) or "en"
        features = extract_features(title, text, stopwords=stopwords(language), language=language)
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
# Embeddings


def embedding_cache() -> Path:
    """Where the dev-set embeddings are kept: named by the encoder's input and the dev set."""
    from service.dedup.encoder import EMBEDDING_VERSION

    digest = hashlib.sha256(DEV_SET.read_bytes()).hexdigest()[:12]
    return CACHE_DIR / f"dev_embeddings_e5_{max_tokens()}_v{EMBEDDING_VERSION}_{digest}.npz"


def max_tokens() -> int:
    from service.settings import get_settings

    return get_settings().embedding_max_tokens


@lru_cache(maxsize=1)
def dev_embeddings() -> dict[str, np.ndarray]:
    """The dev-set texts' embeddings by language (as vocabulary() detects it), from the cache;
    made the first time in a process of their own (loading the encoder pins OpenMP to one
    thread in its process)."""
    path = embedding_cache()
    if not path.exists():
        print(f"  embedding the dev set's texts once into {path} (~2 min)", flush=True)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        run_module("bench.dedup_scale", ["embed", str(path)])
    with np.load(path) as data:
        languages = [str(language) for language in data["languages"]]
        rows = np.asarray(data["rows"], dtype=np.float32)
    return {
        language: rows[[i for i, other in enumerate(languages) if other == language]]
        for language in set(languages)
    }


def embed_dev_texts(path: Path) -> None:
    """Embed each dev text as the service would: its title and cleaned text, within the cap."""
    from service.dedup.encoder import encoder
    from service.extraction import clean_text, detect_language

    model = encoder(max_tokens())
    languages: list[str] = []
    rows = []
    for title, text in dev_texts():
        languages.append(detect_language(text) or "en")
        cleaned = clean_text(text, title=title or None)
        rows.append(model.embed(title or cleaned.title, cleaned.text))
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez(partial, languages=np.array(languages), rows=np.stack(rows))
    partial.replace(path)


def synthetic_embedding(language: str, key: int, near_copy_of: int | None = None) -> np.ndarray:
    """A synthetic article's embedding: a dev-set row of its language plus noise; a near copy's
    is its original's plus less noise."""
    if near_copy_of is not None:
        original = synthetic_embedding(language, near_copy_of)
        return perturbed(original, COPY_NOISE, np.random.default_rng((SEED, key, 3)))
    base, rng = dev_base(language, key)
    return perturbed(base, STORY_NOISE, rng)


def dev_base(language: str, key: int) -> tuple[np.ndarray, np.random.Generator]:
    """The dev-set row a synthetic article's embedding is made from, and the article's rng."""
    rng = np.random.default_rng((SEED, key, 2))
    rows = dev_embeddings()[language]
    return rows[int(rng.integers(len(rows)))], rng


def perturbed(base: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """`base` plus Gaussian noise of norm ~`noise`, re-normalised."""
    row = base + rng.standard_normal(len(base)).astype(np.float32) * (noise / np.sqrt(len(base)))
    return np.asarray(row / np.linalg.norm(row), dtype=np.float32)


def centred(language: str, embedding: np.ndarray) -> np.ndarray:
    from service.dedup.semantic import language_means

    return language_means(max_tokens()).centre(embedding, language)


def semantic_band_keys(language: str, embedding: np.ndarray) -> list[int]:
    """The semantic band keys the service stores for an article (assign_story's, on the
    embedding centred on its language's mean)."""
    from service.dedup.semantic import SemanticBandScheme, semantic_keys

    return semantic_keys(centred(language, embedding), SemanticBandScheme()).stored


def embedding_spread(samples: int = 200) -> tuple[float, float, float]:
    """Mean centred cosine of (a synthetic article, its dev text), (two synthetic articles from
    one dev text), (a near copy, its original): how far the noise moves the rows."""
    vocab = vocabulary()
    to_base, siblings, copies = [], [], []
    for key in range(samples):
        language = synthetic_article(vocab, key).language
        base, _ = dev_base(language, key)
        row = centred(language, synthetic_embedding(language, key))
        to_base.append(float(row @ centred(language, base)))
        sibling = perturbed(base, STORY_NOISE, np.random.default_rng((SEED, key, 4)))
        siblings.append(float(row @ centred(language, sibling)))
        copy = centred(language, synthetic_embedding(language, 10_000_000 + key, key))
        copies.append(float(row @ copy))
    return float(np.mean(to_base)), float(np.mean(siblings)), float(np.mean(copies))


# ---------------------------------------------------------------------------------------------
# Bulk load


def bulk_load(url: str, first: int, last: int, signatures: np.ndarray, df: Counter[str]) -> None:
    """COPY articles first..last (1-based ids) with their stories, signatures and band rows."""
    from service.dedup.encoder import encode_embedding
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
                embedding = synthetic_embedding(article.language, i)
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
                        encode_embedding(embedding),
                    )
                )
                signature_rows.append((i, scheme, article.hashvalues.astype("<u4").tobytes()))
                band_rows.extend((key, i) for key in band_keys(article.hashvalues))
                band_rows.extend(
                    (key, i) for key in semantic_band_keys(article.language, embedding)
                )
            _copy(
                db,
                "COPY articles (id, status, source, title, text, text_hash, language, story_id, "
                "match_kind, features, processed_at, embedding) FROM STDIN",
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
                # Made here, before the clock: the probe times the decision without encoding.
                "embedding": synthetic_embedding(article.language, key, near).tolist(),
                "url": f"https://outlet.example/fresh/{key}",
                "near_copy_of": near,
            }
        )
    path.write_text(json.dumps(queries))
    return signatures


def run(sizes: list[int], queries: int, modes: tuple[str, ...] = MODES) -> list[ScaleResult]:
    from ops.migrations import migrate
    from ops.stack import start_embedded_postgres

    vocabulary()
    dev_embeddings()
    to_base, siblings, copies = embedding_spread()
    print(
        f"  embeddings: {sum(len(r) for r in dev_embeddings().values()):,} dev texts embedded "
        f"(cached), plus noise; mean centred cosine: synthetic article to its dev text "
        f"{to_base:.2f}, two articles from one dev text {siblings:.2f}, near copy to original "
        f"{copies:.2f}",
        flush=True,
    )
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
                probes = {
                    mode: ProbeResult.from_json(
                        run_module(
                            "bench.dedup_probe",
                            ["service", database_url, str(query_file)],
                            env=mode_env(mode),
                        )
                    )
                    for mode in modes
                }
                baseline = run_module(
                    "bench.dedup_probe",
                    ["baseline", str(Path(tmp) / "stored.npy"), str(Path(tmp) / "queries.npy")],
                )
                results.append(
                    ScaleResult(
                        stored=size,
                        load_s=load_s,
                        modes=probes,
                        base_p50_ms=float(baseline["p50_ms"]),
                        base_p99_ms=float(baseline["p99_ms"]),
                        base_rss_mib=float(baseline["rss_mib"]),
                        base_mean_candidates=float(baseline["mean_candidates"]),
                    )
                )
                print(
                    f"  {size:>9,} stored: loaded in {load_s:.0f} s; assign_story "
                    + "; ".join(
                        f"{mode} p50 {p.p50_ms:.1f} ms p99 {p.p99_ms:.1f} ms"
                        for mode, p in probes.items()
                    ),
                    flush=True,
                )
        finally:
            if hasattr(server, "shutdown"):
                server.shutdown()
            elif hasattr(server, "cleanup"):
                server.cleanup()
    return results


def main() -> None:
    command, *args = sys.argv[1:]
    if command != "embed" or len(args) != 1:
        raise SystemExit("usage: python -m bench.dedup_scale embed OUT.npz")
    embed_dev_texts(Path(args[0]))
    print(json.dumps({"written": args[0]}))


if __name__ == "__main__":
    main()
