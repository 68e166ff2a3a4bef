"""Boilerplate lines recognised by their shape.

Each rule describes what a kind of non-content line looks like in any outlet (a date stamp, a
bare link, a "read also" cross-link, a call to follow the outlet on social networks...), not the
exact strings of the outlets we happen to know. Short multilingual word lists complement the
shapes where a shape alone is ambiguous ("Lire aussi : <headline>" and "Lavrov : <headline>"
have the same shape). What no shape catches, the corpus teaches: lines that recur across a
source's articles arrive as `known_boilerplate` fingerprints (see text_cleaning).

Lines reaching these functions are already whitespace-normalised and stripped.
"""

from __future__ import annotations

import enum
import re

from service.extraction.dates import NUMERIC_DATE, TEXTUAL_DATE, is_date_only


class LineKind(enum.Enum):
    NO_WORDS = "no words"
    URL = "url"
    BARE_LINK = "bare link"
    DATE = "date"
    COPYRIGHT = "copyright"
    CROSS_LINK = "cross-link"
    SOCIAL_CALL_TO_ACTION = "social call to action"
    TEASER_BYLINE = "teaser or byline"
    FOOTNOTE = "footnote"
    HEADER = "header"


_WORD_RE = re.compile(r"\w+")
_LETTER_RE = re.compile(r"[^\W\d_]")

# --- bare links --------------------------------------------------------------------------------
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# Beside its link a link line carries at most a label and a date ("date 2021-09 https://...").
_URL_LINE_MAX_OTHER_WORDS = 3

# --- copyright notices ---------------------------------------------------------------------------
_COPYRIGHT_RE = re.compile(
    r"^(?:©|\(c\)\s|copyright\b)"
    r"|all rights reserved|tous droits réservés|alle rechte vorbehalten"
    r"|todos los derechos reservados|wszelkie prawa zastrzeżone|tüm hakları saklıdır"
    r"|جميع الحقوق محفوظة",
    re.IGNORECASE,
)
# A copyright notice is one or two sentences; a long line mentioning copyright is reporting.
_COPYRIGHT_MAX_WORDS = 40

# --- "read also" cross-links -------------------------------------------------------------------
_CROSS_LINK_MARKERS = (
    # fr
    "lire aussi", "à lire aussi", "a lire aussi", "lire également", "à lire également", "à lire",
    "voir aussi", "à voir aussi", "sur le même sujet", "lire la suite",
    # en
    "read more", "read also", "also read", "see also", "related", "related articles",
    "related article", "related stories", "related story", "recommended", "more on this",
    "read next", "watch",
    # de
    "lesen sie auch", "lesen sie mehr", "auch interessant", "mehr zum thema", "siehe auch",
    "weiterlesen", "das könnte sie auch interessieren",
    # es
    "lea también", "lee también", "leer más", "ver también", "te puede interesar",
    "le puede interesar", "noticia relacionada", "noticias relacionadas", "relacionado",
    "relacionada",
    # pl
    "czytaj też", "czytaj także", "czytaj więcej", "czytaj dalej", "zobacz też", "zobacz także",
    "przeczytaj też", "przeczytaj także", "polecamy",
    # tr
    "ayrıca okuyun", "ayrıca bakınız", "bunu da okuyun", "ilgili haber", "ilgili haberler",
    "devamını oku", "ilginizi çekebilir",
    # ar
    "اقرأ أيضا", "اقرأ أيضاً", "إقرأ أيضا", "إقرأ أيضاً", "اقرأ ايضا", "شاهد أيضا", "اقرأ المزيد",
    "مواضيع ذات صلة", "ذات صلة",
)  # fmt: skip
_CROSS_LINK_RE = re.compile(
    r"^[\[(«\"“]?\s*(?:"
    + "|".join(re.escape(marker) for marker in sorted(_CROSS_LINK_MARKERS, key=len, reverse=True))
    # A dash separates only with spaces round it: "Related-party deals rose" is a sentence.
    + r")\s*(?:[:：>»›|]|\s[-–—]\s|\.{3}|…|$)",
    re.IGNORECASE,
)
# Marker plus one headline; headlines run to about 25 words (dev set).
_CROSS_LINK_MAX_WORDS = 40

