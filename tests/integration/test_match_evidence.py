"""Each article keeps the evidence its story assignment was decided on, readable by the API."""

from __future__ import annotations

from tests.integration.helpers import ServiceClient
from tests.integration.test_seed_stories import SEEDS, ingest_seeds


def test_a_rewrite_keeps_the_evidence_that_joined_it_and_a_new_story_says_why(
    service: ServiceClient,
) -> None:
    articles = ingest_seeds(service, SEEDS)
    # Two workers: whichever of 000 and 002 finished second joined the other's story.
    joiner, first = sorted(("000", "002"), key=lambda seed: articles[seed]["match"] != "rewrite")

    rewrite = articles[joiner]["evidence"]
    follow_up = articles["003"]["evidence"]
    assert articles[first]["match"] == "canonical"
    assert articles[joiner]["matched_article_id"] == articles[first]["id"]
    assert rewrite["decided_by"] == "story score"
    assert "kommersant" in rewrite["shared_attributions"]
    assert rewrite["threshold"] <= articles[joiner]["similarity"]
    # The WSJ follow-up starts its own story: nothing came close, or the best candidate scored
    # under the bar it had to reach, or (000 and 002 cite Kommersant, 003 the WSJ) it was vetoed.
    assert follow_up["decided_by"] in (
        "no candidate shares enough key terms",
        "best candidate below the threshold",
        "best candidate vetoed: different original reporters",
    )
    if follow_up["decided_by"] == "best candidate below the threshold":
        assert follow_up["best_score"] < follow_up["threshold"]
    if follow_up["decided_by"].startswith("best candidate vetoed"):
        assert {"wsj", "kommersant"} <= {
            outlet for side in follow_up["conflicting_attributions"] for outlet in side
        }


def test_an_exact_repost_says_it_repeats_the_text(service: ServiceClient) -> None:
    text = SEEDS[0].read_text(encoding="utf-8")
    first = service.post(text=text)
    service.wait_final([first])
    again = service.post(text=text)

    repost = service.wait_final([again])[again]

    assert repost["match"] == "exact"
    assert repost["matched_article_id"] == first
    assert repost["evidence"] == {"decided_by": "same cleaned text"}
