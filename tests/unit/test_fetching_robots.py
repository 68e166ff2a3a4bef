"""robots.txt by RFC 9309: 2xx parsed, 4xx allows all, 5xx and network errors disallow all;
fetched through the safe client from a real server on 127.0.0.1, one host name per case."""

import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from service.fetching import URLRefused
from service.fetching.robots import (
    MAX_PARSED_BYTES,
    RobotsCacheTimes,
    RobotsFile,
    RobotsOutcome,
    RobotsPending,
    RobotsRules,
    fetch_robots_file,
    product_token,
    robots_cache_key,
    robots_file_from_body,
    robots_rules_for,
    robots_url,
)
from tests.fetch_policies import local_policy
from tests.local_http import local_server, send_fixed, serving

TOKEN = product_token("newsdedup/0.1 (+https://github.com/newsdedup/newsdedup)")
LOCAL = local_policy()

RULES = b"""# a typical news site
User-agent: Googlebot-News
Disallow:

User-agent: NewsDedup
Disallow: /private/
Allow: /private/press-releases/
Crawl-delay: 7

User-agent: *
Disallow: /
"""
HTML_ERROR = b"<!DOCTYPE html><html><body><h1>Something went wrong</h1></body></html>"

# Host name -> (status, Content-Type, body, extra headers); each resolves to 127.0.0.1.
ROBOTS: dict[str, tuple[int, str, bytes, dict[str, str]]] = {
    "rules.test": (200, "text/plain", RULES, {}),
    "star-only.test": (200, "text/plain", b"User-agent: *\nDisallow: /drafts/\n", {}),
    "html-200.test": (200, "text/html", HTML_ERROR, {}),
    "html-404.test": (404, "text/html", HTML_ERROR, {}),
    "gone.test": (410, "text/plain", b"User-agent: *\nDisallow: /\n", {}),
    "error-503.test": (503, "text/html", b"User-agent: *\nAllow: /\n" + HTML_ERROR, {}),
    "error-500.test": (500, "text/plain", b"", {}),
    "slow-down.test": (429, "text/plain", b"", {"Retry-After": "60"}),
    "moved.test": (301, "text/plain", b"", {"Location": "/robots-real.txt"}),
}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        host = self.headers.get("Host", "").split(":")[0]
        if self.path == "/robots-real.txt":
            status, content_type, body, headers = 200, "text/plain", RULES, {}
        elif host == "endless.test":
            # a new location each time, so only the client's redirect limit ends it
            hop = int(self.path.partition("?hop=")[2] or 0) + 1
            target = f"/robots.txt?hop={hop}"
            status, content_type, body, headers = 302, "text/plain", b"", {"Location": target}
        else:
            status, content_type, body, headers = ROBOTS[host]
        send_fixed(self, status, content_type, body, headers)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with serving(local_server(_Handler)) as server:
        yield int(server.server_address[1])
    server.server_close()


def _resolve(host: str, port: int) -> list[str]:
    if host.endswith(".test"):
        return ["127.0.0.1"]
    raise socket.gaierror(socket.EAI_NONAME, host)


def rules_for(host: str, port: int, path: str = "/") -> tuple[RobotsRules, str]:
    url = f"http://{host}:{port}{path}"
    robots_file = fetch_robots_file(url, policy=LOCAL, resolver=_resolve)
    return RobotsRules(robots_file, product_token=TOKEN), url


# ---------------------------------------------------------------- 2xx: parsed


def test_our_group_disallows_and_allows_by_its_rules(port: int) -> None:
    rules, _ = rules_for("rules.test", port)
    assert rules.file.outcome is RobotsOutcome.RULES
    assert rules.allows(f"http://rules.test:{port}/world/article-1")
    assert not rules.allows(f"http://rules.test:{port}/private/memo")
    assert rules.allows(f"http://rules.test:{port}/private/press-releases/1")
    assert rules.refusal(f"http://rules.test:{port}/private/memo") == (
        "disallowed by robots.txt for newsdedup"
    )


