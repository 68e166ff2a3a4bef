"""The pages, read as a person reads them: headless Chromium (Debian's /usr/bin/chromium, which
`./dev test` installs) driven by Playwright, over the real service with the seeds ingested.

The browser is Debian's, never one Playwright downloads (`playwright install` fails offline).
A missing browser fails these tests; they never skip. Screenshots are kept under
test-artifacts/pages/ (git-ignored); docs/stories.png in the README is one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, expect, sync_playwright

from tests.integration.helpers import ServiceClient, synthetic_article

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
ARTIFACTS = ROOT / "test-artifacts" / "pages"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # as root, and in containers without user namespaces
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Nothing but the service under test: no update checks, component downloads or sync.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Where each seed came from, as a feed would say it: the outlet named in its text (000: its
# header, 002 and 004: News-Front's sign-off, 003: its URL line); 001 names none.
SEED_ORIGINS: dict[str, dict[str, str]] = {
    "000": {"source": "Sawt Beirut"},
    "001": {},
    "002": {"source": "News-Front"},
    "003": {
        "url": "https://fr.sputniknews.com/20210928/les-usa-interrogent-la-russie-sur-lidee-"
        "dutiliser-ses-bases-en-asie-centrale-selon-le-wsj-1051897196.html"
    },
    "004": {"source": "News-Front"},
}
TITLES = {
    "000": "Poutine a proposé à Biden d’utiliser les bases russes en Asie centrale",
    "001": "La Russie avertit Biden de rester en dehors de l'Asie centrale après le départ des "
    "troupes américaines d'Afghanistan",
    "002": "Poutine a proposé à Biden de coordonner les actions sur l’Afghanistan",
    "003": "Les USA interrogent la Russie sur l’idée d’utiliser ses bases en Asie centrale, "
    "selon le WSJ",
    "004": "Lavrov : personne en Asie centrale ne veut devenir l’otage de la politique américaine",
}
HOSTILE_TITLE = "<script>alert(1)</script>"


def ingest_seeds_with_origins(service: ServiceClient) -> dict[str, int]:
    ids = {
        path.name[:3]: service.post(
            text=path.read_text(encoding="utf-8"), **SEED_ORIGINS[path.name[:3]]
        )
        for path in sorted(SEEDS.glob("*.txt"))
    }
    final = service.wait_final(ids.values())
    assert all(a["status"] == "done" for a in final.values()), final
    return ids


@contextmanager
def chromium(profile: Path, *, javascript: bool) -> Iterator[BrowserContext]:
    """Debian's Chromium, headless, with a fresh profile of its own."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: `./dev test` installs Debian's chromium package "
        "(apt-get install chromium chromium-driver)"
    )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            java_script_enabled=javascript,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def story_rows(page: Page) -> list[str]:
    return page.locator("table.stories tbody tr td:first-child").all_inner_texts()


def test_a_reader_follows_the_rewrite_from_the_stories_to_its_evidence(
    service: ServiceClient, tmp_path: Path
) -> None:
    """With JavaScript off, as the pages must work without it."""
    ids = ingest_seeds_with_origins(service)
    base_url = str(service.http.base_url).rstrip("/")

    with chromium(tmp_path / "profile", javascript=False) as browser:
        page = browser.new_page()
        page.goto(base_url + "/")

        # The list: four stories, the rewrite's with both outlets and its two variants.
        expect(page.get_by_role("heading", level=1)).to_have_text("Stories")
        expect(page.locator("table.stories tbody tr")).to_have_count(4)
        for seed in ("000", "001", "003", "004"):
            expect(page.get_by_role("link", name=TITLES[seed], exact=True)).to_be_visible()
        expect(page.get_by_role("link", name=TITLES["002"], exact=True)).to_have_count(0)
        pair_row = page.locator("table.stories tbody tr", has_text=TITLES["000"])
        expect(pair_row).to_contain_text("News-Front, Sawt Beirut")
        expect(pair_row.locator("td.num")).to_have_text("2")
        screenshot(page, "stories")

        # The story: canonical first (000, the earlier publication), then the other; whichever
        # a worker finished first started the story, and the other joined it as a rewrite.
        started, joined = ("000", "002")
        if service.article(ids["000"])["match"] == "rewrite":
            started, joined = joined, started
        page.get_by_role("link", name=TITLES["000"], exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLES["000"])
        variants = page.locator("table.variants tbody tr")
        expect(variants).to_have_count(2)
        expect(variants.nth(0)).to_contain_text(TITLES["000"])
        expect(variants.nth(0)).to_contain_text("canonical")
        expect(variants.nth(1)).to_contain_text(TITLES["002"])
        expect(variants.nth(1)).to_contain_text("News-Front")
        joined_row = page.locator("table.variants tbody tr", has_text=TITLES[joined])
        expect(joined_row).to_contain_text("rewrite")
        expect(joined_row).to_contain_text("both cite kommersant")
        evidence = page.locator("section.evidence")
        expect(evidence).to_contain_text(
            f"Article {ids[joined]} joined as a rewrite of article {ids[started]}"
        )
        expect(evidence).to_contain_text(
            re.compile(r"Original reporter cited by both\s*kommersant", re.IGNORECASE)
        )
        expect(page.locator("ol.timeline li")).to_have_count(2)
        expect(page.locator("ol.timeline li").nth(0)).to_contain_text("Sawt Beirut")
        screenshot(page, "story")

        # Side by side: the verdict, the cited outlet, the shared passages highlighted.
        joined_row.get_by_role("link", name=f"Compare with article {ids[started]}").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Article {ids[started]} and article {ids[joined]}"
        )
        columns = page.locator(".side-by-side h2")
        expect(columns).to_have_text([TITLES[started], TITLES[joined]])
        verdict = page.locator("p.verdict")
        expect(verdict).to_contain_text("One story")
        expect(verdict).to_contain_text(f"Article {ids[joined]} joined as a rewrite")
        expect(page.locator("dl.evidence")).to_contain_text(
            re.compile(r"Original reporter cited by both\s*kommersant", re.IGNORECASE)
        )
        expect(page.locator(".side-by-side mark").first).to_contain_text("Joe Biden")
        screenshot(page, "compare")

        # One article: its status, where it came from, its cleaned text.
        columns.filter(has_text=TITLES["002"]).get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLES["002"])
        expect(page.locator("p.status")).to_have_text("done")
        expect(page.locator("dl.metadata")).to_contain_text("News-Front")
        expect(page.locator("div.text")).to_contain_text("écrit Kommersant, citant des sources")
        screenshot(page, "article")

        # The filters, through the form as a person submits it.
        page.get_by_role("link", name="Stories", exact=True).first.click()
        page.get_by_label("Search titles and URLs").fill("Poutine")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("table.stories tbody tr")).to_have_count(1)
        assert story_rows(page) == [TITLES["000"]]
        page.get_by_role("link", name="Clear filters").click()
        page.get_by_label("Outlet").fill("news-front")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("table.stories tbody tr")).to_have_count(2)
        assert sorted(story_rows(page)) == sorted([TITLES["000"], TITLES["004"]])
        page.get_by_label("Outlet").fill("")
        page.get_by_label("Search titles and URLs").fill("sputniknews")  # in a URL only
        page.get_by_role("button", name="Filter").click()
        assert story_rows(page) == [TITLES["003"]]


