"""Refit the semantic same-story decision (service/dedup/decision.py) on the dev pairs, and say
how well it does out of fold.

The model is decision.py's: p = sigmoid(intercept + w_cos * cosine + w_lead * lead_told
+ w_enc * embedding_cosine + cross * (w_cross + w_enc_cross * embedding_cosine)). Its inputs come
from the service's own code through bench/simulation.py (clean_text, the not-article gate,
describe, the encoder, MatchSettings.comparable, StoryScorer.components):
- cosine, lead_told: StoryScorer.components with IDF over the kept dev articles (IdfTable over
  their document frequencies);
- embedding_cosine: the dot product of the two language-centred embeddings;
- cross_language: the detected languages differ.
Every dev pair whose two articles pass the not-article gate is used (same-language and de-en),
labelled softly with (4 - overall) / 3. The fit minimises the cross-entropy to those soft
labels plus an L2 penalty of 1 on the standardised weights (scikit-learn's default C = 1; the
intercept is not penalised), by Newton's method (IRLS) in numpy; the weights are mapped back to
raw inputs.

Cross-validation: 5 folds, grouped so that no article is in both a training and a test fold
(pairs that share an article, directly or through a chain, form one group; a group goes to one
fold, groups dealt to the emptiest fold in a seeded random order). The figures printed are all
out of fold: each pair is scored by the model fitted without its fold, through the service's
DecisionModel (probability, threshold, the cited-outlet veto) at the SHIPPED thresholds, which
were chosen on the whole dev set (by the simulation), so they are not refit per fold. Two
label-free statistics also see every fold: the IDF and the language means.

Then the model fitted on all pairs, beside the shipped constants, and how many simulated
assignments (bench/simulation.py, 3 ingest orders) the refit constants would change.
With --language-means, the means the embeddings are centred on are recomputed from the kept dev
articles' embeddings (by detected language; languages with fewer than 20 articles use the mean
of all) and compared with the shipped file; --write-language-means also overwrites it.

    .venv/bin/python -m bench.fit_decision [../shared/eval/semeval_dev.jsonl] [--language-means]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.common import DEV_SET, machine_summary
from bench.eval_offline import ORDER_SEED, ORDERS
from bench.simulation import DevSet, ingest_all, load_dev_set, settings_for, shuffled
from ops.evaluation.metrics import Pair, pearson, prf
from service.dedup.decision import DecisionModel, PairSignals
from service.dedup.encoder import EMBEDDING_VERSION
from service.dedup.scoring import IdfTable, StoryScorer
from service.dedup.semantic import GLOBAL_MEAN, LanguageMeans, means_file

FOLDS = 5
FOLD_SEED = 20261206
# L2 penalty on the standardised weights (scikit-learn's default, C = 1): with it the fit
# reproduces the shipped constants to within 0.02; unpenalised, the cosine weight comes out 0.2
# higher and lead_told's -0.13 instead of 0.00, with the same out-of-fold figures to +-0.01.
L2_PENALTY = 1.0
NEWTON_STEPS = 100
NEWTON_TOLERANCE = 1e-10
# As semantic.py says of the shipped means: fewer articles than this use the global mean.
MIN_LANGUAGE_ARTICLES = 20
INPUTS = ("cosine", "lead_told", "embedding_cosine", "cross_language", "embedding_x_cross")

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PairRow:
    pair: Pair
    signals: PairSignals
    target: float

    @property
    def inputs(self) -> list[float]:
        s = self.signals
        cross = 1.0 if s.cross_language else 0.0
        return [s.cosine, s.lead_told, s.embedding_cosine, cross, cross * s.embedding_cosine]


def pair_rows(dev: DevSet) -> list[PairRow]:
    """The signals of every pair whose two articles the service keeps."""
    settings = settings_for(semantic=True)
    kept = {k: p.processed for k, p in dev.prepared.items() if p.processed is not None}
    frequencies: Counter[str] = Counter()
    for processed in kept.values():
        frequencies.update(set(processed.features.term_weights))
    idf = IdfTable(len(kept), frequencies).__getitem__
    comparable = {k: settings.comparable(p.features, p.embedding) for k, p in kept.items()}
    rows = []
    for pair in dev.pairs:
        if pair.id1 not in kept or pair.id2 not in kept:
            continue
        a, b = comparable[pair.id1], comparable[pair.id2]
        assert a.embedding is not None and b.embedding is not None
        scorer = StoryScorer(a.features, idf=idf)
        cosine, lead = scorer.components(b.features)
        signals = PairSignals(
            cosine=cosine,
            lead_told=lead,
            embedding_cosine=float(np.dot(a.embedding, b.embedding)),
            cross_language=a.features.language != b.features.language,
            conflicting_attributions=scorer.attributions_conflict(b.features),
        )
        rows.append(PairRow(pair, signals, (4.0 - pair.overall) / 3.0))
    return rows


# --- the fit ---------------------------------------------------------------------------------


def fit_logistic(x: Matrix, y: Matrix) -> DecisionModel:
    """Soft-label logistic regression by Newton's method on standardised inputs; the weights
    mapped back to raw inputs, as a DecisionModel with the shipped thresholds."""
    centre = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    design = np.hstack([np.ones((len(x), 1)), (x - centre) / scale])
    w = np.zeros(design.shape[1])
    # The L2 penalty on the standardised weights, none on the intercept.
    penalty = np.full(len(w), L2_PENALTY)
    penalty[0] = 0.0
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (y - p) - penalty * w
        hessian = (design.T * (p * (1 - p))) @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w += step
        if float(np.max(np.abs(step))) < NEWTON_TOLERANCE:
            break
    raw = w[1:] / scale
    intercept = float(w[0] - np.sum(raw * centre))
    return DecisionModel(
        intercept=intercept,
        weight_cosine=float(raw[0]),
        weight_lead_told=float(raw[1]),
        weight_embedding=float(raw[2]),
        weight_cross_language=float(raw[3]),
        weight_embedding_cross_language=float(raw[4]),
    )


def grouped_folds(rows: Sequence[PairRow], folds: int, seed: int) -> tuple[list[int], int, int]:
    """A fold per row, no article in two folds; (folds, number of groups, largest group)."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        parent.setdefault(a, a)
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for row in rows:
        parent[find(row.pair.id1)] = find(row.pair.id2)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[find(row.pair.id1)].append(i)
    members = list(groups.values())
    random.Random(seed).shuffle(members)
    members.sort(key=len, reverse=True)  # stable: the seeded order breaks ties
    sizes = [0] * folds
    fold_of = [0] * len(rows)
    for group in members:
        target = sizes.index(min(sizes))
        sizes[target] += len(group)
        for i in group:
            fold_of[i] = target
    return fold_of, len(members), max(len(g) for g in members)


