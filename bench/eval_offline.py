"""Offline evaluation of story-level dedup against the labeled dev set and the five seeds.

Simulates the service in memory: every article of every pair is ingested one by one into ONE
global store (so chaining between stories shows), exactly as the worker does it:
features -> MinHash (service.dedup.signature) -> candidates from a band index (most band
collisions first, top `max_candidates`) -> score_pair with IDF over the documents ingested so
far -> join the best candidate's story if its score reaches the threshold, else a new story.

Prints, in one run: pairwise precision/recall/F1 of "same story" on the clear same-language
pairs (overall <= 1.5 positive, >= 3 negative), the Pearson correlation of the direct pair score
with `overall`, the largest story, one row per language, the text-dedup news baseline (word
bigrams, 256 permutations, MinHashLSH threshold 0.45), 5-fold cross-validated figures of the
fitted score, the best threshold after the fact (information only), and the seeds' stories
in every rotation of the ingest order.

    .venv/bin/python bench/eval_offline.py [--pairs ../shared/eval/semeval_dev.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import DEV_SET, require_data  # noqa: E402
from ops.evaluation.metrics import (  # noqa: E402
    NEGATIVE_MIN_OVERALL,
    POSITIVE_MAX_OVERALL,
    Pair,
    baseline,
    pearson,
    prf,
    same_story_rows,
)
from service.dedup import scoring  # noqa: E402
from service.dedup.features import StoryFeatures, extract_features  # noqa: E402
from service.dedup.scoring import (  # noqa: E402
    effective_threshold,
    score_pair,
    smoothed_idf,
)
from service.dedup.signature import SignatureScheme, band_keys, minhash_values  # noqa: E402
from service.extraction import clean_text  # noqa: E402
from service.settings import Settings  # noqa: E402

DEFAULT_PAIRS = DEV_SET
SEEDS_DIR = ROOT / "seeds"
# The service's scheme (service/settings.py): 128 permutations in 64 bands, top 20 candidates.
NUM_PERM = 128
BANDS = 64
MAX_CANDIDATES = 20
# Fixed shuffle seed: the ingest order matters (IDF so far, which article founds a story), and a
# fixed seed makes runs comparable.
SHUFFLE_SEED = 20240601
CV_FOLDS = 5

# Languages the local stoplist detector chooses among: the dev set's and the seeds' languages,
# plus the other large news languages, so a stray text does not land on an obscure stoplist.
DETECT_LANGUAGES = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "tr": "Turkish",
}


# --- language and stopwords ----------------------------------------------------------------


def _local_language_tools() -> tuple[
    Callable[[str], str | None], Callable[[str | None], frozenset[str]]
]:
    import justext

    lists = {
        code: frozenset(w.casefold() for w in justext.get_stoplist(name))
        for code, name in DETECT_LANGUAGES.items()
    }
    word_re = re.compile(r"\w+")

    def detect(text: str) -> str | None:
        words = [w.casefold() for w in word_re.findall(text[:3000])]
        if not words:
            return None
        best = max(lists, key=lambda code: sum(w in lists[code] for w in words))
        return best if sum(w in lists[best] for w in words) else None

    def stopwords(language: str | None) -> frozenset[str]:
        return lists.get(language or "", frozenset())

    return detect, stopwords


def language_tools() -> tuple[
    str, Callable[[str], str | None], Callable[[str | None], frozenset[str]]
]:
    """The service's detector if another engineer has shipped it, else a local stoplist vote."""
    try:
        from service.extraction.language import detect_language
        from service.extraction.language import stopwords as service_stopwords

        return "service.extraction.language", detect_language, service_stopwords
    except ImportError:
        detect, stopwords = _local_language_tools()
        return "local stoplist overlap", detect, stopwords


# --- non-articles --------------------------------------------------------------------------

