"""Reading untrusted feed and sitemap bytes in bounded memory: gzip with an output cap, and a
look at the XML prolog that refuses entity declarations before any XML parser runs.

Why a prolog check of our own, when lxml can be told not to expand entities: feedparser cannot.
Measured with feedparser 6.0.14 on Python 3.11's expat 2.5.0: a billion-laughs feed is harmless
(feedparser strips the DOCTYPE, the references stay unexpanded), but a *quadratic* blow-up is
not. feedparser keeps "safe-looking" entity declarations (a value without ``&``), expat refuses
the amplification, and feedparser then falls back to its loose parser, which expands them: a
39 KB feed (one 30 KB entity referenced 3,000 times) became a 90 MB title and 288 MB of RSS.
So every document whose DOCTYPE has an internal subset is refused here, as defusedxml's
``forbid_entities`` would: that subset is the only place a document can declare entities for
itself, and no real feed or sitemap needs one (RSS 0.91's Netscape DOCTYPE names an external DTD
only, which no parser here loads). Sitemaps are then parsed by lxml with entities unresolved,
no DTD and no network as a second wall.

gzip: sitemaps are often ``.xml.gz`` files (gzip content, no Content-Encoding), so the fetch
returns them compressed. They are inflated here with zlib's ``max_length``, never past the cap
plus one byte, so a bomb (a few KB that inflate to gigabytes) is refused having produced at
most the cap.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from service.sources.documents import DocumentRefused, NotAFeedOrSitemap

GZIP_MAGIC = b"\x1f\x8b"

# Junk before the first "<" (a PHP notice, a stray line) is skipped with a warning when short;
# a longer run of text is not an XML document at all.
_MAX_LEADING_JUNK_BYTES = 1024

# Byte-order marks and the first two characters "<?" or "<r" without one, per XML 1.0
# Appendix F: how an XML document says it is UTF-16 or UTF-32 before any declaration.
_WIDE_ENCODINGS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_UTF8_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_NAME = re.compile(rb"[A-Za-z_][\w.:-]*")


@dataclass(frozen=True)
class Prolog:
    """Where the document's markup starts and what its root element is called."""

    root_name: str  # as written, with any prefix: "rss", "feed", "rdf:RDF", "urlset"
    markup: bytes  # the document from its first "<" (leading junk dropped), as given
    warnings: tuple[str, ...]


def inflate_gzip(data: bytes, *, max_bytes: int) -> tuple[bytes, tuple[str, ...]]:
    """The content of gzip ``data`` (every member), or DocumentRefused past ``max_bytes``.

    A truncated stream gives what it holds, with a warning: a sitemap cut short by a dropped
    connection still names its first URLs.
    """
    pieces: list[bytes] = []
    produced = 0
    warnings: list[str] = []
    pending = data
    while pending:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header and trailer
        tail = pending
        try:
            while tail:
                budget = max_bytes - produced + 1  # one byte over proves the excess
                piece = inflater.decompress(tail, budget)
                produced += len(piece)
                if produced > max_bytes:
                    raise _too_large(max_bytes)
                pieces.append(piece)
                tail = inflater.unconsumed_tail
            # What inflate still holds after its input ran out is at most its 32 KiB window.
            piece = inflater.flush()
        except zlib.error as exc:
            if not pieces:
                raise NotAFeedOrSitemap(f"not a feed or sitemap: undecodable gzip ({exc})") from exc
            warnings.append(f"gzip stream damaged, kept what came before it ({exc})")
            break
        produced += len(piece)
        if produced > max_bytes:
            raise _too_large(max_bytes)
        pieces.append(piece)
        if not inflater.eof:
            if not produced:
                raise NotAFeedOrSitemap("not a feed or sitemap: gzip stream ends before content")
            warnings.append("gzip stream truncated, kept what it held")
            break
        pending = inflater.unused_data
        if pending and not pending.startswith(GZIP_MAGIC):
            # gzip(1) ignores trailing garbage too (zero padding from some servers).
            warnings.append(f"ignored {len(pending)} bytes after the gzip stream")
            break
    return b"".join(pieces), tuple(warnings)


def read_prolog(data: bytes) -> Prolog:
    """Find the root element, refusing a DOCTYPE with an internal subset (see module doc).

    Raises NotAFeedOrSitemap when there is no XML root element to find.
    """
    warnings: list[str] = []
    text = _ascii_compatible(data)
    position = _skip_bom_and_whitespace(text, 0)
    if not text.startswith(b"<", position):
        first_markup = text.find(b"<", position)
        too_far = first_markup == -1 or first_markup - position > _MAX_LEADING_JUNK_BYTES
        # Junk is skipped only in ASCII-compatible bytes, where an offset in ``text`` is an
        # offset in ``data``; a UTF-16 document starts with its markup or is not XML.
        if too_far or text is not data:
            raise NotAFeedOrSitemap("not a feed or sitemap: no XML markup at the start")
        warnings.append(f"skipped {first_markup - position} bytes of text before the XML")
        # The bytes handed on start at the markup, so the parsers do not trip on the junk.
        data = text = data[first_markup:]
        position = 0

    while True:
        if text.startswith(b"<?", position):
            position = _after(text, b"?>", position + 2, "processing instruction")
        elif text.startswith(b"<!--", position):
            position = _after(text, b"-->", position + 4, "comment")
        elif text[position : position + 9].upper() == b"<!DOCTYPE":
            position = _after_doctype(text, position + 9)
        elif text.startswith(b"<", position):
            match = _NAME.match(text, position + 1)
            if match is None:
                raise NotAFeedOrSitemap("not a feed or sitemap: no XML root element")
            return Prolog(match.group().decode("ascii"), data, tuple(warnings))
        else:
            raise NotAFeedOrSitemap("not a feed or sitemap: no XML root element")
        position = _skip_bom_and_whitespace(text, position)


def _too_large(max_bytes: int) -> DocumentRefused:
    return DocumentRefused(f"refused: document inflates past {max_bytes} bytes")


def _ascii_compatible(data: bytes) -> bytes:
    """The document as bytes in which ASCII markup reads as ASCII (UTF-16/32 re-encoded)."""
    for signature, encoding in _WIDE_ENCODINGS:
        if data.startswith(signature):
            return data.decode(encoding, errors="replace").encode("utf-8")
    return data


def _skip_bom_and_whitespace(text: bytes, position: int) -> int:
    if text.startswith(_UTF8_BOM, position):
        position += len(_UTF8_BOM)
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def _after(text: bytes, terminator: bytes, position: int, what: str) -> int:
    end = text.find(terminator, position)
    if end == -1:
        raise NotAFeedOrSitemap(f"not a feed or sitemap: unterminated {what} before the root")
    return end + len(terminator)


def _after_doctype(text: bytes, position: int) -> int:
    """The end of a DOCTYPE without an internal subset; DocumentRefused if it has one."""
    quote: int | None = None
    while position < len(text):
        char = text[position]
        if quote is not None:
            if char == quote:
                quote = None
        elif char in b"\"'":
            quote = char
        elif char == ord("["):
            raise DocumentRefused(
                "refused: the DOCTYPE declares its own entities (an internal subset), "
                "which is how XML entity bombs are built; no feed or sitemap needs one"
            )
        elif char == ord(">"):
            return position + 1
        position += 1
    raise NotAFeedOrSitemap("not a feed or sitemap: unterminated DOCTYPE")