def out_of_fold(rows: Sequence[PairRow], fold_of: Sequence[int]) -> tuple[list[float], list[bool]]:
    """Each pair's probability and decision from the model fitted without its fold."""
    x = np.array([r.inputs for r in rows], dtype=np.float64)
    y = np.array([r.target for r in rows], dtype=np.float64)
    folds = np.array(fold_of)
    probability = [0.0] * len(rows)
    same = [False] * len(rows)
    for k in sorted(set(fold_of)):
        model = fit_logistic(x[folds != k], y[folds != k])
        for i in map(int, np.flatnonzero(folds == k)):
            probability[i] = model.probability(rows[i].signals)
            same[i] = model.same_story(rows[i].signals)
    return probability, same


def figures(
    name: str, rows: Sequence[PairRow], probability: Sequence[float], same: Sequence[bool]
) -> str:
    clear = [i for i, r in enumerate(rows) if r.pair.clear_label is not None]
    actual = [bool(rows[i].pair.clear_label) for i in clear]
    p, r, f1 = prf([same[i] for i in clear], actual)
    corr = pearson(list(probability), [row.pair.overall for row in rows])
    positives = sum(actual)
    return (
        f"{name:<24} {len(rows):>5} {len(clear):>5} {f'{positives}/{len(clear) - positives}':>8} "
        f"{p:>6.3f} {r:>6.3f} {f1:>6.3f} {corr:>8.3f}"
    )


SHIPPED = DecisionModel()
CONSTANTS = (
    ("INTERCEPT", "intercept"),
    ("WEIGHT_COSINE", "weight_cosine"),
    ("WEIGHT_LEAD_TOLD", "weight_lead_told"),
    ("WEIGHT_EMBEDDING", "weight_embedding"),
    ("WEIGHT_CROSS_LANGUAGE", "weight_cross_language"),
    ("WEIGHT_EMBEDDING_CROSS_LANGUAGE", "weight_embedding_cross_language"),
)


def changed_assignments(dev: DevSet, refit: DecisionModel, orders: int) -> list[tuple[int, int]]:
    """Per ingest order: (articles whose assignment differs under the refit constants, articles
    ingested). An assignment is the member an article joined, or none (a new story)."""
    results = []
    for i in range(orders):
        order = shuffled(dev.kept, ORDER_SEED + i)
        shipped = ingest_all(settings_for(semantic=True), dev.prepared, order)
        refitted = ingest_all(settings_for(semantic=True, model=refit), dev.prepared, order)
        differ = sum(
            a.joined != b.joined for a, b in zip(shipped.outcomes, refitted.outcomes, strict=True)
        )
        results.append((differ, len(order)))
    return results


# --- language means ----------------------------------------------------------------------------


def recompute_means(dev: DevSet, max_tokens: int) -> dict[str, npt.NDArray[np.float32]]:
    by_language: dict[str, list[npt.NDArray[np.float32]]] = defaultdict(list)
    everything = []
    for prepared in dev.prepared.values():
        processed = prepared.processed
        if processed is None or processed.embedding is None:
            continue
        everything.append(processed.embedding)
        if processed.language:
            by_language[processed.language].append(processed.embedding)
    means = {GLOBAL_MEAN: np.mean(everything, axis=0).astype(np.float32)}
    for language, rows in sorted(by_language.items()):
        if len(rows) >= MIN_LANGUAGE_ARTICLES:
            means[language] = np.mean(rows, axis=0).astype(np.float32)
    return means


