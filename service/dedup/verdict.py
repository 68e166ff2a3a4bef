"""One judgement of "are these two articles one story?", the same for the worker that assigns
stories, the compare endpoint and the offline evaluation.

Two modes, chosen by the settings (NEWSDEDUP_SEMANTIC_MATCHING):
- lexical: the verification score (scoring.StoryScorer: IDF-weighted term cosine, lead told,
  cited outlets) against a threshold that is higher while the corpus is young;
- semantic (default): the logistic model (decision.DecisionModel) over the lexical signals and
  the language-centred embedding cosine, with its own threshold for pairs across languages and
  the cited-outlet veto. A stored article without an embedding (processed while the encoder was
  off) is judged lexically, so turning the encoder on needs no reindex to keep working. So is a
  pair across languages when either language has no mean of its own: the cross-language bar
  was fitted on de-en pairs, whose cosines are centred on each language's own mean, and text
  the encoder cannot place (a rare language, garbled text) sits far from the global mean, where
  unrelated articles look alike.

A verdict carries its margin over its own threshold, so candidates judged under different rules
can still be ranked: the one that clears its bar by most gives the story.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.dedup.decision import DecisionModel, PairSignals
from service.dedup.encoder import FloatRow
from service.dedup.features import StoryFeatures
from service.dedup.scoring import Idf, MatchScore, StoryScorer

WORDING = "wording (shared rare terms and lead)"
MEANING = "meaning (sentence encoder)"


@dataclass(frozen=True)
class Comparable:
    """An article as matching sees it."""

    features: StoryFeatures
    # Language-centred embedding (semantic.LanguageMeans.centre); None when it has none.
    embedding: FloatRow | None = None
    # Whether it was centred on a mean of its own language rather than the global fallback:
    # only then is its cosine with an article in another language on the scale the
    # cross-language threshold was fitted on.
    centred_on_its_language: bool = False


@dataclass(frozen=True)
class MatchRules:
    """How pairs are judged for a store of a given size."""

    # The lexical score's threshold for this store (scoring.effective_threshold applied).
    lexical_threshold: float
    # The semantic decision model; None when the encoder is off.
    model: DecisionModel | None = None


@dataclass(frozen=True)
class Verdict:
    similarity: float  # the model's probability, or the lexical score
    threshold: float
    same_story: bool
    signals: dict[str, float] = field(default_factory=dict)
    cross_language: bool = False
    vetoed: bool = False
    # The signal that contributed most to the decision.
    deciding_signal: str = WORDING

    @property
    def margin(self) -> float:
        return self.similarity - self.threshold

    def evidence(self, match: MatchScore) -> dict[str, Any]:
        """The verdict with the lexical evidence (shared terms, names, cited outlets)."""
        evidence = match.evidence()
        evidence["components"] = {k: round(v, 4) for k, v in self.signals.items()}
        evidence["threshold"] = round(self.threshold, 4)
        evidence["deciding_signal"] = self.deciding_signal
        if self.cross_language:
            evidence["cross_language"] = True
        if self.vetoed:
            evidence["vetoed"] = "the two leads cite different original reporters"
        return evidence


class Judge:
    """Judges candidates against one article: the article's own weights and embedding are
    prepared once, not once per candidate."""

    def __init__(self, article: Comparable, *, idf: Idf, rules: MatchRules) -> None:
        self.article = article
        self.rules = rules
        self.scorer = StoryScorer(article.features, idf=idf)

    def verdict(self, other: Comparable) -> Verdict:
        cosine, lead = self.scorer.components(other.features)
        model = self.rules.model
        mine, theirs = self.article.embedding, other.embedding
        cross_language = self.article.features.language != other.features.language
        comparable_across = self.article.centred_on_its_language and other.centred_on_its_language
        if (
            model is None
            or mine is None
            or theirs is None
            or (cross_language and not comparable_across)
        ):
            score = self.scorer.score_components(other.features, cosine, lead)
            threshold = self.rules.lexical_threshold
            return Verdict(
                score, threshold, score >= threshold, {"cosine": cosine, "lead_told": lead}
            )
        signals = PairSignals(
            cosine=cosine,
            lead_told=lead,
            embedding_cosine=float(np.dot(mine, theirs)),
            cross_language=cross_language,
            conflicting_attributions=self.scorer.attributions_conflict(other.features),
        )
        probability = model.probability(signals)
        threshold = model.threshold(cross_language=signals.cross_language)
        vetoed = model.vetoed(signals)
        parts = model.contributions(signals)
        return Verdict(
            similarity=probability,
            threshold=threshold,
            same_story=not vetoed and probability >= threshold,
            signals={
                "cosine": cosine,
                "lead_told": lead,
                "embedding_cosine": signals.embedding_cosine,
            },
            cross_language=signals.cross_language,
            vetoed=vetoed,
            deciding_signal=MEANING if parts["meaning"] > parts["wording"] else WORDING,
        )

    def evidence(self, other: Comparable, verdict: Verdict) -> dict[str, Any]:
        return verdict.evidence(self.scorer.match(other.features))
