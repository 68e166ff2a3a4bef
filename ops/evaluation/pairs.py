"""Evaluate a service on a labeled pair file (the SemEval-2022 Task 8 dev set format).

Every article of every pair is posted once, as a client would, into the service's one global
corpus; when all have been processed, each pair is judged by what the service did: "same story"
when both articles are done and in one story, and the similarity that
GET /articles/{a}/compare/{b} reports. Same-language pairs are scored overall and per language,
cross-language pairs overall and per language pair ("de-en"). The text-dedup news baseline runs
in memory on the same articles in the same run, with the metric definitions of
ops.evaluation.metrics.

Without --api, each matching mode (NEWSDEDUP_SEMANTIC_MATCHING on: "semantic", off: "lexical")
gets a fresh embedded stack of its own, set through its processes' environment, and a report
of its own; format_summary puts the modes side by side. With --api, the running service is
evaluated as it is, and its mode is read from its compare evidence (an embedding cosine among
the components means semantic matching).

    newsdedup eval pairs ../shared/eval/semeval_dev.jsonl [--modes semantic,lexical]
        [--out results.jsonl] [--api URL]
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ops.evaluation.metrics import (
    BASELINE_NGRAM,
    BASELINE_NUM_PERM,
    BASELINE_THRESHOLD,
    CROSS_LANGUAGE_ROW,
    NEGATIVE_MIN_OVERALL,
    POSITIVE_MAX_OVERALL,
    MetricsRow,
    Pair,
    baseline,
    score_pairs,
)

log = logging.getLogger(__name__)

# Articles per POST /articles/batch: half the API's 1,000 cap keeps each request (and its one
# transaction) well under a few MB of text.
POST_CHUNK = 500
# Concurrent GETs while polling and comparing: enough to hide round-trip latency, few enough
# not to take the database away from the workers.
HTTP_THREADS = 8
# Pause between polling rounds: processing takes tens of ms per article, so one second loses
# little and keeps the API's load from polling low.
POLL_INTERVAL_S = 1.0
# Articles polled per step of a round. Workers take the queue roughly in id order, so when a
# whole step of the oldest pending articles has nothing final, the later ones will not have
# either: the round ends there instead of asking about every pending article again.
POLL_STEP = 64
# Per-request timeout: a batch of 500 texts is the slowest request and commits in seconds.
HTTP_TIMEOUT_S = 120.0
# Retrying a batch: transport errors are retried this many times (the Idempotency-Key makes it
# safe), after this long when the API gives no Retry-After; a Retry-After is capped so a
# confused server cannot park the evaluation.
POST_TRANSPORT_RETRIES = 3
POST_RETRY_DEFAULT_S = 2.0
POST_RETRY_MAX_S = 60.0
# How long the fresh stack's API may take to answer /healthz (migrations are already done).
STACK_START_TIMEOUT_S = 60.0
FINAL_STATUSES = frozenset({"done", "failed"})
# Per-side date fields a pair file may carry, in order of preference (the dev set has none).
DATE_FIELDS = ("published_at", "date", "publish_date")
# Details in failure reasons ("(12 words, minimum 25)") that would split one reason into many.
_REASON_DETAIL_RE = re.compile(r"\s*\([^)]*\)")
PENDING_REASON = "still pending at timeout"

# The matching modes a fresh stack can run, in the order they are evaluated by default, and the
# environment that sets each in the stack's API and worker processes (service/settings.py).
SEMANTIC, LEXICAL = "semantic", "lexical"
MODES = (SEMANTIC, LEXICAL)
MODE_ENVIRONMENT = {
    SEMANTIC: {"NEWSDEDUP_SEMANTIC_MATCHING": "true"},
    LEXICAL: {"NEWSDEDUP_SEMANTIC_MATCHING": "false"},
}
# A running service's mode when its compare evidence cannot tell (no same-language pair of
# processed articles to compare).
UNKNOWN_MODE = "running service"
# The compare evidence's component that only the fitted decision over the embedding reports.
EMBEDDING_COMPONENT = "embedding_cosine"

T = TypeVar("T")
R = TypeVar("R")


class EvaluationError(RuntimeError):
    """The service refused or lost something the evaluation needs."""


@dataclass(frozen=True)
class PairArticle:
    """One distinct article text of the pair file; `key` hashes title and text, so the same text
    appearing in several pairs (or under two ids) is posted once."""

    article_id: str  # the content key; named so for the baseline
    title: str
    text: str
    language: str
    published_at: str | None


@dataclass(frozen=True)
class PairOutcome:
    """What the service did with one pair: a line of --out."""

    pair_id: str
    langs: tuple[str, str]
    overall: float
    ids: tuple[int, int]
    story_ids: tuple[int | None, int | None]
    statuses: tuple[str, str]
    similarity: float  # 0 when compare answered 409 (an article not processed)
    same_story: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "pair_id": self.pair_id,
            "langs": list(self.langs),
            "overall": self.overall,
            "ids": list(self.ids),
            "story_ids": list(self.story_ids),
            "statuses": list(self.statuses),
            "similarity": self.similarity,
            "same_story": self.same_story,
        }


@dataclass
class EvaluationReport:
    api_url: str
    # "semantic" or "lexical"; UNKNOWN_MODE for a running service whose evidence cannot tell.
    mode: str
    mode_how: str  # how the mode is known: set for a fresh stack, or read from the evidence
    pairs_total: int
    pairs_same_language: int
    pairs_cross_language: int
    articles_posted: int
    articles_done: int
    articles_failed: int
    articles_pending: int
    failure_reasons: dict[str, int]
    # Pairs whose compare answered 409 (an article not processed): similarity 0.
    compare_not_processed: int
    # Pairs whose compare decided with the embedding (its evidence has an embedding cosine),
    # and done articles whose worker did (the evidence stored with each): the mode at work in
    # the API and in the workers.
    compares_with_embedding: int
    articles_decided_with_embedding: int
    largest_story: int
    stories: int
    # Same-language pairs overall (row "same-language") and per language, cross-language pairs
    # overall (row "cross-language") and per language pair: ops.evaluation.metrics.score_pairs.
    service: MetricsRow
    service_by_language: list[MetricsRow]
    service_cross_language: MetricsRow
    service_by_language_pair: list[MetricsRow]
    baseline: MetricsRow
    baseline_by_language: list[MetricsRow]
    baseline_cross_language: MetricsRow
    baseline_by_language_pair: list[MetricsRow]
    baseline_largest_story: int
    timings_s: dict[str, float]
    outcomes: list[PairOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Everything but the per-pair outcomes, JSON-ready."""
        return {
            name: _json_ready(value) for name, value in vars(self).items() if name != "outcomes"
        }


