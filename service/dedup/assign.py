"""Find or create the story of an article: atomic in PostgreSQL, never a scan over articles.

1. Exact re-post (same cleaned text or same URL): joins that story, not counted as a variant.
2. Candidates from the band index in PostgreSQL: MinHash LSH over the story features, and (with
   the encoder on) the embedding's nearest-anchor keys, each family with its own top N.
3. One verdict per candidate (verdict.Judge); the candidate that clears its threshold by most
   gives the story.
All of it runs under advisory locks on the article's band keys (MinHash keys, and the semantic
keys it looks up), text hash and URL, taken in ascending order, so two workers handling
near-duplicates at once cannot create two stories.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from service.db import lock_key, lock_keys
from service.dedup.decision import DecisionModel
from service.dedup.encoder import (
    EMBEDDING_MODEL,
    EMBEDDING_VERSION,
    FloatRow,
    decode_embedding,
    encode_embedding,
)
from service.dedup.features import StoryFeatures
from service.dedup.scoring import Idf, IdfTable, effective_threshold, score_weights
from service.dedup.semantic import SemanticBandScheme, SemanticKeys, language_means, semantic_keys
from service.dedup.signature import (
    SignatureScheme,
    band_keys,
    encode_hashvalues,
    minhash_values,
)
from service.dedup.verdict import Comparable, Judge, MatchRules, Verdict
from service.models import MatchKind
from service.repositories import articles, band_index, stories
from service.repositories.band_index import StoredMember
from service.settings import Settings

# Near copies (syndication, re-posts) share long word runs; rewrites do not. Five words is the
# shingle length text-dedup and the extraction benchmark use for "same wording".
NEAR_COPY_SHINGLE_WORDS = 5


@dataclass(frozen=True)
class SemanticMatching:
    """What the encoder adds: its input length, its band keys, the decision model."""

    max_tokens: int
    scheme: SemanticBandScheme
    model: DecisionModel
    max_candidates: int
    band_read_limit: int

    def to_json(self) -> dict[str, Any]:
        return {
            "embedding_model": EMBEDDING_MODEL,
            "embedding_version": EMBEDDING_VERSION,
            "max_tokens": self.max_tokens,
            "keys": self.scheme.to_json(),
            "model": self.model.to_json(),
            "max_candidates": self.max_candidates,
            "band_read_limit": self.band_read_limit,
        }


@dataclass(frozen=True)
class MatchSettings:
    num_perm: int
    bands: int
    max_candidates: int
    band_read_limit: int
    same_story_threshold: float
    near_copy_jaccard: float
    # None: the encoder is off, and the lexical score alone decides.
    semantic: SemanticMatching | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MatchSettings:
        semantic = None
        if settings.semantic_matching:
            semantic = SemanticMatching(
                max_tokens=settings.embedding_max_tokens,
                scheme=SemanticBandScheme(),
                model=DecisionModel(attribution_veto=settings.attribution_veto),
                max_candidates=settings.semantic_candidates,
                band_read_limit=settings.semantic_band_read_limit,
            )
        return cls(
            num_perm=settings.minhash_num_perm,
            bands=settings.lsh_bands,
            max_candidates=settings.max_candidates,
            band_read_limit=settings.lsh_band_read_limit,
            same_story_threshold=settings.same_story_threshold,
            near_copy_jaccard=settings.near_copy_jaccard,
            semantic=semantic,
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
            "semantic": self.semantic.to_json() if self.semantic else None,
        }

    def rules(self, document_count: int) -> MatchRules:
        """How pairs are judged in a store of `document_count` articles: a young corpus cannot
        tell topic words from story words, so the lexical score must clear a higher bar."""
        return MatchRules(
            lexical_threshold=effective_threshold(self.same_story_threshold, document_count),
            model=self.semantic.model if self.semantic else None,
        )

    def comparable(self, features: StoryFeatures, embedding: FloatRow | None) -> Comparable:
        """An article as the judge sees it: its embedding centred on its language's mean."""
        if embedding is None or self.semantic is None:
            return Comparable(features)
        means = language_means(self.semantic.max_tokens)
        return Comparable(
            features,
            means.centre(embedding, features.language),
            centred_on_its_language=means.knows(features.language),
        )

    def match_keys(self, features: StoryFeatures, embedding: FloatRow | None) -> MatchKeys:
        """The article's band keys and comparable form: pure, shared by assign_story and the
        offline simulation (bench/simulation.py)."""
        scheme = self.scheme
        hashvalues = minhash_values(features.key_features(), scheme)
        comparable = self.comparable(features, embedding)
        semantic = (
            semantic_keys(comparable.embedding, self.semantic.scheme)
            if comparable.embedding is not None and self.semantic is not None
            else SemanticKeys([], [])
        )
        return MatchKeys(hashvalues, band_keys(hashvalues, scheme), comparable, semantic)


