"""The pages people read: stories, a story and why it is one, two articles side by side, an
article. Another thin shell beside the JSON routes: each page parses its input, calls the same
read-side functions (service.stories) and hands plain data to a Jinja2 template.

Every template is autoescaped (article text can never become markup), the pages load nothing from
another host and run no script (the Content-Security-Policy says so to the browser too), and they
work without JavaScript: filters are a GET form, paging is a link. Bad input gets an error page
with the right status, never a stack trace.

Sources: the sources work adds its page here (GET /sources: each feed's health, its last fetches,
a "poll now" button), and its link in base.html's nav.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from service.api.routes import MAX_ROW_ID, SessionDep, SettingsDep
from service.dedup.assign import MatchSettings
from service.stories import compare, explain, queries

HERE = Path(__file__).resolve().parent
# Stories per page: a screenful with room to scroll; `limit` may ask for 1..MAX_PAGE_SIZE.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Filter values are outlet names and search words; past this they are not input a person typed.
MAX_FILTER_CHARS = 200
# The most a story can grow to (the JSON API's bound on min_size).
MAX_MIN_SIZE = 1_000_000

# Styles from our stylesheet only, no script at all, nothing from another host.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)
T = TypeVar("T")


class PageError(Exception):
    """Bad input or a missing thing: shown as an error page with this status."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


# --- formatting, for the templates ---------------------------------------------------------


def when(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def appeared(article: queries.ArticleSummary) -> str:
    """When an article appeared, saying so when that is only when newsdedup received it."""
    return when(article.date) + ("" if article.published_at else " (received)")


def delay(value: timedelta) -> str:
    """How long after the first appearance: "first", "+35 min", "+2 d 4 h"."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "first"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"+{days} d {hours} h" if hours else f"+{days} d"
    if hours:
        return f"+{hours} h {minutes} min" if minutes else f"+{hours} h"
    return f"+{minutes} min" if minutes else f"+{seconds} s"


def score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def web_link(url: str | None) -> str | None:
    """The URL if it is safe to link to (http or https), else None: a posted URL such as
    "javascript:..." must never become a live link, escaped or not."""
    if url and urlsplit(url.strip()).scheme.lower() in ("http", "https"):
        return url
    return None


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        # Every template, whatever its name: article text is escaped everywhere.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(when=when, appeared=appeared, delay=delay, score=score)
    environment.globals.update(
        web_link=web_link,
        describe=explain.describe,
        deciding_signal=explain.deciding_signal,
        match_kind_words=explain.match_kind_words,
    )
    return environment


TEMPLATES = _environment()


def render_page(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


# --- input ---------------------------------------------------------------------------------


def _no_such(what: str, value: str) -> PageError:
    return PageError(404, f"No such {what}", f"There is no {what} “{value[:40]}”.")


def parse_id(value: str, *, what: str) -> int:
    """A story or article id from the path; anything else names nothing (404)."""
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ROW_ID:
        return int(value)
    raise _no_such(what, value)


def found(thing: T | None, *, what: str, value: str) -> T:
    """The thing an id named, or a 404 page."""
    if thing is None:
        raise _no_such(what, value)
    return thing


def _whole_number(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    raise PageError(
        400, "Bad query", f"“{name}” must be a whole number from {low} to {high}, not “{raw[:40]}”."
    )


def _text(params: Mapping[str, str], name: str) -> str | None:
    raw = params.get(name, "").strip()
    if "\x00" in raw:
        raise PageError(400, "Bad query", f"“{name}” must not contain NUL characters.")
    if len(raw) > MAX_FILTER_CHARS:
        raise PageError(400, "Bad query", f"“{name}” is longer than {MAX_FILTER_CHARS} characters.")
    return raw or None


@dataclass(frozen=True)
class StoryListing:
    """What the stories page shows: its filters and where the page starts."""

    min_size: int = 1
    source: str | None = None
    search: str | None = None
    before: int | None = None  # the keyset cursor: stories older than this id
    limit: int = PAGE_SIZE

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> StoryListing:
        return cls(
            min_size=_whole_number(params, "min_size", 1, MAX_MIN_SIZE) or 1,
            source=_text(params, "source"),
            search=_text(params, "q"),
            before=_whole_number(params, "before", 1, MAX_ROW_ID),
            limit=_whole_number(params, "limit", 1, MAX_PAGE_SIZE) or PAGE_SIZE,
        )

    @property
    def filtered(self) -> bool:
        return self.min_size > 1 or self.source is not None or self.search is not None

    def url(self, **changes: Any) -> str:
        """This listing's address with some values changed; defaults are left out."""
        listing = replace(self, **changes)
        params = {
            "q": listing.search,
            "source": listing.source,
            "min_size": listing.min_size if listing.min_size > 1 else None,
            "limit": listing.limit if listing.limit != PAGE_SIZE else None,
            "before": listing.before,
        }
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return "/?" + query if query else "/"


# --- pages ---------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def stories_page(request: Request, session: SessionDep) -> HTMLResponse:
    listing = StoryListing.parse(request.query_params)
    stories = queries.list_story_summaries(
        session,
        min_size=listing.min_size,
        source=listing.source,
        search=listing.search,
        limit=listing.limit,
        before_id=listing.before,
    )
    older = listing.url(before=stories[-1].id) if len(stories) == listing.limit else None
    return render_page(
        "stories.html",
        listing=listing,
        stories=stories,
        older_url=older,
        newest_url=listing.url(before=None) if listing.before else None,
    )


@router.get("/story/{story_id}", response_class=HTMLResponse)
def story_page(story_id: str, session: SessionDep) -> HTMLResponse:
    story = queries.get_story_detail(session, parse_id(story_id, what="story"))
    return render_page("story.html", story=found(story, what="story", value=story_id))


@router.get("/article/{article_id}", response_class=HTMLResponse)
def article_page(article_id: str, session: SessionDep) -> HTMLResponse:
    article = queries.get_article_detail(session, parse_id(article_id, what="article"))
    return render_page("article.html", article=found(article, what="article", value=article_id))


@router.get("/compare/{a_id}/{b_id}", response_class=HTMLResponse)
def compare_page(a_id: str, b_id: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    first, second = parse_id(a_id, what="article"), parse_id(b_id, what="article")
    try:
        pair = queries.compare_side_by_side(
            session, first, second, settings=MatchSettings.from_settings(settings)
        )
    except compare.ArticleNotFound as missing:
        raise PageError(404, "No such article", f"There is {missing}.") from missing
    except compare.ArticleNotProcessed as pending:
        raise PageError(
            409, "Not processed yet", f"Only processed articles can be compared: {pending}."
        ) from pending
    return render_page("compare.html", pair=pair)


def install(app: FastAPI) -> None:
    """Mount the pages, their stylesheet and their error page on the app."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(PageError)
    async def page_error(request: Request, error: PageError) -> HTMLResponse:
        return render_page(
            "error.html",
            status=error.status,
            code=error.status,
            title=error.title,
            message=error.message,
        )
