"""Find or create the story of an article: atomic in PostgreSQL, never a scan over articles.

1. Exact re-post (same cleaned text or same URL): joins that story, not counted as a variant.
2. MinHash LSH over the story features proposes candidates from the band index in PostgreSQL.
3. The verification score decides; the best candidate at or above the threshold gives the story.
All of it runs under advisory locks on the article's band keys, text hash and URL, taken in
ascending order, so two workers handling near-duplicates at once cannot create two stories.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.db import lock_key, lock_keys
from service.dedup.features import StoryFeatures
from service.dedup.scoring import (
    Idf,
    IdfTable,
    MatchScore,
    StoryScorer,
    effective_threshold,
    score_weights,
)
from service.dedup.signature import (
    SignatureScheme,
    band_keys,
    encode_hashvalues,
    minhash_values,
)
from service.models import MatchKind
from service.repositories import articles, band_index, stories
from service.repositories.band_index import StoredMember
from service.settings import Settings

# Near copies (syndication, re-posts) share long word runs; rewrites do not. Five words is the
# shingle length text-dedup and the extraction benchmark use for "same wording".
NEAR_COPY_SHINGLE_WORDS = 5


@dataclass(frozen=True)
class MatchSettings:
    num_perm: int
    bands: int
    max_candidates: int
    band_read_limit: int
    same_story_threshold: float
    near_copy_jaccard: float

    @classmethod
    def from_settings(cls, settings: Settings) -> MatchSettings:
        return cls(
            num_perm=settings.minhash_num_perm,
            bands=settings.lsh_bands,
            max_candidates=settings.max_candidates,
            band_read_limit=settings.lsh_band_read_limit,
            same_story_threshold=settings.same_story_threshold,
            near_copy_jaccard=settings.near_copy_jaccard,
        )

    @property
    def scheme(self) -> SignatureScheme:
        return SignatureScheme(num_perm=self.num_perm, bands=self.bands)

    def to_json(self) -> dict[str, Any]:
        """Everything that decided this signature's matches, stored with it, so a later
        settings change can be detected and `newsdedup reindex` run."""
        return {
            **self.scheme.to_json(),
            "max_candidates": self.max_candidates,
            "band_read_limit": self.band_read_limit,
            "same_story_threshold": self.same_story_threshold,
            "near_copy_jaccard": self.near_copy_jaccard,
            "score_weights": score_weights(),
        }


@dataclass(frozen=True)
class Assignment:
    story_id: int
    match_kind: MatchKind
    matched_article_id: int | None
    similarity: float | None
    evidence: dict[str, Any]


def word_shingles(text_: str, size: int = NEAR_COPY_SHINGLE_WORDS) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text_.casefold())
    return {tuple(words[i : i + size]) for i in range(max(0, len(words) - size + 1))}


def shingle_jaccard(a: str, b: str) -> float:
    sa, sb = word_shingles(a), word_shingles(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


@dataclass(frozen=True)
class ProcessedArticle:
    """What processing made of an article: stored together with its story assignment."""

    url: str | None
    title: str | None
    text: str
    text_hash: bytes
    language: str | None
    published_at: datetime | None
    features: StoryFeatures


@dataclass(frozen=True)
class Decision:
    """Which candidate's story an article joins (None: it starts a new story), and the best
    candidate with its score and evidence, whether or not it reached the threshold."""

    member: StoredMember | None
    best: StoredMember | None
    match: MatchScore | None


def choose_story(
    article: StoryFeatures,
    candidates: Sequence[tuple[StoredMember, StoryFeatures]],
    *,
    idf: Idf,
    threshold: float,
) -> Decision:
    """The best-scoring candidate joins the article to its story if its score reaches the
    threshold; the first of equal scores wins (candidates come most band collisions first)."""
    if not candidates:
        return Decision(None, None, None)
    scorer = StoryScorer(article, idf=idf)
    scores = [scorer.score(features) for _, features in candidates]
    top = max(range(len(candidates)), key=scores.__getitem__)
    member, features = candidates[top]
    match = scorer.match(features)
    return Decision(member if match.score >= threshold else None, member, match)


def assign_story(
    article_id: int,
    article: ProcessedArticle,
    *,
    settings: MatchSettings,
    session: Session,
) -> Assignment:
    """Find or create the article's story and store the article, done, in it.

    Runs within the caller's transaction; the caller commits, which releases the locks.
    """
    features = article.features
    scheme = settings.scheme
    hashvalues = minhash_values(features.key_features(), scheme)
    keys = band_keys(hashvalues, scheme)
    locks = [*keys, lock_key("text", article.text_hash)]
    if article.url:
        locks.append(lock_key("url", article.url))
    lock_keys(session, locks)

    exact = articles.find_exact_member(
        session, article_id=article_id, text_hash=article.text_hash, url=article.url
    )
    if exact is not None:
        matched_id, story_id, same_text = exact
        assignment = Assignment(
            story_id,
            MatchKind.EXACT,
            matched_id,
            1.0,
            {"decided_by": "same cleaned text" if same_text else "same URL"},
        )
        _store(session, article_id, article, assignment, counts_as_variant=False)
        return assignment

    candidates = band_index.find_candidates(
        session,
        article_id=article_id,
        keys=keys,
        limit=settings.max_candidates,
        per_band_limit=settings.band_read_limit,
    )
    decision = Decision(None, None, None)
    threshold = settings.same_story_threshold
    if candidates:
        scored = [(c, StoryFeatures.from_json(c.features)) for c in candidates]
        terms = set(features.term_weights).union(*(f.term_weights for _, f in scored))
        documents, frequencies = band_index.document_frequencies(session, terms)
        # A young corpus cannot tell topic words from story words: demand more evidence.
        threshold = effective_threshold(settings.same_story_threshold, documents)
        decision = choose_story(
            features,
            scored,
            # Each term's IDF is computed once, not once per candidate pair it appears in.
            idf=IdfTable(documents, frequencies).__getitem__,
            threshold=threshold,
        )

    band_index.index_article(
        session,
        article_id=article_id,
        scheme=settings.to_json(),
        hashvalues=encode_hashvalues(hashvalues),
        keys=keys,
        terms=features.term_weights,
    )

    if decision.member is not None and decision.match is not None:
        member, match = decision.member, decision.match
        jaccard = shingle_jaccard(
            article.text, articles.cleaned_text(session, member.article_id) or ""
        )
        kind = MatchKind.NEAR_COPY if jaccard >= settings.near_copy_jaccard else MatchKind.REWRITE
        joined = {
            "decided_by": "story score",
            **match.evidence(),
            "threshold": round(threshold, 4),
            "shared_wording": round(jaccard, 4),
        }
        assignment = Assignment(member.story_id, kind, member.article_id, match.score, joined)
        _store(session, article_id, article, assignment, counts_as_variant=True)
        return assignment

    story_id = stories.create_story(session, canonical_article_id=article_id)
    started: dict[str, Any] = {"decided_by": "no candidate shares enough key terms"}
    if decision.match is not None and decision.best is not None:
        started = {
            "decided_by": "best candidate below the threshold",
            "best_candidate": decision.best.article_id,
            "best_score": round(decision.match.score, 4),
            "threshold": round(threshold, 4),
        }
    assignment = Assignment(story_id, MatchKind.CANONICAL, None, None, started)
    _store(session, article_id, article, assignment, counts_as_variant=None)
    return assignment


def _store(
    session: Session,
    article_id: int,
    article: ProcessedArticle,
    assignment: Assignment,
    *,
    counts_as_variant: bool | None,
) -> None:
    """Store the article, done, in its story; then grow the story (None: the story is new)."""
    articles.store_processed(
        session,
        article_id,
        articles.StoredArticle(
            title=article.title,
            text=article.text,
            text_hash=article.text_hash,
            language=article.language,
            published_at=article.published_at,
            features=json.dumps(article.features.to_json(), separators=(",", ":")),
            story_id=assignment.story_id,
            match_kind=assignment.match_kind.value,
            matched_article_id=assignment.matched_article_id,
            similarity=assignment.similarity,
            evidence=json.dumps(assignment.evidence, separators=(",", ":")),
        ),
    )
    if counts_as_variant is not None:
        stories.join_story(
            session,
            story_id=assignment.story_id,
            article_id=article_id,
            counts_as_variant=counts_as_variant,
        )
