"""SQL on the sources the service polls (feeds and sitemaps): the sources themselves with their
schedule and claim, the documents their polls read (validators, body hashes, child sitemaps),
and their fetch log.

A poll is claimed in two steps. The scheduler claims due sources in one statement
(``FOR UPDATE SKIP LOCKED``, so concurrent schedulers never claim one source twice) and gives
each a lease and a fresh token; the poll task then renews the lease with that token before it
works, and writes its result only while the token is still its own. A crashed poll's lease
runs out and the source is claimed again; a late message finds its token replaced and stops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

_SOURCE_COLUMNS = (
    "id, url, kind, document_kind, title, pinned_interval_s, interval_s, next_poll_at, "
    "consecutive_failures, failing_since, last_error, last_polled_at, created_at, stopped_at, "
    "lease_until"
)


@dataclass(frozen=True)
class SourceRow:
    id: int
    url: str
    kind: str
    document_kind: str | None
    title: str | None
    pinned_interval_s: int | None
    interval_s: int
    next_poll_at: datetime
    consecutive_failures: int
    failing_since: datetime | None
    last_error: str | None
    last_polled_at: datetime | None
    created_at: datetime
    stopped_at: datetime | None
    lease_until: datetime | None


def _source(row: Sequence[object]) -> SourceRow:
    return SourceRow(*row)  # type: ignore[arg-type]


# --- adding, stopping, asking for a poll ----------------------------------------------------


def insert_source(
    session: Session,
    *,
    url: str,
    kind: str,
    pinned_interval_s: int | None,
    interval_s: int,
    next_poll_at: datetime,
) -> int | None:
    """The new source's id, or None if a source with this URL exists (the caller reads it)."""
    source_id = session.execute(
        text(
            "INSERT INTO sources (url, kind, pinned_interval_s, interval_s, next_poll_at) "
            "VALUES (:url, :kind, :pinned, :interval, :next) "
            "ON CONFLICT (url) DO NOTHING RETURNING id"
        ),
        {
            "url": url,
            "kind": kind,
            "pinned": pinned_interval_s,
            "interval": interval_s,
            "next": next_poll_at,
        },
    ).scalar()
    return None if source_id is None else int(source_id)