# Scrape failures are not articles: the service drops them before dedup (not_article_reason).
# A crude stand-in: near-empty texts, or short texts that talk about access rather than news.
# Below 25 words there is no story left to match (a headline and a one-line teaser).
MIN_ARTICLE_WORDS = 25
# Words of block pages, ad-block walls, paywalls and consent banners in the dev set's languages.
NOT_ARTICLE_MARKERS = re.compile(
    r"(cookie|adres(u)? ip|access denied|captcha|ad ?blocker|blocking ads|adblock|"
    r"subscri(be|ption)|sign up|complimentary access|all rights reserved|log(ging)? in|"
    r"datenschutz|anmelden|suscr[ií]b|abonn)",
    re.IGNORECASE,
)
# A real article may mention a cookie once; a wall says such things again and again, or says
# one and little else (fewer than 80 words: a notice, not a report that mentions a paywall).
NOT_ARTICLE_MIN_MARKERS = 3
NOT_ARTICLE_SHORT_WORDS = 80


def not_article_reason(text: str) -> str | None:
    words = len(re.findall(r"\w+", text))
    if words < MIN_ARTICLE_WORDS:
        return "too short"
    markers = len(NOT_ARTICLE_MARKERS.findall(text))
    if markers >= NOT_ARTICLE_MIN_MARKERS or (markers and words < NOT_ARTICLE_SHORT_WORDS):
        return "access/consent/paywall notice"
    return None


# --- the in-memory service -----------------------------------------------------------------


@dataclass
class Article:
    article_id: str
    language: str | None
    title: str
    text: str


@dataclass
class Store:
    """The service's state, in memory: features, band index, document frequencies, stories."""

    scheme: SignatureScheme
    max_candidates: int = MAX_CANDIDATES
    features: list[StoryFeatures] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    bands: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    df: Counter[str] = field(default_factory=Counter)
    # Per ingested article: its candidates' (index, score), so any threshold can be replayed.
    scored: list[list[tuple[int, float]]] = field(default_factory=list)
    score_seconds: float = 0.0
    score_calls: int = 0

    def idf(self) -> Callable[[str], float]:
        n, df = len(self.features), self.df
        return lambda term: smoothed_idf(n, df[term])

    def ingest(self, article_id: str, features: StoryFeatures) -> None:
        keys = band_keys(minhash_values(features.key_features(), self.scheme), self.scheme)
        collisions: Counter[int] = Counter()
        for key in keys:
            collisions.update(self.bands.get(key, ()))
        candidates = [i for i, _ in collisions.most_common(self.max_candidates)]
        idf = self.idf()
        started = time.perf_counter()
        scored = [(i, score_pair(features, self.features[i], idf=idf).score) for i in candidates]
        self.score_seconds += time.perf_counter() - started
        self.score_calls += len(candidates)
        self.scored.append(scored)
        index = len(self.features)
        self.features.append(features)
        self.ids.append(article_id)
        for key in keys:
            self.bands[key].append(index)
        self.df.update(features.term_weights.keys())

    def stories(self, threshold: float) -> list[int]:
        """Replay story assignment at a base threshold: join the best candidate's story, or found
        one. As in the service, the threshold applied is effective_threshold(base, N) with N the
        articles stored before this one (`index`)."""
        story: list[int] = []
        for index, scored in enumerate(self.scored):
            best = max(scored, key=lambda item: item[1], default=None)
            joins = best is not None and best[1] >= effective_threshold(threshold, index)
            story.append(story[best[0]] if best is not None and joins else index)
        return story


# --- metrics: ops.evaluation.metrics (shared with `newsdedup eval pairs`) -------------


# --- cross-validated refit of the score's weights ----------------------------------------


def similarity_target(overall: np.ndarray) -> np.ndarray:
    """The annotators' 1 (same story) .. 4 (unrelated) mapped to 1 .. 0: the score's target."""
    return (4.0 - overall) / 3.0


def fit_linear(x: np.ndarray, overall: np.ndarray) -> np.ndarray:
    design = np.hstack([np.ones((len(x), 1)), x])
    weights, *_ = np.linalg.lstsq(design, similarity_target(overall), rcond=None)
    return np.asarray(weights)


def predict_linear(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(np.hstack([np.ones((len(x), 1)), x]) @ weights, 0.0, 1.0))