def test_crawl_delay_of_our_group_is_returned(port: int) -> None:
    rules, _ = rules_for("rules.test", port)
    assert rules.crawl_delay_s == 7.0


def test_star_group_applies_when_we_have_no_group(port: int) -> None:
    rules, _ = rules_for("star-only.test", port)
    assert not rules.allows(f"http://star-only.test:{port}/drafts/x")
    assert rules.allows(f"http://star-only.test:{port}/news/x")
    assert rules.crawl_delay_s is None


def test_other_crawlers_groups_do_not_apply_to_us() -> None:
    robots = RobotsFile(
        RobotsOutcome.RULES,
        200,
        "User-agent: github\nDisallow: /\n\nUser-agent: newsdedup-archiver\nDisallow: /\n",
    )
    # Our full User-Agent contains "github" (its contact URL); the product token does not.
    assert RobotsRules(robots, product_token=TOKEN).allows("https://n.example/a")


def test_robots_txt_itself_is_always_allowed() -> None:
    robots = RobotsFile(RobotsOutcome.RULES, 200, "User-agent: *\nDisallow: /\n")
    rules = RobotsRules(robots, product_token=TOKEN)
    assert rules.allows("https://n.example/robots.txt")
    assert not rules.allows("https://n.example/a")


def test_html_page_served_as_2xx_parses_to_no_rules(port: int) -> None:
    rules, url = rules_for("html-200.test", port)
    assert rules.file.outcome is RobotsOutcome.RULES
    assert rules.allows(url)


def test_redirect_is_followed_by_the_safe_client(port: int) -> None:
    rules, _ = rules_for("moved.test", port)
    assert rules.file.outcome is RobotsOutcome.RULES
    assert not rules.allows(f"http://moved.test:{port}/private/memo")


