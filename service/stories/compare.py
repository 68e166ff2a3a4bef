"""Compare two processed articles with the same score the workers use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.dedup.features import StoryFeatures
from service.dedup.scoring import IdfTable, effective_threshold, score_pair
from service.models import Article
from service.repositories import articles, band_index


class ArticleNotFound(LookupError):
    pass


class ArticleNotProcessed(RuntimeError):
    pass


@dataclass(frozen=True)
class Comparison:
    similarity: float
    same_story: bool
    evidence: dict[str, Any]


def _features(session: Session, article_id: int) -> tuple[Article, StoryFeatures]:
    article = articles.get_article(session, article_id)
    if article is None:
        raise ArticleNotFound(f"no article {article_id}")
    if article.features is None:
        raise ArticleNotProcessed(f"article {article_id} is {article.status}, not processed")
    return article, StoryFeatures.from_json(article.features)


def compare_articles(session: Session, a_id: int, b_id: int, *, threshold: float) -> Comparison:
    a, fa = _features(session, a_id)
    b, fb = _features(session, b_id)
    documents, frequencies = band_index.document_frequencies(
        session, set(fa.term_weights) | set(fb.term_weights)
    )
    match = score_pair(fa, fb, idf=IdfTable(documents, frequencies).__getitem__)
    evidence = match.evidence()
    if a.published_at and b.published_at:
        evidence["date_gap_days"] = abs((a.published_at - b.published_at).total_seconds()) / 86400
    evidence["same_story_now"] = a.story_id is not None and a.story_id == b.story_id
    # The same evidence bar the workers apply to a store of this size.
    threshold_now = effective_threshold(threshold, documents)
    evidence["threshold"] = round(threshold_now, 4)
    return Comparison(
        similarity=match.score, same_story=match.score >= threshold_now, evidence=evidence
    )
