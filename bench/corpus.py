"""Realistic articles with a known share of near-duplicates, made at run time from the dev set.

Every distinct dev-set text is an original (its own seed group); the rest are edited copies of
originals: sentences dropped and swapped, a few words substituted, sometimes the title touched,
posted by another outlet a few hours later. Nothing is written to disk.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import DEV_SET

SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
WORD_RE = re.compile(r"\w+")
OUTLETS = 300
# Variant k of original i comes from outlet (i + 37 k) % 300: 37 is prime to 300, so one
# original's copies never share an outlet, and no outlet's learned boilerplate eats the story.
OUTLET_STRIDE = 37
MIN_WORDS = 40


@dataclass(frozen=True)
class Article:
    group: int  # the original it derives from
    is_original: bool
    title: str
    text: str
    source: str
    published_at: datetime

    def payload(self) -> dict[str, str]:
        return {
            "title": self.title,
            "text": self.text,
            "source": self.source,
            "published_at": self.published_at.isoformat(),
        }


@dataclass(frozen=True)
class Corpus:
    articles: list[Article]  # in posting order
    same_story_groups: set[frozenset[int]]  # dev-set pairs labelled one story (overall <= 1.5)

    @property
    def originals(self) -> int:
        return sum(a.is_original for a in self.articles)

    @property
    def duplicate_share(self) -> float:
        return 1 - self.originals / len(self.articles)


def load_seeds(path: Path = DEV_SET) -> tuple[list[tuple[str, str]], set[frozenset[int]]]:
    """Distinct (title, text) of the dev set, and the index pairs labelled one story."""
    index: dict[str, int] = {}
    seeds: list[tuple[str, str]] = []
    same: set[frozenset[int]] = set()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            pair = json.loads(line)
            ids = []
            for side in ("1", "2"):
                text = pair["text" + side] or ""
                if len(WORD_RE.findall(text)) < MIN_WORDS:
                    continue
                if text not in index:
                    index[text] = len(seeds)
                    seeds.append((pair["title" + side] or "", text))
                ids.append(index[text])
            if len(ids) == 2 and ids[0] != ids[1] and float(pair["overall"]) <= 1.5:
                same.add(frozenset(ids))
    return seeds, same


def _substitute_words(text: str, share: float, rng: random.Random, pool: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        return rng.choice(pool) if rng.random() < share else match.group(0)

    return WORD_RE.sub(replace, text)


def edit(title: str, text: str, rng: random.Random) -> tuple[str, str]:
    """A near-duplicate: the same story as another outlet would re-post or lightly rewrite it."""
    paragraphs = [p for p in text.split("\n") if p.strip()]
    sentences = [(pi, s) for pi, p in enumerate(paragraphs) for s in SENTENCE_RE.split(p.strip())]
    pool = WORD_RE.findall(text) or ["news"]
    if len(sentences) >= 4:
        # Drop about 10% of the sentences (never the lead), at least one.
        droppable = list(range(1, len(sentences)))
        for victim in sorted(rng.sample(droppable, max(1, len(sentences) // 10)), reverse=True):
            del sentences[victim]
        # Swap one adjacent pair in the body.
        if len(sentences) >= 3:
            i = rng.randrange(1, len(sentences) - 1)
            sentences[i], sentences[i + 1] = sentences[i + 1], sentences[i]
    out: dict[int, list[str]] = {}
    for pi, sentence in sentences:
        out.setdefault(pi, []).append(sentence)
    body = "\n\n".join(" ".join(parts) for _, parts in sorted(out.items()))
    body = _substitute_words(body, 0.03, rng, pool)
    if title and rng.random() < 0.5:
        title = _substitute_words(title, 0.15, rng, pool)
    return title, body


def make_corpus(n: int, duplicate_share: float = 0.5, seed: int = 20260101) -> Corpus:
    seeds, same = load_seeds()
    rng = random.Random(seed)
    order = list(range(len(seeds)))
    rng.shuffle(order)
    originals = max(1, min(len(seeds), round(n * (1 - duplicate_share)), n))
    chosen = order[:originals]
    base = datetime(2021, 6, 1, tzinfo=UTC)
    articles: list[Article] = []
    published: dict[int, datetime] = {}
    for rank, group in enumerate(chosen):
        title, text = seeds[group]
        published[group] = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 180))
        source = f"outlet{rank % OUTLETS}.example"
        articles.append(Article(group, True, title, text, source, published[group]))
    copies: dict[int, int] = {}
    for i in range(n - originals):
        rank = i % originals
        group = chosen[rank]
        copies[group] = copies.get(group, 0) + 1
        title, text = edit(*seeds[group], rng)
        source = f"outlet{(rank + OUTLET_STRIDE * copies[group]) % OUTLETS}.example"
        when = published[group] + timedelta(minutes=rng.randrange(10, 60 * 12))
        articles.append(Article(group, False, title, text, source, when))
    rng.shuffle(articles)
    return Corpus(articles, same)
