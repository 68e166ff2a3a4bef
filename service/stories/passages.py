"""The passages two articles share: runs of words that appear, in the same order, in both.

A near copy shares most of its text in long runs; a rewrite shares a few names and phrases. A run
counts from RUN_WORDS words, the shingle length the near-copy decision measures ("shared wording"
in the evidence), so what is highlighted is exactly what that figure counts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.dedup.assign import NEAR_COPY_SHINGLE_WORDS

RUN_WORDS = NEAR_COPY_SHINGLE_WORDS
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Passage:
    """A stretch of an article's text, shared with the other article or not. An article's
    passages, joined, give back its text exactly."""

    text: str
    shared: bool


@dataclass(frozen=True)
class SharedPassages:
    a: list[Passage]
    b: list[Passage]
    words_a: int
    words_b: int
    shared_words_a: int
    shared_words_b: int

    @property
    def runs(self) -> int:
        """How many separate shared runs the first article has."""
        return sum(p.shared for p in self.a)


def _shingles(words: Sequence[str], size: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + size]) for i in range(len(words) - size + 1)]


def _marked(words: Sequence[str], common: set[tuple[str, ...]], size: int) -> list[bool]:
    """Which words lie inside a shingle both texts have."""
    marks = [False] * len(words)
    for i, shingle in enumerate(_shingles(words, size)):
        if shingle in common:
            marks[i : i + size] = [True] * size
    return marks


def _passages(text: str, spans: Sequence[tuple[int, int]], marks: Sequence[bool]) -> list[Passage]:
    """Cut the text into passages: each run of marked words, from its first word's start to its
    last word's end (the spaces and punctuation between them included), is one shared passage."""
    passages: list[Passage] = []
    position = 0
    i = 0
    while i < len(spans):
        if not marks[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(spans) and marks[j + 1]:
            j += 1
        start, end = spans[i][0], spans[j][1]
        if start > position:
            passages.append(Passage(text[position:start], False))
        passages.append(Passage(text[start:end], True))
        position = end
        i = j + 1
    if position < len(text):
        passages.append(Passage(text[position:], False))
    return passages


def shared_passages(a: str, b: str, *, run_words: int = RUN_WORDS) -> SharedPassages:
    """Both texts cut into passages, the runs of at least `run_words` words they share marked
    (words compared case-folded, as the near-copy decision compares them)."""
    found_a, found_b = list(WORD.finditer(a)), list(WORD.finditer(b))
    words_a = [m.group().casefold() for m in found_a]
    words_b = [m.group().casefold() for m in found_b]
    common = set(_shingles(words_a, run_words)) & set(_shingles(words_b, run_words))
    marks_a = _marked(words_a, common, run_words)
    marks_b = _marked(words_b, common, run_words)
    return SharedPassages(
        a=_passages(a, [m.span() for m in found_a], marks_a),
        b=_passages(b, [m.span() for m in found_b], marks_b),
        words_a=len(words_a),
        words_b=len(words_b),
        shared_words_a=sum(marks_a),
        shared_words_b=sum(marks_b),
    )
