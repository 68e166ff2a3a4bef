"""The service's story assignment, simulated in memory with the service's own functions.

No database, no workers: each article goes through what a worker runs for it, in order, into one
global store.
- processing.extract (plain text: clean_text; the dev set's and the seeds' articles have no
  source or URL, so no boilerplate is learned for them, as in the service), processing.gate
  (the not-article gate), processing.describe (language, text hash, story features), and the
  encoder (encoder(max_tokens).embed of the same title and text), cached on disk;
- MatchSettings.match_keys (MinHash band keys, the comparable form, the semantic keys);
- an exact re-post (same cleaned text) joins its twin's story, as find_exact_member does, and is
  neither indexed nor counted as a document;
- candidates as band_index.find_candidates selects them (see `Store.candidates`), with the limits
  of the service's settings;
- IdfTable over the documents indexed so far, MatchSettings.rules, and choose_story (the Judge).
Stored articles are compared as the service reloads them: features through their JSON form and
embeddings through their float16 bytes.

The figures are bench/eval_offline.py's; bench/fit_decision.py refits the decision on the same
prepared articles.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bench.common import CACHE_DIR, DEV_SET, REPO_ROOT, require_data
from ops.evaluation.metrics import Pair
from ops.evaluation.pairs import PairArticle, load_pairs
from service.dedup.assign import MatchSettings, ProcessedArticle, choose_story
from service.dedup.decision import DecisionModel
from service.dedup.encoder import (
    EMBEDDING_MODEL,
    EMBEDDING_VERSION,
    FloatRow,
    decode_embedding,
    encode_embedding,
    encoder,
)
from service.dedup.features import StoryFeatures
from service.dedup.scoring import IdfTable
from service.dedup.verdict import Comparable, Judge, Verdict
from service.extraction import ExtractionError
from service.models import ContentKind
from service.processing import describe, extract, gate
from service.repositories.articles import ArticleContent
from service.repositories.band_index import StoredMember
from service.settings import Settings

SEEDS_DIR = REPO_ROOT / "seeds"


def no_learned_lines(fingerprints: tuple[int, ...]) -> set[int]:
    """What the service learns for an article with no source and no URL: nothing."""
    return set()


# --- preparing articles: the worker's steps before assignment --------------------------------


@dataclass(frozen=True)
class Prepared:
    """One article after extraction and the gate: `processed` when it is an article, else the
    reason the service would fail it with."""

    key: str
    processed: ProcessedArticle | None
    failed: str | None = None


def article_content(title: str | None, text: str) -> ArticleContent:
    """An article as POST /articles with plain text records it (eval pairs posts the title as
    text when the text is empty)."""
    title = title if title and title.strip() else None
    return ArticleContent(
        url=None,
        source=None,
        title=title,
        content=text if text.strip() else (title or ""),
        content_kind=ContentKind.TEXT.value,
        published_at=None,
    )


def prepare(key: str, content: ArticleContent) -> Prepared:
    """processing.process_article's extract and gate, and prepare's pure part."""
    try:
        extracted = extract(content, known_boilerplate=no_learned_lines)
    except ExtractionError as error:
        return Prepared(key, None, f"extraction failed: {error}")
    reason = gate(extracted)
    if reason:
        return Prepared(key, None, reason)
    return Prepared(key, describe(content, extracted))


class EmbeddingCache:
    """Embeddings on disk under bench/.cache/ (never committed: they derive from third-party
    texts), keyed by a hash of the model, its input version, max_tokens, title and text."""

    def __init__(self, max_tokens: int, directory: Path = CACHE_DIR) -> None:
        self.max_tokens = max_tokens
        tag = hashlib.sha256(f"{EMBEDDING_MODEL}|{EMBEDDING_VERSION}".encode()).hexdigest()[:12]
        self.path = directory / f"embeddings-{tag}-{max_tokens}.npz"
        self.rows: dict[str, FloatRow] = {}
        self.dirty = False
        if self.path.exists():
            with np.load(self.path) as data:
                keys, rows = data["keys"], data["rows"]
                self.rows = {str(k): rows[i] for i, k in enumerate(keys)}

    def key(self, title: str | None, text: str) -> str:
        payload = f"{EMBEDDING_MODEL}\x00{EMBEDDING_VERSION}\x00{self.max_tokens}\x00"
        payload += f"{title or ''}\x00{text}"
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def embed(self, title: str | None, text: str) -> FloatRow:
        key = self.key(title, text)
        row = self.rows.get(key)
        if row is None:
            row = encoder(self.max_tokens).embed(title, text)
            self.rows[key] = row
            self.dirty = True
        return row

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self.rows)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), rows=np.stack([self.rows[k] for k in keys]))
        tmp.replace(self.path)
        self.dirty = False


def embed_all(
    prepared: Iterable[Prepared], max_tokens: int, *, progress: bool = True
) -> dict[str, Prepared]:
    """Each article with its embedding (cached), as prepare gives it to assign_story."""
    cache = EmbeddingCache(max_tokens)
    out: dict[str, Prepared] = {}
    started, computed = time.perf_counter(), 0
    try:
        for item in prepared:
            if item.processed is None:
                out[item.key] = item
                continue
            before = len(cache.rows)
            row = cache.embed(item.processed.title, item.processed.text)
            computed += len(cache.rows) - before
            if progress and computed and computed % 200 == 0 and len(cache.rows) > before:
                elapsed = time.perf_counter() - started
                print(f"  embedded {computed} articles ({elapsed:.0f} s)", flush=True)
                cache.save()
            out[item.key] = replace(item, processed=replace(item.processed, embedding=row))
    finally:
        cache.save()
    return out


# --- the dev set -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DevSet:
    pairs: list[Pair]
    # Distinct articles by content key (as `newsdedup eval pairs` posts them).
    articles: dict[str, PairArticle]
    prepared: dict[str, Prepared]

    @property
    def kept(self) -> list[str]:
        """The articles the service processes to the end (not failed), in file order."""
        return [k for k, p in self.prepared.items() if p.processed is not None]

    @property
    def failed(self) -> dict[str, str]:
        return {k: p.failed or "" for k, p in self.prepared.items() if p.processed is None}


def load_dev_set(path: Path = DEV_SET, *, max_tokens: int | None, progress: bool = True) -> DevSet:
    """The labeled pairs and their articles prepared as the service prepares them; with
    `max_tokens`, embedded too (the first run embeds ~1,900 articles: ~2 min on one core)."""
    require_data(path, "The labeled dev set", "pass its path as the first argument")
    pairs, articles = load_pairs(path)
    prepared = (prepare(k, article_content(a.title, a.text)) for k, a in articles.items())
    if max_tokens is None:
        by_key = {p.key: p for p in prepared}
    else:
        by_key = embed_all(prepared, max_tokens, progress=progress)
    return DevSet(pairs, articles, by_key)


def seed_articles(max_tokens: int | None) -> dict[str, Prepared]:
    """The five seeds as `newsdedup ingest seeds/` posts them: the file's text, nothing else."""
    items = [
        prepare(path.name[:3], article_content(None, path.read_text(encoding="utf-8")))
        for path in sorted(SEEDS_DIR.glob("*.txt"))
    ]
    if max_tokens is None:
        return {p.key: p for p in items}
    return embed_all(items, max_tokens, progress=False)