def _json_ready(value: Any) -> Any:
    if isinstance(value, MetricsRow):
        return value.as_dict()
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value


# --- reading the pair file -------------------------------------------------------------------


def _content_key(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\x00{text}".encode()).hexdigest()[:32]


def _side_date(row: Mapping[str, Any], side: str) -> str | None:
    for name in DATE_FIELDS:
        value = row.get(f"{name}{side}")
        if value:
            return str(value)
    return None


def load_pairs(path: Path, limit: int | None = None) -> tuple[list[Pair], dict[str, PairArticle]]:
    """The first `limit` pairs of the file (all when None) and their distinct articles, keyed by
    content. A Pair's id1/id2 are those content keys."""
    pairs: list[Pair] = []
    articles: dict[str, PairArticle] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(pairs) >= limit:
                break
            if not line.strip():
                continue
            row = json.loads(line)
            keys = []
            for side in ("1", "2"):
                title = row.get(f"title{side}") or ""
                text = row.get(f"text{side}") or ""
                key = _content_key(title, text)
                articles.setdefault(
                    key,
                    PairArticle(key, title, text, row[f"lang{side}"], _side_date(row, side)),
                )
                keys.append(key)
            pairs.append(
                Pair(
                    str(row["pair_id"]),
                    keys[0],
                    keys[1],
                    row["lang1"],
                    row["lang2"],
                    float(row["overall"]),
                )
            )
    return pairs, articles


def _payload(article: PairArticle) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if article.title.strip():
        payload["title"] = article.title
    # The API wants non-empty text; a file row with a title only is posted as that title.
    payload["text"] = article.text if article.text.strip() else article.title
    if article.published_at:
        payload["published_at"] = article.published_at
    return payload


# --- talking to the service ------------------------------------------------------------------


def _post_articles(
    client: httpx.Client, articles: Sequence[PairArticle], deadline: float
) -> dict[str, int]:
    """Post in chunks; the service article id of each content key."""
    run = uuid.uuid4().hex
    service_id: dict[str, int] = {}
    for start in range(0, len(articles), POST_CHUNK):
        chunk = articles[start : start + POST_CHUNK]
        ids = _post_chunk(client, chunk, key=f"eval-{run}-{start}", deadline=deadline)
        for article, article_id in zip(chunk, ids, strict=True):
            service_id[article.article_id] = article_id
    return service_id


def _post_chunk(
    client: httpx.Client, chunk: Sequence[PairArticle], *, key: str, deadline: float
) -> list[int]:
    """One POST /articles/batch, as a careful client sends it: an Idempotency-Key, so a retry
    after a lost answer cannot post twice; waiting out 429/503 as Retry-After says; halving a
    batch the API finds too large (413)."""
    body = {"articles": [_payload(a) for a in chunk]}
    transport_errors = 0
    while True:
        try:
            response = client.post("/articles/batch", json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            transport_errors += 1
            if transport_errors > POST_TRANSPORT_RETRIES or time.monotonic() >= deadline:
                raise
            time.sleep(POST_RETRY_DEFAULT_S)
            continue
        if response.status_code == 202:
            return [int(a["id"]) for a in response.json()["articles"]]
        if response.status_code == 413 and len(chunk) > 1:
            half = len(chunk) // 2
            return _post_chunk(
                client, chunk[:half], key=f"{key}a", deadline=deadline
            ) + _post_chunk(client, chunk[half:], key=f"{key}b", deadline=deadline)
        if response.status_code in (429, 503) and time.monotonic() < deadline:
            time.sleep(_retry_after_s(response))
            continue
        raise EvaluationError(
            f"POST /articles/batch refused ({response.status_code}): {response.text[:500]}"
        )


def _retry_after_s(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", POST_RETRY_DEFAULT_S))
    except ValueError:
        seconds = POST_RETRY_DEFAULT_S
    return min(max(seconds, 0.1), POST_RETRY_MAX_S)


def _get_article(client: httpx.Client, article_id: int) -> dict[str, Any]:
    response = client.get(f"/articles/{article_id}")
    if response.status_code != 200:
        raise EvaluationError(f"GET /articles/{article_id}: {response.status_code}")
    record: dict[str, Any] = response.json()
    return record


def _map(pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    return list(pool.map(fn, items))


def _wait_final(
    client: httpx.Client,
    pool: ThreadPoolExecutor,
    ids: Iterable[int],
    deadline: float,
) -> tuple[dict[int, dict[str, Any]], list[int]]:
    """Poll until every article is done or failed, or the deadline passes. Returns the final
    records and the ids still pending."""
    pending = sorted(set(ids))
    final: dict[int, dict[str, Any]] = {}
    while pending:
        for start in range(0, len(pending), POLL_STEP):
            step = pending[start : start + POLL_STEP]
            records = _map(pool, lambda i: _get_article(client, i), step)
            finished = [r for r in records if r["status"] in FINAL_STATUSES]
            for record in finished:
                final[int(record["id"])] = record
            if not finished:
                break
        pending = [i for i in pending if i not in final]
        if not pending or time.monotonic() >= deadline:
            break
        log.info("%d articles final, %d pending", len(final), len(pending))
        time.sleep(POLL_INTERVAL_S)
    return final, pending


@dataclass(frozen=True)
class Compared:
    """GET /articles/{a}/compare/{b}: the similarity (None when an article is not processed,
    409) and whether the embedding took part in the decision."""

    similarity: float | None
    with_embedding: bool = False


def _compare(client: httpx.Client, a: int, b: int) -> Compared:
    response = client.get(f"/articles/{a}/compare/{b}")
    if response.status_code == 409:
        return Compared(None)
    if response.status_code != 200:
        raise EvaluationError(
            f"GET /articles/{a}/compare/{b}: {response.status_code} {response.text[:200]}"
        )
    body = response.json()
    return Compared(float(body["similarity"]), _used_embedding(body.get("evidence")))


def _used_embedding(evidence: Mapping[str, Any] | None) -> bool:
    """Whether a verdict's evidence (a compare's, or the one a worker stored with an article)
    comes from the decision over the embedding."""
    return EMBEDDING_COMPONENT in ((evidence or {}).get("components") or {})


def mode_from_evidence(pairs: Sequence[Pair], compared: Sequence[Compared]) -> str:
    """A running service's matching mode, as its compares show it: with semantic matching on,
    a same-language pair of processed articles is judged with the embedding (every article
    processed in that mode has one, but for exact re-posts); with it off, none is. No
    same-language pair answered: cannot tell."""
    if any(c.with_embedding for c in compared):
        return SEMANTIC
    answered = zip(pairs, compared, strict=True)
    if any(p.same_language and c.similarity is not None for p, c in answered):
        return LEXICAL
    return UNKNOWN_MODE


def failure_reason_group(error: str | None) -> str:
    """A failure reason without its per-article details, to count like reasons together."""
    return _REASON_DETAIL_RE.sub("", error or "no reason recorded").strip()


# --- the evaluation --------------------------------------------------------------------------


def run_pair_evaluation(
    pairs_path: Path,
    *,
    api_url: str,
    out: Path | None,
    limit: int | None = None,
    timeout_s: float = 3600,
    mode: str | None = None,
) -> EvaluationReport:
    """Post the pair file's articles to the service at `api_url`, wait for them, and score the
    service and the baseline on the same-language and the cross-language pairs. `limit` takes
    the file's first N pairs; `timeout_s` bounds the wait for processing (articles still pending
    then count as in no story, and the report says how many). `mode` is the matching mode the
    service was started with, when the caller set it; else it is read from the compare
    evidence. Writes one JSON line per pair to `out` if given."""
    started = time.monotonic()
    pairs, articles = load_pairs(pairs_path, limit)
    if not pairs:
        raise EvaluationError(f"no pairs in {pairs_path}")
    article_list = list(articles.values())
    timings: dict[str, float] = {}
    limits = httpx.Limits(max_connections=HTTP_THREADS * 2, max_keepalive_connections=HTTP_THREADS)
    with (
        httpx.Client(base_url=api_url, timeout=HTTP_TIMEOUT_S, limits=limits) as client,
        ThreadPoolExecutor(HTTP_THREADS, thread_name_prefix="eval-http") as pool,
    ):
        step = time.monotonic()
        service_id = _post_articles(client, article_list, started + timeout_s)
        timings["post"] = time.monotonic() - step

        step = time.monotonic()
        final, pending = _wait_final(client, pool, service_id.values(), started + timeout_s)
        timings["processing"] = time.monotonic() - step

        step = time.monotonic()
        compared = _map(
            pool, lambda p: _compare(client, service_id[p.id1], service_id[p.id2]), pairs
        )
        timings["compare"] = time.monotonic() - step

    records = {key: final.get(service_id[key]) for key in articles}
    story_of: dict[str, int | None] = {
        key: (record["story_id"] if record and record["status"] == "done" else None)
        for key, record in records.items()
    }
    similarity = {p.pair_id: c.similarity or 0.0 for p, c in zip(pairs, compared, strict=True)}
    not_processed = sum(c.similarity is None for c in compared)

    failures: Counter[str] = Counter(
        failure_reason_group(record["error"])
        for record in records.values()
        if record and record["status"] == "failed"
    )
    if pending:
        failures[PENDING_REASON] = len(pending)
    story_sizes = Counter(s for s in story_of.values() if s is not None)

    step = time.monotonic()
    base_story_raw, base_hashes = baseline(article_list)
    base_story: dict[str, int | None] = dict(base_story_raw)
    base_similarity = {
        p.pair_id: float(base_hashes[p.id1].jaccard(base_hashes[p.id2])) for p in pairs
    }
    timings["baseline"] = time.monotonic() - step

    outcomes = [_outcome(p, service_id, records, story_of, similarity[p.pair_id]) for p in pairs]
    if out is not None:
        with out.open("w", encoding="utf-8") as stream:
            for outcome in outcomes:
                stream.write(json.dumps(outcome.as_json(), ensure_ascii=False) + "\n")
    timings["total"] = time.monotonic() - started

    done = sum(1 for r in records.values() if r and r["status"] == "done")
    service = score_pairs(pairs, story_of, similarity)
    base = score_pairs(pairs, base_story, base_similarity)
    return EvaluationReport(
        api_url=api_url,
        mode=mode or mode_from_evidence(pairs, compared),
        mode_how="set for this service" if mode else "read from its compare evidence",
        pairs_total=len(pairs),
        pairs_same_language=service.same_language.pairs,
        pairs_cross_language=service.cross_language.pairs,
        articles_posted=len(articles),
        articles_done=done,
        articles_failed=sum(1 for r in records.values() if r and r["status"] == "failed"),
        articles_pending=len(pending),
        failure_reasons=dict(failures.most_common()),
        compare_not_processed=not_processed,
        compares_with_embedding=sum(c.with_embedding for c in compared),
        articles_decided_with_embedding=sum(
            1
            for r in records.values()
            if r and r["status"] == "done" and _used_embedding(r.get("evidence"))
        ),
        largest_story=max(story_sizes.values(), default=0),
        stories=len(story_sizes),
        service=service.same_language,
        service_by_language=service.by_language,
        service_cross_language=service.cross_language,
        service_by_language_pair=service.by_language_pair,
        baseline=base.same_language,
        baseline_by_language=base.by_language,
        baseline_cross_language=base.cross_language,
        baseline_by_language_pair=base.by_language_pair,
        baseline_largest_story=max(Counter(base_story_raw.values()).values(), default=0),
        timings_s={k: round(v, 2) for k, v in timings.items()},
        outcomes=outcomes,
    )


def _outcome(
    pair: Pair,
    service_id: Mapping[str, int],
    records: Mapping[str, dict[str, Any] | None],
    story_of: Mapping[str, int | None],
    similarity: float,
) -> PairOutcome:
    def status(key: str) -> str:
        record = records[key]
        return str(record["status"]) if record else "pending"

    a, b = story_of[pair.id1], story_of[pair.id2]
    return PairOutcome(
        pair_id=pair.pair_id,
        langs=(pair.lang1, pair.lang2),
        overall=pair.overall,
        ids=(service_id[pair.id1], service_id[pair.id2]),
        story_ids=(a, b),
        statuses=(status(pair.id1), status(pair.id2)),
        similarity=similarity,
        same_story=a is not None and a == b,
    )


# --- the report ------------------------------------------------------------------------------

SERVICE_NAME = "newsdedup"
BASELINE_NAME = "baseline text-dedup news"
# Width of a row's name column: the longest names are "    " + a language pair, and the
# system names above.
NAME_WIDTH = 28


def _fmt(value: float) -> str:
    return "   nan" if math.isnan(value) else f"{value:6.3f}"


def _figures(row: MetricsRow) -> str:
    """P, R, F1 and Pearson: the columns the report and the summary share."""
    return f"{_fmt(row.precision)} {_fmt(row.recall)} {_fmt(row.f1)} {_fmt(row.pearson):>8}"


FIGURES_HEADER = f"{'P':>6} {'R':>6} {'F1':>6} {'Pearson':>8}"


def _row(row: MetricsRow, indent: str = "") -> str:
    return (
        f"{indent + row.name:<{NAME_WIDTH}} {row.clear:>5} {row.positives:>4} "
        f"{row.negatives:>4} {row.pairs:>6}  {_figures(row)}"
    )


def _system_rows(name: str, groups: Sequence[tuple[MetricsRow, list[MetricsRow]]]) -> list[str]:
    """A system's block: each overall row that has pairs, with its group rows below it."""
    lines = [name]
    for overall, rows in groups:
        if overall.pairs:
            lines.append(_row(overall, "  "))
            lines += [_row(row, "    ") for row in rows]
    return lines


def _mode_label(mode: str) -> str:
    return f"{mode} matching" if mode in MODE_ENVIRONMENT else mode


def format_report(report: EvaluationReport) -> str:
    header = (
        f"{'pairs':<{NAME_WIDTH}} {'clear':>5} {'+':>4} {'-':>4} {'pairs':>6}  {FIGURES_HEADER}"
    )
    lines = [
        f"pair evaluation, {_mode_label(report.mode)} ({report.mode_how}), against "
        f"{report.api_url}: {report.pairs_total} pairs ({report.pairs_same_language} "
        f"same-language, {report.pairs_cross_language} cross-language), "
        f"{report.articles_posted} distinct articles posted",
        f"articles: {report.articles_done} done, {report.articles_failed} failed, "
        f"{report.articles_pending} pending; pairs with an unprocessed article (compare 409, "
        f"similarity 0): {report.compare_not_processed}",
        f"decided with the embedding: {report.compares_with_embedding} of "
        f"{report.pairs_total} compares, {report.articles_decided_with_embedding} of "
        f"{report.articles_done} done articles (by their workers)",
    ]
    if report.failure_reasons:
        lines.append("failures:")
        lines += [f"  {count:>5}  {reason}" for reason, count in report.failure_reasons.items()]
    if report.articles_pending:
        lines.append(
            f"WARNING: {report.articles_pending} articles were still pending at the timeout; "
            "they count as in no story"
        )
    lines += ["", header]
    lines += _system_rows(
        f"{SERVICE_NAME} ({report.mode})",
        [
            (report.service, report.service_by_language),
            (report.service_cross_language, report.service_by_language_pair),
        ],
    )
    lines += _system_rows(
        BASELINE_NAME,
        [
            (report.baseline, report.baseline_by_language),
            (report.baseline_cross_language, report.baseline_by_language_pair),
        ],
    )
    lines += [
        "",
        f"clear: overall <= {POSITIVE_MAX_OVERALL} same story (+), >= {NEGATIVE_MIN_OVERALL} "
        "not (-); P/R/F1 of 'both done and in one story' on those.",
        "Pearson: pair similarity (service: GET /articles/{a}/compare/{b}; baseline: MinHash "
        "Jaccard) with overall over all the row's pairs; negative is good (1 = same story).",
        f"baseline: text-dedup news MinHash (word {BASELINE_NGRAM}-grams, {BASELINE_NUM_PERM} "
        f"permutations, LSH threshold {BASELINE_THRESHOLD}) in memory on the same raw texts.",
        f"largest story: newsdedup {report.largest_story} articles ({report.stories} stories "
        f"among the done articles); baseline {report.baseline_largest_story} articles",
        "time: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.timings_s.items()),
    ]
    return "\n".join(lines)


def format_summary(reports: Sequence[EvaluationReport]) -> str:
    """The evaluated modes side by side: same-language and cross-language P/R/F1/Pearson and
    the processing time, then the baseline (the same in every run) once. The cross-language
    columns are named after the language pair when there is only one (the dev set: de-en)."""
    pair_names = {row.name for r in reports for row in r.service_by_language_pair}
    cross = pair_names.pop() if len(pair_names) == 1 else CROSS_LANGUAGE_ROW
    width = len(FIGURES_HEADER)
    lines = [
        f"{'summary':<{len(BASELINE_NAME)}}  {'same-language':<{width}}  {cross:<{width}}  "
        "processing",
        f"{'mode':<{len(BASELINE_NAME)}}  {FIGURES_HEADER}  {FIGURES_HEADER}",
    ]

    def figures(row: MetricsRow) -> str:
        return _figures(row) if row.pairs else f"{'(no pairs)':<{width}}"

    lines += [
        f"{r.mode:<{len(BASELINE_NAME)}}  {figures(r.service)}  "
        f"{figures(r.service_cross_language)}  {r.timings_s.get('processing', math.nan):8.1f} s"
        for r in reports
    ]
    if reports:
        lines.append(
            f"{BASELINE_NAME}  {figures(reports[0].baseline)}  "
            f"{figures(reports[0].baseline_cross_language)}"
        )
    return "\n".join(lines)


# --- fresh embedded stacks, one per mode -----------------------------------------------------


def parse_modes(text: str) -> tuple[str, ...]:
    """--modes: comma-separated modes, each once, in the order given."""
    modes = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    unknown = [m for m in modes if m not in MODE_ENVIRONMENT]
    if unknown or not modes:
        raise ValueError(f"modes are a comma-separated list of {', '.join(MODES)}: {text!r}")
    return modes


def mode_out_path(out: Path, mode: str, modes: Sequence[str]) -> Path:
    """Where --out goes for `mode`: the path as given when one mode is evaluated, else the mode
    before the suffix (results.jsonl -> results.semantic.jsonl)."""
    if len(modes) == 1:
        return out
    return out.with_name(f"{out.stem}.{mode}{out.suffix}")


def evaluate_with_fresh_stack(
    pairs_path: Path,
    *,
    out: Path | None,
    limit: int | None,
    workers: int = 2,
    timeout_s: float = 3600,
    log_path: Path | None = None,
    mode: str | None = None,
) -> EvaluationReport:
    """Start an empty embedded stack (PostgreSQL, Redis, migrations, `workers` Celery worker
    processes, the API on a free port) in a temporary directory, evaluate against it, and stop
    and delete all of it, whatever happens. `mode` (MODES) sets the matching mode in the API's
    and the workers' environment; None leaves the settings as the environment has them."""
    from ops.stack import local_stack

    if mode is not None and mode not in MODE_ENVIRONMENT:
        raise ValueError(f"unknown matching mode {mode!r}: one of {', '.join(MODES)}")
    with (
        tempfile.TemporaryDirectory(prefix="newsdedup-eval-") as directory,
        local_stack(
            Path(directory),
            workers=workers,
            extra_env=MODE_ENVIRONMENT[mode] if mode else None,
            # The workers log every article; keep the terminal for the table.
            log_path=log_path,
            start_timeout_s=STACK_START_TIMEOUT_S,
        ) as stack,
    ):
        return run_pair_evaluation(
            pairs_path,
            api_url=stack.api_url,
            out=out,
            limit=limit,
            timeout_s=timeout_s,
            mode=mode,
        )


def evaluate_modes(
    pairs_path: Path,
    *,
    modes: Sequence[str] = MODES,
    out: Path | None,
    limit: int | None,
    workers: int = 2,
    timeout_s: float = 3600,
    log_path: Path | None = None,
) -> Iterator[EvaluationReport]:
    """Each mode in a fresh stack of its own, one after the other (they would share the CPU),
    yielding each report when its stack has stopped. `out` is per mode: mode_out_path."""
    unknown = [mode for mode in modes if mode not in MODE_ENVIRONMENT]
    if unknown or not modes:
        raise ValueError(f"matching modes must be some of {', '.join(MODES)}, not {unknown}")
    for mode in modes:
        yield evaluate_with_fresh_stack(
            pairs_path,
            out=mode_out_path(out, mode, modes) if out is not None else None,
            limit=limit,
            workers=workers,
            timeout_s=timeout_s,
            log_path=log_path,
            mode=mode,
        )