def test_an_article_titled_as_a_script_shows_as_text(
    service: ServiceClient, tmp_path: Path
) -> None:
    """With JavaScript on: if the title became markup, a dialog would fire, or the text vanish."""
    body = "Un article dont le titre est du code. " * 20 + '<img src="x" onerror="alert(2)">'
    article_id = service.post(text=body, title=HOSTILE_TITLE)
    service.wait_final([article_id])
    base_url = str(service.http.base_url).rstrip("/")

    with chromium(tmp_path / "profile", javascript=True) as browser:
        page = browser.new_page()
        dialogs: list[str] = []

        def note_and_dismiss(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", note_and_dismiss)
        page.goto(base_url + "/")
        assert page.evaluate("1 + 1") == 2  # scripts would run here

        for page_kind in ("story", "article"):  # the list links to its story, that to it
            link = page.locator("main").get_by_role("link", name=HOSTILE_TITLE, exact=True)
            expect(link.first).to_be_visible()
            link.first.click()
            expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_TITLE)
            expect(page).to_have_url(re.compile(f"/{page_kind}/"))
        expect(page.locator("div.text")).to_contain_text('<img src="x" onerror="alert(2)">')
        assert page.locator("main script, main img").count() == 0
        screenshot(page, "script-title")

    assert dialogs == []


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/story/999999", 404, "No such story"),
        ("/story/abc", 404, "No such story"),
        ("/article/0", 404, "No such article"),
        ("/article/99999999999999999999999", 404, "No such article"),
        ("/compare/1/abc", 404, "No such article"),
        ("/compare/999998/999999", 404, "No such article"),
        ("/?min_size=abc", 400, "Bad query"),
        ("/?min_size=0", 400, "Bad query"),
        ("/?before=-1", 400, "Bad query"),
        ("/?limit=100000", 400, "Bad query"),
        ("/?q=%00", 400, "Bad query"),
    ],
)
def test_bad_input_gets_a_clear_page_with_its_status(
    service: ServiceClient, path: str, status: int, says: str
) -> None:
    response = service.http.get(path)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert says in response.text
    assert "Traceback" not in response.text


def test_comparing_an_article_not_processed_yet_is_a_conflict(service: ServiceClient) -> None:
    done = service.post(text=synthetic_article(1))
    failed = service.post(text="too short")
    service.wait_final([done, failed])

    response = service.http.get(f"/compare/{done}/{failed}")

    assert response.status_code == 409
    assert "Not processed yet" in response.text


STORY_LINK = re.compile(r'<a href="/story/(\d+)">')
OLDER_LINK = re.compile(r'<a href="([^"]+)" rel="next">Older stories</a>')


def test_paging_stays_correct_while_new_stories_arrive(service: ServiceClient) -> None:
    first = service.wait_final([service.post(text=synthetic_article(n)) for n in range(5)])
    stories = sorted({a["story_id"] for a in first.values()}, reverse=True)
    assert len(stories) == 5

    page_one = service.http.get("/", params={"limit": 2}).text
    seen = [int(i) for i in STORY_LINK.findall(page_one)]
    older = OLDER_LINK.search(page_one)
    # Three new stories arrive while the reader is on page one.
    service.wait_final([service.post(text=synthetic_article(n)) for n in range(100, 103)])
    while older:
        page = service.http.get(older.group(1).replace("&amp;", "&")).text
        seen += [int(i) for i in STORY_LINK.findall(page)]
        older = OLDER_LINK.search(page)

    assert seen == stories  # every story once, newest first: none skipped, none repeated
    fresh = [int(i) for i in STORY_LINK.findall(service.http.get("/").text)]
    assert len(fresh) == 8 and fresh[3:] == stories