def settings_for(*, semantic: bool, model: DecisionModel | None = None) -> MatchSettings:
    """The service's matching settings (its defaults) in one mode; `model` replaces the
    decision model (bench/fit_decision.py's refit)."""
    match = MatchSettings.from_settings(Settings(semantic_matching=semantic))
    if model is not None and match.semantic is not None:
        match = replace(match, semantic=replace(match.semantic, model=model))
    return match


# --- the store ---------------------------------------------------------------------------------


@dataclass
class Member:
    key: str
    story: int
    # As the service reloads it for comparison (features from JSON, embedding from float16).
    comparable: Comparable
    # Whether it is in the band index and counted as a document (exact re-posts are not).
    indexed: bool


@dataclass(frozen=True)
class Outcome:
    """One article's assignment: the story it joined (its own index when it started one)."""

    story: int
    joined: int | None  # the member it joined through (None: a new story)
    exact: bool
    minhash_candidates: tuple[int, ...]
    semantic_candidates: tuple[int, ...]
    verdict: Verdict | None


@dataclass
class Store:
    """The service's state for matching, in memory: articles (ids are ingest positions, as
    article ids follow posting order), band rows, document frequencies, stories."""

    settings: MatchSettings
    members: list[Member] = field(default_factory=list)
    bands: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    df: Counter[str] = field(default_factory=Counter)
    documents: int = 0
    by_text_hash: dict[bytes, int] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)

    def _hits(self, keys: Sequence[int], per_band: int, limit: int) -> list[tuple[int, int]]:
        """_BAND_HITS: each key's newest `per_band` rows, counted per article; the `limit`
        sharing most, ties by lower id."""
        shared: Counter[int] = Counter()
        for key in keys:
            rows = self.bands.get(key)
            if rows:
                shared.update(rows[-per_band:] if per_band > 0 else ())
        ranked = sorted(shared.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:limit]

    def candidates(
        self, minhash: Sequence[int], semantic: Sequence[int]
    ) -> tuple[list[int], list[int]]:
        """band_index.find_candidates: the MinHash family's top N, then the semantic family's top
        M (chosen before those already found by MinHash are removed, as the SQL does)."""
        s = self.settings
        first = [i for i, _ in self._hits(minhash, s.band_read_limit, s.max_candidates)]
        second: list[int] = []
        if s.semantic is not None and semantic:
            found = set(first)
            hits = self._hits(semantic, s.semantic.band_read_limit, s.semantic.max_candidates)
            second = [i for i, _ in hits if i not in found]
        return first, second

    def idf(self, terms: Iterable[str]) -> IdfTable:
        return IdfTable(self.documents, {t: self.df[t] for t in terms if self.df[t]})

    def ingest(self, key: str, article: ProcessedArticle) -> Outcome:
        """assign_story, in memory."""
        index = len(self.members)
        s = self.settings
        twin = self.by_text_hash.get(article.text_hash)
        if twin is not None:
            # An exact re-post: not embedded (prepare skips it), not compared, not indexed.
            story = self.members[twin].story
            self.members.append(Member(key, story, Comparable(_reloaded(article.features)), False))
            outcome = Outcome(story, twin, True, (twin,), (), None)
            self.outcomes.append(outcome)
            return outcome

        embedding = article.embedding if s.semantic is not None else None
        found = s.match_keys(article.features, embedding)
        first, second = self.candidates(found.minhash, found.semantic.probes)
        decision_member: int | None = None
        verdict: Verdict | None = None
        if first or second:
            ordered = first + second
            comparables = [(self._stored(i), self.members[i].comparable) for i in ordered]
            terms = set(article.features.term_weights).union(
                *(c.features.term_weights for _, c in comparables)
            )
            decision = choose_story(
                found.comparable,
                comparables,
                idf=self.idf(terms).__getitem__,
                rules=s.rules(self.documents),
            )
            verdict = decision.verdict
            if decision.member is not None:
                decision_member = decision.member.article_id

        for band_key in [*found.minhash, *found.semantic.stored]:
            rows = self.bands[band_key]
            if not rows or rows[-1] != index:
                rows.append(index)
        self.df.update(set(article.features.term_weights))
        self.documents += 1
        self.by_text_hash.setdefault(article.text_hash, index)

        story = self.members[decision_member].story if decision_member is not None else index
        stored_embedding = (
            decode_embedding(encode_embedding(embedding)) if embedding is not None else None
        )
        self.members.append(
            Member(key, story, s.comparable(_reloaded(article.features), stored_embedding), True)
        )
        outcome = Outcome(story, decision_member, False, tuple(first), tuple(second), verdict)
        self.outcomes.append(outcome)
        return outcome

    def _stored(self, index: int) -> StoredMember:
        member = self.members[index]
        return StoredMember(index, member.story, {}, None)

    def story_of(self) -> dict[str, int]:
        return {m.key: m.story for m in self.members}

    def index_of(self) -> dict[str, int]:
        return {m.key: i for i, m in enumerate(self.members)}

    def compare(self, a: str, b: str) -> Verdict:
        """GET /articles/{a}/compare/{b}: the judge with today's corpus statistics."""
        index = self.index_of()
        ca, cb = self.members[index[a]].comparable, self.members[index[b]].comparable
        terms = set(ca.features.term_weights) | set(cb.features.term_weights)
        judge = Judge(
            ca, idf=self.idf(terms).__getitem__, rules=self.settings.rules(self.documents)
        )
        return judge.verdict(cb)


def _reloaded(features: StoryFeatures) -> StoryFeatures:
    """The features as a stored article's are read back (JSON in PostgreSQL)."""
    return StoryFeatures.from_json(json.loads(json.dumps(features.to_json())))


def ingest_all(
    settings: MatchSettings, prepared: Mapping[str, Prepared], order: Sequence[str]
) -> Store:
    """A fresh store with the articles of `order` ingested one by one (failed ones skipped)."""
    store = Store(settings)
    for key in order:
        processed = prepared[key].processed
        if processed is not None:
            store.ingest(key, processed)
    return store


def shuffled(keys: Sequence[str], seed: int) -> list[str]:
    order = list(keys)
    random.Random(seed).shuffle(order)
    return order
