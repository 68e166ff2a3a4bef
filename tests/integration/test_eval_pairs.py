"""`newsdedup eval pairs` against the running stack, on a pair file the test writes, and in a
fresh stack of its own in lexical mode.

The pairs are project-made with a known truth: made-up articles and their lightly edited copies
(one story), unrelated made-up articles (two stories), and the seeds' rewrite 000/002 and
follow-up 001/003. Three pairs carry a wrong label on purpose, so that precision and recall
are neither 0 nor 1 and each figure says whether it was computed right. Cross-language pairs
are grouped by the languages the file declares (the service detects its own), so a copy
declared German and English is a cross-language pair the service joins. The same command on a
slice of the real dev set is a benchmark: python -m bench.dev_set eval-pairs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from ops import REPO_ROOT
from ops.evaluation import format_report, run_pair_evaluation
from ops.evaluation.metrics import MetricsRow
from ops.evaluation.pairs import evaluate_modes, format_summary
from tests.integration.helpers import ServiceClient, edited_copy, synthetic_article

SEEDS = {path.name[:3]: path.read_text(encoding="utf-8") for path in REPO_ROOT.glob("seeds/*.txt")}
SAME, DIFFERENT, UNCLEAR = 1.0, 4.0, 2.0


def pair(
    pair_id: str, languages: tuple[str, str], overall: float, texts: tuple[str, str]
) -> dict[str, Any]:
    return {
        "pair_id": pair_id,
        "lang1": languages[0],
        "lang2": languages[1],
        "overall": overall,
        "title1": "",
        "text1": texts[0],
        "title2": "",
        "text2": texts[1],
    }


def copy_of(seed: int) -> tuple[str, str]:
    return synthetic_article(seed), edited_copy(synthetic_article(seed), seed)


def unrelated(seed: int) -> tuple[str, str]:
    return synthetic_article(seed), synthetic_article(seed + 1)


EN, FR, DE_EN, EN_DE = ("en", "en"), ("fr", "fr"), ("de", "en"), ("en", "de")
PAIRS = [
    # Labelled right: 5 same-story pairs the service finds, 4 different-story pairs it keeps apart.
    *[pair(f"copy-{i}", EN, SAME, copy_of(71_000 + i)) for i in range(4)],
    *[pair(f"unrelated-{i}", EN, DIFFERENT, unrelated(72_000 + 10 * i)) for i in range(3)],
    pair("seeds-rewrite", FR, SAME, (SEEDS["000"], SEEDS["002"])),
    pair("seeds-follow-up", FR, DIFFERENT, (SEEDS["001"], SEEDS["003"])),
    # Labelled wrong: a copy said to be another story (a false positive for the service), and
    # two unrelated articles said to be one story (two false negatives).
    pair("copy-labelled-different", EN, DIFFERENT, copy_of(73_000)),
    *[pair(f"unrelated-labelled-same-{i}", EN, SAME, unrelated(74_000 + 10 * i)) for i in range(2)],
    # Neither clearly one story nor two: in the correlation, not in precision and recall.
    pair("copy-unclear", EN, UNCLEAR, copy_of(75_000)),
    # Two languages, as the file says: a copy (joined), two unrelated articles labelled one
    # story (missed), an unclear pair, all de-en in either order; and an fr-en pair kept apart.
    pair("cross-copy", DE_EN, SAME, copy_of(77_000)),
    pair("cross-unrelated-labelled-same", EN_DE, SAME, unrelated(78_000)),
    pair("cross-unclear", DE_EN, UNCLEAR, unrelated(79_000)),
    pair("cross-language", ("fr", "en"), DIFFERENT, (SEEDS["004"], synthetic_article(76_000))),
]
CROSS_LANGUAGE = 4
SAME_LANGUAGE = len(PAIRS) - CROSS_LANGUAGE
# What the service should put in one story: the copies and the seeds' rewrite.
JOINED = {p["pair_id"] for p in PAIRS if "copy" in p["pair_id"]} | {"seeds-rewrite"}


def by_name(rows: list[MetricsRow]) -> dict[str, MetricsRow]:
    return {r.name: r for r in rows}


def test_pair_evaluation_on_pairs_with_a_known_truth(
    service: ServiceClient, tmp_path: Path
) -> None:
    pairs_file = tmp_path / "pairs.jsonl"
    pairs_file.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PAIRS))
    out = tmp_path / "results.jsonl"

    report = run_pair_evaluation(
        pairs_file, api_url=str(service.http.base_url), out=out, timeout_s=120
    )

    assert (report.pairs_total, report.pairs_same_language) == (len(PAIRS), SAME_LANGUAGE)
    assert report.pairs_cross_language == CROSS_LANGUAGE
    # The shared stack runs at the default, semantic matching, and its evidence says so.
    assert (report.mode, report.mode_how) == ("semantic", "read from its compare evidence")
    assert report.compares_with_embedding > 0 and report.articles_decided_with_embedding > 0
    assert report.articles_posted == 2 * len(PAIRS)
    assert (report.articles_done, report.articles_failed, report.articles_pending) == (
        2 * len(PAIRS),
        0,
        0,
    )
    assert report.failure_reasons == {}
    assert report.compare_not_processed == 0
    assert (report.stories, report.largest_story) == (2 * len(PAIRS) - len(JOINED), 2)

    service_row = report.service
    # 12 clear pairs: 7 labelled one story (5 found, 2 wrongly labelled), 5 labelled two.
    assert (service_row.pairs, service_row.clear) == (SAME_LANGUAGE, 12)
    assert (service_row.positives, service_row.negatives) == (7, 5)
    assert service_row.precision == pytest.approx(5 / 6)
    assert service_row.recall == pytest.approx(5 / 7)
    assert service_row.f1 == pytest.approx(2 * (5 / 6) * (5 / 7) / (5 / 6 + 5 / 7))
    # Similar pairs are labelled 1 and dissimilar ones 4: a good score correlates negatively.
    assert service_row.pearson < 0
    # Per language: English has the wrong labels, French the seeds, both right.
    languages = by_name(report.service_by_language)
    assert set(languages) == {"en", "fr"}
    assert (languages["en"].precision, languages["en"].recall) == pytest.approx((4 / 5, 4 / 6))
    assert (languages["fr"].precision, languages["fr"].recall) == (1.0, 1.0)
    assert languages["en"].pairs + languages["fr"].pairs == SAME_LANGUAGE

    # The baseline (text-dedup MinHash on word bigrams) finds the edited copies, not the rewrite.
    baseline = report.baseline
    assert (baseline.clear, baseline.positives, baseline.negatives) == (12, 7, 5)
    assert baseline.precision == pytest.approx(4 / 5)
    assert baseline.recall == pytest.approx(4 / 7)
    assert not math.isnan(baseline.pearson)
    assert set(by_name(report.baseline_by_language)) == {"en", "fr"}

    # Cross-language: 3 clear pairs, 2 labelled one story (the copy found), 1 labelled two.
    cross = report.service_cross_language
    assert (cross.name, cross.pairs, cross.clear) == ("cross-language", CROSS_LANGUAGE, 3)
    assert (cross.positives, cross.negatives) == (2, 1)
    assert (cross.precision, cross.recall) == (1.0, 0.5)
    assert not math.isnan(cross.pearson)
    pairs_of_languages = by_name(report.service_by_language_pair)
    assert set(pairs_of_languages) == {"de-en", "en-fr"}
    de_en = pairs_of_languages["de-en"]
    assert (de_en.pairs, de_en.clear, de_en.positives, de_en.negatives) == (3, 2, 2, 0)
    assert (de_en.precision, de_en.recall) == (1.0, 0.5)
    en_fr = pairs_of_languages["en-fr"]
    assert (en_fr.pairs, en_fr.clear, en_fr.negatives, en_fr.precision) == (1, 1, 1, 0.0)
    # The baseline finds the cross-language copy too (the same words).
    base_cross = report.baseline_cross_language
    assert (base_cross.clear, base_cross.precision, base_cross.recall) == (3, 1.0, 0.5)
    assert set(by_name(report.baseline_by_language_pair)) == {"de-en", "en-fr"}

    lines = {line["pair_id"]: line for line in map(json.loads, out.read_text().splitlines())}
    assert set(lines) == {p["pair_id"] for p in PAIRS}
    for pair_id, line in lines.items():
        assert line["same_story"] == (line["story_ids"][0] == line["story_ids"][1]), line
        assert line["same_story"] == (pair_id in JOINED), line
        records = [service.article(article_id) for article_id in line["ids"]]
        assert [r["story_id"] for r in records] == line["story_ids"]
    # Every pair is compared, across languages too.
    assert all(isinstance(line["similarity"], float) for line in lines.values())
    assert lines["copy-0"]["similarity"] > lines["unrelated-0"]["similarity"]
    assert lines["cross-copy"]["similarity"] > lines["cross-unrelated-labelled-same"]["similarity"]
    assert json.loads(json.dumps(report.as_dict()))["service_cross_language"]["clear"] == 3

    text = format_report(report)
    assert "newsdedup (semantic)" in text and "baseline text-dedup news" in text
    assert "    en" in text and "    fr" in text and "    de-en" in text
    assert "  cross-language" in text


def test_lexical_mode_reaches_a_fresh_stack(tmp_path: Path) -> None:
    """`--modes lexical`: a stack of its own whose API and workers run with the encoder off,
    as their evidence shows (no decision over an embedding), and --out as given (one mode)."""
    chosen = {"copy-0", "unrelated-0", "seeds-rewrite", "cross-copy", "cross-language"}
    pairs_file = tmp_path / "pairs.jsonl"
    pairs_file.write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PAIRS if p["pair_id"] in chosen)
    )
    out = tmp_path / "results.jsonl"

    [report] = evaluate_modes(
        pairs_file,
        modes=("lexical",),
        out=out,
        limit=None,
        workers=1,
        timeout_s=120,
        log_path=tmp_path / "service.log",
    )

    assert (report.mode, report.mode_how) == ("lexical", "set for this service")
    assert report.articles_done == report.articles_posted == 2 * len(chosen)
    assert (report.compares_with_embedding, report.articles_decided_with_embedding) == (0, 0)
    # The lexical score alone still joins the copies.
    assert (report.service_cross_language.pairs, report.service_cross_language.recall) == (2, 1.0)
    lines = {line["pair_id"]: line for line in map(json.loads, out.read_text().splitlines())}
    assert set(lines) == chosen
    assert lines["copy-0"]["same_story"] and not lines["unrelated-0"]["same_story"]
    assert "newsdedup (lexical)" in format_report(report)
    assert format_summary([report]).splitlines()[2].startswith("lexical")