def report_means(dev: DevSet, max_tokens: int, *, write: bool) -> None:
    shipped = LanguageMeans.load(max_tokens).means
    fresh = recompute_means(dev, max_tokens)
    print(
        f"\nlanguage means recomputed from the kept dev articles ({means_file(max_tokens).name}):"
    )
    print(f"{'':<6} {'|shipped - recomputed|':>23} {'cosine':>8} {'|shipped|':>10}")
    for name in sorted(set(shipped) | set(fresh)):
        if name not in shipped or name not in fresh:
            where = "only recomputed" if name in fresh else "only shipped"
            print(f"{name:<6} {where:>23}")
            continue
        a, b = shipped[name], fresh[name]
        distance = float(np.linalg.norm(a - b))
        cosine = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
        print(f"{name:<6} {distance:>23.5f} {cosine:>8.5f} {float(np.linalg.norm(a)):>10.4f}")
    if write:
        path = means_file(max_tokens)
        arrays: dict[str, npt.NDArray[np.generic]] = dict(fresh)
        arrays["_embedding_version"] = np.array(EMBEDDING_VERSION)
        np.savez(path, **arrays)  # type: ignore[arg-type]
        print(f"written to {path}")


# --- main --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("pairs", nargs="?", type=Path, default=DEV_SET, help="the dev set")
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--seed", type=int, default=FOLD_SEED, help="seed of the fold split")
    parser.add_argument("--orders", type=int, default=ORDERS, help="orders for the change count")
    parser.add_argument("--language-means", action="store_true", help="recompute and compare")
    parser.add_argument(
        "--write-language-means", action="store_true", help="also overwrite the shipped file"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    semantic = settings_for(semantic=True).semantic
    assert semantic is not None
    print(machine_summary())
    dev = load_dev_set(args.pairs, max_tokens=semantic.max_tokens)
    rows = pair_rows(dev)
    fold_of, groups, largest = grouped_folds(rows, args.folds, args.seed)
    # Reported by the labelled languages (as bench/eval_offline.py does); the model's own
    # cross_language input is the detected one, as in the service.
    same_language = [i for i, r in enumerate(rows) if r.pair.lang1 == r.pair.lang2]
    across = [i for i, r in enumerate(rows) if r.pair.lang1 != r.pair.lang2]
    detected_across = sum(r.signals.cross_language for r in rows)
    print(
        f"pairs fitted: {len(rows)} of {len(dev.pairs)} (the others include a not-article); "
        f"articles kept: {len(dev.kept)}; labelled same-language {len(same_language)}, "
        f"de-en {len(across)}; detected across languages {detected_across}"
    )
    print(
        f"{args.folds} folds grouped by article: {groups} groups of pairs sharing articles "
        f"(largest {largest} pairs); no article is in two folds; pairs per fold "
        f"{sorted(Counter(fold_of).values())}"
    )

    probability, same = out_of_fold(rows, fold_of)
    print(
        f"\nout of fold (weights refit per fold; shipped thresholds: same-language "
        f"{SHIPPED.same_language_threshold}, across languages {SHIPPED.cross_language_threshold};"
        f" cited-outlet veto on):"
    )
    print(
        f"{'pairwise':<24} {'pairs':>5} {'clear':>5} {'+/-':>8} {'P':>6} {'R':>6} {'F1':>6} "
        f"{'Pearson':>8}"
    )
    for name, subset in (("same-language", same_language), ("de-en", across)):
        print(
            figures(
                name,
                [rows[i] for i in subset],
                [probability[i] for i in subset],
                [same[i] for i in subset],
            )
        )
    for language in sorted({rows[i].pair.lang1 for i in same_language}):
        subset = [i for i in same_language if rows[i].pair.lang1 == language]
        print(
            figures(
                f"  {language}",
                [rows[i] for i in subset],
                [probability[i] for i in subset],
                [same[i] for i in subset],
            )
        )

    x = np.array([r.inputs for r in rows], dtype=np.float64)
    y = np.array([r.target for r in rows], dtype=np.float64)
    refit = fit_logistic(x, y)
    print("\nfitted on all pairs (decision.py's constants):")
    print(f"{'':<34} {'shipped':>9} {'refit':>9} {'diff':>8}")
    largest_gap = 0.0
    for constant, attribute in CONSTANTS:
        old, new = getattr(SHIPPED, attribute), getattr(refit, attribute)
        largest_gap = max(largest_gap, abs(new - old))
        print(f"{constant:<34} {old:>9.4f} {new:>9.4f} {new - old:>+8.4f}")
    print(f"largest difference: {largest_gap:.4f}")

    print("\nsimulated assignments that change with the refit constants (semantic mode):")
    for i, (differ, total) in enumerate(changed_assignments(dev, refit, args.orders)):
        print(f"  order {i + 1}: {differ} of {total} articles join another member or story")

    if args.language_means or args.write_language_means:
        report_means(dev, semantic.max_tokens, write=args.write_language_means)
    print(f"\nruntime {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