# --- social call to action ---------------------------------------------------------------------
_SOCIAL_NETWORK_RE = re.compile(
    r"\b(?:facebook|twitter|telegram|vkontakte|vk\.com|gab\.com|instagram|youtube|whatsapp|tiktok"
    r"|linkedin|snapchat|viber|odnoklassniki|x\.com|فيسبوك|فيس بوك|تويتر|تلغرام|تيليغرام|يوتيوب"
    r"|انستغرام|واتساب)\b",
    re.IGNORECASE,
)
# Case-sensitive and capitals only: "gab"/"Gab" is also German for "gave", "vk" an abbreviation.
_SHORT_SOCIAL_NETWORK_RE = re.compile(r"\b(?:GAB|VK)\b")
# Imperatives and first-person-plural invitations: the reader is asked to follow the outlet.
_CALL_TO_ACTION_RE = re.compile(
    r"\b(?:follow us|follow our|join us|join our|like us|find us|connect with us|subscribe"
    r"|stay connected|rejoignez|suivez|abonnez|retrouvez-nous|retrouvez nous|folgen sie|folge uns"
    r"|abonnieren|abonniere|besuchen sie uns|síguenos|siguenos|síganos|únete|unete|suscríbete"
    r"|suscribete|obserwuj|dołącz|subskrybuj|śledź nas|polub nas|takip edin|takip et|abone ol"
    r"|katılın|bizi takip|تابعونا|تابعنا|تابعوا|انضم|انضموا|اشترك|اشتركوا)\b",
    re.IGNORECASE,
)
# A call to action is one short sentence; a longer line naming a network is news about it.
_CALL_TO_ACTION_MAX_WORDS = 30
# A line listing several networks and little else is a share bar ("Facebook Twitter WhatsApp").
_SHARE_BAR_MIN_NETWORKS = 3
_SHARE_BAR_MAX_WORDS = 12

# --- teasers and bylines -----------------------------------------------------------------------
_DATE = rf"(?:{NUMERIC_DATE}|{TEXTUAL_DATE})"
# "..., 28.09.2021, Sputnik France": a line signed off with a date and an outlet name (a few
# words, at most 40 characters).
_OUTLET_NAME_RE = re.compile(r"\s*[^\W\d_][\w .&'’-]{0,40}")
_DATE_AT_END_RE = re.compile(rf"{_DATE}$", re.IGNORECASE)
# Longer than the longest written date ("30 de septiembre de 2021", "30 października 2021").
_LONGEST_DATE_CHARS = 30
# "...accueillir des militaires... 28.09.2021": a truncated lead followed by its date.
_ELLIPSIS_RE = re.compile(r"\.\.\.|…")
_TEASER_RE = re.compile(rf"(?:\.\.\.|…)\s*[(\[]?\s*{_DATE}", re.IGNORECASE)
# A teaser is a truncated lead (about 2 sentences); longer lines are paragraphs quoting a date.
_TEASER_MAX_WORDS = 60

# --- footnotes -----------------------------------------------------------------------------------
_FOOTNOTE_RE = re.compile(r"^(?:[*†‡]+|\(\*+\)|[¹²³⁴⁵⁶⁷⁸⁹]+)\s*\S")
# A footnote explains one marked word in a sentence or two.
_FOOTNOTE_MAX_WORDS = 40
# "talibans*": a footnote marker glued to the word it annotates (two at most: "**" is a second
# note; three or more is censorship, "f***", and stays), with the note itself when an outlet
# inlines it in brackets right after the marker ("talibans* (organisation interdite en Russie)").
FOOTNOTE_MARKER_RE = re.compile(
    r"(?<=[^\W\d_])[*†‡]{1,2}(?:\s*\([^()]{1,200}\))?(?=[\s.,;:!?)\]»\"”’]|$)"
)

