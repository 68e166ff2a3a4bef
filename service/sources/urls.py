"""URL hygiene for items from feeds and sitemaps, and the check on a page's declared canonical URL.

Normalising (``normalize_item_url``): courlan lower-cases scheme and host, drops the default
port, tidies the path, sorts the query and strips tracking parameters (utm_*, fbclid, gclid,
and so on); we drop the fragment (never sent to the server, so never part of the article).

Which parameters survive, the rule: **a parameter is dropped only when it is certainly
tracking.** The two mistakes do not cost the same. Keeping a tracker makes two URLs for one
article: one extra fetch, and dedup still joins the copies by their text. Dropping a parameter
that names the article merges two articles into one URL, and the second is never fetched at
all. courlan's list is built for crawl frontiers, where the first mistake is the costly one: its
substring patterns also match ``uid``, ``source_id``, ``sourceid`` and ``cid``, names that news
CMSs use for the article itself (``?uid=…``, ``article.php?source_id=…``). So names in
``ARTICLE_PARAMETERS`` are kept whatever courlan says; everything else courlan calls a tracker
goes. courlan over-matches other names too (its ``ga`` prefix, meant for Google's ``_ga``, takes
``gallery``); such a name joins the list the day a source shows it naming articles.

Canonical URLs (``accepted_canonical_url``): a page's ``<link rel=canonical>`` is trusted only
on its own site and only if it names an article. Same site means the same registered domain
(public suffix list, via ``tld``: www.example.co.uk and news.example.co.uk are one site,
a.blogspot.com and b.blogspot.com are two); another domain could be a hijack (a scraper copying
a page keeps its canonical, a compromised page claims another's). A home page is never an
article's canonical: CMSs misconfigured to point every page at "/" would merge a whole site.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from courlan import normalize_url
from tld import get_fld

# Lower-case names (with "-" read as "_") that news CMSs use to name an article, kept even
# where courlan's tracker patterns match them. Those patterns match uid, source_id, sourceid
# and cid; the rest are listed so the rule reads whole and stays true if courlan widens.
ARTICLE_PARAMETERS = frozenset(
    {
        "id",
        "uid",
        "cid",
        "aid",
        "nid",
        "sid",
        "p",
        "article",
        "article_id",
        "articleid",
        "story",
        "story_id",
        "storyid",
        "source_id",
        "sourceid",
        "news_id",
        "newsid",
        "content_id",
        "contentid",
        "post",
        "post_id",
        "postid",
        "item",
        "itemid",
        "doc",
        "docid",
        "page",
    }
)
_HOME_PAGE_PATHS = frozenset({"", "/", "/index.html", "/index.htm", "/index.php"})


def normalize_item_url(url: str) -> str:
    """The form of an item's URL that identifies its article; ValueError if it has no host."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(name, value) for name, value in query if _names_article(name)]
    rest = [(name, value) for name, value in query if not _names_article(name)]
    without_fragment = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), ""))
    normalized = urlsplit(normalize_url(without_fragment))
    surviving = parse_qsl(normalized.query, keep_blank_values=True) + kept
    # courlan sorts by name; sorting again keeps one spelling however the feed ordered them.
    query_text = urlencode(sorted(surviving))
    path = normalized.path or ("/" if query_text else "")
    return urlunsplit((normalized.scheme, normalized.netloc, path, query_text, ""))


def accepted_canonical_url(page_url: str, declared: str | None) -> str | None:
    """The page's declared canonical URL, resolved and normalised, if it may be trusted.

    None when there is none, it is on another registered domain, or it is a home page; the
    caller then keeps the page's own URL.
    """
    if not declared or not declared.strip():
        return None
    try:
        candidate = normalize_item_url(urljoin(page_url, declared.strip()))
    except ValueError:
        return None
    if not same_site(page_url, candidate):
        return None
    parts = urlsplit(candidate)
    if parts.path.lower() in _HOME_PAGE_PATHS and not parts.query:
        return None
    return candidate


def same_site(first_url: str, second_url: str) -> bool:
    """Whether two URLs are on one registered domain (public suffix list plus one label).

    A host with no registered domain (an IP address, a single-label name) is only the same
    site as itself.
    """
    first, second = _registered_domain(first_url), _registered_domain(second_url)
    if first is None or second is None:
        first_host, second_host = urlsplit(first_url).hostname, urlsplit(second_url).hostname
        return first_host is not None and first_host == second_host
    return first == second


def _registered_domain(url: str) -> str | None:
    domain = get_fld(url, fail_silently=True, fix_protocol=True)
    return domain.lower() if isinstance(domain, str) else None


def _names_article(name: str) -> bool:
    return name.strip().lower().replace("-", "_") in ARTICLE_PARAMETERS
