"""What the encoder adds to matching: embeddings centred on their language, and the band keys
that let an embedding propose candidates from the same PostgreSQL band table as MinHash.

Centring. multilingual-e5-small's vectors share one large common direction (the mean article
embedding has norm ~0.87), and each language adds its own: raw cosines of unrelated articles sit
at 0.71-0.82 and those of one story at 0.84-0.96. Subtracting the mean embedding of the
article's language and re-normalising spreads them (unrelated ~0 +- 0.07, one story ~0.5) and
makes cosines comparable across languages: on the dev set it raised the encoder's same-language
Pearson from -0.66 to -0.71 and the de-en best F1 from 0.69 to 0.76 (48 tokens). The means are
label-free statistics (384 floats per language, no text, no labels) of the dev set's article
embeddings for one embedding input, shipped as language_means_e5_<max_tokens>.npz; a language
with fewer than 20 articles there uses the mean over all of them ("*").

Band keys. Same-story pairs sit at centred cosine 0.2-0.8, where a random hyperplane's sign bit
agrees with probability only 0.58-0.80, so SimHash bands selective enough to be useful rarely
collide (16 bands x 12 bits recovered 7 of the 39 clear same-story dev pairs MinHash misses).
Nearest-anchor keys do better (cross-polytope LSH): per band, 512 fixed random directions give
1,024 anchors +-d, and the key is the anchor nearest the centred embedding, i.e. the article's
cell in a random partition of the sphere. An article stores its nearest cell per band and looks
up its two nearest (multi-probe at query time: more look-ups, no more storage). 16 bands raised
the candidate recall of the 187 clear same-story dev pairs from 148 to 161, and of the 13 de-en
pairs from 7 to 8.7, for ~1 ms per article.

Keys must be stable across processes, machines and numpy versions: the directions come from
numpy's legacy RandomState, whose stream numpy freezes (NEP 19), and each (band, cell) is hashed
with blake2b, salted with a namespace, to a signed 64-bit integer (a PostgreSQL bigint).
MinHash band keys hash (band, values) without that namespace, so the two families never share
a key but by a 2^-64 accident.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.dedup.encoder import EMBEDDING_DIM, EMBEDDING_VERSION, FloatRow

GLOBAL_MEAN = "*"
SEMANTIC_NAMESPACE = b"newsdedup/e5-bands/v1"


def means_file(max_tokens: int) -> Path:
    return Path(__file__).with_name(f"language_means_e5_{max_tokens}.npz")


@dataclass(frozen=True)
class LanguageMeans:
    means: dict[str, FloatRow]
    max_tokens: int

    @classmethod
    def load(cls, max_tokens: int) -> LanguageMeans:
        """The shipped means of one embedding input length."""
        path = means_file(max_tokens)
        if not path.exists():
            raise ValueError(
                f"no language means for embeddings of {max_tokens} tokens ({path.name}): "
                "the encoder's input length must be one the decision model was fitted for"
            )
        with np.load(path) as data:
            if int(data["_embedding_version"]) != EMBEDDING_VERSION:
                raise ValueError(f"{path.name} was made for another embedding version")
            means = {
                str(name): np.asarray(data[name], dtype=np.float32)
                for name in data.files
                if not name.startswith("_")
            }
        return cls(means=means, max_tokens=max_tokens)

    def knows(self, language: str | None) -> bool:
        """Whether the language has a mean of its own (not the global fallback)."""
        return language is not None and language != GLOBAL_MEAN and language in self.means

    def centre(self, row: FloatRow, language: str | None) -> FloatRow:
        """The row minus its language's mean (the global mean for another language),
        L2-normalised."""
        mean = self.means.get(language or GLOBAL_MEAN, self.means[GLOBAL_MEAN])
        centred = np.asarray(row, dtype=np.float32) - mean
        norm = float(np.linalg.norm(centred))
        return centred / norm if norm > 0.0 else centred


@cache
def language_means(max_tokens: int) -> LanguageMeans:
    """The means for an input length, loaded once per process."""
    return LanguageMeans.load(max_tokens)


@dataclass(frozen=True)
class SemanticBandScheme:
    # 16 bands: 163 of 187 clear same-story dev pairs become candidates (149 with MinHash
    # alone; bench/eval_offline.py); 32 bands reached 167, and de-en 11.7 of 13, for ~2 ms
    # more per article.
    bands: int = 16
    # Cells per band: on the dev set 793 of 1,024 are used and the busiest holds ~1 % of the
    # articles; fewer cells make every key hot, more make neighbours miss each other.
    cells: int = 1024
    # Cells looked up per band: the nearest two, so a pair split by a cell border still meets.
    probes: int = 2
    seed: int = 20261206

    def to_json(self) -> dict[str, Any]:
        """Stored with each signature: keys made under another scheme need `reindex`."""
        return {
            "kind": "nearest-anchor",
            "bands": self.bands,
            "cells": self.cells,
            "probes": self.probes,
            "seed": self.seed,
            "namespace": SEMANTIC_NAMESPACE.decode(),
        }


@lru_cache(maxsize=4)
def _directions(bands: int, per_band: int, seed: int) -> npt.NDArray[np.float32]:
    """bands x per_band x 384 fixed Gaussian directions (12 MiB at 16 x 512): made once per
    process, before the pool forks, and shared by the pool processes."""
    shape = (bands, per_band, EMBEDDING_DIM)
    table = np.random.RandomState(seed).standard_normal(shape).astype(np.float32)
    table.flags.writeable = False
    return table


def warm_up(scheme: SemanticBandScheme) -> None:
    """Build the direction table now (in the worker's parent, before it forks its pool)."""
    _directions(scheme.bands, scheme.cells // 2, scheme.seed)


def _key(band: int, cell: int) -> int:
    payload = SEMANTIC_NAMESPACE + band.to_bytes(2, "little") + cell.to_bytes(4, "little")
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "little", signed=True)


@dataclass(frozen=True)
class SemanticKeys:
    stored: list[int]  # written to lsh_bands with the article: its cell in each band
    probes: list[int]  # looked up for its candidates (the stored keys among them)


def semantic_keys(centred: FloatRow, scheme: SemanticBandScheme) -> SemanticKeys:
    """The article's semantic band keys: those it stores and those it looks up."""
    table = _directions(scheme.bands, scheme.cells // 2, scheme.seed)
    # Anchors come in antipodal pairs (+d, -d): half the table to read for the same cells (the
    # product is memory-bound, ~1 ms). A near-tie between two cells may resolve differently
    # under another BLAS; probing the two nearest cells makes such a pair still meet.
    half = table @ np.asarray(centred, dtype=np.float32)
    scores = np.concatenate([half, -half], axis=1)
    nearest = np.argsort(-scores, axis=1, kind="stable")[:, : max(1, scheme.probes)]
    stored = [_key(band, int(nearest[band, 0])) for band in range(scheme.bands)]
    probes = [_key(band, int(cell)) for band in range(scheme.bands) for cell in nearest[band]]
    return SemanticKeys(sorted(set(stored)), sorted(set(probes)))
