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
    metrics_by_language_pair,
    metrics_row,
    pearson,
    prf,
    same_story_rows,
    score_pairs,
)
from ops.evaluation.pairs import (
    MODES,
    Compared,
    EvaluationReport,
    PairArticle,
    failure_reason_group,
    format_report,
    format_summary,
    load_pairs,
    mode_from_evidence,
    mode_out_path,
    parse_modes,
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


def _report(mode: str = "semantic", processing_s: float = 12.5) -> EvaluationReport:
    row = MetricsRow("same-language", 10, 8, 3, 5, 1.0, 2 / 3, 0.8, -0.5)
    language = MetricsRow("en", 10, 8, 3, 5, 1.0, 2 / 3, 0.8, float("nan"))
    cross = MetricsRow("cross-language", 4, 4, 2, 2, 0.5, 0.5, 0.5, -0.25)
    language_pair = MetricsRow("de-en", 4, 4, 2, 2, 0.5, 0.5, 0.5, -0.25)
    return EvaluationReport(
        api_url="http://api",
        mode=mode,
        mode_how="set for this service",
        pairs_total=14,
        pairs_same_language=10,
        pairs_cross_language=4,
        articles_posted=20,
        articles_done=18,
        articles_failed=2,
        articles_pending=0,
        failure_reasons={"not an article: too little text": 2},
        compare_not_processed=2,
        compares_with_embedding=12,
        articles_decided_with_embedding=9,
        largest_story=3,
        stories=15,
        service=row,
        service_by_language=[language],
        service_cross_language=cross,
        service_by_language_pair=[language_pair],
        baseline=MetricsRow("same-language", 10, 8, 3, 5, 0.5, 0.5, 0.5, -0.2),
        baseline_by_language=[language],
        baseline_cross_language=MetricsRow("cross-language", 4, 4, 2, 2, 0.0, 0.0, 0.0, -0.1),
        baseline_by_language_pair=[language_pair],
        baseline_largest_story=4,
        timings_s={"processing": processing_s, "total": 20.0},
    )


def test_format_report_has_the_table() -> None:
    report = _report()
    text = format_report(report)
    assert "semantic matching" in text and "Pearson" in text
    assert "newsdedup (semantic)" in text and "baseline text-dedup news" in text
    assert "  same-language" in text and "    en" in text and "nan" in text
    assert "  cross-language" in text and "    de-en" in text
    assert "not an article: too little text" in text
    as_dict = report.as_dict()
    assert json.dumps(as_dict)  # JSON-ready (NaN becomes null)
    assert as_dict["service_by_language_pair"][0]["name"] == "de-en"
    assert as_dict["service_cross_language"]["pairs"] == 4


def test_format_report_leaves_out_a_group_without_pairs() -> None:
    report = _report()
    report.service_cross_language = MetricsRow("cross-language", 0, 0, 0, 0, 0, 0, 0, math.nan)
    report.service_by_language_pair = []
    service_block, baseline_block = format_report(report).split("baseline text-dedup news")
    assert "  same-language" in service_block and "  cross-language" not in service_block
    assert "  cross-language" in baseline_block


def test_summary_puts_the_modes_side_by_side() -> None:
    text = format_summary([_report("semantic", 30.0), _report("lexical", 10.0)])
    lines = text.splitlines()
    # One language pair in the file: the cross-language columns are named after it.
    assert "same-language" in lines[0] and "de-en" in lines[0]
    semantic, lexical, base = lines[2:]
    assert semantic.split()[:5] == ["semantic", "1.000", "0.667", "0.800", "-0.500"]
    assert semantic.split()[5:9] == ["0.500", "0.500", "0.500", "-0.250"]
    assert semantic.endswith("30.0 s") and lexical.endswith("10.0 s")
    assert lexical.startswith("lexical")
    assert base.startswith("baseline text-dedup news")


def _cross(pair_id: str, a: str, b: str, overall: float, langs: tuple[str, str]) -> Pair:
    return Pair(pair_id, a, b, langs[0], langs[1], overall)


def test_cross_language_pairs_are_grouped_by_language_pair_in_either_order() -> None:
    pairs = [
        _pair("s1", "a", "b", 1.0),  # same-language, found
        _pair("s2", "c", "d", 4.0, "de"),  # same-language, kept apart
        _cross("x1", "e", "f", 1.0, ("de", "en")),  # found
        _cross("x2", "g", "h", 1.2, ("en", "de")),  # missed
        _cross("x3", "i", "j", 3.5, ("de", "en")),  # merged: false positive
        _cross("x4", "k", "l", 2.0, ("de", "en")),  # unclear: only in the correlation
        _cross("x5", "m", "n", 1.0, ("fr", "pl")),  # found
    ]
    story_of: dict[str, int | None] = {
        "a": 1, "b": 1, "c": 2, "d": 3, "e": 4, "f": 4, "g": 5, "h": 6,
        "i": 7, "j": 7, "k": 8, "l": 9, "m": 10, "n": 10,
    }  # fmt: skip
    similarity = {"s1": 0.9, "s2": 0.1, "x1": 0.8, "x2": 0.3, "x3": 0.6, "x4": 0.5, "x5": 0.7}
    assert [p.language_pair for p in pairs[2:]] == ["de-en"] * 4 + ["fr-pl"]

    by_pair = metrics_by_language_pair(pairs[2:], story_of, similarity)
    assert [r.name for r in by_pair] == ["de-en", "fr-pl"]
    de_en = by_pair[0]
    assert (de_en.pairs, de_en.clear, de_en.positives, de_en.negatives) == (4, 3, 2, 1)
    assert (de_en.precision, de_en.recall) == pytest.approx((0.5, 0.5))
    # x1 0.8/1.0, x2 0.3/1.2, x3 0.6/3.5, x4 0.5/2.0
    assert de_en.pearson == pytest.approx(pearson([0.8, 0.3, 0.6, 0.5], [1.0, 1.2, 3.5, 2.0]))
    assert (by_pair[1].pairs, by_pair[1].precision, by_pair[1].recall) == (1, 1.0, 1.0)

    scores = score_pairs(pairs, story_of, similarity)
    assert (scores.same_language.name, scores.cross_language.name) == (
        "same-language",
        "cross-language",
    )
    assert (scores.same_language.pairs, scores.same_language.clear) == (2, 2)
    assert [r.name for r in scores.by_language] == ["de", "en"]
    cross = scores.cross_language
    assert (cross.pairs, cross.clear, cross.positives, cross.negatives) == (5, 4, 3, 1)
    assert (cross.precision, cross.recall) == pytest.approx((2 / 3, 2 / 3))
    assert [r.as_dict() for r in scores.by_language_pair] == [r.as_dict() for r in by_pair]


def test_modes_option_and_out_paths() -> None:
    assert parse_modes("semantic,lexical") == ("semantic", "lexical")
    assert parse_modes(" lexical , semantic,lexical") == ("lexical", "semantic")
    for bad in ("", "semantic,fuzzy", ","):
        with pytest.raises(ValueError):
            parse_modes(bad)
    out = Path("runs/results.jsonl")
    assert mode_out_path(out, "lexical", ["lexical"]) == out
    assert mode_out_path(out, "lexical", MODES) == Path("runs/results.lexical.jsonl")
    assert mode_out_path(out, "semantic", MODES) == Path("runs/results.semantic.jsonl")


def test_a_running_service_s_mode_is_read_from_its_compare_evidence() -> None:
    same, cross = _pair("s", "a", "b", 1.0), _cross("x", "c", "d", 1.0, ("de", "en"))
    assert mode_from_evidence([same, cross], [Compared(0.9, True), Compared(0.2)]) == "semantic"
    assert mode_from_evidence([same, cross], [Compared(0.9), Compared(0.2)]) == "lexical"
    # Nothing same-language answered (a 409, or a cross-language pair only): cannot tell.
    assert mode_from_evidence([same, cross], [Compared(None), Compared(0.2)]) == ("running service")
