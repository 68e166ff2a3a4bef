"""`newsdedup eval pairs` against the running stack, on a slice of the labeled dev set.

Checks that the figures are computed and well-formed, not what they are: a 30-pair slice says
nothing about quality (the full run does; see bench/ and the evaluation command)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ops.evaluation import format_report, run_pair_evaluation
from ops.evaluation.metrics import MetricsRow
from tests.integration.helpers import ServiceClient

DEV_SET = Path(__file__).resolve().parents[3] / "shared" / "eval" / "semeval_dev.jsonl"
# Enough pairs to have clear positives and negatives in two languages, few enough to process
# in well under a minute on two worker processes.
SLICE_PAIRS = 30
TIMEOUT_S = 120


def _same_language_slice(path: Path, count: int) -> Path:
    rows = []
    languages: dict[str, int] = {}
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        # Two languages, half and half, so the per-language rows have something in them.
        if row["lang1"] != row["lang2"] or languages.get(row["lang1"], 0) >= count // 2:
            continue
        if len(languages) == 2 and row["lang1"] not in languages:
            continue
        languages[row["lang1"]] = languages.get(row["lang1"], 0) + 1
        rows.append(line)
        if len(rows) == count:
            break
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _well_formed(row: MetricsRow) -> None:
    for value in (row.precision, row.recall, row.f1):
        assert 0.0 <= value <= 1.0
    assert math.isnan(row.pearson) or -1.0 <= row.pearson <= 1.0
    assert row.positives + row.negatives == row.clear <= row.pairs


def test_pair_evaluation_on_a_dev_set_slice(service: ServiceClient, tmp_path: Path) -> None:
    assert DEV_SET.exists(), f"the labeled dev set is missing: {DEV_SET}"
    pairs_file = _same_language_slice(tmp_path / "slice.jsonl", SLICE_PAIRS)
    out = tmp_path / "results.jsonl"

    report = run_pair_evaluation(
        pairs_file, api_url=str(service.http.base_url), out=out, timeout_s=TIMEOUT_S
    )

    assert report.pairs_total == report.pairs_same_language == SLICE_PAIRS
    assert report.articles_pending == 0
    assert report.articles_done + report.articles_failed == report.articles_posted
    assert sum(report.failure_reasons.values()) == report.articles_failed
    assert 0 <= report.compare_not_processed <= report.pairs_same_language
    assert 1 <= report.largest_story <= report.articles_done
    assert report.stories <= report.articles_done

    for row in (report.service, report.baseline):
        _well_formed(row)
        assert row.pairs == SLICE_PAIRS
        assert row.clear > 0
        assert not math.isnan(row.pearson)
    for rows in (report.service_by_language, report.baseline_by_language):
        assert len(rows) == 2
        for row in rows:
            _well_formed(row)
        assert sum(r.pairs for r in rows) == SLICE_PAIRS
        assert sum(r.clear for r in rows) == report.service.clear
    assert report.baseline_largest_story >= 1

    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == SLICE_PAIRS
    for line in lines:
        assert set(line) >= {
            "pair_id",
            "langs",
            "overall",
            "ids",
            "story_ids",
            "similarity",
            "same_story",
        }
        assert 0.0 <= line["similarity"] <= 1.0
        assert line["same_story"] == (
            line["story_ids"][0] is not None and line["story_ids"][0] == line["story_ids"][1]
        )
        for article_id, story_id in zip(line["ids"], line["story_ids"], strict=True):
            record = service.article(article_id)
            assert record["story_id"] == story_id or record["status"] == "failed"

    text = format_report(report)
    assert "same-language pairs" in text and "Pearson" in text
    assert "newsdedup" in text and "baseline text-dedup news" in text
    for row in report.service_by_language:
        assert f"  {row.name}" in text
