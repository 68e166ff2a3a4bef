"""The five seed articles end as exactly four stories, in any ingest order, without boilerplate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import ServiceClient

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))
EXPECTED_STORIES = {
    frozenset({"000", "002"}),
    frozenset({"001"}),
    frozenset({"003"}),
    frozenset({"004"}),
}
BOILERPLATE = [
    "Rejoignez",
    "News-Front sur Facebook",
    "Lire aussi",
    "interdit en Russie",
    "interdite en Russie",
    "SAWT BEIRUT",
    "19 October 2021",
    "date 2021-09",
    "https://",
    "Sputnik France",
]


def ingest_seeds(service: ServiceClient, order: list[Path]) -> dict[str, dict[str, Any]]:
    ids = {path.name[:3]: service.post(text=path.read_text(encoding="utf-8")) for path in order}
    final = service.wait_final(ids.values())
    return {seed: final[article_id] for seed, article_id in ids.items()}


def stories_of(articles: dict[str, dict[str, object]]) -> set[frozenset[str]]:
    by_story: dict[object, set[str]] = {}
    for seed, article in articles.items():
        by_story.setdefault(article["story_id"], set()).add(seed)
    return {frozenset(members) for members in by_story.values()}


@pytest.mark.parametrize("order", ["forward", "reverse", "rewrite-last"])
def test_seeds_form_four_stories_in_any_order(service: ServiceClient, order: str) -> None:
    paths = {
        "forward": SEEDS,
        "reverse": list(reversed(SEEDS)),
        "rewrite-last": [SEEDS[i] for i in (2, 3, 1, 4, 0)],
    }[order]

    articles = ingest_seeds(service, paths)

    assert all(a["status"] == "done" for a in articles.values()), articles
    assert stories_of(articles) == EXPECTED_STORIES


def test_stored_seed_text_keeps_no_boilerplate_and_has_titles(service: ServiceClient) -> None:
    articles = ingest_seeds(service, SEEDS)

    for seed, article in articles.items():
        text = str(article["text"])
        for marker in BOILERPLATE:
            assert marker not in text, f"{seed} keeps {marker!r}"
        assert article["title"], seed
        assert article["language"] == "fr"
    assert (
        articles["000"]["title"]
        == "Poutine a proposé à Biden d’utiliser les bases russes en Asie centrale"
    )
    assert "a rapporté samedi le journal Kommersant" in str(articles["000"]["text"])
    title_003 = str(articles["003"]["title"])
    assert title_003.startswith("Les USA interrogent la Russie")
    assert title_003 not in str(articles["003"]["text"])


def test_story_lists_canonical_first_with_how_members_matched(service: ServiceClient) -> None:
    articles = ingest_seeds(service, SEEDS)
    story_id = articles["000"]["story_id"]

    story = service.http.get(f"/stories/{story_id}").json()

    assert story["size"] == 2
    # Neither seed has a date, so the earlier ingested one is canonical, whichever of the two
    # workers finished first and started the story.
    assert story["canonical_article_id"] == articles["000"]["id"]
    assert [m["id"] for m in story["articles"]] == [articles["000"]["id"], articles["002"]["id"]]
    assert [m["is_canonical"] for m in story["articles"]] == [True, False]
    kinds = sorted(m["match"] for m in story["articles"])
    assert kinds == ["canonical", "rewrite"]
    joined = next(m for m in story["articles"] if m["match"] == "rewrite")
    assert 0 < joined["similarity"] <= 1
    listed = service.http.get("/stories", params={"min_size": 2}).json()["stories"]
    assert [s["id"] for s in listed] == [story_id]


def test_exact_repost_joins_its_story_without_counting_as_a_variant(service: ServiceClient) -> None:
    text = SEEDS[0].read_text(encoding="utf-8")
    first = service.post(text=text, url="http://outlet.example/a")
    service.wait_final([first])
    again_text = service.post(text=text)
    again_url = service.post(text=text + "\nUne ligne de plus.", url="http://outlet.example/a")
    final = service.wait_final([again_text, again_url])

    story_id = service.article(first)["story_id"]
    assert {final[again_text]["story_id"], final[again_url]["story_id"]} == {story_id}
    assert {final[again_text]["match"], final[again_url]["match"]} == {"exact"}
    assert service.http.get(f"/stories/{story_id}").json()["size"] == 1


def test_compare_explains_why_the_rewrite_matches(service: ServiceClient) -> None:
    articles = ingest_seeds(service, SEEDS)

    same = service.http.get(
        f"/articles/{articles['000']['id']}/compare/{articles['002']['id']}"
    ).json()
    different = service.http.get(
        f"/articles/{articles['000']['id']}/compare/{articles['003']['id']}"
    ).json()

    assert same["same_story"] is True
    assert "kommersant" in same["evidence"]["shared_attributions"]
    assert different["same_story"] is False
    assert same["similarity"] > different["similarity"]


def test_metrics_count_every_outcome(service: ServiceClient) -> None:
    ingest_seeds(service, SEEDS)
    service.wait_final([service.post(text="too short")])

    metrics = service.http.get("/stats").json()

    assert metrics["articles_done"] == 5
    assert metrics["articles_failed"] == 1
    assert metrics["matched_canonical"] == 4
    assert metrics["matched_rewrite"] == 1
    assert metrics["stories"] == 4
    assert sum(v for k, v in metrics.items() if k.startswith("failed_")) == 1
