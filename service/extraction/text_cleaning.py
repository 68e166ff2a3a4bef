"""Plain-text cleaning: from a scraped or pasted article to its body paragraphs.

The pipeline, applied to plain text and to trafilatura's output alike:
1. normalise white space (no-break and narrow spaces, zero-width characters, line separators);
2. fingerprint every raw line, so the caller can learn which lines recur across a source;
3. drop lines the caller already knows as the source's boilerplate (`known_boilerplate`);
4. drop lines whose shape is boilerplate (see boilerplate.py), and the title and its repeats
   (other repeated lines stay: a recipe repeats "1 cup rice", a liveblog its separators);
5. strip footnote markers glued to words ("talibans*").
Paragraphs are the input's non-empty lines; the output joins them with a blank line.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import datetime

from service.extraction.article import ExtractedArticle
from service.extraction.boilerplate import FOOTNOTE_MARKER_RE, LineKind, classify_line, word_count
from service.extraction.dates import parse_date
from service.extraction.language import detect_language

# Characters with no width that break token and line matching: zero-width space, word joiner,
# byte-order mark, soft hyphen. Zero-width (non-)joiners stay: they shape Persian and Indic text.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"))
_LINE_SEPARATORS = {ord(char): "\n" for char in "\r\u2028\u2029\x85\x0b\x0c"}
_TRANSLATION: dict[int, str | None] = {**_INVISIBLE, **_LINE_SEPARATORS}

_WORD_RE = re.compile(r"\w+")

# Headlines in the dev set run to 25 words; a longer first line is a lead paragraph.
_TITLE_MAX_WORDS = 30
# Headlines do not end with a full stop (12 of the dev set's 531 first lines do, and those are
# leads or notices) nor with a colon (a lead-in); "..." and "?" are fine.
_NOT_A_HEADLINE_END_RE = re.compile(r"[^\W\d_]\.$|:$")
# "Title | Outlet" or "Title - Outlet": a repeat of the title with the site's name appended.
_TITLE_SUFFIX_MAX_WORDS = 6
_TITLE_SUFFIX_SEPARATOR_RE = re.compile(r"\s*[|\-–—:·•/(]")

# Always dropped, wherever they stand.
_ALWAYS_DROPPED = frozenset(
    {
        LineKind.NO_WORDS,
        LineKind.URL,
        LineKind.DATE,
        LineKind.COPYRIGHT,
        LineKind.CROSS_LINK,
        LineKind.SOCIAL_CALL_TO_ACTION,
        LineKind.TEASER_BYLINE,
    }
)
# Dropped only before the first or after the last body paragraph: inside the body a short
# upper-case line is a subheading, a "*" line may be a list item, and a bare link (a line that
# is only a link) is part of what the article presents, such as a list of offers. At the edges
# it is a source or share line. Keeping inner bare links: extraction F1 0.964 -> 0.966
# (bench/extraction_quality.py). A labelled link line ("Source: ...") is always dropped.
_EDGE_DROPPED = frozenset({LineKind.HEADER, LineKind.FOOTNOTE, LineKind.BARE_LINK})


def normalise_whitespace(text: str) -> str:
    """NFC text with one "\\n" per line break, single spaces, and no invisible characters.

    Every Unicode space (U+00A0 no-break, U+202F narrow no-break, tabs...) becomes a plain
    space; lines are stripped; empty lines are kept, so paragraph breaks survive.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").translate(_TRANSLATION)
    # str.split() without arguments splits on every Unicode white-space character.
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


def _fingerprint_key(line: str) -> str:
    line = unicodedata.normalize("NFKC", line).translate(_TRANSLATION)
    return " ".join(line.split()).casefold()


def line_fingerprint(line: str) -> int:
    """A process-independent fingerprint of a line, as a signed 64-bit int (a PostgreSQL bigint).

    The line is NFKC-normalised, its white space folded and its case folded (digits kept), so
    the same line typed with a no-break space or in capitals has the same fingerprint.
    """
    digest = hashlib.blake2b(_fingerprint_key(line).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _title_tokens(text: str) -> tuple[str, ...]:
    return tuple(_WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold()))


def _repeats_title(line: str, title_tokens: tuple[str, ...]) -> bool:
    tokens = _title_tokens(line)
    if tokens == title_tokens:
        return True
    extra = len(tokens) - len(title_tokens)
    if not 0 < extra <= _TITLE_SUFFIX_MAX_WORDS or tokens[: len(title_tokens)] != title_tokens:
        return False
    # Only a suffix set off by a separator is a site name; "Title, says minister" is a sentence.
    folded = unicodedata.normalize("NFKC", line).casefold()
    title_pattern = r"\W*".join(re.escape(token) for token in title_tokens)
    match = re.match(rf"\W*{title_pattern}", folded)
    return match is not None and bool(_TITLE_SUFFIX_SEPARATOR_RE.match(folded[match.end() :]))


