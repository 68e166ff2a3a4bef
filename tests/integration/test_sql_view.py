"""Users can read clusters with plain SQL through the story_members view."""

from __future__ import annotations

from pathlib import Path

from tests.integration.helpers import ServiceClient, connect

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))


def test_story_members_view_lists_each_story_with_its_canonical_article(
    service: ServiceClient,
) -> None:
    ids = [service.post(text=p.read_text(encoding="utf-8")) for p in SEEDS]
    service.wait_final(ids)

    with connect(service.database_url) as connection:
        rows = connection.execute(
            "SELECT story_id, article_id, is_canonical, canonical_title, match_kind "
            "FROM story_members WHERE story_size = 2 ORDER BY article_id"
        ).fetchall()

    assert [r[1] for r in rows] == [ids[0], ids[2]]
    assert rows[0][0] == rows[1][0]
    assert [r[2] for r in rows] == [True, False]
    assert rows[0][3] == rows[1][3] and rows[0][3]
    assert [r[4] for r in rows] == ["canonical", "rewrite"]
