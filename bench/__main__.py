"""newsdedup benchmarks: every figure beside its baseline from the same run.

    .venv/bin/python -m bench                 # full run (~15 min)
    .venv/bin/python -m bench --quick         # ~3 min
    .venv/bin/python -m bench --sections raw,html --articles 2000
    .venv/bin/python -m bench --sections scale --sizes 10000,100000,1000000

Sections: raw (1, with the profile of section 6), html (2 and 3), scale (4), ingest (5),
polling (7: the cost of polling one source).
Speed is measured here, never asserted in tests. Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

from bench.common import DEV_SET, EXTRACTION_BENCH, machine_summary, require_data

SECTIONS = ("raw", "html", "scale", "ingest", "polling")
TARGETS = {
    "raw": "raw-text >= 200 articles/s",
    "f1": "extraction F1 >= 0.965",
    "html": "HTML pipeline >= 80% of bare trafilatura pages/s per core",
    "scale": "dedup p99 <= 20 ms at 1M stored",
    "ingest": "batch ingest >= 2,000 articles/s",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a ~3 minute run")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma list of {', '.join(SECTIONS)}"
    )
    parser.add_argument("--articles", type=int, help="section 1 articles (10,000; quick 1,000)")
    parser.add_argument(
        "--workers", type=int, default=2, help="section 1 worker processes (2, as `up` runs)"
    )
    parser.add_argument(
        "--duplicate-share",
        type=float,
        default=0.5,
        help="share of near-duplicate copies asked for in section 1 (capped by the dev set's "
        "1,9xx distinct texts: at 10,000 articles it is ~0.81)",
    )
    parser.add_argument(
        "--inflight",
        type=int,
        default=200,
        help="section 1 keeps at most this many articles queued or processing",
    )
    parser.add_argument(
        "--sizes", help="section 4 stored-article counts (10000,100000; quick 10000)"
    )
    parser.add_argument("--queries", type=int, help="section 4 timed queries (500; quick 200)")
    parser.add_argument("--ingest-seconds", type=float, help="section 5 per mode (10; quick 5)")
    parser.add_argument("--profile-seconds", type=float, help="section 6 (30; quick 15; 0 off)")
    parser.add_argument("--polls", type=int, help="section 7 polls of each kind (30; quick 10)")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    args.articles = args.articles or (1_000 if args.quick else 10_000)
    args.sizes = [
        int(s) for s in (args.sizes or ("10000" if args.quick else "10000,100000")).split(",")
    ]
    args.queries = args.queries or (200 if args.quick else 500)
    args.ingest_seconds = args.ingest_seconds or (5.0 if args.quick else 10.0)
    args.polls = args.polls or (10 if args.quick else 30)
    if args.profile_seconds is None:
        args.profile_seconds = 15.0 if args.quick else 30.0
    return args


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def print_profile(
    profile: list[tuple[str, float, float]], stages: dict[str, float], note: str
) -> None:
    """Section 6 for one pipeline: py-spy's top functions and the share under each stage."""
    if not profile:
        print(f"  not available: {note or 'profiling was off'}")
        return
    print(f"  {note}; top 10 functions by own samples (self %, total %):")
    for name, own, total in profile:
        print(f"    {own:5.1f}  {total:5.1f}  {name}")
    print("  inclusive share of samples under:")
    for name, share in stages.items():
        print(f"    {share:5.1f}  {name.rstrip(' (')}")


