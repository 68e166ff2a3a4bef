"""The pages people read: stories, a story and why it is one, two articles side by side, an
article, the sources and a source. Another thin shell beside the JSON routes: each page parses its
input, calls the same functions as the JSON routes (service.stories, service.sources) and hands
plain data to a Jinja2 template.

Every template is autoescaped (article text can never become markup), the pages load nothing from
another host and run no script (the Content-Security-Policy says so to the browser too), and they
work without JavaScript: filters are a GET form, paging is a link, "poll now" and "add a source"
are HTML forms that POST and are answered with a 303 to the source's page. Bad input gets an error
page with the right status, never a stack trace.

Paths: a page is the singular of its JSON resource (/story/{id} beside /stories/{id}, /article/{id}
beside /articles/{id}); the sources are listed at /source, because /sources is the JSON list.

Forms and CSRF. The service has no login, so a form POST must not be something any other site's
page can make a visitor's browser send (add a source, poll one again and again). Each POST checks
that the request comes from one of our own pages: its Origin header (every current browser sends
one with a POST), else its Referer, must name the host the request was sent to; a missing, "null"
or foreign origin is refused with 403. Chosen over a form token because it needs no secret shared
by the API processes and no state, and a token would protect nothing more here: with no login,
anyone who can read our page to copy a token could as well send the POST itself. Our pages send
"Referrer-Policy: same-origin" (not "no-referrer", under which a browser sends "Origin: null" with
a POST even to our own host), so nothing leaks to other sites, and CSP's form-action 'self'
keeps our forms from posting anywhere else. A reverse proxy in front must pass the Host header on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from service.api.routes import MAX_ROW_ID, SessionDep, SettingsDep, subscribe
from service.api.schemas import MAX_URL_CHARS
from service.dedup.assign import MatchSettings
from service.sources import subscriptions, views
from service.stories import compare, explain, queries

HERE = Path(__file__).resolve().parent
# Stories per page: a screenful with room to scroll; `limit` may ask for 1..MAX_PAGE_SIZE.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Filter values are outlet names and search words; past this they are not input a person typed.
MAX_FILTER_CHARS = 200
# The most a story can grow to (the JSON API's bound on min_size).
MAX_MIN_SIZE = 1_000_000
# The JSON API's bound on poll_minutes (the service's own bounds are narrower, and say so).
MAX_POLL_MINUTES = 100_000
# Our forms send two fields at most; a body with more is not one of them.
MAX_FORM_FIELDS = 10

# Styles from our stylesheet only, no script at all, nothing from another host.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Never to another site; to our own, so that our forms' POSTs carry their Origin (above).
    "Referrer-Policy": "same-origin",
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


def when(value: datetime | None, *, seconds: bool = False) -> str:
    """A moment in UTC, to the minute; to the second for a fetch log, where two polls may fall
    in one minute."""
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


OUTCOME_WORDS = {
    "new_items": "new items",
    "no_new_items": "no new items",
    "not_modified": "not modified (304)",
    "unchanged": "unchanged (same bytes)",
    "failed": "failed",
    "deferred": "waiting for the host",
}


def outcome_words(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, outcome)


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
    environment.filters.update(
        when=when,
        appeared=appeared,
        delay=delay,
        score=score,
        outcome_words=outcome_words,
    )
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


def _whole_number(
    params: Mapping[str, str], name: str, low: int, high: int, *, what: str = "query"
) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    raise PageError(
        400,
        f"Bad {what}",
        f"“{name}” must be a whole number from {low} to {high}, not “{raw[:40]}”.",
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


# --- sources -------------------------------------------------------------------------------


def same_origin(request: Request) -> None:
    """Refuse (403) a form POST that another site's page made a browser send: its Origin, else
    its Referer, must name the host it was sent to (see the module doc)."""
    host = request.headers.get("host", "").strip().lower()
    sent_from = request.headers.get("origin") or request.headers.get("referer") or ""
    try:
        netloc = urlsplit(sent_from).netloc.lower()
    except ValueError:  # a malformed header, such as an unclosed IPv6 bracket
        netloc = ""
    if not host or netloc != host:
        raise PageError(
            403,
            "Refused",
            "This form is only taken from this service's own pages "
            "(the request named no origin, or another site's).",
        )


SameOrigin = Depends(same_origin)


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of an HTML form as browsers send it (application/x-www-form-urlencoded)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise PageError(415, "Not a form", "Send the form from the page, as a browser does.")
    try:
        pairs = parse_qsl(
            (await request.body()).decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",
        )
    except ValueError as bad:  # not UTF-8, or too many fields
        raise PageError(400, "Bad form", "The form's data could not be read.") from bad
    return dict(pairs)


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def _source_url(fields: Mapping[str, str]) -> str:
    url = fields.get("url", "").strip()
    if not url:
        raise PageError(400, "Bad form", "Give the URL of a feed or a sitemap.")
    if "\x00" in url:
        raise PageError(400, "Bad form", "The URL must not contain NUL characters.")
    if len(url) > MAX_URL_CHARS:
        raise PageError(400, "Bad form", f"The URL is longer than {MAX_URL_CHARS} characters.")
    return url


def _source_page_url(source_id: int) -> str:
    return f"/source/{source_id}"


def _see_other(url: str) -> RedirectResponse:
    """After a form's POST: the browser GETs the page (reloading it never repeats the POST)."""
    return RedirectResponse(url, status_code=303, headers=PAGE_HEADERS)


