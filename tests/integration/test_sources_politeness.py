"""The per-host politeness gate across workers, measured where it matters: at the server.

A stack of its own (the shared one runs with a tiny interval so that other tests are not
slowed), with the gate's interval at 0.5 s and two worker processes polling two feeds of one
host at once. The server records when each request arrived; consecutive requests to the host,
whichever worker sent them and whatever they fetch (robots.txt, feeds, articles), must be at
least the interval apart. This is the one test that asserts on a duration: the spacing is the
behaviour under test, and the bound is generous (90 % of the interval)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ops.stack import LocalStack, local_stack
from tests.integration.conftest import STACK_ENV
from tests.integration.helpers import ServiceClient
from tests.integration.sites import (
    Doc,
    Site,
    add_source,
    article_page,
    items,
    rss,
    source_articles,
    wait_for_polls,
)

INTERVAL_S = 0.5


@pytest.fixture(scope="module")
def polite_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceClient]:
    data_dir: Path = tmp_path_factory.mktemp("polite-stack")
    env = {**STACK_ENV, "NEWSDEDUP_POLITENESS_MIN_INTERVAL_S": str(INTERVAL_S)}
    stack: LocalStack
    with (
        local_stack(data_dir, workers=2, extra_env=env, log_path=data_dir / "service.log") as stack,
        httpx.Client(base_url=stack.api_url, timeout=30) as client,
    ):
        yield ServiceClient(client, stack.database_url)


def test_two_workers_polling_one_host_keep_the_gate_s_interval_between_all_requests(
    polite_service: ServiceClient,
) -> None:
    with Site() as site:
        ids = []
        for feed in ("/world.xml", "/local.xml"):
            entries = items(3, prefix=feed.removesuffix(".xml") + "/")
            for n, entry in enumerate(entries):
                site.routes[entry.path] = Doc(article_page(len(site.routes) + n))
            site.routes[feed] = Doc(rss(site, entries), "application/rss+xml")
            ids.append(add_source(polite_service, site.url(feed))["id"])
        for source_id in ids:
            wait_for_polls(polite_service, source_id, 1)
            articles = source_articles(polite_service, source_id)
            assert [a["status"] for a in articles] == ["done"] * 3, articles
        hits = sorted(site.hits, key=lambda hit: hit.at)

    assert len(hits) == 1 + 2 + 6  # robots.txt, two feeds, six articles
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(hits)]
    assert min(gaps) >= 0.9 * INTERVAL_S, [round(g, 3) for g in gaps]
    assert all(hit.user_agent and hit.user_agent.startswith("newsdedup/") for hit in hits)
