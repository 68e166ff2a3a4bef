"""Sweeps over the labeled dev set's real news texts, which the tests may not read (they must
pass in a clone with nothing beside it, and the texts are third-party news):

    not-article   every dev-set text through not_article_reason: the known scrape failures are
                  flagged, and at most 40 texts are, none of them a long article
    language      detect_language on 40-word excerpts of each dev-set language
    eval-pairs    `newsdedup eval pairs` on a 30-pair slice in a fresh embedded stack: the
                  figures are computed and well-formed (a slice says nothing about quality)

    .venv/bin/python -m bench.dev_set [--dev-set PATH] [not-article language eval-pairs]

With no check named, all three run. Each prints what it found; the exit status is 1 if a check
failed, 2 if the dev set is absent.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

from bench.common import DEV_SET, require_data
from ops.evaluation import evaluate_with_fresh_stack, format_report
from ops.evaluation.metrics import MetricsRow
from service.extraction import detect_language, not_article_reason

# --- not-article ------------------------------------------------------------------------------

# Scrape failures known to be in the dev set: the start of the text, and the reason expected.
KNOWN_SCRAPE_FAILURES = [
    ("Przykro nam, ale z adresu IP", "IP block or bot check"),
    ("VA Lottery\nWe noticed you’re blocking ads!", "ad-block wall"),
    ("Two hurt in when snowmobile crashed into tree\nYou have reached", "paywall"),
    ("Grüne: Regierung muss bei Schienen-Elektrifizierung zulegen\nOK", "cookie"),
]
# 38 of the dev set's 1,968 texts are flagged, every one a scrape failure (block notices,
# paywalls, cookie walls, login prompts, site slogans); a little room above that.
MAX_FLAGGED = 40
# None of the flagged texts is this long: a real article is never flagged for its words.
FLAGGED_MAX_WORDS = 150

# --- language ---------------------------------------------------------------------------------

LANGUAGES = ["en", "de", "es", "tr", "pl", "ar", "fr"]
EXCERPTS_PER_LANGUAGE = 15
# 40 words: a short paragraph. The detector misreads 0.4% (6 of 1,587) of such excerpts.
EXCERPT_WORDS = 40

# --- eval-pairs -------------------------------------------------------------------------------

# Enough pairs to have clear positives and negatives in two languages, few enough to process
# in well under a minute on two worker processes.
SLICE_PAIRS = 30
SLICE_TIMEOUT_S = 120.0


@cache
def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _texts(path: Path) -> Iterator[tuple[str, str]]:
    """(language, text) of every side of every pair, in file order."""
    for row in _rows(path):
        for side in ("1", "2"):
            yield row[f"lang{side}"], row[f"text{side}"] or ""


def check_not_article(path: Path) -> list[str]:
    problems = []
    texts = [text for _, text in _texts(path)]
    for start, reason in KNOWN_SCRAPE_FAILURES:
        matches = [text for text in texts if text.startswith(start)]
        if not matches:
            problems.append(f"no dev-set text starts with {start!r}")
        for text in matches:
            flagged = not_article_reason(None, text)
            if flagged is None or reason not in flagged:
                problems.append(f"{start!r}: expected {reason!r}, got {flagged!r}")
    flagged_texts = [text for text in texts if not_article_reason(None, text)]
    long_ones = [text for text in flagged_texts if len(text.split()) >= FLAGGED_MAX_WORDS]
    print(
        f"  {len(flagged_texts)} of {len(texts)} texts flagged as not articles (at most "
        f"{MAX_FLAGGED}); {len(long_ones)} of them with {FLAGGED_MAX_WORDS}+ words"
    )
    for text in flagged_texts:
        print(f"    {not_article_reason(None, text)}: {text[:60]!r}")
    if len(flagged_texts) > MAX_FLAGGED:
        problems.append(f"{len(flagged_texts)} texts flagged, more than {MAX_FLAGGED}")
    problems += [f"a long article is flagged: {text[:80]!r}" for text in long_ones]
    return problems


def _excerpt(text: str) -> str | None:
    """EXCERPT_WORDS words from the middle of a text at least three times as long."""
    words = text.split()
    if len(words) < 3 * EXCERPT_WORDS:
        return None
    middle = len(words) // 2
    return " ".join(words[middle : middle + EXCERPT_WORDS])


def check_language(path: Path) -> list[str]:
    problems = []
    excerpts: dict[str, list[str]] = {language: [] for language in LANGUAGES}
    seen: set[str] = set()
    for language, text in _texts(path):
        excerpt = _excerpt(text)
        if text in seen or excerpt is None or language not in excerpts:
            continue
        seen.add(text)
        excerpts[language].append(excerpt)
    misread_all = 0
    for language in LANGUAGES:
        detected = Counter(detect_language(excerpt) for excerpt in excerpts[language])
        misread = sum(n for found, n in detected.items() if found != language)
        misread_all += misread
        first = [detect_language(excerpt) for excerpt in excerpts[language][:EXCERPTS_PER_LANGUAGE]]
        print(
            f"  {language}: {misread} of {len(excerpts[language])} excerpts misread "
            f"{dict(detected)}"
        )
        if len(first) < EXCERPTS_PER_LANGUAGE:
            problems.append(f"{language}: only {len(first)} long texts")
        if first != [language] * len(first):
            problems.append(f"{language}: the first {len(first)} excerpts read as {first}")
    total = sum(len(found) for found in excerpts.values())
    print(f"  {misread_all} of {total} excerpts misread ({misread_all / max(total, 1):.1%})")
    return problems


def _same_language_slice(path: Path, out: Path, count: int) -> Path:
    """The first `count` same-language pairs of two languages, half and half, so the
    per-language rows have something in them."""
    rows = []
    languages: Counter[str] = Counter()
    for row in _rows(path):
        language = row["lang1"]
        if row["lang2"] != language or languages[language] >= count // 2:
            continue
        if len(languages) == 2 and language not in languages:
            continue
        languages[language] += 1
        rows.append(json.dumps(row, ensure_ascii=False))
        if len(rows) == count:
            break
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return out


def _row_problems(row: MetricsRow) -> list[str]:
    problems = []
    if not all(0.0 <= value <= 1.0 for value in (row.precision, row.recall, row.f1)):
        problems.append(f"{row.name}: P/R/F1 out of [0, 1]")
    if not (math.isnan(row.pearson) or -1.0 <= row.pearson <= 1.0):
        problems.append(f"{row.name}: Pearson {row.pearson} out of [-1, 1]")
    if not row.positives + row.negatives == row.clear <= row.pairs:
        problems.append(f"{row.name}: positives + negatives != clear, or clear > pairs")
    return problems


def check_eval_pairs(path: Path) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="newsdedup-dev-set-") as directory:
        pairs_file = _same_language_slice(path, Path(directory) / "slice.jsonl", SLICE_PAIRS)
        report = evaluate_with_fresh_stack(
            pairs_file,
            out=None,
            limit=None,
            timeout_s=SLICE_TIMEOUT_S,
            # The workers log every article; keep the output for the report.
            log_path=Path(directory) / "service.log",
        )
    print("\n".join(f"  {line}" for line in format_report(report).splitlines()))
    problems = []
    if not report.pairs_total == report.pairs_same_language == SLICE_PAIRS:
        problems.append(f"{report.pairs_total} pairs evaluated, not {SLICE_PAIRS}")
    if report.articles_pending:
        problems.append(f"{report.articles_pending} articles still pending")
    if report.articles_done + report.articles_failed != report.articles_posted:
        problems.append("done + failed != posted")
    if sum(report.failure_reasons.values()) != report.articles_failed:
        problems.append("failure reasons do not add up to the failed articles")
    for row in (report.service, report.baseline):
        problems += _row_problems(row)
        if row.clear == 0 or math.isnan(row.pearson):
            problems.append(f"{row.name}: no clear pairs, or no Pearson")
    for rows in (report.service_by_language, report.baseline_by_language):
        problems += [p for row in rows for p in _row_problems(row)]
        if len(rows) != 2 or sum(r.pairs for r in rows) != SLICE_PAIRS:
            problems.append("the per-language rows do not cover the slice's two languages")
    return problems


CHECKS: dict[str, Callable[[Path], list[str]]] = {
    "not-article": check_not_article,
    "language": check_language,
    "eval-pairs": check_eval_pairs,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dev_set", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument("checks", nargs="*", metavar="CHECK", help=", ".join(CHECKS))
    parser.add_argument(
        "--dev-set", type=Path, default=DEV_SET, help=f"the labeled pairs (default {DEV_SET})"
    )
    args = parser.parse_args(argv)
    unknown = set(args.checks) - set(CHECKS)
    if unknown:
        parser.error(f"unknown checks: {', '.join(sorted(unknown))}")
    path = require_data(
        args.dev_set,
        "The labeled dev set (SemEval-2022 Task 8 pairs, JSON lines)",
        "pass its path with --dev-set PATH",
    )
    failed = []
    for name in args.checks or list(CHECKS):
        print(f"[{name}] on {path}", flush=True)
        started = time.monotonic()
        problems = CHECKS[name](path)
        for problem in problems:
            print(f"  FAILED: {problem}")
        print(f"  {'failed' if problems else 'ok'} ({time.monotonic() - started:.1f} s)\n")
        failed += [name] if problems else []
    print(f"failed: {', '.join(failed)}" if failed else "all checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