def test_only_the_first_500_kib_are_parsed() -> None:
    padding = b"# padding\n" * (MAX_PARSED_BYTES // 10)
    body = b"User-agent: *\nDisallow: /early/\n" + padding + b"Disallow: /late/\n"
    rules = RobotsRules(robots_file_from_body(200, body), product_token=TOKEN)
    assert not rules.allows("https://n.example/early/1")
    assert rules.allows("https://n.example/late/1")
    assert len(rules.file.body.encode()) <= MAX_PARSED_BYTES


# ---------------------------------------------------------------- 4xx: allow all


@pytest.mark.parametrize("host", ["html-404.test", "gone.test"])
def test_4xx_allows_all_and_its_body_is_not_parsed(host: str, port: int) -> None:
    rules, url = rules_for(host, port, "/anything")
    assert rules.file.outcome is RobotsOutcome.ALLOW_ALL
    assert rules.allows(url)  # gone.test's body says Disallow: / and must be ignored


# ---------------------------------------------------------------- unreachable: disallow all


@pytest.mark.parametrize(
    ("host", "error"),
    [
        ("error-503.test", "HTTP 503"),  # its body says Allow: / and must be ignored
        ("error-500.test", "HTTP 500"),
        ("slow-down.test", "HTTP 429"),  # a 4xx, but the server asks us to slow down
        ("endless.test", "too many redirects: more than 5"),
    ],
)
def test_5xx_429_and_redirect_trouble_disallow_all(host: str, error: str, port: int) -> None:
    rules, url = rules_for(host, port, "/news/1")
    assert rules.file.outcome is RobotsOutcome.DISALLOW_ALL
    assert not rules.allows(url)
    refusal = rules.refusal(url)
    assert refusal is not None
    assert refusal.startswith("robots.txt unreachable (") and error in refusal


def test_network_error_disallows_all() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    rules, url = rules_for("closed.test", closed, "/a")
    assert (rules.file.outcome, rules.file.status) == (RobotsOutcome.DISALLOW_ALL, None)
    assert not rules.allows(url)


def test_a_refused_target_is_an_error_not_an_outcome() -> None:
    """The SSRF guard's refusal is final for the whole origin: no robots.txt outcome (which
    would only defer the article) but the refusal itself, so the article fails at once."""
    with pytest.raises(URLRefused, match="private"):
        fetch_robots_file("http://10.0.0.1/a", policy=LOCAL, resolver=_resolve)


# ---------------------------------------------------------------- names and keys


@pytest.mark.parametrize(
    ("user_agent", "token"),
    [
        ("newsdedup/0.1 (+https://github.com/newsdedup/newsdedup)", "newsdedup"),
        ("NewsDedup-Bot/2", "newsdedup-bot"),
    ],
)
def test_product_token_is_derived_from_the_user_agent(user_agent: str, token: str) -> None:
    assert product_token(user_agent) == token


def test_user_agent_without_product_token_is_refused() -> None:
    with pytest.raises(ValueError, match="product token"):
        product_token("(+https://example.com)")


def test_robots_url_and_cache_key_are_per_scheme_host_and_port() -> None:
    assert robots_url("https://News.Example/a/b?c=d#e") == "https://news.example/robots.txt"
    assert robots_url("http://n.example:8080/a") == "http://n.example:8080/robots.txt"
    assert robots_cache_key("https://News.Example/a") == "https://news.example:443"
    assert robots_cache_key("https://news.example:443/b") == "https://news.example:443"
    assert robots_cache_key("http://news.example/a") == "http://news.example:80"
    assert robots_cache_key("http://[2001:db8::1]:8080/a") == "http://[2001:db8::1]:8080"


# ---------------------------------------------------------------- caching


class MemoryCache:
    """RobotsCache in a dict, recording TTLs; the Redis one has its own integration test."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[RobotsFile, int]] = {}
        self.claims: set[str] = set()

    def get(self, key: str) -> RobotsFile | None:
        entry = self.entries.get(key)
        return entry[0] if entry else None

    def put(self, key: str, robots_file: RobotsFile, *, ttl_s: int) -> None:
        self.entries[key] = (robots_file, ttl_s)
        self.claims.discard(key)

    def claim_fetch(self, key: str, *, lease_s: int) -> bool:
        if key in self.claims:
            return False
        self.claims.add(key)
        return True


TIMES = RobotsCacheTimes(ttl_s=86_400, error_ttl_s=900, fetch_claim_s=60)


def test_one_fetch_per_origin_then_answers_from_the_cache() -> None:
    cache, fetched = MemoryCache(), []

    def fetch(url: str) -> RobotsFile:
        fetched.append(url)
        return RobotsFile(RobotsOutcome.RULES, 200, "User-agent: *\nDisallow: /x/\n")

    for path in ("/a", "/x/1", "/b"):
        rules = robots_rules_for(
            f"https://n.example{path}", cache=cache, fetch=fetch, product_token=TOKEN, times=TIMES
        )
        assert isinstance(rules, RobotsRules)
    assert fetched == ["https://n.example/a"]
    assert cache.entries["https://n.example:443"][1] == 86_400


def test_failed_fetch_is_cached_for_the_shorter_error_ttl() -> None:
    cache = MemoryCache()
    robots_rules_for(
        "https://n.example/a",
        cache=cache,
        fetch=lambda url: RobotsFile(RobotsOutcome.DISALLOW_ALL, 503, error="HTTP 503"),
        product_token=TOKEN,
        times=TIMES,
    )
    assert cache.entries["https://n.example:443"][1] == 900


def test_while_another_worker_fetches_the_caller_is_told_to_come_back() -> None:
    cache = MemoryCache()
    assert cache.claim_fetch("https://n.example:443", lease_s=60)  # the other worker

    def fetch(url: str) -> RobotsFile:
        raise AssertionError("a second fetch of the same robots.txt")

    outcome = robots_rules_for(
        "https://n.example/a", cache=cache, fetch=fetch, product_token=TOKEN, times=TIMES
    )
    assert isinstance(outcome, RobotsPending) and outcome.retry_in_s > 0


def test_cached_file_survives_its_json_round_trip() -> None:
    robots_file = RobotsFile(RobotsOutcome.ALLOW_ALL, 404, error="HTTP 404")
    assert RobotsFile.from_json(robots_file.to_json()) == robots_file
