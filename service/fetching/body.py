"""What a response body may be, and decoding it without ever holding more than the cap."""

import zlib
from collections.abc import Callable
from dataclasses import dataclass

from service.fetching.policy import FetchFailed

# HTML pages, and text/plain because plain-text articles exist (wire copy, some archives);
# extraction handles both. Everything else (PDF, images, octet-stream) is refused unread.
ACCEPTED_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})

# Only codings we decode ourselves with an output bound: a server must not send others
# (RFC 9110 §12.5.3), and one that does gets "unsupported content encoding".
ACCEPT_ENCODING = "gzip, deflate"

# WHATWG MIME Sniffing reads at most 1445 bytes (its "resource header") to recognise HTML.
SNIFF_BYTES = 1445

# WHATWG MIME Sniffing's HTML signatures; each must be followed by a space or ">".
_HTML_SIGNATURES = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<!--",
)
_TAG_TERMINATORS = frozenset(b" >")
_LEADING_WHITESPACE = b"\t\n\x0c\r "
_UTF8_BOM = b"\xef\xbb\xbf"


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """Media type and charset of a Content-Type header, both lower-case; (None, None) if absent."""
    if value is None or not value.strip():
        return None, None
    media_type, *parameters = value.split(";")
    charset = None
    for parameter in parameters:
        name, _, parameter_value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = parameter_value.strip().strip("\"'").lower() or None
    return media_type.strip().lower(), charset


def looks_like_html(prefix: bytes) -> bool:
    """Whether the start of an untyped body is HTML, by the WHATWG sniffing signatures."""
    text = prefix.removeprefix(_UTF8_BOM).lstrip(_LEADING_WHITESPACE).lower()
    for signature in _HTML_SIGNATURES:
        terminator = text[len(signature) : len(signature) + 1]
        if text.startswith(signature) and terminator and terminator[0] in _TAG_TERMINATORS:
            return True
    return False


@dataclass(frozen=True)
class ContentTypes:
    """What one kind of fetch asks for and which response bodies it keeps.

    The type check happens on the headers, before the body is read, so a wrong URL (a video, a
    PDF) costs one response header, not the bytes up to the cap.
    """

    accept: str  # the Accept request header
    media_types: frozenset[str] | None  # media types read; None reads any type
    untyped_media_type: str  # what a body without a Content-Type is taken to be
    # Whether the start of an untyped body is of the kind; None keeps every untyped body.
    sniff_untyped: Callable[[bytes], bool] | None


# Article pages. */* at a low weight so servers that negotiate still answer.
PAGES = ContentTypes(
    accept="text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8,*/*;q=0.1",
    media_types=ACCEPTED_MEDIA_TYPES,
    untyped_media_type="text/html",
    sniff_untyped=looks_like_html,
)

# RSS, Atom and RDF feeds and sitemaps (plain or .xml.gz). Servers label them loosely: XML
# under its generic types, a .xml.gz file as gzip or octet-stream, feeds as text/html or
# text/plain behind misconfigured CDNs. The parser judges the bytes (a clear "not a feed or
# sitemap" otherwise) and the byte cap bounds what a wrong guess costs; only types that are
# never XML (images, video, PDF) are refused unread.
FEEDS_AND_SITEMAPS = ContentTypes(
    accept=(
        "application/rss+xml,application/atom+xml,application/rdf+xml,"
        "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1"
    ),
    media_types=frozenset(
        {
            "application/rss+xml",
            "application/atom+xml",
            "application/rdf+xml",
            "application/x-rss+xml",
            "application/x-atom+xml",
            "application/xml",
            "text/xml",
            "application/gzip",
            "application/x-gzip",
            "application/octet-stream",
            "text/html",
            "text/plain",
        }
    ),
    untyped_media_type="application/xml",
    sniff_untyped=None,
)

# robots.txt: RFC 9309 parses any successful response's body, whatever type it claims; an
# HTML page parses to no rules, as it would for a crawler that ignored the header.
ROBOTS_TXT = ContentTypes(
    accept="text/plain,*/*;q=0.1",
    media_types=None,
    untyped_media_type="text/plain",
    sniff_untyped=None,
)


def body_too_large(max_bytes: int) -> FetchFailed:
    return FetchFailed(f"body exceeds {max_bytes} bytes")


class BoundedBodyDecoder:
    """Undoes the Content-Encoding chunk by chunk and fails once the output passes ``max_bytes``.

    zlib is asked for at most one byte more than the budget left, so a small gzip "bomb" is
    refused after producing cap + 1 bytes, not after inflating a whole network chunk (64 KiB of
    gzip can inflate to 64 MiB).
    """

    def __init__(self, content_encoding: str | None, *, max_bytes: int) -> None:
        coding = (content_encoding or "identity").strip().lower()
        self._max_bytes = max_bytes
        self.decoded_bytes = 0
        self._decompressor: zlib._Decompress | None
        # Some servers send raw DEFLATE under "deflate"; fall back to it on the first error.
        self._deflate_may_be_raw = coding == "deflate"
        if coding == "identity":
            self._decompressor = None
        elif coding in ("gzip", "x-gzip"):
            self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header only
        elif coding == "deflate":
            self._decompressor = zlib.decompressobj(zlib.MAX_WBITS)  # zlib-wrapped
        else:
            raise FetchFailed(f"unsupported content encoding {coding}")

    def decode(self, raw: bytes) -> bytes:
        if self._decompressor is None:
            return self._counted(raw)
        pieces = []
        pending = raw
        while pending:
            budget = self._max_bytes - self.decoded_bytes + 1  # one byte over proves the excess
            piece = self._decompress(pending, budget)
            pieces.append(self._counted(piece))
            pending = self._decompressor.unconsumed_tail
        return b"".join(pieces)

    def finish(self) -> bytes:
        if self._decompressor is None:
            return b""
        try:
            return self._counted(self._decompressor.flush())
        except zlib.error as exc:
            raise FetchFailed(f"undecodable compressed body ({exc})") from exc

    def _decompress(self, data: bytes, budget: int) -> bytes:
        assert self._decompressor is not None
        try:
            piece = self._decompressor.decompress(data, budget)
        except zlib.error as exc:
            if not self._deflate_may_be_raw:
                raise FetchFailed(f"undecodable compressed body ({exc})") from exc
            self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
            self._deflate_may_be_raw = False
            return self._decompress(data, budget)
        self._deflate_may_be_raw = False
        return piece

    def _counted(self, piece: bytes) -> bytes:
        self.decoded_bytes += len(piece)
        if self.decoded_bytes > self._max_bytes:
            raise body_too_large(self._max_bytes)
        return piece