def best_threshold(scores: np.ndarray, overall: np.ndarray) -> float:
    clear = (overall <= POSITIVE_MAX_OVERALL) | (overall >= NEGATIVE_MIN_OVERALL)
    actual = list(overall[clear] <= POSITIVE_MAX_OVERALL)
    candidates = np.arange(0.05, 0.96, 0.01)
    f1s = [prf(list(scores[clear] >= t), actual)[2] for t in candidates]
    return float(candidates[int(np.argmax(f1s))])


def cross_validate(
    x: np.ndarray, adjustment: np.ndarray, overall: np.ndarray, seed: int = SHUFFLE_SEED
) -> dict[str, float]:
    """5-fold CV over pairs: refit the weights and pick the threshold on four folds, score and
    classify the fifth. `adjustment` is the score's unfitted part (attribution rule)."""
    order = np.random.default_rng(seed).permutation(len(overall))
    folds = np.array_split(order, CV_FOLDS)
    scores = np.zeros(len(overall))
    predicted = np.zeros(len(overall), dtype=bool)
    for k in range(CV_FOLDS):
        test = folds[k]
        train = np.concatenate([folds[j] for j in range(CV_FOLDS) if j != k])
        weights = fit_linear(x[train], overall[train])
        train_scores = np.clip(predict_linear(weights, x[train]) + adjustment[train], 0, 1)
        threshold = best_threshold(train_scores, overall[train])
        scores[test] = np.clip(predict_linear(weights, x[test]) + adjustment[test], 0, 1)
        predicted[test] = scores[test] >= threshold
    clear = (overall <= POSITIVE_MAX_OVERALL) | (overall >= NEGATIVE_MIN_OVERALL)
    precision, recall, f1 = prf(
        list(predicted[clear]), list(overall[clear] <= POSITIVE_MAX_OVERALL)
    )
    correlation = pearson([float(s) for s in scores], [float(o) for o in overall])
    return {"precision": precision, "recall": recall, "f1": f1, "pearson": correlation}


# --- seeds ---------------------------------------------------------------------------------


def seed_articles(detect: Callable[[str], str | None]) -> list[Article]:
    articles = []
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        # Cleaned as the service cleans plain text.
        cleaned = clean_text(path.read_text(encoding="utf-8"))
        title, text = cleaned.title or "", cleaned.text
        language = detect(title + "\n" + text)
        articles.append(Article(path.name[:3], language, title, text))
    return articles


def seed_stories(
    articles: Sequence[Article],
    stopwords: Callable[[str | None], frozenset[str]],
    threshold: float,
    scheme: SignatureScheme,
) -> list[tuple[list[int], str]]:
    results = []
    for shift in range(len(articles)):
        order = list(articles[shift:]) + list(articles[:shift])
        store = Store(scheme)
        for article in order:
            store.ingest(
                article.article_id,
                extract_features(
                    article.title,
                    article.text,
                    stopwords=stopwords(article.language),
                    language=article.language,
                ),
            )
        story = store.stories(threshold)
        groups: dict[int, list[str]] = defaultdict(list)
        for index, article_id in enumerate(store.ids):
            groups[story[index]].append(article_id)
        rendered = " ".join(
            "{" + ",".join(sorted(g)) + "}" for g in sorted(map(sorted, groups.values()))
        )
        results.append(([int(a.article_id) for a in order], rendered))
    return results


# --- main ----------------------------------------------------------------------------------


def load(path: Path) -> tuple[list[Pair], dict[str, Article]]:
    pairs: list[Pair] = []
    articles: dict[str, Article] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        id1, id2 = row["pair_id"].split("_")
        pairs.append(
            Pair(row["pair_id"], id1, id2, row["lang1"], row["lang2"], float(row["overall"]))
        )
        for article_id, lang, title, text in (
            (id1, row["lang1"], row["title1"], row["text1"]),
            (id2, row["lang2"], row["title2"], row["text2"]),
        ):
            articles.setdefault(article_id, Article(article_id, lang, title or "", text or ""))
    return pairs, articles


def fmt_row(name: str, n: int, p: float, r: float, f1: float, corr: float, extra: str = "") -> str:
    return f"{name:<28} {n:>5} {p:>6.3f} {r:>6.3f} {f1:>6.3f} {corr:>8.3f}  {extra}"


