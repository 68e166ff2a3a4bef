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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.dedup import repository
from service.dedup.features import StoryFeatures
from service.dedup.scoring import (
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
    evidence: dict[str, Any] | None = None


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
    locks = [*keys, repository.lock_key("text", article.text_hash)]
    if article.url:
        locks.append(repository.lock_key("url", article.url))
    repository.lock_keys(session, locks)

    exact = repository.find_exact_member(
        session, article_id=article_id, text_hash=article.text_hash, url=article.url
    )
    if exact is not None:
        matched_id, story_id = exact
        _store_article(session, article_id, article, story_id, MatchKind.EXACT, matched_id, 1.0)
        repository.join_story(
            session, story_id=story_id, article_id=article_id, counts_as_variant=False
        )
        return Assignment(story_id, MatchKind.EXACT, matched_id, 1.0)

    candidates = repository.find_candidates(
        session,
        article_id=article_id,
        keys=keys,
        limit=settings.max_candidates,
        per_band_limit=settings.band_read_limit,
    )
    best: tuple[MatchScore, repository.StoredMember] | None = None
    threshold = settings.same_story_threshold
    if candidates:
        candidate_features = [StoryFeatures.from_json(c.features) for c in candidates]
        terms = set(features.term_weights)
        for cf in candidate_features:
            terms |= set(cf.term_weights)
        documents, frequencies = repository.document_frequencies(session, terms)
        # A young corpus cannot tell topic words from story words: demand more evidence.
        threshold = effective_threshold(settings.same_story_threshold, documents)

        # Each term's IDF is computed once, not once per candidate pair it appears in.
        idf = IdfTable(documents, frequencies).__getitem__

        scorer = StoryScorer(features, idf=idf)
        scores = [scorer.score(cf) for cf in candidate_features]
        top = max(range(len(candidates)), key=scores.__getitem__)  # the first of equal scores
        best = (scorer.match(candidate_features[top]), candidates[top])

    repository.index_article(
        session,
        article_id=article_id,
        scheme=settings.to_json(),
        hashvalues=encode_hashvalues(hashvalues),
        keys=keys,
        terms=features.term_weights,
    )

    if best is not None and best[0].score >= threshold:
        match, member = best
        kind = _copy_or_rewrite(session, article.text, member.article_id, settings)
        _store_article(
            session, article_id, article, member.story_id, kind, member.article_id, match.score
        )
        repository.join_story(
            session, story_id=member.story_id, article_id=article_id, counts_as_variant=True
        )
        return Assignment(member.story_id, kind, member.article_id, match.score, match.evidence())

    story_id = repository.create_story(session, canonical_article_id=article_id)
    _store_article(session, article_id, article, story_id, MatchKind.CANONICAL, None, None)
    return Assignment(story_id, MatchKind.CANONICAL, None, None)


def _copy_or_rewrite(
    session: Session, cleaned_text: str, member_id: int, settings: MatchSettings
) -> MatchKind:
    member_text = session.execute(
        text("SELECT text FROM articles WHERE id = :id"), {"id": member_id}
    ).scalar()
    if member_text and shingle_jaccard(cleaned_text, member_text) >= settings.near_copy_jaccard:
        return MatchKind.NEAR_COPY
    return MatchKind.REWRITE


def _store_article(
    session: Session,
    article_id: int,
    article: ProcessedArticle,
    story_id: int,
    kind: MatchKind,
    matched_article_id: int | None,
    similarity: float | None,
) -> None:
    """One UPDATE: the cleaned article, its story, and `done`. Before join_story, whose
    canonical choice reads this article's published_at."""
    session.execute(
        text(
            "UPDATE articles SET title = :title, text = :text, text_hash = :hash, "
            "language = :language, published_at = :published_at, "
            "features = CAST(:features AS jsonb), story_id = :story, match_kind = :kind, "
            "matched_article_id = :matched, similarity = :similarity, status = 'done', "
            "error = NULL, processed_at = now(), updated_at = now() WHERE id = :id"
        ),
        {
            "title": article.title,
            "text": article.text,
            "hash": article.text_hash,
            "language": article.language,
            "published_at": article.published_at,
            "features": json.dumps(article.features.to_json(), separators=(",", ":")),
            "story": story_id,
            "kind": kind.value,
            "matched": matched_article_id,
            "similarity": similarity,
            "id": article_id,
        },
    )
