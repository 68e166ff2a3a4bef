"""Metric definitions shared by the live pair evaluation and the offline simulation
(bench/eval_offline.py): the dev set's clear labels, pairwise precision/recall/F1 of "same
story", Pearson correlation, the rows of a results table (same-language pairs overall and per
language, cross-language pairs overall and per language pair), and the text-dedup news
baseline."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

# Labels: annotators' mean 1 (same story) .. 4 (unrelated). The task's clear cases: at most 1.5
# is one story, at least 3 is two; pairs in between are left out of precision/recall.
POSITIVE_MAX_OVERALL = 1.5
NEGATIVE_MIN_OVERALL = 3.0

# text-dedup's news configuration (its MinHash defaults for news: word bigrams, 256 permutations,
# LSH threshold 0.45): the baseline every figure is printed beside.
BASELINE_NGRAM = 2
BASELINE_NUM_PERM = 256
BASELINE_THRESHOLD = 0.45

# Fewer points than this make a correlation meaningless; reported as NaN instead.
PEARSON_MIN_POINTS = 3


@dataclass
class Pair:
    """One labeled pair; id1/id2 name the two articles in whatever store is evaluated."""

    pair_id: str
    id1: str
    id2: str
    lang1: str
    lang2: str
    overall: float

    @property
    def same_language(self) -> bool:
        return self.lang1 == self.lang2

    @property
    def language_pair(self) -> str:
        """The group a cross-language pair is reported in: "de-en" for a German and an English
        article, whichever comes first in the file."""
        return "-".join(sorted((self.lang1, self.lang2)))

    @property
    def clear_label(self) -> bool | None:
        """True for a clear positive, False for a clear negative, None for the unclear middle."""
        if self.overall <= POSITIVE_MAX_OVERALL:
            return True
        if self.overall >= NEGATIVE_MIN_OVERALL:
            return False
        return None


def prf(predicted: Sequence[bool], actual: Sequence[bool]) -> tuple[float, float, float]:
    """Precision, recall and F1 of `predicted` against `actual` (0.0 where undefined)."""
    tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
    fp = sum(p and not a for p, a in zip(predicted, actual, strict=True))
    fn = sum(a and not p for p, a in zip(predicted, actual, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson's r, NaN when it is undefined (too few points, or a constant series)."""
    if len(xs) < PEARSON_MIN_POINTS or np.std(xs) == 0 or np.std(ys) == 0:
        return float("nan")
    return float(np.corrcoef(xs, ys)[0, 1])


def same_story_rows(
    pairs: Sequence[Pair], story_of: Mapping[str, int | None]
) -> tuple[list[bool], list[bool], list[Pair]]:
    """Predicted and actual "same story" on the clear pairs. An article without a story (failed,
    or never processed) is in no story, so it is never the same story as anything."""
    clear = [p for p in pairs if p.clear_label is not None]
    predicted = [_same_story(story_of.get(p.id1), story_of.get(p.id2)) for p in clear]
    actual = [bool(p.clear_label) for p in clear]
    return predicted, actual, clear


def _same_story(a: int | None, b: int | None) -> bool:
    return a is not None and a == b