def _looks_like_title(line: str) -> bool:
    words = word_count(line)
    return 0 < words <= _TITLE_MAX_WORDS and not _NOT_A_HEADLINE_END_RE.search(line)


@dataclass(frozen=True)
class _Line:
    text: str
    fingerprint: int
    kind: LineKind | None
    learned: bool


def _infer_title(lines: Sequence[_Line]) -> str | None:
    """The first non-boilerplate line, if it is shaped like a headline and a body follows."""
    content = [line for line in lines if line.kind is None and not line.learned]
    if len(content) < 2 or not _looks_like_title(content[0].text):
        return None
    return content[0].text


def _leading_date(lines: Sequence[_Line]) -> datetime | None:
    """The date on a date-only line above the body (an outlet's date stamp)."""
    for line in lines:
        if line.kind is None and not line.learned:
            return None
        if line.kind is LineKind.DATE:
            found = parse_date(line.text)
            if found is not None:
                return found
    return None


# Learned boilerplate: the fingerprints themselves, or a lookup asked with the text's own line
# fingerprints (so a caller can query its store for just those lines).
BoilerplateLookup = Callable[[tuple[int, ...]], Container[int]]
KnownBoilerplate = Container[int] | BoilerplateLookup


@dataclass(frozen=True)
class CleanedText:
    title: str | None
    paragraphs: tuple[str, ...]
    published_at: datetime | None
    raw_line_fingerprints: tuple[int, ...]


def clean_paragraphs(
    raw: str,
    *,
    title: str | None,
    infer_title: bool,
    known_boilerplate: KnownBoilerplate,
) -> CleanedText:
    """The cleaning shared by the plain-text and HTML paths (see the module docstring).

    With infer_title, a missing title is taken from the text (the HTML path has metadata for it
    and must not mistake a first paragraph for a headline).
    """
    normalised = normalise_whitespace(raw)
    texts = [text for text in normalised.split("\n") if text]
    fingerprints = [line_fingerprint(text) for text in texts]
    raw_fingerprints = tuple(dict.fromkeys(fingerprints))
    # A lookup is asked once, with this text's own lines: the caller's store of learned
    # boilerplate is consulted without a second extraction pass.
    known = (
        known_boilerplate(raw_fingerprints) if callable(known_boilerplate) else known_boilerplate
    )
    lines = [
        _Line(text, fingerprint, classify_line(text), fingerprint in known)
        for text, fingerprint in zip(texts, fingerprints, strict=True)
    ]

    if title is not None:
        title = " ".join(normalise_whitespace(title).split()) or None
    if title is None and infer_title:
        title = _infer_title(lines)
    title_tokens = _title_tokens(title) if title else ()

    # A "*" line is a footnote for sure when the text marks a word with "*".
    has_glued_markers = bool(FOOTNOTE_MARKER_RE.search(normalised))
    kept: list[_Line] = []
    for line in lines:
        if line.learned or line.kind in _ALWAYS_DROPPED:
            continue
        if line.kind is LineKind.FOOTNOTE and has_glued_markers:
            continue
        if title_tokens and _repeats_title(line.text, title_tokens):
            continue
        kept.append(line)

    start, end = 0, len(kept)
    while start < end and kept[start].kind in _EDGE_DROPPED:
        start += 1
    while end > start and kept[end - 1].kind in _EDGE_DROPPED:
        end -= 1

    paragraphs = tuple(FOOTNOTE_MARKER_RE.sub("", line.text) for line in kept[start:end])
    if title is not None:
        title = FOOTNOTE_MARKER_RE.sub("", title)
    return CleanedText(
        title=title,
        paragraphs=paragraphs,
        published_at=_leading_date(lines),
        raw_line_fingerprints=raw_fingerprints,
    )


def clean_text(
    raw: str,
    *,
    title: str | None = None,
    known_boilerplate: KnownBoilerplate = frozenset(),
) -> ExtractedArticle:
    """Clean a plain-text article.

    If title is None it is taken from the article: the first line that is neither boilerplate
    nor learned boilerplate, if it is shaped like a headline and a body follows it. Every line
    repeating the title is dropped from the body.
    """
    cleaned = clean_paragraphs(
        raw, title=title, infer_title=True, known_boilerplate=known_boilerplate
    )
    return to_article(cleaned)


def to_article(cleaned: CleanedText, *, published_at: datetime | None = None) -> ExtractedArticle:
    text = "\n\n".join(cleaned.paragraphs)
    return ExtractedArticle(
        title=cleaned.title,
        text=text,
        published_at=published_at or cleaned.published_at,
        language=detect_language(text),
        raw_line_fingerprints=cleaned.raw_line_fingerprints,
    )
