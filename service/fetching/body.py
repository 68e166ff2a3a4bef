"""What a response body may be, and decoding it without ever holding more than the cap."""

import zlib

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