@dataclass(frozen=True)
class MatchKeys:
    """What an article looks candidates up by, and how the judge sees it."""

    hashvalues: np.ndarray
    # MinHash band keys: stored with the article and looked up.
    minhash: list[int]
    comparable: Comparable
    # The embedding's nearest-anchor keys (none with the encoder off or no embedding).
    semantic: SemanticKeys


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
    # The raw encoder row (None with the encoder off), stored; centred when compared.
    embedding: FloatRow | None = None


@dataclass(frozen=True)
class Decision:
    """Which candidate's story an article joins (None: it starts a new story), and the best
    candidate with its verdict and evidence, whether or not it cleared its threshold."""

    member: StoredMember | None
    best: StoredMember | None
    verdict: Verdict | None
    evidence: dict[str, Any] | None


def choose_story(
    article: Comparable,
    candidates: Sequence[tuple[StoredMember, Comparable]],
    *,
    idf: Idf,
    rules: MatchRules,
) -> Decision:
    """The candidate whose verdict clears its threshold by most gives the story; if none
    clears it, the closest one is named as the best. The first of equal margins wins
    (candidates come most shared band keys first)."""
    if not candidates:
        return Decision(None, None, None, None)
    judge = Judge(article, idf=idf, rules=rules)
    verdicts = [judge.verdict(comparable) for _, comparable in candidates]
    joining = [i for i, v in enumerate(verdicts) if v.same_story]
    pool = joining or range(len(candidates))
    top = max(pool, key=lambda i: verdicts[i].margin)
    member, comparable = candidates[top]
    verdict = verdicts[top]
    return Decision(
        member if verdict.same_story else None,
        member,
        verdict,
        judge.evidence(comparable, verdict),
    )


def assign_story(
    article_id: int,
    article: ProcessedArticle,
    *,
    settings: MatchSettings,
    session: Session,
) -> Assignment:
    """Find or create the article's story and store the article, done, in it.

    Runs within the caller's transaction; the caller commits, which releases the locks. The
    embedding is computed before (processing.prepare): ~50 ms of CPU must not hold locks.
    """
    features = article.features
    found = settings.match_keys(features, article.embedding)
    keys, comparable, semantic = found.minhash, found.comparable, found.semantic
    # Two articles that could find each other through a semantic key share a probed key: the
    # one found stores it, and the finder probes it.
    locks = [*keys, *semantic.probes, lock_key("text", article.text_hash)]
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
        semantic_keys=semantic.probes,
        semantic_limit=settings.semantic.max_candidates if settings.semantic else 0,
        semantic_per_band_limit=settings.semantic.band_read_limit if settings.semantic else 0,
    )
    decision = Decision(None, None, None, None)
    if candidates:
        comparables = [(c, _comparable(c, settings)) for c in candidates]
        terms = set(features.term_weights).union(*(c.features.term_weights for _, c in comparables))
        documents, frequencies = band_index.document_frequencies(session, terms)
        decision = choose_story(
            comparable,
            comparables,
            # Each term's IDF is computed once, not once per candidate pair it appears in.
            idf=IdfTable(documents, frequencies).__getitem__,
            rules=settings.rules(documents),
        )

    band_index.index_article(
        session,
        article_id=article_id,
        scheme=settings.to_json(),
        hashvalues=encode_hashvalues(found.hashvalues),
        keys=[*keys, *semantic.stored],
        terms=features.term_weights,
    )

    if decision.member is not None and decision.verdict is not None:
        member = decision.member
        jaccard = shingle_jaccard(
            article.text, articles.cleaned_text(session, member.article_id) or ""
        )
        kind = MatchKind.NEAR_COPY if jaccard >= settings.near_copy_jaccard else MatchKind.REWRITE
        joined = {
            "decided_by": "story score",
            **(decision.evidence or {}),
            "shared_wording": round(jaccard, 4),
        }
        assignment = Assignment(
            member.story_id, kind, member.article_id, decision.verdict.similarity, joined
        )
        _store(session, article_id, article, assignment, counts_as_variant=True)
        return assignment

    story_id = stories.create_story(session, canonical_article_id=article_id)
    started: dict[str, Any] = {"decided_by": "no candidate shares enough key terms"}
    if decision.best is not None and decision.verdict is not None:
        started = {
            **(decision.evidence or {}),
            "decided_by": (
                "best candidate vetoed: different original reporters"
                if decision.verdict.vetoed
                else "best candidate below the threshold"
            ),
            "best_candidate": decision.best.article_id,
            "best_score": round(decision.verdict.similarity, 4),
        }
    assignment = Assignment(story_id, MatchKind.CANONICAL, None, None, started)
    _store(session, article_id, article, assignment, counts_as_variant=None)
    return assignment


def _comparable(member: StoredMember, settings: MatchSettings) -> Comparable:
    embedding = decode_embedding(member.embedding) if member.embedding else None
    return settings.comparable(StoryFeatures.from_json(member.features), embedding)


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
            embedding=encode_embedding(article.embedding)
            if article.embedding is not None
            else None,
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
