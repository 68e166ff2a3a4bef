"""The evaluation's metric helpers on toy data, where the right answer is known by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ops.evaluation.metrics import (
    MetricsRow,
    Pair,
    baseline,
    metrics_by_language,
    metrics_row,
    pearson,
    prf,
    same_story_rows,
)
from ops.evaluation.pairs import (
    EvaluationReport,
    PairArticle,
    failure_reason_group,
    format_report,
    load_pairs,
)


def test_prf_counts_true_and_false_positives() -> None:
    # tp = 2, fp = 1, fn = 1
    predicted = [True, True, True, False, False]
    actual = [True, True, False, True, False]
    precision, recall, f1 = prf(predicted, actual)
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(2 / 3)
    assert f1 == pytest.approx(2 / 3)


def test_prf_is_zero_where_undefined() -> None:
    assert prf([False, False], [False, False]) == (0.0, 0.0, 0.0)
    assert prf([True], [False]) == (0.0, 0.0, 0.0)


def test_prf_perfect_and_unequal_precision_recall() -> None:
    assert prf([True, False], [True, False]) == (1.0, 1.0, 1.0)
    precision, recall, f1 = prf([True, False, False, False], [True, True, True, True])
    assert (precision, recall) == (1.0, 0.25)
    assert f1 == pytest.approx(2 * 0.25 / 1.25)


def test_pearson_known_values() -> None:
    assert pearson([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert pearson([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # x = [1, 2, 3], y = [1, 3, 2]: cov 0.5 / (sd 1 * sd 1) over n - 1.
    assert pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)


def test_pearson_is_nan_when_undefined() -> None:
    assert math.isnan(pearson([1, 2], [1, 2]))
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))


def _pair(pair_id: str, a: str, b: str, overall: float, lang: str = "en") -> Pair:
    return Pair(pair_id, a, b, lang, lang, overall)


def test_clear_labels() -> None:
    assert _pair("p", "a", "b", 1.0).clear_label is True
    assert _pair("p", "a", "b", 1.5).clear_label is True
    assert _pair("p", "a", "b", 2.0).clear_label is None
    assert _pair("p", "a", "b", 3.0).clear_label is False


def test_articles_without_a_story_are_never_the_same_story() -> None:
    pairs = [_pair("p1", "a", "b", 1.0), _pair("p2", "c", "d", 1.0), _pair("p3", "e", "f", 2.5)]
    story_of: dict[str, int | None] = {"a": 1, "b": 1, "c": None, "d": None}
    predicted, actual, clear = same_story_rows(pairs, story_of)
    assert predicted == [True, False]
    assert actual == [True, True]
    assert [p.pair_id for p in clear] == ["p1", "p2"]


def test_metrics_row_and_languages() -> None:
    pairs = [
        _pair("1", "a", "b", 1.0),  # same story, found
        _pair("2", "c", "d", 4.0),  # different, kept apart
        _pair("3", "e", "f", 3.5),  # different, merged: false positive
        _pair("4", "g", "h", 2.0),  # unclear: only in the correlation
        _pair("5", "i", "j", 1.0, "de"),  # same story, missed
        _pair("6", "k", "l", 4.0, "de"),
        _pair("7", "m", "n", 2.5, "de"),
    ]
    story_of: dict[str, int | None] = {
        "a": 1, "b": 1, "c": 2, "d": 3, "e": 4, "f": 4, "g": 5, "h": 6,
        "i": 7, "j": 8, "k": 9, "l": 10, "m": 11, "n": 12,
    }  # fmt: skip
    similarity = {"1": 0.9, "2": 0.1, "3": 0.6, "4": 0.5, "5": 0.4, "6": 0.2, "7": 0.3}
    row = metrics_row("all", pairs, story_of, similarity)
    assert (row.pairs, row.clear, row.positives, row.negatives) == (7, 5, 2, 3)
    assert (row.precision, row.recall, row.f1) == pytest.approx((0.5, 0.5, 0.5))
    assert row.pearson < 0  # high similarity goes with low `overall`
    by_language = metrics_by_language(pairs, story_of, similarity)
    assert [r.name for r in by_language] == ["de", "en"]
    assert sum(r.pairs for r in by_language) == row.pairs
    assert by_language[0].recall == 0.0
    assert by_language[1].precision == 0.5


def test_baseline_clusters_copies_and_separates_unrelated_texts() -> None:
    text = " ".join(f"word{i} appears in the story number {i}" for i in range(40))
    other = " ".join(f"another{i} thing entirely different {i * 7}" for i in range(40))
    docs = [
        PairArticle("a", "Title", text, "en", None),
        PairArticle("b", "Title", text + " one more line at the end", "en", None),
        PairArticle("c", "Else", other, "en", None),
    ]
    story, hashes = baseline(docs)
    assert story["a"] == story["b"] != story["c"]
    assert hashes["a"].jaccard(hashes["b"]) > 0.8
    assert hashes["a"].jaccard(hashes["c"]) < 0.2


def test_failure_reasons_group_without_details() -> None:
    assert (
        failure_reason_group("not an article: too little text (12 words, minimum 25)")
        == "not an article: too little text"
    )
    assert failure_reason_group(None) == "no reason recorded"


def test_load_pairs_posts_repeated_texts_once(tmp_path: Path) -> None:
    rows = [
        {"pair_id": "1_2", "lang1": "en", "lang2": "en", "overall": 1.0,
         "title1": "A", "text1": "alpha", "title2": "B", "text2": "beta"},
        {"pair_id": "1_3", "lang1": "en", "lang2": "de", "overall": 4.0,
         "title1": "A", "text1": "alpha", "title2": "C", "text2": "gamma",
         "date2": "2020-01-02T00:00:00Z"},
    ]  # fmt: skip
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pairs, articles = load_pairs(path)
    assert len(pairs) == 2 and len(articles) == 3
    assert pairs[0].id1 == pairs[1].id1
    assert articles[pairs[1].id2].published_at == "2020-01-02T00:00:00Z"
    assert len(load_pairs(path, limit=1)[0]) == 1


def test_format_report_has_the_table() -> None:
    row = MetricsRow("newsdedup", 10, 8, 3, 5, 1.0, 2 / 3, 0.8, -0.5)
    language = MetricsRow("en", 10, 8, 3, 5, 1.0, 2 / 3, 0.8, float("nan"))
    report = EvaluationReport(
        api_url="http://api",
        pairs_total=12,
        pairs_same_language=10,
        articles_posted=20,
        articles_done=18,
        articles_failed=2,
        articles_pending=0,
        failure_reasons={"not an article: too little text": 2},
        compare_not_processed=2,
        largest_story=3,
        stories=15,
        service=row,
        service_by_language=[language],
        baseline=MetricsRow("baseline text-dedup news", 10, 8, 3, 5, 0.5, 0.5, 0.5, -0.2),
        baseline_by_language=[language],
        baseline_largest_story=4,
        timings_s={"total": 1.0},
    )
    text = format_report(report)
    assert "same-language pairs" in text and "Pearson" in text
    assert "newsdedup" in text and "baseline text-dedup news" in text
    assert "  en" in text and "nan" in text
    assert "not an article: too little text" in text
    assert json.dumps(report.as_dict())  # JSON-ready (NaN becomes null)
