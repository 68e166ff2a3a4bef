"""The verification score: symmetry, bounds, attributions, and the seeds' stories."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import justext
import pytest

from service.dedup.features import StoryFeatures, extract_features
from service.dedup.scoring import (
    RELIABLE_CORPUS_DOCUMENTS,
    SMALL_CORPUS_THRESHOLD,
    IdfTable,
    effective_threshold,
    score_pair,
    smoothed_idf,
)
from service.extraction import clean_text
from service.settings import Settings

FRENCH = frozenset(w.casefold() for w in justext.get_stoplist("French"))
SEEDS = Path(__file__).resolve().parents[2] / "seeds"


# The service's default, not the environment's.
SAME_STORY_THRESHOLD = Settings.model_construct().same_story_threshold


def flat_idf(term: str) -> float:
    return 1.0


def cleaned(raw: str) -> tuple[str, str]:
    """A seed's title and text as the service cleans them."""
    article = clean_text(raw)
    assert article.title is not None
    return article.title, article.text


def features(title: str, text: str) -> StoryFeatures:
    return extract_features(title, text, stopwords=FRENCH, language="fr")


A = features(
    "Poutine a proposé à Biden des bases en Asie centrale",
    "Vladimir Poutine a proposé à Joe Biden d'utiliser des bases, "
    "a rapporté le journal Kommersant.",
)
B = features(
    "Biden et les bases russes",
    "Poutine aurait offert à Biden des bases au Tadjikistan, écrit Kommersant, citant des sources.",
)


def test_symmetric_and_bounded() -> None:
    ab = score_pair(A, B, idf=flat_idf).score
    assert ab == pytest.approx(score_pair(B, A, idf=flat_idf).score)
    assert 0.0 <= ab <= 1.0


def test_identical_articles_score_high() -> None:
    assert score_pair(A, A, idf=flat_idf).score >= 0.95


def test_shared_attribution_beats_conflicting_one() -> None:
    conflicting = features(
        "Biden et les bases russes",
        "Poutine aurait offert à Biden des bases au Tadjikistan, selon le WSJ, citant des sources.",
    )
    shared = score_pair(A, B, idf=flat_idf)
    other = score_pair(A, conflicting, idf=flat_idf)
    assert shared.shared_attributions == ("kommersant",)
    assert other.conflicting_attributions == (("kommersant",), ("wsj",))
    assert shared.score > other.score
    assert shared.evidence()["shared_attributions"] == ["kommersant"]


def test_smoothed_idf_decreases_with_frequency() -> None:
    assert smoothed_idf(100, 1) > smoothed_idf(100, 50) > 0


def test_effective_threshold_decays_monotonically_to_the_base() -> None:
    counts = [0, 1, 2, 5, 10, 50, 100, 500, 999, 1000, 5000, 10**6]
    thresholds = [effective_threshold(0.5, n) for n in counts]
    assert thresholds == sorted(thresholds, reverse=True)
    assert thresholds[0] == pytest.approx(SMALL_CORPUS_THRESHOLD)
    assert all(t >= 0.5 for t in thresholds)
    assert effective_threshold(0.5, RELIABLE_CORPUS_DOCUMENTS) == pytest.approx(0.5)
    assert effective_threshold(0.5, 10**6) == pytest.approx(0.5)
    assert effective_threshold(SAME_STORY_THRESHOLD, 10**6) == pytest.approx(SAME_STORY_THRESHOLD)


def test_effective_threshold_never_below_a_base_above_the_small_corpus_one() -> None:
    assert effective_threshold(0.95, 0) == pytest.approx(0.95)
    assert effective_threshold(0.95, 10) == pytest.approx(0.95)


def test_seeds_only_000_and_002_are_one_story() -> None:
    seeds = {
        path.name[:3]: features(*cleaned(path.read_text(encoding="utf-8")))
        for path in sorted(SEEDS.glob("*.txt"))
    }
    df: Counter[str] = Counter()
    for f in seeds.values():
        df.update(f.term_weights.keys())

    def idf(term: str) -> float:
        return smoothed_idf(len(seeds), df[term])

    # A fresh store holding the five seeds: the threshold the service applies at that size.
    threshold = effective_threshold(SAME_STORY_THRESHOLD, len(seeds))
    ids = sorted(seeds)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            score = score_pair(seeds[a], seeds[b], idf=idf).score
            if (a, b) == ("000", "002"):
                assert score >= threshold, (a, b, score)
            else:
                assert score < threshold, (a, b, score)


def test_idf_table_gives_smoothed_idf_for_known_and_unknown_terms() -> None:
    frequencies = {"vote": 40, "senate": 3, "rare": 1}
    table = IdfTable(1000, frequencies)
    for term in [*frequencies, "never-seen"]:
        assert table[term] == smoothed_idf(1000, frequencies.get(term, 0))
    assert IdfTable(2, {})["x"] == smoothed_idf(2, 0)
