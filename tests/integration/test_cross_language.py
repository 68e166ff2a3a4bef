"""A German and an English report of one story end in one story, judged with the bar for pairs
across languages; a different story in English stays apart. The three texts were written for
these tests (a made-up flood, a made-up orchestra), in tests/fixtures/cross-language."""

from __future__ import annotations

from pathlib import Path

from tests.integration.helpers import ServiceClient

TEXTS = Path(__file__).resolve().parents[1] / "fixtures" / "cross-language"
GERMAN_REPORT = (TEXTS / "flood-de.txt").read_text(encoding="utf-8")
ENGLISH_REPORT = (TEXTS / "flood-en.txt").read_text(encoding="utf-8")
ANOTHER_STORY = (TEXTS / "orchestra-en.txt").read_text(encoding="utf-8")


def test_a_german_and_an_english_report_of_one_story_are_one_story(
    service: ServiceClient,
) -> None:
    german = service.post(text=GERMAN_REPORT)
    service.wait_final([german])
    english, other = service.post(text=ENGLISH_REPORT), service.post(text=ANOTHER_STORY)

    final = service.wait_final([english, other])
    first = service.article(german)

    assert (first["language"], final[english]["language"]) == ("de", "en")
    assert final[english]["story_id"] == first["story_id"]
    assert final[english]["match"] == "rewrite"
    evidence = final[english]["evidence"]
    assert evidence["cross_language"] is True
    assert evidence["deciding_signal"] == "meaning (sentence encoder)"
    assert evidence["threshold"] <= final[english]["similarity"]
    assert final[other]["story_id"] not in (first["story_id"], None)


def test_compare_reports_the_semantic_similarity_beside_the_lexical_evidence(
    service: ServiceClient,
) -> None:
    ids = [service.post(text=GERMAN_REPORT), service.post(text=ENGLISH_REPORT)]
    service.wait_final(ids)

    compared = service.http.get(f"/articles/{ids[0]}/compare/{ids[1]}").json()

    assert compared["same_story"] is True
    components = compared["evidence"]["components"]
    assert set(components) == {"cosine", "lead_told", "embedding_cosine"}
    assert components["embedding_cosine"] > components["cosine"]
    assert "kleinwalden" in compared["evidence"]["shared_names"]