@router.get("/source", response_class=HTMLResponse)
def sources_page(request: Request, session: SessionDep) -> HTMLResponse:
    after = _whole_number(request.query_params, "after", 1, MAX_ROW_ID)
    sources = views.list_source_views(
        session, limit=PAGE_SIZE, after_id=after, include_stopped=True
    )
    more = f"/source?after={sources[-1].id}" if len(sources) == PAGE_SIZE else None
    first = "/source" if after else None
    return render_page("sources.html", sources=sources, more_url=more, first_url=first)


@router.post("/source", dependencies=[SameOrigin])
def add_source_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    fields: FormFields,
) -> RedirectResponse:
    """The "add a source" form: what POST /sources does, then the source's page."""
    url = _source_url(fields)
    minutes = _whole_number(fields, "poll_minutes", 1, MAX_POLL_MINUTES, what="form")
    try:
        source, _ = subscribe(
            url, poll_minutes=minutes, request=request, session=session, settings=settings
        )
    except subscriptions.InvalidSource as refused:
        raise PageError(422, "Source refused", f"“{url[:200]}”: {refused}.") from refused
    return _see_other(_source_page_url(source.id))


@router.get("/source/{source_id}", response_class=HTMLResponse)
def source_page(source_id: str, session: SessionDep) -> HTMLResponse:
    found_id = parse_id(source_id, what="source")
    source = found(views.get_source_view(session, found_id), what="source", value=source_id)
    articles = views.source_articles(session, found_id)
    due = source.next_poll_at is not None and source.next_poll_at <= datetime.now(UTC)
    return render_page("source.html", source=source, articles=articles, due=due)


@router.post("/source/{source_id}/poll", dependencies=[SameOrigin])
def poll_source_form(source_id: str, request: Request, session: SessionDep) -> RedirectResponse:
    """The "poll now" button: what POST /sources/{id}/poll does, then the source's page."""
    found_id = parse_id(source_id, what="source")
    try:
        source = subscriptions.poll_now(
            found_id, scheduler=request.app.state.poll_scheduler, session=session
        )
    except subscriptions.SourceStopped as stopped:
        raise PageError(409, "Source stopped", f"Source {found_id}: {stopped}.") from stopped
    found(source, what="source", value=source_id)
    return _see_other(_source_page_url(found_id))


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
