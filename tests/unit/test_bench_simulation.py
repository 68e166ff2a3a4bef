"""The offline simulation and the decision's refit (bench/): candidates chosen as the band index
query chooses them, folds that never split an article, a fit that recovers known weights, and
the seeds through the simulated service (lexical mode: no encoder needed). No dev data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bench.fit_decision import PairRow, fit_logistic, grouped_folds
from bench.simulation import Store, ingest_all, seed_articles, settings_for
from ops.evaluation.metrics import Pair
from service.dedup.decision import PairSignals


def test_candidates_take_each_keys_newest_rows_and_the_semantic_top_before_removing_minhash() -> (
    None
):
    settings = settings_for(semantic=True)
    assert settings.semantic is not None
    settings = replace(
        settings,
        max_candidates=2,
        band_read_limit=2,
        semantic=replace(settings.semantic, max_candidates=2, band_read_limit=3),
    )
    store = Store(settings)
    store.bands.update({1: [0, 1, 2, 3], 2: [1, 3], 10: [1, 3], 11: [0, 1, 3]})

    minhash, semantic = store.candidates([1, 2], [10, 11])

    # Key 1 gives its newest two (2, 3), key 2 gives 1 and 3: 3 shares two keys, then 1 by id.
    assert minhash == [3, 1]
    # The semantic top two (1 and 3, two keys each) are chosen before MinHash's are removed, as
    # the SQL does: 0 does not move up into their place.
    assert semantic == []


def test_folds_never_put_one_article_in_two_folds() -> None:
    signals = PairSignals(cosine=0.1, lead_told=0.1, embedding_cosine=0.1, cross_language=False)
    links = [("a", "b"), ("b", "c"), ("d", "e"), ("f", "g"), ("g", "h"), ("i", "j"), ("k", "l")]
    rows = [PairRow(Pair(f"{x}_{y}", x, y, "en", "en", 2.0), signals, 0.5) for x, y in links]

    fold_of, groups, largest = grouped_folds(rows, 3, seed=1)

    assert (groups, largest) == (5, 2)
    fold_of_article: dict[str, set[int]] = {}
    for row, fold in zip(rows, fold_of, strict=True):
        for article in (row.pair.id1, row.pair.id2):
            fold_of_article.setdefault(article, set()).add(fold)
    assert all(len(folds) == 1 for folds in fold_of_article.values())
    assert len(set(fold_of)) == 3


def test_the_fit_recovers_the_weights_behind_soft_labels() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    cosine, lead, embedding = rng.uniform(0, 1, n), rng.uniform(0, 1, n), rng.normal(0, 0.3, n)
    cross = (rng.uniform(0, 1, n) < 0.3).astype(float)
    x = np.column_stack([cosine, lead, embedding, cross, cross * embedding])
    true = np.array([1.5, 0.5, 3.0, -0.8, 2.0])
    y = 1.0 / (1.0 + np.exp(-(-2.0 + x @ true)))

    model = fit_logistic(x, y)

    fitted = [
        model.weight_cosine,
        model.weight_lead_told,
        model.weight_embedding,
        model.weight_cross_language,
        model.weight_embedding_cross_language,
    ]
    # The L2 penalty of 1 shrinks 20,000 pairs' weights by well under 0.05.
    assert np.allclose(fitted, true, atol=0.05)
    assert abs(model.intercept + 2.0) < 0.05


def test_the_seeds_make_their_four_stories_in_the_simulated_lexical_service() -> None:
    seeds = seed_articles(None)
    keys = sorted(seeds)
    for shift in range(len(keys)):
        store = ingest_all(settings_for(semantic=False), seeds, keys[shift:] + keys[:shift])
        story = store.story_of()
        groups = sorted(sorted(k for k in keys if story[k] == s) for s in set(story.values()))
        assert groups == [["000", "002"], ["001"], ["003"], ["004"]]