@dataclass(frozen=True)
class MetricsRow:
    """One line of a results table: P/R/F1 on the clear pairs, Pearson on all of them."""

    name: str
    pairs: int
    clear: int
    positives: int
    negatives: int
    precision: float
    recall: float
    f1: float
    pearson: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: an undefined Pearson (too few pairs) is null, not NaN."""
        return {**asdict(self), "pearson": None if math.isnan(self.pearson) else self.pearson}


def metrics_row(
    name: str,
    pairs: Sequence[Pair],
    story_of: Mapping[str, int | None],
    similarity: Mapping[str, float],
) -> MetricsRow:
    """The figures for `pairs`: clustering from `story_of`, correlation from `similarity`
    (keyed by pair_id) against `overall`."""
    predicted, actual, clear = same_story_rows(pairs, story_of)
    precision, recall, f1 = prf(predicted, actual)
    positives = sum(actual)
    return MetricsRow(
        name=name,
        pairs=len(pairs),
        clear=len(clear),
        positives=positives,
        negatives=len(actual) - positives,
        precision=precision,
        recall=recall,
        f1=f1,
        pearson=pearson([similarity[p.pair_id] for p in pairs], [p.overall for p in pairs]),
    )


def metrics_by(
    pairs: Sequence[Pair],
    story_of: Mapping[str, int | None],
    similarity: Mapping[str, float],
    group: Callable[[Pair], str],
) -> list[MetricsRow]:
    """One row per group of `pairs` (named by `group`), sorted by group name."""
    groups: dict[str, list[Pair]] = {}
    for pair in pairs:
        groups.setdefault(group(pair), []).append(pair)
    return [
        metrics_row(name, members, story_of, similarity) for name, members in sorted(groups.items())
    ]


def metrics_by_language(
    pairs: Sequence[Pair],
    story_of: Mapping[str, int | None],
    similarity: Mapping[str, float],
) -> list[MetricsRow]:
    """One row per language of same-language pairs (by lang1), sorted by language code."""
    return metrics_by(pairs, story_of, similarity, lambda p: p.lang1)


def metrics_by_language_pair(
    pairs: Sequence[Pair],
    story_of: Mapping[str, int | None],
    similarity: Mapping[str, float],
) -> list[MetricsRow]:
    """One row per language pair of cross-language pairs ("de-en"), sorted."""
    return metrics_by(pairs, story_of, similarity, lambda p: p.language_pair)


@dataclass(frozen=True)
class PairScores:
    """One system's rows: same-language pairs overall and per language, cross-language pairs
    overall and per language pair."""

    same_language: MetricsRow
    by_language: list[MetricsRow]
    cross_language: MetricsRow
    by_language_pair: list[MetricsRow]


SAME_LANGUAGE_ROW = "same-language"
CROSS_LANGUAGE_ROW = "cross-language"


def score_pairs(
    pairs: Sequence[Pair],
    story_of: Mapping[str, int | None],
    similarity: Mapping[str, float],
) -> PairScores:
    """Every row of one system's table, from its stories (`story_of`, by article id) and its
    pair similarities (by pair_id; every pair needs one)."""
    same = [p for p in pairs if p.same_language]
    cross = [p for p in pairs if not p.same_language]
    return PairScores(
        same_language=metrics_row(SAME_LANGUAGE_ROW, same, story_of, similarity),
        by_language=metrics_by_language(same, story_of, similarity),
        cross_language=metrics_row(CROSS_LANGUAGE_ROW, cross, story_of, similarity),
        by_language_pair=metrics_by_language_pair(cross, story_of, similarity),
    )


# --- baseline: text-dedup news config ------------------------------------------------------


class BaselineDocument(Protocol):
    @property
    def article_id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def text(self) -> str: ...


_NON_WORD_RE = re.compile(r"\W+")


def baseline(articles: Sequence[BaselineDocument]) -> tuple[dict[str, int], dict[str, Any]]:
    """text-dedup's MinHash dedup in memory: word bigrams of the lower-cased raw title + text,
    256 permutations, MinHashLSH at 0.45, clusters as connected components of LSH hits.
    Returns each article's cluster number and its MinHash (for Jaccard estimates)."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=BASELINE_THRESHOLD, num_perm=BASELINE_NUM_PERM)
    hashes: dict[str, Any] = {}
    for article in articles:
        words = [w for w in _NON_WORD_RE.split((article.title + " " + article.text).lower()) if w]
        grams = {
            " ".join(words[i : i + BASELINE_NGRAM]).encode("utf-8")
            for i in range(max(1, len(words) - BASELINE_NGRAM + 1))
        }
        minhash = MinHash(num_perm=BASELINE_NUM_PERM)
        minhash.update_batch(sorted(grams))
        hashes[article.article_id] = minhash
        lsh.insert(article.article_id, minhash)
    parent = {a: a for a in hashes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for article_id, minhash in hashes.items():
        for other in lsh.query(minhash):
            parent[find(other)] = find(article_id)
    roots = {a: find(a) for a in hashes}
    numbering = {root: i for i, root in enumerate(dict.fromkeys(roots.values()))}
    return {a: numbering[r] for a, r in roots.items()}, hashes
