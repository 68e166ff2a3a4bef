"""The command line: run the stack, ingest, inspect.

newsdedup up                 everything on this machine, no Docker
newsdedup ingest seeds/      post files or URLs to a running service and wait
newsdedup stories            print stories with their members
newsdedup sources add URL    subscribe to feeds and sitemaps; sources list | show ID | poll ID
newsdedup eval pairs FILE    matching quality on labeled pairs, each matching mode (semantic,
                             lexical) in a fresh service of its own
newsdedup migrate | api | worker | sweep    the pieces, as docker compose runs them
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.settings import get_settings

DEFAULT_API = "http://127.0.0.1:8000"
# Poll often enough to feel live, rarely enough not to load the API.
POLL_INTERVAL_S = 0.5
# Articles per POST /articles/batch from the CLI: one round trip per 200 keeps requests small.
CLI_BATCH_SIZE = 200


def _require_database_url() -> str:
    url = get_settings().database_url
    if not url:
        sys.exit("NEWSDEDUP_DATABASE_URL is not set")
    return url


def cmd_up(args: argparse.Namespace) -> int:
    from ops.stack import run_up

    settings = get_settings()
    return run_up(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data_dir or settings.data_dir),
        workers=args.workers,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    from ops.migrations import migrate

    migrate(_require_database_url())
    print("database migrated to head")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    _require_database_url()
    uvicorn.run(
        "ops.asgi:create_app", factory=True, host=args.host, port=args.port, log_level="info"
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from ops.stack import worker_command

    _require_database_url()
    command = worker_command(args.concurrency, beat=args.beat, queues=args.queues)
    os.execv(command[0], command)


def cmd_sweep(args: argparse.Namespace) -> int:
    from workers.tasks import sweep_stale_articles

    _require_database_url()
    count = sweep_stale_articles.run()
    print(f"re-sent {count} stale articles")
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from service.db import get_session_factory
    from service.reindex import count_stale_signatures, reindex

    _require_database_url()
    if args.check:
        with get_session_factory()() as session:
            stale, total = count_stale_signatures(session, get_settings())
        print(f"{stale} of {total} signatures were made under other matching settings")
        return 1 if stale else 0
    with Progress() as bar:
        task = bar.add_task("reindexing", total=None)
        report = reindex(
            session_factory=get_session_factory(),
            settings=get_settings(),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    print(
        f"reprocessed {report.articles} articles into {report.stories} stories: {report.outcomes}"
    )
    return 0


def cmd_eval_pairs(args: argparse.Namespace) -> int:
    from ops.evaluation.pairs import (
        MODES,
        evaluate_modes,
        format_report,
        format_summary,
        run_pair_evaluation,
    )

    pairs = Path(args.file)
    out = Path(args.out) if args.out else None
    if args.api and args.modes:
        sys.exit("--modes starts fresh services; with --api the running service is evaluated")
    modes = args.modes or MODES
    if args.api:
        reports = [run_pair_evaluation(pairs, api_url=args.api, out=out, limit=args.limit)]
        print(format_report(reports[0]))
    else:
        log_path = Path(args.log)
        reports = []
        evaluations = evaluate_modes(
            pairs,
            modes=modes,
            out=out,
            limit=args.limit,
            workers=args.workers,
            log_path=log_path,
        )
        for mode in modes:
            print(f"starting a fresh service, {mode} matching (worker log: {log_path})", flush=True)
            reports.append(next(evaluations))
            print(format_report(reports[-1]), end="\n\n", flush=True)
    print(format_summary(reports))
    return 0


def _modes(text: str) -> tuple[str, ...]:
    from ops.evaluation.pairs import parse_modes

    try:
        return parse_modes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _article_payload(item: str) -> dict[str, Any]:
    if item.startswith(("http://", "https://")):
        return {"url": item}
    path = Path(item)
    content = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        return {"html": content}
    return {"text": content}


def _expand(items: Sequence[str]) -> list[str]:
    expanded: list[str] = []
    for item in items:
        path = Path(item)
        if not item.startswith(("http://", "https://")) and path.is_dir():
            expanded.extend(
                str(p)
                for p in sorted(path.iterdir())
                if p.suffix.lower() in (".txt", ".html", ".htm")
            )
        else:
            expanded.append(item)
    return expanded


def cmd_ingest(args: argparse.Namespace) -> int:
    import httpx
    from rich.progress import Progress

    items = _expand(args.items)
    if not items:
        sys.exit("nothing to ingest")
    client = httpx.Client(base_url=args.api, timeout=60)
    ids: list[int] = []
    for start in range(0, len(items), CLI_BATCH_SIZE):
        chunk = items[start : start + CLI_BATCH_SIZE]
        response = client.post(
            "/articles/batch", json={"articles": [_article_payload(i) for i in chunk]}
        )
        if response.status_code != 202:
            sys.exit(f"ingest refused ({response.status_code}): {response.text}")
        ids.extend(a["id"] for a in response.json()["articles"])
    if args.no_wait:
        print("accepted:", ", ".join(map(str, ids)))
        return 0

    final: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + args.timeout
    with Progress() as progress:
        task = progress.add_task("processing", total=len(ids))
        while len(final) < len(ids) and time.monotonic() < deadline:
            for article_id in ids:
                if article_id in final:
                    continue
                article = client.get(f"/articles/{article_id}").json()
                if article["status"] in ("done", "failed"):
                    final[article_id] = article
            progress.update(task, completed=len(final))
            if len(final) < len(ids):
                time.sleep(POLL_INTERVAL_S)
    for item, article_id in zip(items, ids, strict=True):
        article = final.get(article_id)
        if article is None:
            print(f"{article_id:>6}  pending  {item}")
        elif article["status"] == "failed":
            print(f"{article_id:>6}  failed   {item}: {article['error']}")
        else:
            print(f"{article_id:>6}  story {article['story_id']:<5} {article['match']:<10} {item}")
    return 0 if len(final) == len(ids) else 1


def cmd_stories(args: argparse.Namespace) -> int:
    import httpx

    client = httpx.Client(base_url=args.api, timeout=30)
    response = client.get("/stories", params={"min_size": args.min_size, "limit": args.limit})
    response.raise_for_status()
    for story in response.json()["stories"]:
        print(f"story {story['id']}  ({story['size']} variant{'s' if story['size'] != 1 else ''})")
        for member in story["articles"]:
            similarity = "" if member["similarity"] is None else f"{member['similarity']:.2f}"
            label = member["title"] or member["url"] or ""
            print(f"  {member['id']:>6}  {member['match'] or '':<10} {similarity:>5}  {label}")
    return 0


def _print_source(source: dict[str, Any], *, fetches: int) -> None:
    name = source["title"] or ""
    print(f"source {source['id']}  {source['url']}  {name}".rstrip())
    kind = source["document_kind"] or source["kind"]
    counts = ", ".join(f"{n} {status}" for status, n in sorted(source["articles"].items()))
    print(f"  {kind}; {source['status_text']}; articles: {counts or 'none yet'}")
    for fetch in source["fetches"][:fetches]:
        when = fetch["started_at"][:19].replace("T", " ")
        status = fetch["http_status"] or ""
        line = f"  {when}  {fetch['outcome']:<13} {status!s:>3}  {fetch['items']:>4} items"
        line += f"  {fetch['new_items']:>4} new"
        if fetch["detail"]:
            line += f"  {fetch['detail']}"
        print(line)


def cmd_sources(args: argparse.Namespace) -> int:
    import httpx

    client = httpx.Client(base_url=args.api, timeout=30)
    if args.sources_command == "add":
        failed = 0
        for url in args.urls:
            body: dict[str, Any] = {"url": url, "kind": args.kind}
            if args.poll_minutes:
                body["poll_minutes"] = args.poll_minutes
            response = client.post("/sources", json=body)
            if response.status_code not in (200, 201):
                print(f"refused ({response.status_code}): {url}: {response.json()['detail']}")
                failed += 1
                continue
            source = response.json()
            known = "added" if response.status_code == 201 else "already a source"
            print(f"source {source['id']}  {known}: {source['url']}")
        return 1 if failed else 0
    if args.sources_command == "list":
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 200, "include_stopped": args.all}
            if cursor:
                params["cursor"] = cursor
            response = client.get("/sources", params=params)
            response.raise_for_status()
            page = response.json()
            for source in page["sources"]:
                _print_source(source, fetches=1)
            cursor = page["next_cursor"]
            if not cursor:
                return 0
    path = f"/sources/{args.id}"
    if args.sources_command == "poll":
        response = client.post(path + "/poll")
    elif args.sources_command == "stop":
        response = client.delete(path)
    else:
        response = client.get(path)
    if response.status_code >= 400:
        print(f"{response.status_code}: {response.json()['detail']}")
        return 1
    _print_source(response.json(), fetches=20)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsdedup", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start everything on this machine, no Docker")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument(
        "--data-dir",
        default=None,
        help="where embedded PostgreSQL and Redis keep data (default .newsdedup)",
    )
    up.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    up.set_defaults(func=cmd_up)

    sub.add_parser("migrate", help="migrate the database to head").set_defaults(func=cmd_migrate)

    api = sub.add_parser("api", help="run the HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(func=cmd_api)

    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--queues", default="fetch,process")
    worker.add_argument(
        "--beat",
        action="store_true",
        help="also run the periodic sweeper and source scheduler (one per deployment)",
    )
    worker.set_defaults(func=cmd_worker)

    sub.add_parser("sweep", help="re-send articles pending too long").set_defaults(func=cmd_sweep)
    reindex = sub.add_parser(
        "reindex",
        help="rebuild the band index and all stories from stored content (stop workers first)",
    )
    reindex.add_argument(
        "--check", action="store_true", help="only count signatures made under other settings"
    )
    reindex.set_defaults(func=cmd_reindex)

    ingest = sub.add_parser(
        "ingest", help="post files (.txt, .html), folders or URLs and wait for them"
    )
    ingest.add_argument("items", nargs="+")
    ingest.add_argument("--api", default=DEFAULT_API)
    ingest.add_argument("--timeout", type=float, default=600)
    ingest.add_argument("--no-wait", action="store_true")
    ingest.set_defaults(func=cmd_ingest)

    evaluate = sub.add_parser("eval", help="evaluate matching quality")
    eval_sub = evaluate.add_subparsers(dest="eval_command", required=True)
    pairs = eval_sub.add_parser(
        "pairs",
        help="post every article of a labeled pair file into one fresh service and score it",
    )
    pairs.add_argument(
        "file", help="JSON lines: pair_id, lang1, lang2, overall, title1, text1, ..."
    )
    pairs.add_argument(
        "--out",
        help="write one JSON line per pair here; with several modes, one file per mode, the "
        "mode before the suffix (results.jsonl -> results.semantic.jsonl, results.lexical.jsonl)",
    )
    pairs.add_argument(
        "--api",
        help="evaluate this running service as it is (its mode read from its compare "
        "evidence) instead of fresh ones; --modes does not apply",
    )
    pairs.add_argument(
        "--modes",
        type=_modes,
        help="matching modes, each in a fresh service of its own, in this order "
        "(NEWSDEDUP_SEMANTIC_MATCHING true: semantic, false: lexical; "
        "default: semantic,lexical)",
    )
    pairs.add_argument("--limit", type=int, help="only the first N pairs")
    pairs.add_argument("--workers", type=int, default=2)
    pairs.add_argument(
        "--log",
        default="newsdedup-eval.log",
        help="worker log of the fresh services (every mode appends to it)",
    )
    pairs.set_defaults(func=cmd_eval_pairs)

    stories = sub.add_parser("stories", help="print stories with their members")
    stories.add_argument("--api", default=DEFAULT_API)
    stories.add_argument("--min-size", type=int, default=1)
    stories.add_argument("--limit", type=int, default=50)
    stories.set_defaults(func=cmd_stories)

    sources = sub.add_parser("sources", help="feeds and sitemaps polled on a schedule")
    sources_sub = sources.add_subparsers(dest="sources_command", required=True)
    api_option = argparse.ArgumentParser(add_help=False)
    api_option.add_argument("--api", default=DEFAULT_API)
    add = sources_sub.add_parser(
        "add", help="subscribe to feeds or sitemaps (polled at once)", parents=[api_option]
    )
    add.add_argument("urls", nargs="+", metavar="URL")
    add.add_argument("--kind", choices=["auto", "rss", "atom", "sitemap"], default="auto")
    add.add_argument("--poll-minutes", type=int, help="a fixed interval instead of adapting")
    listing = sources_sub.add_parser(
        "list", help="sources with their status and last fetch", parents=[api_option]
    )
    listing.add_argument("--all", action="store_true", help="stopped sources too")
    for name, text in (
        ("show", "a source: status, next poll, last fetches"),
        ("poll", "poll a source now"),
        ("stop", "stop polling a source (its articles stay)"),
    ):
        one = sources_sub.add_parser(name, help=text, parents=[api_option])
        one.add_argument("id", type=int)
    sources.set_defaults(func=cmd_sources)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