def find_source_by_url(session: Session, url: str) -> SourceRow | None:
    row = session.execute(
        text(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE url = :url"), {"url": url}
    ).first()
    return _source(row) if row else None


def restart_source(session: Session, source_id: int) -> None:
    """A stopped source added again: polled again, at once."""
    session.execute(
        text(
            "UPDATE sources SET stopped_at = NULL, next_poll_at = now(), updated_at = now() "
            "WHERE id = :id AND stopped_at IS NOT NULL"
        ),
        {"id": source_id},
    )


def stop_source(session: Session, source_id: int) -> bool:
    """Stop polling (the row, its log and its articles stay); False if there is no source."""
    result = session.execute(
        text(
            "UPDATE sources SET stopped_at = coalesce(stopped_at, now()), lease_token = NULL, "
            "lease_until = NULL, updated_at = now() WHERE id = :id RETURNING id"
        ),
        {"id": source_id},
    ).first()
    return result is not None


def make_due_now(session: Session, source_id: int) -> SourceRow | None:
    """Poll now: due at once (a poll already running keeps its claim). None if no source."""
    row = session.execute(
        text(
            "UPDATE sources SET next_poll_at = least(next_poll_at, now()), updated_at = now() "
            f"WHERE id = :id AND stopped_at IS NULL RETURNING {_SOURCE_COLUMNS}"
        ),
        {"id": source_id},
    ).first()
    return _source(row) if row else None


# --- the schedule ---------------------------------------------------------------------------


def claim_due(session: Session, *, limit: int, lease_s: int) -> list[tuple[int, str]]:
    """(id, claim token) of up to ``limit`` due sources, most overdue first, each leased for
    ``lease_s``. Served by the partial index on next_poll_at."""
    rows = session.execute(
        text(
            "UPDATE sources SET lease_until = now() + make_interval(secs => :lease), "
            "lease_token = gen_random_uuid()::text "
            "WHERE id IN ("
            "  SELECT id FROM sources WHERE stopped_at IS NULL AND next_poll_at <= now() "
            "  AND (lease_until IS NULL OR lease_until < now()) "
            "  ORDER BY next_poll_at LIMIT :limit FOR UPDATE SKIP LOCKED"
            ") RETURNING id, lease_token"
        ),
        {"limit": limit, "lease": lease_s},
    ).all()
    return [(int(r[0]), str(r[1])) for r in rows]


def renew_claim(
    session: Session, source_id: int, token: str, *, lease_s: float
) -> SourceRow | None:
    """The source, with its lease renewed for ``lease_s``, if ``token`` still holds it."""
    row = session.execute(
        text(
            "UPDATE sources SET lease_until = now() + make_interval(secs => :lease) "
            "WHERE id = :id AND lease_token = :token AND stopped_at IS NULL "
            f"RETURNING {_SOURCE_COLUMNS}"
        ),
        {"id": source_id, "token": token, "lease": lease_s},
    ).first()
    return _source(row) if row else None


@dataclass(frozen=True)
class PollResultRow:
    """What a finished poll writes on its source (schedule.PollState and what it found)."""

    interval_s: int
    next_poll_at: datetime
    consecutive_failures: int
    failing_since: datetime | None
    last_error: str | None
    document_kind: str | None = None
    title: str | None = None


def finish_poll(session: Session, source_id: int, token: str, result: PollResultRow) -> bool:
    """Write the poll's schedule and release the claim; False (write nothing) if ``token`` no
    longer holds the source (its lease ran out and another poll took it, or it was stopped)."""
    done = session.execute(
        text(
            "UPDATE sources SET interval_s = :interval, next_poll_at = :next, "
            "consecutive_failures = :failures, failing_since = :since, last_error = :error, "
            "document_kind = coalesce(:document_kind, document_kind), "
            "title = coalesce(:title, title), last_polled_at = now(), updated_at = now(), "
            "lease_until = NULL, lease_token = NULL "
            "WHERE id = :id AND lease_token = :token AND stopped_at IS NULL RETURNING id"
        ),
        {
            "interval": result.interval_s,
            "next": result.next_poll_at,
            "failures": result.consecutive_failures,
            "since": result.failing_since,
            "error": result.last_error,
            "document_kind": result.document_kind,
            "title": result.title,
            "id": source_id,
            "token": token,
        },
    ).first()
    return done is not None


# --- the documents a poll reads -------------------------------------------------------------


@dataclass(frozen=True)
class DocumentRow:
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: bytes | None
    listed_lastmod: datetime | None
    fetched_lastmod: datetime | None


_DOCUMENT_COLUMNS = "url, etag, last_modified, body_hash, listed_lastmod, fetched_lastmod"


def _document(row: Sequence[object]) -> DocumentRow:
    url, etag, last_modified, body_hash, listed, fetched = row
    return DocumentRow(
        str(url),
        etag,  # type: ignore[arg-type]
        last_modified,  # type: ignore[arg-type]
        bytes(body_hash) if body_hash is not None else None,  # type: ignore[call-overload]
        listed,  # type: ignore[arg-type]
        fetched,  # type: ignore[arg-type]
    )


def get_document(session: Session, source_id: int, url: str) -> DocumentRow | None:
    row = session.execute(
        text(
            f"SELECT {_DOCUMENT_COLUMNS} FROM source_documents "
            "WHERE source_id = :source AND url = :url"
        ),
        {"source": source_id, "url": url},
    ).first()
    return _document(row) if row else None


def save_document(
    session: Session,
    source_id: int,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    body_hash: bytes | None,
) -> None:
    """What was read of a document: validators (kept when a 304 repeats none), body hash, and
    for a child sitemap the lastmod its index listed when it was read."""
    session.execute(
        text(
            "INSERT INTO source_documents "
            "(source_id, url, etag, last_modified, body_hash, fetched_at) "
            "VALUES (:source, :url, :etag, :modified, :hash, now()) "
            "ON CONFLICT (source_id, url) DO UPDATE SET "
            "etag = coalesce(EXCLUDED.etag, source_documents.etag), "
            "last_modified = coalesce(EXCLUDED.last_modified, source_documents.last_modified), "
            "body_hash = coalesce(EXCLUDED.body_hash, source_documents.body_hash), "
            "fetched_lastmod = source_documents.listed_lastmod, "
            "fetched_at = now()"
        ),
        {
            "source": source_id,
            "url": url,
            "etag": etag,
            "modified": last_modified,
            "hash": body_hash,
        },
    )


def replace_children(
    session: Session,
    source_id: int,
    *,
    own_url: str,
    children: Sequence[tuple[str, datetime | None]],
) -> None:
    """The child sitemaps a source's index lists now, (url, lastmod); children it no longer
    lists are forgotten."""
    session.execute(
        text(
            "DELETE FROM source_documents WHERE source_id = :source AND url <> :own "
            "AND NOT (url = ANY(CAST(:urls AS text[])))"
        ),
        {"source": source_id, "own": own_url, "urls": [url for url, _ in children]},
    )
    if not children:
        return
    session.execute(
        text(
            "INSERT INTO source_documents (source_id, url, listed_lastmod) "
            "SELECT :source, c.url, c.lastmod FROM unnest(CAST(:urls AS text[]), "
            "CAST(:lastmods AS timestamptz[])) AS c(url, lastmod) ORDER BY c.url "
            "ON CONFLICT (source_id, url) DO UPDATE SET listed_lastmod = EXCLUDED.listed_lastmod"
        ),
        {
            "source": source_id,
            "urls": [url for url, _ in children],
            "lastmods": [lastmod for _, lastmod in children],
        },
    )


def children_to_read(
    session: Session, source_id: int, *, own_url: str, limit: int
) -> list[DocumentRow]:
    """The child sitemaps worth reading this poll, newest listed first: never read, or listed
    with a lastmod newer than the one they had when read (or with none to compare)."""
    rows = session.execute(
        text(
            f"SELECT {_DOCUMENT_COLUMNS} FROM source_documents "
            "WHERE source_id = :source AND url <> :own AND (fetched_at IS NULL "
            "  OR listed_lastmod IS NULL OR fetched_lastmod IS NULL "
            "  OR listed_lastmod > fetched_lastmod) "
            # Without lastmods to go by, the least recently read come first: all get a turn.
            "ORDER BY listed_lastmod DESC NULLS LAST, fetched_at ASC NULLS FIRST, url "
            "LIMIT :limit"
        ),
        {"source": source_id, "own": own_url, "limit": limit},
    ).all()
    return [_document(r) for r in rows]


# --- the fetch log --------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchLogEntry:
    outcome: str
    http_status: int | None = None
    documents: int = 0
    items: int = 0
    new_items: int = 0
    detail: str | None = None
    finished: bool = True


def record_fetch(
    session: Session, source_id: int, entry: FetchLogEntry, *, fetch_id: int | None = None
) -> int:
    """Write the poll's row of the fetch log (a deferred poll updates its row when it ends)."""
    values = {
        "source": source_id,
        "id": fetch_id,
        "outcome": entry.outcome,
        "status": entry.http_status,
        "documents": entry.documents,
        "items": entry.items,
        "new": entry.new_items,
        "detail": entry.detail,
        "finished": entry.finished,
    }
    if fetch_id is not None:
        updated = session.execute(
            text(
                "UPDATE source_fetches SET outcome = :outcome, http_status = :status, "
                "documents = :documents, items = :items, new_items = :new, detail = :detail, "
                "finished_at = CASE WHEN :finished THEN now() END "
                "WHERE id = :id AND source_id = :source RETURNING id"
            ),
            values,
        ).scalar()
        if updated is not None:
            return int(updated)
    inserted = session.execute(
        text(
            "INSERT INTO source_fetches "
            "(source_id, outcome, http_status, documents, items, new_items, detail, finished_at) "
            "VALUES (:source, :outcome, :status, :documents, :items, :new, :detail, "
            "CASE WHEN :finished THEN now() END) RETURNING id"
        ),
        values,
    ).scalar_one()
    return int(inserted)


def prune_fetches(session: Session, source_id: int, *, keep: int) -> None:
    """Keep the source's newest ``keep`` log rows."""
    session.execute(
        text(
            "DELETE FROM source_fetches WHERE source_id = :source AND id < ("
            "  SELECT min(id) FROM (SELECT id FROM source_fetches WHERE source_id = :source "
            "  ORDER BY id DESC LIMIT :keep) AS kept)"
        ),
        {"source": source_id, "keep": keep},
    )


# --- the read side --------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchRow:
    source_id: int
    id: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    http_status: int | None
    documents: int
    items: int
    new_items: int
    detail: str | None


def get_source(session: Session, source_id: int) -> SourceRow | None:
    row = session.execute(
        text(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE id = :id"), {"id": source_id}
    ).first()
    return _source(row) if row else None


def list_sources(
    session: Session, *, limit: int, after_id: int | None, include_stopped: bool
) -> list[SourceRow]:
    """In the order they were added; ``after_id`` is the cursor."""
    rows = session.execute(
        text(
            f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE id > :after "
            "AND (:stopped OR stopped_at IS NULL) ORDER BY id LIMIT :limit"
        ),
        {"after": after_id or 0, "stopped": include_stopped, "limit": limit},
    ).all()
    return [_source(r) for r in rows]


def recent_fetches(
    session: Session, source_ids: Sequence[int], *, per_source: int
) -> dict[int, list[FetchRow]]:
    """The newest ``per_source`` log rows of each source, newest first, in one query."""
    if not source_ids:
        return {}
    rows = session.execute(
        text(
            "SELECT source_id, id, started_at, finished_at, outcome, http_status, documents, "
            "items, new_items, detail FROM ("
            "  SELECT f.*, row_number() OVER (PARTITION BY source_id ORDER BY id DESC) AS n "
            "  FROM source_fetches f WHERE source_id = ANY(CAST(:ids AS bigint[]))"
            ") AS ranked WHERE n <= :per ORDER BY source_id, id DESC"
        ),
        {"ids": list(source_ids), "per": per_source},
    ).all()
    found: dict[int, list[FetchRow]] = {int(i): [] for i in source_ids}
    for r in rows:
        found[int(r[0])].append(FetchRow(*r))
    return found


@dataclass(frozen=True)
class SourceArticleRow:
    """An article a source brought, as its page lists it."""

    id: int
    title: str | None
    url: str | None
    status: str
    story_id: int | None
    match_kind: str | None
    published_at: datetime | None
    received_at: datetime


def recent_articles(session: Session, source_id: int, *, limit: int) -> list[SourceArticleRow]:
    """The newest ``limit`` articles the source brought: by publication date where the feed
    gave one, else by when they were received (ix_articles_source_id finds them)."""
    rows = session.execute(
        text(
            "SELECT id, title, url, status, story_id, match_kind, published_at, created_at "
            "FROM articles WHERE source_id = :source "
            "ORDER BY coalesce(published_at, created_at) DESC, id DESC LIMIT :limit"
        ),
        {"source": source_id, "limit": limit},
    ).all()
    return [SourceArticleRow(*row) for row in rows]


def article_counts(session: Session, source_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Articles each source brought, by status."""
    rows = session.execute(
        text(
            "SELECT source_id, status, count(*) FROM articles "
            "WHERE source_id = ANY(CAST(:ids AS bigint[])) GROUP BY source_id, status"
        ),
        {"ids": list(source_ids)},
    ).all()
    counts: dict[int, dict[str, int]] = {int(i): {} for i in source_ids}
    for source_id, status, count in rows:
        counts[int(source_id)][str(status)] = int(count)
    return counts


def count_by_status(session: Session) -> dict[str, int]:
    """Sources by status, as ``sources.views`` decides it: stopped; else failing (a failure
    since the last success); else new (never polled) or ok. One scan, at each metrics scrape."""
    rows = session.execute(
        text(
            "SELECT CASE WHEN stopped_at IS NOT NULL THEN 'stopped' "
            "WHEN consecutive_failures > 0 THEN 'failing' "
            "WHEN last_polled_at IS NULL THEN 'new' ELSE 'ok' END, count(*) "
            "FROM sources GROUP BY 1"
        )
    ).all()
    return {str(status): int(count) for status, count in rows}
