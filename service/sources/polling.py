"""Polling a source: fetch its document politely and conditionally, parse it, turn the items
we do not know into articles, and schedule the next poll. Called by a worker task with a claim
token (see ``repositories.polled_sources``); knows nothing of Celery.

One poll:
1. **Claim.** The token the scheduler handed out is renewed; a poll whose token was replaced
   (its lease ran out, the source was stopped) does nothing.
2. **Fetch** the source's URL through the ``PoliteClient`` (robots.txt, the host's gate, the
   SSRF-safe client), conditional on the validators the server gave last time. A 304 is
   "not modified". A body whose hash matches the last one is "unchanged" and is not parsed.
   The validators the server sends are saved either way: some servers send one ETag for
   changed feeds, so the hash, not the ETag, decides whether to parse.
3. **Parse** (``parse_document``). Errors are the source's, with their reason: not a feed or
   sitemap (naming the feeds an HTML page links to, if any), an XML or gzip bomb, a feed so
   malformed that nothing could be read from it. A feed that was malformed but gave items is a
   success whose log entry says what was wrong.
4. **Items become articles**, in one transaction with the document's new hash: each URL is
   normalised (``urls.normalize_item_url``) and passed through the fetch guard's syntax check;
   URLs an article already has (as its URL or its canonical URL) are skipped, in one query per
   document; the rest are recorded by ``ingest.record_articles`` with the feed's title, date,
   GUID and author and the source's id; committed, then their fetches are enqueued.
5. **Sitemap indexes**: the children the index lists are remembered, and the newest few (by
   lastmod) that moved since we read them are read in the same poll, each like step 2-4.
6. **Schedule** with ``schedule.after_success`` / ``after_failure`` (Retry-After honoured),
   one row in the fetch log, one log line, and the outcome counted on /metrics
   (``newsdedup_source_polls_total``) once it is committed.

Nothing sleeps: when robots.txt or the host's gate says "not now", the poll returns DEFERRED
with the countdown and the progress so far (children still to read, counts), and the task
re-queues it with both. Its claim is extended to cover the countdown.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from service.db import SessionFactory, lock_key, lock_keys
from service.extraction import page_metadata
from service.fetching import (
    FEEDS_AND_SITEMAPS,
    FetchedPage,
    FetchError,
    FetchPolicy,
    HTTPStatusFailed,
    URLRefused,
    Validators,
    check_url_syntax,
)
from service.fetching.polite import NotNow, PoliteClient, RobotsDisallowed, RobotsUnreachable
from service.ingest import AcceptedArticle, NewArticle, TaskQueue, enqueue_accepted, record_articles
from service.metrics import record_poll
from service.models import FetchOutcome, SourceKind
from service.repositories import articles
from service.repositories import polled_sources as repo
from service.repositories.polled_sources import FetchLogEntry, PollResultRow, SourceRow
from service.settings import Settings
from service.sources.documents import (
    DocumentError,
    DocumentKind,
    NotAFeedOrSitemap,
    ParsedDocument,
    SourceItem,
)
from service.sources.parsing import DocumentLimits, parse_document
from service.sources.schedule import (
    PollBounds,
    PollState,
    after_failure,
    after_success,
    parse_retry_after,
)
from service.sources.urls import normalize_item_url

log = logging.getLogger(__name__)

# A fetch-log detail is for people: a kilobyte says what happened without storing a document.
MAX_DETAIL_CHARS = 1000
# An HTML page's feed links named in the error, at most: enough to pick one.
MAX_FEEDS_NAMED = 3

# What the user may declare a source to be -> the kinds of document that fit.
_FITS = {
    SourceKind.RSS.value: {DocumentKind.RSS},
    SourceKind.ATOM.value: {DocumentKind.ATOM},
    SourceKind.SITEMAP.value: {DocumentKind.SITEMAP, DocumentKind.SITEMAP_INDEX},
}
SKIPPED = "skipped"  # the claim was no longer ours: nothing done


@dataclass(frozen=True)
class PollSettings:
    """What a poll needs from the settings (see there for why each number is what it is)."""

    bounds: PollBounds
    limits: DocumentLimits
    # Source documents may be larger than article pages: the byte cap is the documents' own.
    policy: FetchPolicy
    lease_s: int
    max_children: int
    fetch_log_keep: int
    # A run that has spent this long hands the children still to read to a new run (a new
    # message, at once), so that no run nears the task's time limit: one fetch's time limit.
    run_budget_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> PollSettings:
        limits = DocumentLimits(
            max_items=settings.source_max_items_per_document,
            max_feed_bytes=settings.source_max_feed_bytes,
            max_sitemap_bytes=settings.source_max_sitemap_bytes,
        )
        return cls(
            bounds=PollBounds(
                min_interval=timedelta(seconds=settings.source_poll_min_interval_s),
                max_interval=timedelta(seconds=settings.source_poll_max_interval_s),
                default_interval=timedelta(seconds=settings.source_poll_default_interval_s),
            ),
            limits=limits,
            policy=replace(
                FetchPolicy.from_settings(settings),
                max_bytes=max(limits.max_feed_bytes, limits.max_sitemap_bytes),
            ),
            lease_s=settings.source_poll_lease_s,
            max_children=settings.source_max_child_sitemaps_per_poll,
            fetch_log_keep=settings.source_fetch_log_keep,
            run_budget_s=settings.fetch_total_timeout_s,
        )


@dataclass
class PollProgress:
    """A poll so far, carried by a deferred poll's message to its next run (plain JSON)."""

    fetch_id: int | None = None  # its fetch-log row, once written
    children: list[str] | None = None  # child sitemaps still to read; None: the main document
    documents: int = 0  # documents fetched (a 304 counts)
    items: int = 0
    new_items: int = 0
    known_items: int = 0
    parsed: int = 0  # documents parsed
    unchanged: int = 0  # documents skipped because their hash had not changed
    children_read: int = 0
    child_failures: int = 0
    http_status: int | None = None  # of the source's own document
    notes: list[str] = field(default_factory=list)  # what was wrong and recovered from
    document_kind: str | None = None
    title: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> PollProgress:
        return cls(**data) if data else cls()


