"""Offline evaluation of story matching on the labeled dev set and the seeds, through the
service's own code (bench/simulation.py: cleaning, the not-article gate, features, embedding,
band keys, candidates, the judge and choose_story), in memory, in both modes.

Prints, for the semantic mode (the default) and the lexical mode (NEWSDEDUP_SEMANTIC_MATCHING=
false), averaged over 3 ingest orders (seeded shuffles) of one global store:
- precision/recall/F1 of "same story" on the clear same-language pairs (overall <= 1.5 same,
  >= 3 different) and the Pearson correlation of the pair similarity (the judge's probability or
  score with the final corpus statistics, as GET /articles/{a}/compare/{b} reports it; 0 for a
  pair with a not-article, as `newsdedup eval pairs` counts it) with `overall`; per language;
- the de-en pairs separately (the same figures);
- candidate recall: of the clear positives, how many pairs' later article finds the earlier
  one among its candidates, with MinHash alone and with the semantic keys too;
- the largest story;
- the text-dedup news baseline (ops.evaluation.metrics.baseline) on the same articles;
- the seeds in all 120 ingest orders into a fresh store and in all 5 rotations after the dev
  corpus: they must give exactly {000,002} {001} {003} {004}.

With --against OUT.jsonl (from `newsdedup eval pairs DEV --out OUT.jsonl` at the default
settings) it also says how far the simulated pair similarities are from the service's.

    .venv/bin/python -m bench.eval_offline [../shared/eval/semeval_dev.jsonl] [--against OUT]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import DEV_SET, machine_summary
from bench.simulation import (
    DevSet,
    Prepared,
    Store,
    ingest_all,
    load_dev_set,
    seed_articles,
    settings_for,
    shuffled,
)
from ops.evaluation.metrics import MetricsRow, Pair, baseline, metrics_by_language, metrics_row
from service.dedup.assign import MatchSettings

# Three seeded orders: the order decides which article founds a story and what IDF says when
# each arrives; the spread between them is printed beside the mean.
ORDERS = 3
ORDER_SEED = 20261206
EXPECTED_SEEDS = "{000,002} {001} {003} {004}"


@dataclass(frozen=True)
class CandidateRecall:
    """Of the clear positives with both articles stored: how many pairs' later article has the
    earlier one among its candidates, from MinHash alone and with the semantic keys too."""

    minhash: int
    semantic: int
    total: int


@dataclass(frozen=True)
class OrderFigures:
    same_language: MetricsRow
    by_language: list[MetricsRow]
    de_en: MetricsRow
    recall: CandidateRecall
    de_en_recall: CandidateRecall
    largest_story: int
    stories: int
    seconds: float


def similarities(store: Store, pairs: Sequence[Pair]) -> dict[str, float]:
    """The compare endpoint's similarity per pair; 0 when an article failed (its 409)."""
    stored = store.index_of()
    return {
        p.pair_id: store.compare(p.id1, p.id2).similarity
        if p.id1 in stored and p.id2 in stored
        else 0.0
        for p in pairs
    }


def candidate_recall(store: Store, pairs: Sequence[Pair]) -> CandidateRecall:
    """A pair is found when its later article has the earlier one (or the stored twin an exact
    re-post joined) among its candidates."""
    index = store.index_of()
    minhash = semantic = total = 0
    for p in pairs:
        if p.clear_label is not True or p.id1 not in index or p.id2 not in index:
            continue
        total += 1
        earlier, later = sorted((index[p.id1], index[p.id2]))
        first = store.outcomes[earlier]
        target = first.joined if first.exact and first.joined is not None else earlier
        outcome = store.outcomes[later]
        by_minhash = target in outcome.minhash_candidates
        minhash += by_minhash
        semantic += by_minhash or target in outcome.semantic_candidates
    return CandidateRecall(minhash, semantic, total)


def run_order(
    settings: MatchSettings,
    dev: DevSet,
    order: Sequence[str],
    same_language: Sequence[Pair],
    de_en: Sequence[Pair],
) -> tuple[OrderFigures, Store]:
    started = time.perf_counter()
    store = ingest_all(settings, dev.prepared, order)
    story_of: Mapping[str, int | None] = store.story_of()
    similarity = similarities(store, [*same_language, *de_en])
    sizes = Counter(store.story_of().values())
    figures = OrderFigures(
        same_language=metrics_row("newsdedup", same_language, story_of, similarity),
        by_language=metrics_by_language(same_language, story_of, similarity),
        de_en=metrics_row("de-en", de_en, story_of, similarity),
        recall=candidate_recall(store, same_language),
        de_en_recall=candidate_recall(store, de_en),
        largest_story=max(sizes.values()),
        stories=len(sizes),
        seconds=time.perf_counter() - started,
    )
    return figures, store


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values)


