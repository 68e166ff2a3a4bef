"""Compare two processed articles with the same judgement the workers use (dedup.verdict), with
today's corpus statistics: the verdict may differ from the one stored when an article joined
its story, as IDF moves while the corpus grows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.dedup.assign import MatchSettings
from service.dedup.encoder import decode_embedding
from service.dedup.features import StoryFeatures
from service.dedup.scoring import IdfTable
from service.dedup.verdict import Comparable, Judge
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


def _comparable(
    session: Session, article_id: int, settings: MatchSettings
) -> tuple[Article, Comparable]:
    article = articles.get_article(session, article_id)
    if article is None:
        raise ArticleNotFound(f"no article {article_id}")
    if article.features is None:
        raise ArticleNotProcessed(f"article {article_id} is {article.status}, not processed")
    features = StoryFeatures.from_json(article.features)
    embedding = decode_embedding(article.embedding) if article.embedding else None
    return article, settings.comparable(features, embedding)


def compare_articles(
    session: Session, a_id: int, b_id: int, *, settings: MatchSettings
) -> Comparison:
    a, ca = _comparable(session, a_id, settings)
    b, cb = _comparable(session, b_id, settings)
    documents, frequencies = band_index.document_frequencies(
        session, set(ca.features.term_weights) | set(cb.features.term_weights)
    )
    # The same bar the workers apply to a store of this size.
    judge = Judge(
        ca, idf=IdfTable(documents, frequencies).__getitem__, rules=settings.rules(documents)
    )
    verdict = judge.verdict(cb)
    evidence = judge.evidence(cb, verdict)
    if a.published_at and b.published_at:
        evidence["date_gap_days"] = abs((a.published_at - b.published_at).total_seconds()) / 86400
    evidence["same_story_now"] = a.story_id is not None and a.story_id == b.story_id
    return Comparison(
        similarity=verdict.similarity, same_story=verdict.same_story, evidence=evidence
    )
