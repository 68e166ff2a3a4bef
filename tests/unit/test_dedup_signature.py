"""MinHash signatures and band keys: stable, comparable, and sensitive to the right things."""

from __future__ import annotations

import numpy as np
import pytest

from service.dedup.assign import shingle_jaccard
from service.dedup.signature import (
    SignatureScheme,
    band_keys,
    decode_hashvalues,
    encode_hashvalues,
    estimated_jaccard,
    minhash_values,
)

SCHEME = SignatureScheme(num_perm=128, bands=64)


def test_band_keys_are_stable_across_calls_and_fit_postgres_bigint() -> None:
    values = minhash_values({"t:kommersant", "n:poutine", "n:biden"}, SCHEME)
    keys = band_keys(values, SCHEME)
    reordered = minhash_values({"n:biden", "n:poutine", "t:kommersant"}, SCHEME)
    assert keys == band_keys(reordered, SCHEME)
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert len(keys) == 64


def test_signature_round_trips_through_bytes() -> None:
    values = minhash_values({f"t:{i}" for i in range(50)}, SCHEME)
    assert np.array_equal(decode_hashvalues(encode_hashvalues(values)), values)


def test_overlapping_feature_sets_share_bands_and_disjoint_ones_do_not() -> None:
    base = {f"t:{i}" for i in range(40)}
    rewrite = {f"t:{i}" for i in range(12, 52)}  # Jaccard 28/52 ~ 0.54
    unrelated = {f"x:{i}" for i in range(40)}
    a, b, c = (minhash_values(s, SCHEME) for s in (base, rewrite, unrelated))
    assert set(band_keys(a, SCHEME)) & set(band_keys(b, SCHEME))
    assert not set(band_keys(a, SCHEME)) & set(band_keys(c, SCHEME))
    assert estimated_jaccard(a, b) == pytest.approx(0.54, abs=0.15)


def test_scheme_refuses_bands_that_do_not_divide_permutations() -> None:
    with pytest.raises(ValueError, match="multiple"):
        SignatureScheme(num_perm=128, bands=60)


def test_scheme_records_the_datasketch_version() -> None:
    assert SCHEME.to_json()["datasketch_version"].startswith("2.")


def test_near_copies_share_most_five_word_shingles_and_rewrites_few() -> None:
    original = (
        "the council voted on tuesday to raise the budget for roads and schools by 10 percent"
    )
    copy = original + " officials said"
    rewrite = "on tuesday councillors approved a 10 percent rise in spending on schools and roads"
    assert shingle_jaccard(original, copy) > 0.7
    assert shingle_jaccard(original, rewrite) < 0.1