def spread(values: Sequence[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"


def recall_text(recall: Sequence[CandidateRecall], semantic: bool) -> str:
    minhash = f"MinHash {mean([r.minhash for r in recall]):.1f}"
    if not semantic:
        return f"{minhash} (no semantic keys in this mode)"
    return f"{minhash}, with the semantic keys {mean([r.semantic for r in recall]):.1f}"


HEADER = f"{'':<30} {'clear':>5} {'+/-':>8} {'P':>6} {'R':>6} {'F1':>6} {'Pearson':>8}"


def averaged_row(name: str, rows: Sequence[MetricsRow], *, show_spread: bool = False) -> str:
    first = rows[0]
    line = (
        f"{name:<30} {first.clear:>5} {f'{first.positives}/{first.negatives}':>8} "
        f"{mean([r.precision for r in rows]):>6.3f} {mean([r.recall for r in rows]):>6.3f} "
        f"{mean([r.f1 for r in rows]):>6.3f} {mean([r.pearson for r in rows]):>8.3f}"
    )
    if show_spread:
        line += (
            f"   per order P {spread([r.precision for r in rows])}, "
            f"R {spread([r.recall for r in rows])}, F1 {spread([r.f1 for r in rows])}"
        )
    return line


def report_mode(name: str, figures: Sequence[OrderFigures], *, semantic: bool) -> list[str]:
    lines = [f"{name}: mean of {len(figures)} ingest orders", HEADER]
    lines.append(
        averaged_row(
            "same-language", [f.same_language for f in figures], show_spread=len(figures) > 1
        )
    )
    for i, row in enumerate(figures[0].by_language):
        lines.append(averaged_row(f"  {row.name}", [f.by_language[i] for f in figures]))
    lines.append(averaged_row("de-en", [f.de_en for f in figures], show_spread=len(figures) > 1))
    same, de_en = [f.recall for f in figures], [f.de_en_recall for f in figures]
    lines.append(
        "candidate recall, clear positives (the later article has the earlier among its "
        f"candidates): same-language {recall_text(same, semantic)} of {same[0].total}; "
        f"de-en {recall_text(de_en, semantic)} of {de_en[0].total}"
    )
    lines.append(
        f"largest story: {', '.join(str(f.largest_story) for f in figures)} articles; "
        f"stories: {', '.join(str(f.stories) for f in figures)}; "
        f"{mean([f.seconds for f in figures]):.1f} s per order"
    )
    return lines


def against_service(path: Path, store: Store, pairs: Sequence[Pair]) -> str:
    """How far the simulation's pair similarities (`store`: the articles ingested in the order
    `newsdedup eval pairs` posts them) are from those the service's compare endpoint gave in an
    `eval pairs --out` run."""
    service: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("similarity") is not None:
            service[str(row["pair_id"])] = float(row["similarity"])
    simulated = similarities(store, pairs)
    gaps = [abs(simulated[k] - v) for k, v in service.items() if k in simulated]
    if not gaps:
        return f"against {path}: no same-language pair in common"
    return (
        f"against the service ({path.name}), simulated in posting order: {len(gaps)} pair "
        f"similarities compared, largest "
        f"difference {max(gaps):.2g}, {sum(g > 1e-6 for g in gaps)} differ by more than 1e-6"
    )


# --- seeds -------------------------------------------------------------------------------------


def render_seed_stories(store: Store, seeds: Sequence[str]) -> str:
    """The seeds' stories among themselves; a story that also holds dev articles says so."""
    story_of = store.story_of()
    groups: dict[int, list[str]] = defaultdict(list)
    for key in seeds:
        groups[story_of[key]].append(key)
    members = Counter(story_of.values())
    rendered = []
    for story, keys in sorted(groups.items(), key=lambda item: sorted(item[1])):
        extra = members[story] - len(keys)
        rendered.append("{" + ",".join(sorted(keys)) + "}" + (f"+{extra} dev" if extra else ""))
    return " ".join(sorted(rendered))


def check_seeds(
    settings: MatchSettings, seeds: Mapping[str, Prepared], after: Store | None
) -> list[str]:
    keys = sorted(seeds)
    lines: list[str] = []
    if after is None:
        outcomes: Counter[str] = Counter()
        for permutation in itertools.permutations(keys):
            store = ingest_all(settings, seeds, permutation)
            outcomes[render_seed_stories(store, keys)] += 1
        total = sum(outcomes.values())
        for rendered, count in outcomes.most_common():
            verdict = "ok" if rendered == EXPECTED_SEEDS else "WRONG"
            lines.append(f"  fresh store, {count} of {total} orders: {rendered} {verdict}")
        return lines
    for shift in range(len(keys)):
        order = keys[shift:] + keys[:shift]
        store = copy.deepcopy(after)
        for key in order:
            processed = seeds[key].processed
            if processed is not None:
                store.ingest(key, processed)
        rendered = render_seed_stories(store, keys)
        verdict = "ok" if rendered == EXPECTED_SEEDS else "WRONG"
        lines.append(f"  after the dev corpus, order {' '.join(order)}: {rendered} {verdict}")
    return lines


# --- main --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("pairs", nargs="?", type=Path, default=DEV_SET, help="the dev set")
    parser.add_argument("--orders", type=int, default=ORDERS, help="ingest orders to average")
    parser.add_argument("--seed", type=int, default=ORDER_SEED, help="seed of the first order")
    parser.add_argument(
        "--against",
        type=Path,
        help="a `newsdedup eval pairs --out` file of the service at its default settings: "
        "compare its pair similarities with the simulation's",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    semantic_settings = settings_for(semantic=True)
    assert semantic_settings.semantic is not None
    max_tokens = semantic_settings.semantic.max_tokens
    print(machine_summary())
    dev = load_dev_set(args.pairs, max_tokens=max_tokens)
    same_language = [p for p in dev.pairs if p.lang1 == p.lang2]
    de_en = [p for p in dev.pairs if {p.lang1, p.lang2} == {"de", "en"} and p.lang1 != p.lang2]
    failed = dev.failed
    detected = Counter(
        p.processed.language == a.language
        for k, a in dev.articles.items()
        if (p := dev.prepared[k]).processed is not None
    )
    print(
        f"pairs: {len(dev.pairs)} ({len(same_language)} same-language, {len(de_en)} de-en); "
        f"distinct articles: {len(dev.articles)}; not articles (failed by the service's gate): "
        f"{len(failed)}; detected language agrees with the label on {detected[True]} of "
        f"{sum(detected.values())}"
    )
    print(f"failures: {dict(Counter(reason.split(' (')[0] for reason in failed.values()))}")
    print(f"embedding input: {max_tokens} tokens (cached under bench/.cache/)")
    orders = [shuffled(dev.kept, args.seed + i) for i in range(args.orders)]
    seeds = seed_articles(max_tokens)

    all_ok = True
    for mode, semantic in (("semantic mode (default)", True), ("lexical mode", False)):
        settings = settings_for(semantic=semantic)
        results = [run_order(settings, dev, order, same_language, de_en) for order in orders]
        print()
        for line in report_mode(mode, [figures for figures, _ in results], semantic=semantic):
            print(line)
        seed_lines = [
            *check_seeds(settings, seeds, None),
            *check_seeds(settings, seeds, results[0][1]),
        ]
        if semantic and args.against:
            # In posting order: which of two exact twins is indexed (and embedded) moves the
            # similarities of their pairs and, through the document frequencies, of others.
            posted, store = run_order(settings, dev, dev.kept, same_language, de_en)
            row = posted.same_language
            print(
                f"in posting order: P {row.precision:.3f} R {row.recall:.3f} F1 {row.f1:.3f}, "
                f"largest story {posted.largest_story}, stories {posted.stories}"
            )
            print(against_service(args.against, store, same_language))
        # The exit status pins the default mode. The lexical fallback is known to join the
        # seeds' 001 and 004 once its IDF comes from the dev corpus (README, Quality); it is
        # reported, and a change that fixes it shows here.
        if semantic:
            all_ok &= all(line.endswith(" ok") for line in seed_lines)
        print("seeds:")
        for line in seed_lines:
            print(line)

    base_story, base_hashes = baseline(list(dev.articles.values()))
    stories: dict[str, int | None] = dict(base_story)
    base_similarity = {
        p.pair_id: float(base_hashes[p.id1].jaccard(base_hashes[p.id2]))
        for p in [*same_language, *de_en]
    }
    print()
    print(HEADER)
    print(
        averaged_row(
            "baseline text-dedup news",
            [metrics_row("baseline", same_language, stories, base_similarity)],
        )
    )
    print(
        averaged_row(
            "baseline de-en", [metrics_row("baseline de-en", de_en, stories, base_similarity)]
        )
    )
    print(f"baseline largest story: {max(Counter(base_story.values()).values())} articles")
    print(f"\nseeds in the default mode: {'all as expected' if all_ok else 'NOT as expected'}")
    print(f"runtime {time.perf_counter() - started:.1f} s")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