def main(argv: list[str] | None = None) -> None:
    warnings.filterwarnings("ignore")
    args = parse_args(argv)
    # The articles of sections 1 and 4 are made from the dev set's texts; section 2 serves the
    # extraction benchmark's pages. Neither is part of the checkout.
    if {"raw", "scale"} & set(args.sections):
        require_data(DEV_SET, "The labeled dev set", "run the sections ingest and html only")
    if "html" in args.sections:
        require_data(EXTRACTION_BENCH, "The extraction benchmark", "run the other sections")
    print(machine_summary())
    print(f"started with {load()}  (other processes on the machine skew every figure)\n")
    table: list[tuple[str, str, str, str]] = []  # (figure, newsdedup, baseline, target)
    began = time.monotonic()

    if "raw" in args.sections:
        from bench import raw_pipeline

        print(
            f"[1] raw-text pipeline: {args.articles:,} articles, {args.workers} worker processes",
            flush=True,
        )
        raw = raw_pipeline.run(
            args.articles,
            duplicate_share=args.duplicate_share,
            inflight=args.inflight,
            profile_s=args.profile_seconds,
            workers=args.workers,
        )
        print(
            f"  newsdedup: {raw.throughput:.1f} articles/s POST->done; latency p50 "
            f"{raw.p50_ms:.0f} ms p99 {raw.p99_ms:.0f} ms with <= {raw.inflight} in flight\n"
            f"  near-duplicate (original, copy) pairs in one story: {raw.pair_recall:.1%} of "
            f"{raw.pairs} ({raw.duplicate_share:.0%} of articles are copies); stories mixing "
            f"seed texts: {raw.mixed_stories} ({raw.mixed_stories_labelled_same} of them "
            f"dev-set same-story pairs); failed: {raw.failed} {dict(raw.failed_reasons)}\n"
            f"  worker pool RSS peak: {', '.join(f'{r:.0f}' for r in raw.pool_rss_mib)} MiB; "
            f"whole worker tree (main, beat, pool) {raw.worker_tree_rss_mib:.0f} MiB\n"
            f"  CPU ms per article: "
            + ", ".join(f"{k} {v:.1f}" for k, v in raw.cpu_share.items() if not k.startswith("_"))
            + f"\n  baseline (datasketch 5-shingles, 128 perms, MinHashLSH 0.5, one process): "
            f"{raw.baseline_throughput:.0f} articles/s, pairs in one cluster "
            f"{raw.baseline_recall:.1%}, clusters mixing seed texts {raw.baseline_mixed}",
            flush=True,
        )
        if raw.backend_waits:
            print("  PostgreSQL backends of the service, mean count per sample (state | wait):")
            for what, mean in raw.backend_waits:
                print(f"    {mean:5.2f}  {what}")
        table += [
            (
                f"raw-text articles/s ({raw.articles:,})",
                f"{raw.throughput:.1f}",
                f"{raw.baseline_throughput:.0f}",
                TARGETS["raw"],
            ),
            (
                "raw-text latency p50 / p99 (ms)",
                f"{raw.p50_ms:.0f} / {raw.p99_ms:.0f}",
                "-",
                f"<= {raw.inflight} in flight",
            ),
            (
                "near-dup pairs in one story",
                f"{raw.pair_recall:.1%}",
                f"{raw.baseline_recall:.1%}",
                "",
            ),
            (
                "worker RSS per pool process (MiB)",
                "/".join(f"{r:.0f}" for r in raw.pool_rss_mib),
                "-",
                "",
            ),
        ]
        print("\n[6] profile of the worker during [1]:")
        print_profile(raw.profile, raw.profile_stages, raw.profile_note)
        print(f"  ({load()})\n", flush=True)

    if "html" in args.sections:
        from bench import html_pipeline

        print("[2] HTML pipeline and [3] extraction quality: 181 pages", flush=True)
        html = html_pipeline.run(profile_s=args.profile_seconds)
        print(
            f"  newsdedup: {html.pages_per_s:.2f} pages/s POST url->done on "
            f"{html.cores_used} worker processes = {html.pages_per_s / html.cores_used:.2f} per "
            f"core; latency p50 {html.p50_ms:.0f} ms p99 {html.p99_ms:.0f} ms (all 181 posted "
            f"at once); failed {html.failed} {html.failed_reasons}\n"
            f"  baseline trafilatura.extract(include_comments=False), one process: "
            f"{html.bare_pages_per_s:.2f} pages/s -> ratio per core {html.per_core_ratio:.0%}\n"
            f"  quality of stored text: F1 {html.service_quality.f1:.3f} (P "
            f"{html.service_quality.precision:.3f}, R {html.service_quality.recall:.3f}); "
            f"bare trafilatura F1 {html.bare_quality.f1:.3f} (P "
            f"{html.bare_quality.precision:.3f}, R {html.bare_quality.recall:.3f})\n"
            "  CPU per page: "
            + ", ".join(f"{name} {ms:.1f} ms" for name, ms in html.cpu_ms_per_page.items())
            + f" (bare trafilatura: {1000 / html.bare_pages_per_s:.1f} ms)",
            flush=True,
        )
        print("[6] profile of the worker during [2] (a second, untimed pass):")
        print_profile(html.profile, html.profile_stages, html.profile_note)
        print(f"  ({load()})\n", flush=True)
        table += [
            (
                "HTML pages/s per core (181 pages)",
                f"{html.pages_per_s / html.cores_used:.2f}",
                f"{html.bare_pages_per_s:.2f}",
                f"{TARGETS['html']}: {html.per_core_ratio:.0%}",
            ),
            (
                "extraction F1 (P / R)",
                f"{html.service_quality.f1:.3f} ({html.service_quality.precision:.3f} / "
                f"{html.service_quality.recall:.3f})",
                f"{html.bare_quality.f1:.3f} ({html.bare_quality.precision:.3f} / "
                f"{html.bare_quality.recall:.3f})",
                TARGETS["f1"],
            ),
        ]

    if "scale" in args.sections:
        from bench import dedup_scale

        print(
            f"[4] dedup decision at scale: {', '.join(f'{s:,}' for s in args.sizes)} stored, "
            f"{args.queries} timed assign_story calls each",
            flush=True,
        )
        for r in dedup_scale.run(args.sizes, args.queries):
            print(
                f"  {r.stored:,} stored (COPY load {r.load_s:.0f} s): assign_story p50 "
                f"{r.p50_ms:.1f} ms p99 {r.p99_ms:.1f} ms, {r.mean_candidates:.1f} candidates "
                f"(near copies' originals found: {r.originals_found[0]}/{r.originals_found[1]}), "
                f"probe RSS {r.rss_mib:.0f} MiB | MinHashLSH query p50 {r.base_p50_ms:.2f} ms "
                f"p99 {r.base_p99_ms:.2f} ms, {r.base_mean_candidates:.0f} candidates, RSS "
                f"{r.base_rss_mib:.0f} MiB\n"
                "    SQL time inside assign_story, ms per call: "
                + "; ".join(f"{ms:.2f} {stmt[:60]}" for stmt, ms in r.top_sql[:4]),
                flush=True,
            )
            table += [
                (
                    f"assign_story p50/p99 ms @ {r.stored:,}",
                    f"{r.p50_ms:.1f} / {r.p99_ms:.1f}",
                    f"{r.base_p50_ms:.2f} / {r.base_p99_ms:.2f}",
                    TARGETS["scale"],
                ),
                (
                    f"dedup process RSS MiB @ {r.stored:,}",
                    f"{r.rss_mib:.0f}",
                    f"{r.base_rss_mib:.0f}",
                    "",
                ),
            ]
        print(f"  ({load()})\n", flush=True)

    if "ingest" in args.sections:
        from bench import ingest_api

        print(
            f"[5] ingest API: 32 concurrent clients, {args.ingest_seconds:.0f} s per mode, "
            "workers paused",
            flush=True,
        )
        ingest = ingest_api.run(args.ingest_seconds)
        for name, figure, base in (
            ("POST /articles", ingest.single, ingest.base_single),
            ("POST /articles/batch (100)", ingest.batch, ingest.base_batch),
        ):
            print(
                f"  {name}: {figure.articles_per_s:.0f} articles/s, p99 {figure.p99_ms:.0f} ms, "
                f"errors {figure.errors} {figure.error_kinds or ''} | bare INSERT: "
                f"{base.articles_per_s:.0f} rows/s, p99 "
                f"{base.p99_ms:.0f} ms",
                flush=True,
            )
            table.append(
                (
                    f"{name} articles/s (p99 ms)",
                    f"{figure.articles_per_s:.0f} ({figure.p99_ms:.0f})",
                    f"{base.articles_per_s:.0f} ({base.p99_ms:.0f})",
                    TARGETS["ingest"] if "batch" in name else "",
                )
            )
        print(f"  ({load()})\n", flush=True)

    if "polling" in args.sections:
        from bench import source_polling

        print(
            f"[7] polling one source: a {source_polling.ITEMS}-item RSS feed, {args.polls} polls "
            "of each kind, in this process against embedded PostgreSQL and Redis",
            flush=True,
        )
        polled = source_polling.run(args.polls)
        for poll in polled.figures:
            print(
                f"  {poll.name:<24} wall p50 {poll.wall_p50_ms:6.1f} ms, p99 "
                f"{poll.wall_p99_ms:6.1f} ms; CPU per poll: poller {poll.cpu_ms:5.1f} ms, "
                f"PostgreSQL {poll.postgres_cpu_ms:5.1f} ms  ({poll.outcome})",
                flush=True,
            )
        print(
            f"  baseline, same feed ({polled.feed_bytes:,} bytes): feedparser.parse "
            f"{polled.feedparser_cpu_ms:.1f} ms CPU; naive poll (httpx GET + feedparser) wall "
            f"p50 {polled.naive_poll_wall_ms:.1f} ms, CPU {polled.naive_poll_cpu_ms:.1f} ms\n"
            f"  ({load()})\n",
            flush=True,
        )
        for poll in polled.figures:
            table.append(
                (
                    f"poll, {poll.name}: CPU ms (poller + PG)",
                    f"{poll.cpu_ms:.1f} + {poll.postgres_cpu_ms:.1f}",
                    f"{polled.feedparser_cpu_ms:.1f} feedparser alone",
                    f"wall p50 {poll.wall_p50_ms:.0f} ms",
                )
            )

    print(f"Summary ({time.monotonic() - began:.0f} s; {load()})")
    widths = [max(len(row[i]) for row in [*table, HEADER]) for i in range(4)]
    for row in [HEADER, tuple("-" * w for w in widths), *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    sys.stdout.flush()


HEADER = ("figure", "newsdedup", "baseline", "target / note")

if __name__ == "__main__":
    main()