def report(
    title: str,
    pairs: Sequence[Pair],
    story_of: dict[str, int],
    direct: dict[str, float],
    sign: float = 1.0,
) -> list[str]:
    lines = []
    predicted, actual, clear = same_story_rows(pairs, story_of)
    p, r, f1 = prf(predicted, actual)
    corr = pearson([direct[x.pair_id] for x in pairs], [x.overall for x in pairs])
    lines.append(
        fmt_row(
            title,
            len(clear),
            p,
            r,
            f1,
            sign * corr,
            f"(+{sum(actual)} -{len(actual) - sum(actual)})",
        )
    )
    for lang in sorted({x.lang1 for x in pairs}):
        sub = [x for x in pairs if x.lang1 == lang]
        predicted, actual, clear = same_story_rows(sub, story_of)
        p, r, f1 = prf(predicted, actual)
        corr = pearson([direct[x.pair_id] for x in sub], [x.overall for x in sub])
        lines.append(
            fmt_row(
                "  " + lang,
                len(clear),
                p,
                r,
                f1,
                sign * corr,
                f"(+{sum(actual)} -{len(actual) - sum(actual)})",
            )
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    parser.add_argument(
        "--threshold", type=float, default=Settings.model_construct().same_story_threshold
    )
    parser.add_argument("--seed", type=int, default=SHUFFLE_SEED)
    parser.add_argument("--keep-non-articles", action="store_true")
    parser.add_argument("--dump", type=Path, help="write per-pair components (JSON lines)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    scheme = SignatureScheme(num_perm=NUM_PERM, bands=BANDS)

    detector_name, detect, stopwords = language_tools()
    require_data(args.pairs, "The labeled dev set", "pass its path with --pairs PATH")
    pairs, articles = load(args.pairs)
    detected = {a.article_id: detect(a.title + "\n" + a.text) for a in articles.values()}
    agree = sum(detected[a.article_id] == a.language for a in articles.values())

    excluded: dict[str, str] = {}
    if not args.keep_non_articles:
        for article in articles.values():
            reason = not_article_reason(article.title + "\n" + article.text)
            if reason:
                excluded[article.article_id] = reason
    kept = [a for a in articles.values() if a.article_id not in excluded]
    random.Random(args.seed).shuffle(kept)

    t_features = time.perf_counter()
    features = {
        a.article_id: extract_features(
            a.title,
            a.text,
            stopwords=stopwords(detected[a.article_id]),
            language=detected[a.article_id],
        )
        for a in kept
    }
    t_features = time.perf_counter() - t_features
    store = Store(scheme)
    t_ingest = time.perf_counter()
    for article in kept:
        store.ingest(article.article_id, features[article.article_id])
    t_ingest = time.perf_counter() - t_ingest

    same_lang = [
        p for p in pairs if p.lang1 == p.lang2 and p.id1 not in excluded and p.id2 not in excluded
    ]
    dropped_pairs = sum(1 for p in pairs if p.lang1 == p.lang2) - len(same_lang)
    final_idf = store.idf()
    direct_scores = {
        p.pair_id: score_pair(features[p.id1], features[p.id2], idf=final_idf) for p in same_lang
    }
    direct = {k: v.score for k, v in direct_scores.items()}

    def story_map(threshold: float) -> dict[str, int]:
        story = store.stories(threshold)
        return {article_id: story[i] for i, article_id in enumerate(store.ids)}

    story_of = story_map(args.threshold)
    sizes = Counter(story_of.values())

    print(
        f"pairs: {len(pairs)}, articles: {len(articles)}; language detector: {detector_name} "
        f"(agrees with labels on {agree}/{len(articles)})"
    )
    print(
        f"non-articles excluded: {len(excluded)} ({dict(Counter(excluded.values()))}); "
        f"same-language pairs dropped with them: {dropped_pairs}"
    )
    print(
        f"base threshold {args.threshold:.3f} (effective_threshold by articles stored); "
        f"ingest order shuffled with seed {args.seed}; "
        f"features {t_features:.1f}s, ingest {t_ingest:.1f}s, "
        f"score_pair {1000 * store.score_seconds / max(1, store.score_calls):.3f} ms/call "
        f"over {store.score_calls} calls"
    )
    print()
    print(f"{'same-language clear pairs':<28} {'n':>5} {'P':>6} {'R':>6} {'F1':>6} {'Pearson':>8}")
    for line in report("newsdedup", same_lang, story_of, direct):
        print(line)
    print(
        f"largest story: {max(sizes.values())} articles; "
        f"stories: {len(sizes)} for {len(store.ids)} articles"
    )

    base_story, base_hashes = baseline(kept)
    base_direct = {p.pair_id: base_hashes[p.id1].jaccard(base_hashes[p.id2]) for p in same_lang}
    print()
    for line in report("baseline text-dedup news", same_lang, base_story, base_direct):
        print(line)
    print(f"baseline largest story: {max(Counter(base_story.values()).values())} articles")

    # Best threshold after the fact, for information only.
    best = max(
        (
            (prf(*same_story_rows(same_lang, story_map(t))[:2])[2], t)
            for t in np.arange(0.05, 0.96, 0.01)
        ),
    )
    print(f"\nbest threshold after the fact (information only): {best[1]:.2f} -> F1 {best[0]:.3f}")

    # Cross-validated figures of the logistic score: refit its weights on 4/5 of the clear
    # pairs, classify the held-out fifth by the direct pair score at the shipped threshold.
    clear = [p for p in same_lang if p.clear_label is not None]
    # Cross-validated figures of the fitted score: refit its weights and threshold on 4/5 of
    # the same-language pairs, score the held-out fifth directly (pair score, final IDF).
    x = np.array([scoring.fitted_inputs(direct_scores[p.pair_id].components) for p in same_lang])
    overall = np.array([p.overall for p in same_lang])
    shipped = np.array([scoring.SCORE_INTERCEPT, scoring.WEIGHT_COSINE, scoring.WEIGHT_LEAD_TOLD])
    adjustment = np.array([direct[p.pair_id] for p in same_lang]) - predict_linear(shipped, x)
    cv = cross_validate(x, adjustment, overall, args.seed)
    full_fit = fit_linear(x, overall)
    print(
        f"5-fold CV over pairs (weights and threshold refit per fold, direct pair score): "
        f"P {cv['precision']:.3f} R {cv['recall']:.3f} F1 {cv['f1']:.3f} "
        f"Pearson {cv['pearson']:.3f}"
    )
    print(
        f"least-squares fit on all same-language pairs: {np.round(full_fit, 3).tolist()} "
        f"(shipped {shipped.tolist()}; intercept, {', '.join(scoring.FITTED_INPUTS)})"
    )
    clear = [p for p in same_lang if p.clear_label is not None]
    direct_prf = prf(
        [direct[p.pair_id] >= args.threshold for p in clear], [bool(p.clear_label) for p in clear]
    )
    print(
        f"direct pair score at the threshold, in-sample: P {direct_prf[0]:.3f} "
        f"R {direct_prf[1]:.3f} F1 {direct_prf[2]:.3f}"
    )
    order_of = {article_id: i for i, article_id in enumerate(store.ids)}
    positives = [p for p in clear if p.clear_label]
    found = 0
    for p in positives:
        first, second = sorted((order_of[p.id1], order_of[p.id2]))
        found += any(i == first for i, _ in store.scored[second])
    print(
        f"candidate recall (LSH top {MAX_CANDIDATES}) on clear positives: {found}/{len(positives)}"
    )

    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for p in same_lang:
                out.write(
                    json.dumps(
                        {
                            "pair_id": p.pair_id,
                            "lang": p.lang1,
                            "overall": p.overall,
                            "same_story": story_of[p.id1] == story_of[p.id2],
                            **direct_scores[p.pair_id].components,
                        }
                    )
                    + "\n"
                )

    print("\nseeds (fresh store, every rotation of the ingest order):")
    expected = "{000,002} {001} {003} {004}"
    all_ok = True
    for order, rendered in seed_stories(seed_articles(detect), stopwords, args.threshold, scheme):
        ok = rendered == expected
        all_ok &= ok
        print(f"  order {order}: {rendered} {'ok' if ok else 'WRONG'}")
    print(f"\nruntime {time.perf_counter() - started:.1f}s")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
