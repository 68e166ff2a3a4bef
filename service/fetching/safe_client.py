"""Fetch one web page without letting its URL reach inside our network (SSRF-safe).

Every hop, the first and each redirect, goes through the same steps: check the URL's text,
resolve the host once with the injected resolver, refuse if ANY address is forbidden, then connect
to those checked addresses only (see ``pinning``). Redirects are followed here, by hand, so that no
hop skips the checks. httpcore is used directly, below httpx's client, so no proxy or .netrc from
the environment applies: a proxy would resolve names itself, out of reach of the checks.
"""

import contextlib
import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpcore
import httpx

from service.fetching.addresses import CheckedURL, address_refusal, parse_checked_url
from service.fetching.body import (
    ACCEPT_ENCODING,
    PAGES,
    SNIFF_BYTES,
    BoundedBodyDecoder,
    ContentTypes,
    body_too_large,
    parse_content_type,
)
from service.fetching.pinning import Deadline, PinnedBackend
from service.fetching.policy import FetchFailed, FetchPolicy, HTTPStatusFailed, URLRefused

logger = logging.getLogger(__name__)

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> IP addresses as strings; raises OSError (socket.gaierror) if there are none."""

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Validators:
    """What a server said identifies the version it sent (ETag, Last-Modified), sent back as
    If-None-Match / If-Modified-Since so that an unchanged document costs a 304 and no body."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchedPage:
    url: str  # final URL after redirects, normalized
    status: int  # 2xx, or 304 when the request was conditional and the server says unchanged
    content_type: str  # media type without parameters, e.g. "text/html"; "" for a 304
    charset: str | None  # from the Content-Type header only; the HTML may declare its own
    body: bytes  # decoded (no Content-Encoding), at most policy.max_bytes; empty for a 304
    # The response's validators, to send back next time (a 304 may repeat or update them).
    validators: Validators = field(default_factory=Validators)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class _Redirect:
    location: str


