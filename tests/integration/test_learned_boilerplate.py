"""A line that recurs across articles of one source is learned as boilerplate and dropped."""

from __future__ import annotations

from tests.integration.helpers import ServiceClient, synthetic_article

OUTLET_LINE = "The Harbour Gazette is an independent newspaper owned by its readers since 1901."


def test_a_line_recurring_in_a_sources_articles_is_dropped_from_later_ones(
    service: ServiceClient,
) -> None:
    ids = []
    for i in range(4):
        text = synthetic_article(40_000 + i) + "\n\n" + OUTLET_LINE
        ids.append(service.post(text=text, source="harbour-gazette.example"))
        service.wait_final([ids[-1]])
    other_source = service.post(
        text=synthetic_article(40_100) + "\n\n" + OUTLET_LINE, source="another.example"
    )
    final = service.wait_final([*ids, other_source])

    assert [OUTLET_LINE in final[i]["text"] for i in ids] == [True, True, False, False]
    assert OUTLET_LINE in final[other_source]["text"]


def test_copies_of_one_article_from_one_source_are_not_learned_as_its_boilerplate(
    service: ServiceClient,
) -> None:
    text = synthetic_article(40_200)
    ids = []
    for _ in range(4):
        ids.append(service.post(text=text, source="harbour-gazette.example"))
        service.wait_final([ids[-1]])
    final = service.wait_final(ids)

    assert [final[i]["status"] for i in ids] == ["done"] * 4
    assert all(final[i]["text"] == final[ids[0]]["text"] for i in ids)
    assert len({final[i]["story_id"] for i in ids}) == 1
