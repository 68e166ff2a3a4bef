"""SQL on the band index: each article's MinHash signature, its LSH band rows, and the corpus
statistics (document frequencies) the verification score weighs terms by."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class StoredMember:
    article_id: int
    story_id: int
    features: dict[str, Any]
    published_at: Any
    embedding: bytes | None = None


_BAND_HITS = (
    "  SELECT b.article_id, count(*) AS shared "
    "  FROM unnest(CAST(:{keys} AS bigint[])) AS k(band_key) "
    "  CROSS JOIN LATERAL ("
    "    SELECT article_id FROM lsh_bands "
    "    WHERE lsh_bands.band_key = k.band_key AND article_id <> :id "
    "    ORDER BY article_id DESC LIMIT :{per_band}"
    "  ) AS b "
    "  GROUP BY b.article_id ORDER BY shared DESC, b.article_id LIMIT :{limit}"
)


def find_candidates(
    session: Session,
    *,
    article_id: int,
    keys: Sequence[int],
    limit: int,
    per_band_limit: int,
    semantic_keys: Sequence[int] = (),
    semantic_limit: int = 0,
    semantic_per_band_limit: int = 0,
) -> list[StoredMember]:
    """Stored articles sharing band keys: the `limit` sharing the most MinHash keys (an
    estimate of Jaccard), then the `semantic_limit` sharing the most semantic keys that are not
    among them; each family most shared keys first.

    Each band key contributes at most its newest rows (an index-only scan backwards on the
    primary key), so a key shared by thousands of articles costs no more than a rare one.
    """
    rows = session.execute(
        text(
            "WITH minhash AS ("
            + _BAND_HITS.format(keys="keys", per_band="per_band", limit="limit")
            + "), semantic AS ("
            + _BAND_HITS.format(
                keys="semantic_keys", per_band="semantic_per_band", limit="semantic_limit"
            )
            + "), hits AS ("
            "  SELECT article_id, shared, 0 AS family FROM minhash "
            "  UNION ALL "
            "  SELECT article_id, shared, 1 FROM semantic "
            "  WHERE article_id NOT IN (SELECT article_id FROM minhash)"
            ") "
            "SELECT a.id, a.story_id, a.features, a.published_at, a.embedding FROM hits "
            "JOIN articles a ON a.id = hits.article_id "
            "WHERE a.story_id IS NOT NULL AND a.features IS NOT NULL "
            "ORDER BY hits.family, hits.shared DESC, a.id"
        ),
        {
            "keys": list(keys),
            "id": article_id,
            "limit": limit,
            "per_band": per_band_limit,
            "semantic_keys": list(semantic_keys),
            "semantic_limit": semantic_limit,
            "semantic_per_band": semantic_per_band_limit,
        },
    ).all()
    return [
        StoredMember(int(r[0]), int(r[1]), r[2], r[3], bytes(r[4]) if r[4] else None) for r in rows
    ]


# Document frequencies are cached per worker process once the corpus is large enough that one
# more article moves an IDF by a negligible amount; a young corpus is always read fresh, because
# there every count matters (see scoring.effective_threshold).
DF_CACHE_MIN_DOCUMENTS = 1000
# A minute of staleness changes no IDF noticeably at >= 1,000 documents.
DF_CACHE_TTL_S = 60.0
# About 40 MB of terms per worker process at most.
DF_CACHE_MAX_TERMS = 300_000
_df_cache: dict[str, tuple[int, float]] = {}
# The document count at this process's last read: the cache is consulted only above the minimum.
_last_document_count = [0]


def document_frequencies(session: Session, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
    """(number of documents, document frequency of each known term)."""
    asked = set(terms)
    wanted = set(asked)
    now = time.monotonic()
    found: dict[str, int] = {}
    cache_on = _last_document_count[0] >= DF_CACHE_MIN_DOCUMENTS
    if cache_on:
        for term in list(wanted):
            cached = _df_cache.get(term)
            if cached is not None and now - cached[1] < DF_CACHE_TTL_S:
                found[term] = cached[0]
                wanted.discard(term)
    documents, fresh = _read_counts(session, wanted)
    if cache_on and documents < DF_CACHE_MIN_DOCUMENTS:
        # The corpus shrank (a reindex started over): cached counts are from before it.
        _df_cache.clear()
        found, wanted = {}, asked
        documents, fresh = _read_counts(session, wanted)
    _last_document_count[0] = documents
    found.update(fresh)
    if documents >= DF_CACHE_MIN_DOCUMENTS:
        if len(_df_cache) > DF_CACHE_MAX_TERMS:
            _df_cache.clear()
        # Unknown terms are cached as 0 too: they are the rarest, and asked for again.
        for term in wanted:
            _df_cache[term] = (fresh.get(term, 0), now)
    return documents, {t: c for t, c in found.items() if c}


def _read_counts(session: Session, terms: set[str]) -> tuple[int, dict[str, int]]:
    """The document count and the given terms' counts, in one round trip."""
    rows = session.execute(
        text(
            "SELECT NULL, value FROM corpus_counters WHERE name = 'documents' "
            "UNION ALL "
            "SELECT term, document_count FROM term_document_frequencies "
            "WHERE term = ANY(CAST(:terms AS text[]))"
        ),
        {"terms": sorted(terms)},
    ).all()
    documents = next((int(r[1]) for r in rows if r[0] is None), 0)
    return documents, {str(r[0]): int(r[1]) for r in rows if r[0] is not None}