# --- headers -------------------------------------------------------------------------------------
# Outlet names and section labels ("SAWT BEIRUT INTERNATIONAL", "WORLD NEWS") are a few words.
_HEADER_MAX_WORDS = 8
# "Mostly upper-case": leaves room for a lower-case particle ("SAWT de BEIRUT").
_HEADER_MIN_UPPER_SHARE = 0.8
# Two cased letters at least, so that a lone initial or digit is not a header.
_HEADER_MIN_CASED_LETTERS = 2
_SENTENCE_END_RE = re.compile(r"[.!?;:]$")


def word_count(line: str) -> int:
    return len(_WORD_RE.findall(line))


def is_url_line(line: str) -> bool:
    if not _URL_RE.search(line):
        return False
    return word_count(_URL_RE.sub(" ", line)) <= _URL_LINE_MAX_OTHER_WORDS


def is_copyright_line(line: str) -> bool:
    return word_count(line) <= _COPYRIGHT_MAX_WORDS and bool(_COPYRIGHT_RE.search(line))


def is_cross_link_line(line: str) -> bool:
    return word_count(line) <= _CROSS_LINK_MAX_WORDS and bool(_CROSS_LINK_RE.match(line))


def is_social_call_to_action(line: str) -> bool:
    words = word_count(line)
    networks = {match.casefold() for match in _SOCIAL_NETWORK_RE.findall(line)}
    networks.update(match.casefold() for match in _SHORT_SOCIAL_NETWORK_RE.findall(line))
    if not networks:
        return False
    if words <= _SHARE_BAR_MAX_WORDS and len(networks) >= _SHARE_BAR_MIN_NETWORKS:
        return True
    return words <= _CALL_TO_ACTION_MAX_WORDS and bool(_CALL_TO_ACTION_RE.search(line))


def is_teaser_or_byline(line: str) -> bool:
    if word_count(line) > _TEASER_MAX_WORDS:
        return False
    # The date patterns are long alternations: only try them where they can match.
    head, comma, outlet = line.rpartition(",")
    head = head.rstrip()
    if (
        comma
        and head[-1:].isdigit()
        and _OUTLET_NAME_RE.fullmatch(outlet)
        and _DATE_AT_END_RE.search(head[-_LONGEST_DATE_CHARS:])
    ):
        return True
    return any(_TEASER_RE.match(line, ellipsis.start()) for ellipsis in _ELLIPSIS_RE.finditer(line))


def is_footnote_line(line: str) -> bool:
    return word_count(line) <= _FOOTNOTE_MAX_WORDS and bool(_FOOTNOTE_RE.match(line))


def is_header_line(line: str) -> bool:
    if word_count(line) > _HEADER_MAX_WORDS or _SENTENCE_END_RE.search(line):
        return False
    cased = [char for char in line if char.isupper() or char.islower()]
    if len(cased) < _HEADER_MIN_CASED_LETTERS:
        return False
    upper = sum(1 for char in cased if char.isupper())
    return upper / len(cased) >= _HEADER_MIN_UPPER_SHARE


def classify_line(line: str) -> LineKind | None:
    """The boilerplate shape of a line, or None if it looks like content.

    HEADER and FOOTNOTE are only candidates: the caller decides by position (a short upper-case
    line inside the body is a subheading; a leading "*" line is a footnote only if the text
    marks a word with "*" or the line sits at the end).
    """
    if not _LETTER_RE.search(line):
        return LineKind.NO_WORDS
    if is_url_line(line):
        return LineKind.BARE_LINK if not word_count(_URL_RE.sub(" ", line)) else LineKind.URL
    if is_date_only(line):
        return LineKind.DATE
    if is_copyright_line(line):
        return LineKind.COPYRIGHT
    if is_cross_link_line(line):
        return LineKind.CROSS_LINK
    if is_social_call_to_action(line):
        return LineKind.SOCIAL_CALL_TO_ACTION
    if is_teaser_or_byline(line):
        return LineKind.TEASER_BYLINE
    if is_footnote_line(line):
        return LineKind.FOOTNOTE
    if is_header_line(line):
        return LineKind.HEADER
    return None
