"""The safe HTTP client: fetch a page from a URL without reaching inside our own network."""

from service.fetching.addresses import check_address, check_url_syntax
from service.fetching.body import FEEDS_AND_SITEMAPS, PAGES, ROBOTS_TXT, ContentTypes
from service.fetching.policy import (
    FetchError,
    FetchFailed,
    FetchPolicy,
    HTTPStatusFailed,
    URLRefused,
)
from service.fetching.safe_client import (
    FetchedPage,
    Resolver,
    Validators,
    fetch_page,
    resolve_with_system_dns,
)

__all__ = [
    "FEEDS_AND_SITEMAPS",
    "PAGES",
    "ROBOTS_TXT",
    "ContentTypes",
    "FetchError",
    "FetchFailed",
    "FetchPolicy",
    "FetchedPage",
    "HTTPStatusFailed",
    "Resolver",
    "URLRefused",
    "Validators",
    "check_address",
    "check_url_syntax",
    "fetch_page",
    "resolve_with_system_dns",
]