def resolve_with_system_dns(host: str, port: int) -> list[str]:
    """The default resolver: every address getaddrinfo gives for a TCP connection, in order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def fetch_page(
    url: str,
    *,
    policy: FetchPolicy,
    resolver: Resolver | None = None,
    content_types: ContentTypes = PAGES,
    validators: Validators | None = None,
) -> FetchedPage:
    """GET ``url`` and return the page, or raise URLRefused / FetchFailed with a short reason.

    ``content_types`` says what to ask for and keep: article pages by default; feeds, sitemaps
    and robots.txt pass their own (``body.FEEDS_AND_SITEMAPS``, ``body.ROBOTS_TXT``). A status
    other than 2xx or a followed redirect raises HTTPStatusFailed, a FetchFailed that carries it.
    ``validators`` make the request conditional; a 304 then comes back as a page with
    ``not_modified`` set and no body (without validators a 304 is an HTTPStatusFailed).
    """
    resolve = resolver if resolver is not None else resolve_with_system_dns
    deadline = Deadline(policy.total_timeout_s)
    target = parse_checked_url(url, policy=policy)
    addresses = _checked_addresses(target, policy=policy, resolve=resolve, deadline=deadline)
    visited = {str(target.url)}
    redirects = 0
    while True:
        outcome = _fetch_once(
            target,
            addresses,
            policy=policy,
            deadline=deadline,
            content_types=content_types,
            validators=validators,
        )
        if isinstance(outcome, FetchedPage):
            return outcome

        redirects += 1
        if redirects > policy.max_redirects:
            raise FetchFailed(f"too many redirects: more than {policy.max_redirects}")
        try:
            next_url = str(target.url.join(outcome.location))
        except httpx.InvalidURL as exc:
            raise FetchFailed(f"invalid redirect location {outcome.location!r}") from exc
        with _naming_redirect(next_url):
            target = parse_checked_url(next_url, policy=policy)
        if str(target.url) in visited:
            raise FetchFailed(f"too many redirects: loop back to {target.url}")
        visited.add(str(target.url))
        with _naming_redirect(next_url):
            addresses = _checked_addresses(
                target, policy=policy, resolve=resolve, deadline=deadline
            )
        logger.debug("following redirect %d to %s", redirects, target.url)


@contextlib.contextmanager
def _naming_redirect(next_url: str) -> Iterator[None]:
    """Make a refusal at a redirect hop say which redirect it was."""
    try:
        yield
    except URLRefused as exc:
        detail = exc.reason.removeprefix("refused: ")
        raise URLRefused(f"refused: redirect to {next_url}: {detail}") from exc


def _checked_addresses(
    target: CheckedURL, *, policy: FetchPolicy, resolve: Resolver, deadline: Deadline
) -> list[str]:
    """The addresses to connect to, each one checked; one DNS lookup per hop, never two."""
    if target.ip_literal is not None:  # already judged by the syntax check
        return [str(target.ip_literal)]
    try:
        resolved = resolve(target.host, target.port)
    except (OSError, UnicodeError) as exc:
        raise FetchFailed(f"cannot resolve {target.host}: {exc}") from exc
    if deadline.expired():
        raise _timed_out(policy)
    if not resolved:
        raise FetchFailed(f"cannot resolve {target.host}: no addresses")
    # Refuse if ANY address is forbidden: picking the good ones would let a name that mixes a
    # public and a private address steer some connection attempts inside.
    for address in resolved:
        refusal = address_refusal(address, policy=policy)
        if refusal is not None:
            raise URLRefused(f"refused: {target.host} resolves to {refusal}")
    return [str(ipaddress.ip_address(address)) for address in resolved]


def _fetch_once(
    target: CheckedURL,
    addresses: list[str],
    *,
    policy: FetchPolicy,
    deadline: Deadline,
    content_types: ContentTypes,
    validators: Validators | None,
) -> FetchedPage | _Redirect:
    """One request/response, over a connection to the checked addresses only."""
    backend = PinnedBackend(
        host=target.host, port=target.port, addresses=addresses, deadline=deadline
    )
    request_url = httpcore.URL(
        scheme=target.url.raw_scheme,
        host=target.url.raw_host,
        port=target.url.port,
        target=target.url.raw_path,
    )
    headers = [
        # httpx's netloc: IDNA host, brackets around IPv6, port only when not the default.
        (b"Host", target.url.netloc),
        (b"User-Agent", policy.user_agent.encode("ascii")),
        (b"Accept", content_types.accept.encode("ascii")),
        (b"Accept-Encoding", ACCEPT_ENCODING.encode("ascii")),
    ]
    headers += _conditional_headers(validators)
    timeouts = {
        "connect": policy.connect_timeout_s,
        "read": policy.read_timeout_s,
        "write": policy.read_timeout_s,
        "pool": policy.connect_timeout_s,
    }
    where = f"{target.host}:{target.port}"
    try:
        with (
            httpcore.ConnectionPool(
                ssl_context=_ssl_context(), max_connections=1, retries=0, network_backend=backend
            ) as pool,
            pool.stream(
                "GET", request_url, headers=headers, extensions={"timeout": timeouts}
            ) as response,
        ):
            return _read_response(
                response,
                target,
                policy=policy,
                deadline=deadline,
                content_types=content_types,
                conditional=validators is not None,
            )
    except httpcore.TimeoutException as exc:
        if deadline.expired():
            raise _timed_out(policy) from exc
        raise FetchFailed(f"timed out: {_describe(exc)} from {where}") from exc
    except httpcore.ConnectError as exc:  # includes TLS handshake and certificate failures
        raise FetchFailed(f"cannot connect to {where}: {_describe(exc)}") from exc
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        raise FetchFailed(f"network error from {where}: {_describe(exc)}") from exc


def _read_response(
    response: httpcore.Response,
    target: CheckedURL,
    *,
    policy: FetchPolicy,
    deadline: Deadline,
    content_types: ContentTypes,
    conditional: bool = False,
) -> FetchedPage | _Redirect:
    status = response.status
    if status in REDIRECT_STATUSES:
        location = _header(response, b"location")
        if location is None:
            raise FetchFailed(f"HTTP {status} without Location")
        return _Redirect(location)
    response_validators = Validators(
        etag=_header(response, b"etag"), last_modified=_header(response, b"last-modified")
    )
    if status == 304 and conditional:  # RFC 9110 §15.4.5: no content follows
        return FetchedPage(str(target.url), status, "", None, b"", response_validators)
    if not 200 <= status < 300:
        raise HTTPStatusFailed(status, retry_after=_header(response, b"retry-after"))

    # Everything below is decided on the headers, before the body is read.
    media_type, charset = parse_content_type(_header(response, b"content-type"))
    accepted = content_types.media_types
    if media_type is not None and accepted is not None and media_type not in accepted:
        raise FetchFailed(f"unsupported content type {media_type}")
    content_length = _header(response, b"content-length")
    # Content-Length counts bytes on the wire, which are capped as well (below): fail early.
    declared_length = (content_length or "").strip()
    if declared_length.isdigit() and int(declared_length) > policy.max_bytes:
        raise body_too_large(policy.max_bytes)
    decoder = BoundedBodyDecoder(_header(response, b"content-encoding"), max_bytes=policy.max_bytes)

    chunks: list[bytes] = []
    raw_bytes = 0
    sniff = content_types.sniff_untyped if media_type is None else None
    must_sniff = sniff is not None
    for raw in response.iter_stream():
        # Bound the bytes on the wire too: a gzip stream may carry trailing data it never decodes.
        raw_bytes += len(raw)
        if raw_bytes > policy.max_bytes:
            raise body_too_large(policy.max_bytes)
        chunks.append(decoder.decode(raw))
        if sniff is not None and must_sniff and decoder.decoded_bytes >= SNIFF_BYTES:
            _require_kind(b"".join(chunks), sniff, content_types)
            must_sniff = False
        if deadline.expired():
            raise _timed_out(policy)
    chunks.append(decoder.finish())
    body = b"".join(chunks)
    if sniff is not None and must_sniff:
        _require_kind(body, sniff, content_types)
    return FetchedPage(
        url=str(target.url),
        status=status,
        # An untyped body only gets here if it sniffed as the kind asked for.
        content_type=media_type or content_types.untyped_media_type,
        charset=charset,
        body=body,
        validators=response_validators,
    )


def _conditional_headers(validators: Validators | None) -> list[tuple[bytes, bytes]]:
    """If-None-Match / If-Modified-Since, as the server spelt its validators (RFC 9110 §13.1).
    A value that is not plain ASCII is left out rather than sent mangled."""
    if validators is None:
        return []
    headers = []
    for name, value in (
        (b"If-None-Match", validators.etag),
        (b"If-Modified-Since", validators.last_modified),
    ):
        if value and value.isascii() and value.isprintable():
            headers.append((name, value.encode("ascii")))
    return headers


def _require_kind(
    prefix: bytes, sniff: Callable[[bytes], bool], content_types: ContentTypes
) -> None:
    if not sniff(prefix[:SNIFF_BYTES]):
        kind = content_types.untyped_media_type
        shown = "HTML" if kind == "text/html" else kind
        raise FetchFailed(f"unsupported content type (none given, body is not {shown})")


def _header(response: httpcore.Response, name: bytes) -> str | None:
    for key, value in response.headers:
        if key.lower() == name:
            # Header bytes are not always ASCII; a UTF-8 Location is what browsers assume.
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return value.decode("latin-1")
    return None


def _timed_out(policy: FetchPolicy) -> FetchFailed:
    return FetchFailed(f"timed out: fetch took longer than {policy.total_timeout_s} s")


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # httpx's default: certifi's CA bundle, hostname checking on. Built once; loading the bundle
    # costs milliseconds, and a client-side SSLContext is safe to share between threads.
    return httpx.create_ssl_context()