@dataclass(frozen=True)
class PollOutcome:
    outcome: str  # a FetchOutcome value, or SKIPPED
    detail: str | None = None
    new_items: int = 0
    retry_in_s: float | None = None  # DEFERRED: re-queue with this countdown...
    progress: dict[str, Any] | None = None  # ...and this progress


class _Deferred(Exception):
    def __init__(self, wait: NotNow) -> None:
        super().__init__(wait.reason)
        self.wait = wait


class _Failed(Exception):
    def __init__(
        self, reason: str, *, http_status: int | None = None, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.retry_after = retry_after


class _ClaimLost(Exception):
    pass


def claim_due_sources(session: Session, *, limit: int, lease_s: int) -> list[tuple[int, str]]:
    """(id, claim token) of due sources, leased; the caller commits, then sends the polls."""
    return repo.claim_due(session, limit=limit, lease_s=lease_s)


def poll_source(
    source_id: int,
    *,
    claim_token: str,
    progress: dict[str, Any] | None = None,
    session_factory: SessionFactory,
    client: PoliteClient,
    settings: PollSettings,
    queue: TaskQueue,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PollOutcome:
    """Poll one source (see the module doc). Never raises for the source's own failures: those
    are outcomes, written on the source and in its fetch log."""
    poll = _Poll(
        source_id,
        claim_token,
        PollProgress.from_json(progress),
        session_factory=session_factory,
        client=client,
        settings=settings,
        queue=queue,
        clock=clock,
    )
    return poll.run()


class _Poll:
    def __init__(
        self,
        source_id: int,
        token: str,
        progress: PollProgress,
        *,
        session_factory: SessionFactory,
        client: PoliteClient,
        settings: PollSettings,
        queue: TaskQueue,
        clock: Callable[[], datetime],
    ) -> None:
        self.source_id = source_id
        self.token = token
        self.progress = progress
        self.sessions = session_factory
        self.client = client
        self.settings = settings
        self.queue = queue
        self.clock = clock
        self.started = time.monotonic()

    def run(self) -> PollOutcome:
        with self.sessions() as session:
            source = repo.renew_claim(
                session, self.source_id, self.token, lease_s=self.settings.lease_s
            )
            session.commit()
        if source is None:
            log.info("source %s: poll skipped, its claim is no longer ours", self.source_id)
            return PollOutcome(SKIPPED, "claim lost or source stopped")
        try:
            if self.progress.children is None:
                self._read_main(source)
            self._read_children(source)
            return self._succeed(source)
        except _Deferred as deferred:
            return self._defer(source, deferred.wait)
        except _Failed as failed:
            return self._fail(source, failed)
        except _ClaimLost:
            log.info("source %s: claim lost mid-poll, its result dropped", self.source_id)
            return PollOutcome(SKIPPED, "claim lost mid-poll")

    # --- reading documents ----------------------------------------------------------------

    def _read_main(self, source: SourceRow) -> None:
        with self.sessions() as session:
            known = repo.get_document(session, source.id, source.url)
        try:
            page = self._fetch(source.url, known)
        except HTTPStatusFailed as error:
            retry_after = parse_retry_after(error.retry_after, now=self.clock())
            raise _Failed(error.reason, http_status=error.status, retry_after=retry_after) from None
        except FetchError as error:
            raise _Failed(error.reason) from None
        self.progress.http_status = page.status
        parsed = self._parse_if_changed(page, known)
        if parsed is None:  # not modified, or the same bytes: any children still need a look
            with self.sessions() as session:
                self._claim(session)
                self._save(session, source.url, page, None)
                session.commit()
            if source.document_kind == DocumentKind.SITEMAP_INDEX.value:
                self._plan_children(source)
            else:
                self.progress.children = []
            return
        self._check_kind(source, parsed)
        self.progress.document_kind = parsed.kind.value
        self.progress.title = parsed.title
        if parsed.kind is DocumentKind.SITEMAP_INDEX:
            with self.sessions() as session:
                self._claim(session)
                repo.replace_children(
                    session,
                    source.id,
                    own_url=source.url,
                    children=[(c.url, c.updated_at) for c in parsed.child_sitemaps],
                )
                self._save(session, source.url, page, _hash(page.body))
                session.commit()
            self._plan_children(source)
            return
        self._record(source, source.url, page, parsed)
        self.progress.children = []

    def _plan_children(self, source: SourceRow) -> None:
        with self.sessions() as session:
            children = repo.children_to_read(
                session, source.id, own_url=source.url, limit=self.settings.max_children
            )
        self.progress.children = [child.url for child in children]

    def _read_children(self, source: SourceRow) -> None:
        while self.progress.children:
            if time.monotonic() - self.started > self.settings.run_budget_s:
                raise _Deferred(NotNow(0.0, "this run's time is spent; the rest in a new run"))
            url = self.progress.children[0]
            with self.sessions() as session:
                known = repo.get_document(session, source.id, url)
            try:
                page = self._fetch(url, known)
                parsed = self._parse_if_changed(page, known)
            except (FetchError, _Failed) as error:  # one broken child does not fail the poll
                self._note(f"child sitemap {url}: {error.reason}")
                self.progress.child_failures += 1
                self.progress.children.pop(0)
                continue
            self.progress.children_read += 1
            if parsed is None:
                with self.sessions() as session:
                    self._claim(session)
                    self._save(session, url, page, None)
                    session.commit()
            elif parsed.kind is not DocumentKind.SITEMAP:
                self._note(f"child sitemap {url}: a {parsed.kind.value}, not followed")
            else:
                self._record(source, url, page, parsed)
            self.progress.children.pop(0)

    def _fetch(self, url: str, known: repo.DocumentRow | None) -> FetchedPage:
        validators = Validators(known.etag, known.last_modified) if known else None
        result = self.client.fetch(
            url,
            content_types=FEEDS_AND_SITEMAPS,
            validators=validators,
            policy=self.settings.policy,
        )
        if isinstance(result, NotNow):
            raise _Deferred(result)
        if isinstance(result, RobotsDisallowed):
            raise _Failed(f"refused by robots.txt: {result.reason}")
        if isinstance(result, RobotsUnreachable):
            raise _Failed(result.reason, retry_after=timedelta(seconds=result.retry_in_s))
        self.progress.documents += 1
        return result

    def _parse_if_changed(
        self, page: FetchedPage, known: repo.DocumentRow | None
    ) -> ParsedDocument | None:
        """The parsed document, or None when it has not changed (304, or the same bytes)."""
        if page.not_modified:
            return None
        if known is not None and known.body_hash == _hash(page.body):
            self.progress.unchanged += 1
            return None
        try:
            parsed = parse_document(
                page.body, limits=self.settings.limits, base_url=page.url, charset=page.charset
            )
        except NotAFeedOrSitemap as error:
            raise _Failed(error.reason + _feeds_named(page)) from None
        except DocumentError as error:
            raise _Failed(error.reason) from None
        self.progress.parsed += 1
        malformed = [w for w in parsed.warnings if w.startswith("malformed")]
        if malformed and not parsed.items and not parsed.child_sitemaps:
            raise _Failed(f"{malformed[0]}; nothing could be read from it")
        for warning in parsed.warnings:
            self._note(warning)
        return parsed

    def _check_kind(self, source: SourceRow, parsed: ParsedDocument) -> None:
        fits = _FITS.get(source.kind)
        if fits is not None and parsed.kind not in fits:
            raise _Failed(f"expected {source.kind}, found {parsed.kind.value}")

    # --- writing --------------------------------------------------------------------------

    def _record(
        self, source: SourceRow, url: str, page: FetchedPage, parsed: ParsedDocument
    ) -> None:
        """The document's items as articles, and its new hash, in one transaction (a crash
        between the two would skip the items forever); then the fetches are enqueued."""
        with self.sessions() as session:
            self._claim(session)
            accepted, known, skipped = record_items(
                parsed.items, source_id=source.id, policy=self.settings.policy, session=session
            )
            self._save(session, url, page, _hash(page.body))
            session.commit()
        enqueue_accepted(accepted, queue=self.queue)
        self.progress.items += len(parsed.items)
        self.progress.new_items += len(accepted)
        self.progress.known_items += known
        if skipped:
            self._note(f"skipped {skipped} items whose URL may not be fetched")

    def _save(self, session: Session, url: str, page: FetchedPage, body_hash: bytes | None) -> None:
        repo.save_document(
            session,
            self.source_id,
            url,
            etag=page.validators.etag,
            last_modified=page.validators.last_modified,
            body_hash=body_hash,
        )

    def _claim(self, session: Session, *, extra_s: float = 0) -> SourceRow:
        """Renew the claim inside a write: the row lock serialises us with any other holder,
        and a token no longer ours stops the write."""
        source = repo.renew_claim(
            session, self.source_id, self.token, lease_s=self.settings.lease_s + extra_s
        )
        if source is None:
            session.rollback()
            raise _ClaimLost()
        return source

    def _note(self, note: str) -> None:
        if note not in self.progress.notes:
            self.progress.notes.append(note)

    # --- ending ---------------------------------------------------------------------------

    def _succeed(self, source: SourceRow) -> PollOutcome:
        progress = self.progress
        if progress.child_failures and not progress.children_read:
            return self._fail(
                source, _Failed("every child sitemap failed: " + "; ".join(progress.notes))
            )
        if progress.new_items:
            outcome = FetchOutcome.NEW_ITEMS
        elif progress.parsed:
            outcome = FetchOutcome.NO_NEW_ITEMS
        elif progress.unchanged:
            outcome = FetchOutcome.UNCHANGED
        else:
            outcome = FetchOutcome.NOT_MODIFIED
        now = self.clock()
        state = after_success(
            _state(source),
            now=now,
            new_items=progress.new_items,
            known_items=progress.known_items,
            bounds=bounds_for(source.pinned_interval_s, self.settings.bounds, failing=False),
        )
        detail = "; ".join(progress.notes) or None
        self._finish(source, outcome, state, detail)
        log.info(
            "source %s polled: %s, %d documents, %d items, %d new, next poll at %s%s",
            source.id,
            outcome.value,
            progress.documents,
            progress.items,
            progress.new_items,
            state.next_poll_at.isoformat(timespec="seconds"),
            f" ({detail})" if detail else "",
        )
        return PollOutcome(outcome.value, detail, new_items=progress.new_items)

    def _fail(self, source: SourceRow, failed: _Failed) -> PollOutcome:
        state = after_failure(
            _state(source),
            now=self.clock(),
            error=failed.reason[:MAX_DETAIL_CHARS],
            bounds=bounds_for(source.pinned_interval_s, self.settings.bounds, failing=True),
            retry_after=failed.retry_after,
        )
        if failed.http_status is not None:
            self.progress.http_status = failed.http_status
        self._finish(source, FetchOutcome.FAILED, state, failed.reason)
        log.warning(
            "source %s poll failed (%d in a row): %s; next try at %s",
            source.id,
            state.consecutive_failures,
            failed.reason,
            state.next_poll_at.isoformat(timespec="seconds"),
        )
        return PollOutcome(FetchOutcome.FAILED.value, failed.reason)

    def _finish(
        self, source: SourceRow, outcome: FetchOutcome, state: PollState, detail: str | None
    ) -> None:
        progress = self.progress
        try:
            with self.sessions() as session:
                self._claim(session)
                repo.record_fetch(
                    session,
                    source.id,
                    self._log_entry(outcome, detail),
                    fetch_id=progress.fetch_id,
                )
                repo.finish_poll(
                    session,
                    source.id,
                    self.token,
                    PollResultRow(
                        interval_s=round(state.interval.total_seconds()),
                        next_poll_at=state.next_poll_at,
                        consecutive_failures=state.consecutive_failures,
                        failing_since=state.failing_since,
                        last_error=state.last_error,
                        document_kind=progress.document_kind,
                        title=progress.title,
                    ),
                )
                repo.prune_fetches(session, source.id, keep=self.settings.fetch_log_keep)
                session.commit()
        except _ClaimLost:
            log.info("source %s: claim lost before the poll's end was written", source.id)
            return
        record_poll(outcome.value)

    def _defer(self, source: SourceRow, wait: NotNow) -> PollOutcome:
        try:
            with self.sessions() as session:
                # The claim must outlast the countdown, or the scheduler would poll it again.
                self._claim(session, extra_s=wait.seconds)
                self.progress.fetch_id = repo.record_fetch(
                    session,
                    source.id,
                    self._log_entry(FetchOutcome.DEFERRED, f"{wait.reason}: {wait.seconds:.1f} s"),
                    fetch_id=self.progress.fetch_id,
                )
                session.commit()
        except _ClaimLost:
            return PollOutcome(SKIPPED, "claim lost")
        record_poll(FetchOutcome.DEFERRED.value)
        log.info("source %s poll deferred %.1f s: %s", source.id, wait.seconds, wait.reason)
        return PollOutcome(
            FetchOutcome.DEFERRED.value,
            wait.reason,
            retry_in_s=wait.seconds,
            progress=self.progress.to_json(),
        )

    def _log_entry(self, outcome: FetchOutcome, detail: str | None) -> FetchLogEntry:
        progress = self.progress
        return FetchLogEntry(
            outcome=outcome.value,
            http_status=progress.http_status,
            documents=progress.documents,
            items=progress.items,
            new_items=progress.new_items,
            detail=detail[:MAX_DETAIL_CHARS] if detail else None,
            finished=outcome is not FetchOutcome.DEFERRED,
        )


def record_items(
    items: Sequence[SourceItem], *, source_id: int, policy: FetchPolicy, session: Session
) -> tuple[list[AcceptedArticle], int, int]:
    """Record the items whose URL no article has yet: (accepted, known, skipped). The caller
    commits, then enqueues the accepted ones.

    Each URL is normalised, then checked by the fetch guard's syntax check (an item pointing
    at a private address is skipped). An item is known if any article has its normalised URL,
    or the URL as the feed wrote it, as its URL or canonical URL: one query for the document.
    """
    candidates: dict[str, tuple[SourceItem, str | None]] = {}
    skipped = 0
    for item in items:
        written = item.url.strip()
        try:
            normalized = normalize_item_url(written)
            url = check_url_syntax(normalized, policy=policy)
        except (ValueError, URLRefused):
            skipped += 1
            continue
        as_written: str | None = url
        if written != normalized:  # the check costs ~50 µs: only for a URL that differs
            try:
                as_written = check_url_syntax(written, policy=policy)
            except URLRefused:
                as_written = None
        candidates.setdefault(url, (item, as_written))
    if not candidates:
        return [], 0, skipped
    # Two polls recording items of one site at once (a feed and a sitemap of one outlet)
    # serialise here, so neither misses the other's rows. One lock per host, not per URL: a
    # thousand advisory locks per transaction would crowd PostgreSQL's shared lock table.
    hosts = {urlsplit(url).hostname or "" for url in candidates}
    lock_keys(session, [lock_key("article host", host) for host in hosts])
    spellings = [*candidates, *(w for _, w in candidates.values() if w)]
    known = articles.known_urls(session, spellings)
    new = [
        NewArticle(
            url=url,
            title=item.title,
            published_at=item.published_at,
            source_id=source_id,
            feed_guid=item.guid,
            author=item.author,
        )
        for url, (item, as_written) in candidates.items()
        if url not in known and as_written not in known
    ]
    accepted = record_articles(new, session=session)
    return accepted, len(candidates) - len(new), skipped


def _hash(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


def _feeds_named(page: FetchedPage) -> str:
    """For a home page given as a source: the feeds it links to, so the user can pick one."""
    if page.body.lstrip()[:1] != b"<":
        return ""
    html = page.body.decode(page.charset or "utf-8", errors="replace")
    feeds = page_metadata(html, url=page.url).feed_urls[:MAX_FEEDS_NAMED]
    if not feeds:
        return ""
    return f"; the page links to feeds: {', '.join(feeds)} (add one of them as a source)"


def _state(source: SourceRow) -> PollState:
    return PollState(
        interval=timedelta(seconds=source.interval_s),
        next_poll_at=source.next_poll_at,
        consecutive_failures=source.consecutive_failures,
        failing_since=source.failing_since,
        last_error=source.last_error,
    )


def bounds_for(pinned_interval_s: int | None, bounds: PollBounds, *, failing: bool) -> PollBounds:
    """A source whose interval the user set keeps it after a success; failures still back off
    from it, up to the usual maximum."""
    pinned = pinned_interval_s
    if pinned is None:
        return bounds
    interval = timedelta(seconds=pinned)
    if failing:
        return PollBounds(interval, max(interval, bounds.max_interval), interval)
    return PollBounds(interval, interval, interval)