def index_article(
    session: Session,
    *,
    article_id: int,
    scheme: dict[str, Any],
    hashvalues: bytes,
    keys: Sequence[int],
    terms: Iterable[str],
) -> None:
    """In one round trip: store the signature, add the band rows, and count one more document
    for each term (term rows are locked in sorted order, so two workers never deadlock)."""
    session.execute(
        text(
            "WITH signature AS ("
            "  INSERT INTO article_signatures (article_id, scheme, hashvalues) "
            "  VALUES (:id, CAST(:scheme AS jsonb), :hv) "
            "  ON CONFLICT (article_id) DO UPDATE SET scheme = EXCLUDED.scheme, "
            "  hashvalues = EXCLUDED.hashvalues RETURNING 1"
            "), bands AS ("
            "  INSERT INTO lsh_bands (band_key, article_id) "
            "  SELECT k, :id FROM unnest(CAST(:keys AS bigint[])) AS k "
            "  ON CONFLICT DO NOTHING RETURNING 1"
            "), terms AS ("
            "  INSERT INTO term_document_frequencies (term, document_count) "
            "  SELECT t, 1 FROM unnest(CAST(:terms AS text[])) AS t ORDER BY t "
            "  ON CONFLICT (term) DO UPDATE "
            "  SET document_count = term_document_frequencies.document_count + 1 RETURNING 1"
            "), documents AS ("
            "  INSERT INTO corpus_counters (name, value) VALUES ('documents', 1) "
            "  ON CONFLICT (name) DO UPDATE SET value = corpus_counters.value + 1 RETURNING 1"
            ") SELECT (SELECT count(*) FROM bands), (SELECT count(*) FROM terms)"
        ),
        {
            "id": article_id,
            "scheme": _json(scheme),
            "hv": hashvalues,
            "keys": list(keys),
            "terms": sorted(set(terms)),
        },
    )


def count_stale_signatures(session: Session, current_scheme: dict[str, Any]) -> tuple[int, int]:
    """(signatures made under another scheme than `current_scheme`, all signatures)."""
    row = session.execute(
        text(
            "SELECT count(*) FILTER (WHERE scheme <> CAST(:current AS jsonb)), count(*) "
            "FROM article_signatures"
        ),
        {"current": _json(current_scheme)},
    ).one()
    return int(row[0]), int(row[1])


def clear_index(session: Session) -> None:
    """Empty the band index and the corpus statistics, for reindex: both are rebuilt from the
    stored articles."""
    session.execute(
        text("TRUNCATE lsh_bands, article_signatures, term_document_frequencies, corpus_counters")
    )
    _df_cache.clear()


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
