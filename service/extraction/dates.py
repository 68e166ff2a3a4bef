"""Dates written on a line: recognise date-only lines and read the date they carry.

Month and weekday names cover the dev set's languages (en, fr, de, es, pl, tr, ar). They let the
cleaner tell a date stamp ("| 19 October 2021, Tuesday |") from a short content line that merely
mentions a year ("Brexit in 2020"): a date line holds nothing but date words.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

# One row per spelling, January to December: full names, abbreviations, Polish genitives,
# Turkish without diacritics, Levantine Arabic names.
_MONTH_ROWS: tuple[tuple[str, ...], ...] = (
    ("january", "february", "march", "april", "may", "june",
     "july", "august", "september", "october", "november", "december"),
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ("janvier", "février", "mars", "avril", "mai", "juin",
     "juillet", "août", "septembre", "octobre", "novembre", "décembre"),
    ("janv", "févr", "mars", "avr", "mai", "juin", "juil", "aout", "sept", "oct", "nov", "déc"),
    ("januar", "februar", "märz", "april", "mai", "juni",
     "juli", "august", "september", "oktober", "november", "dezember"),
    ("jänner", "feb", "mär", "apr", "mai", "jun", "jul", "aug", "sept", "okt", "nov", "dez"),
    ("enero", "febrero", "marzo", "abril", "mayo", "junio",
     "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"),
    ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "setiembre", "oct", "nov", "dic"),
    ("styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec",
     "lipiec", "sierpień", "wrzesień", "październik", "listopad", "grudzień"),
    ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca",
     "lipca", "sierpnia", "września", "października", "listopada", "grudnia"),
    ("ocak", "şubat", "mart", "nisan", "mayıs", "haziran",
     "temmuz", "ağustos", "eylül", "ekim", "kasım", "aralık"),
    ("ocak", "subat", "mart", "nisan", "mayis", "haziran",
     "temmuz", "agustos", "eylul", "ekim", "kasim", "aralik"),
    ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
     "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"),
    ("كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران",
     "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول"),
)  # fmt: skip

MONTHS: dict[str, int] = {
    name: number for row in _MONTH_ROWS for number, name in enumerate(row, start=1)
}

_WEEKDAYS = frozenset((
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonnabend", "sonntag",
    "lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo",
    "poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela",
    "pazartesi", "salı", "çarşamba", "perşembe", "cuma", "cumartesi", "pazar",
    "الأحد", "الاثنين", "الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت",
))  # fmt: skip

# Words that sit on date stamps besides month and weekday names: "Updated 3 Jan 2020, 5:07 PM GMT".
_DATE_LABELS = frozenset((
    "date", "published", "updated", "posted", "modified", "last",
    "am", "pm", "gmt", "utc", "cet", "cest", "est", "edt", "pst", "pdt", "bst",
    "publié", "publie", "mis", "jour", "modifié",
    "veröffentlicht", "aktualisiert", "aktualisierung", "stand", "uhr",
    "publicado", "actualizado", "actualización", "las",
    "opublikowano", "aktualizacja", "godz",
    "yayınlanma", "yayınlandı", "güncellendi", "güncelleme", "tarihi", "saat",
    "نشر", "بتاريخ", "تحديث", "آخر",
))  # fmt: skip

DATE_WORDS: frozenset[str] = (
    frozenset(word for name in MONTHS for word in name.split()) | _WEEKDAYS | _DATE_LABELS
)

NUMERIC_DATE = r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2}))"
_NUMERIC_DATE_RE = re.compile(NUMERIC_DATE)
_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_TIME_RE = re.compile(r"(?<!\d)\d{1,2}[:h]\d{2}(?!\d)")

_month_alternatives = "|".join(re.escape(name) for name in sorted(MONTHS, key=len, reverse=True))
# "19 October 2021", "3. Januar 2020", "28 de septiembre de 2021", "October 19, 2021"
TEXTUAL_DATE = (
    rf"(?:\d{{1,2}}\.?\s+(?:de\s+)?(?:{_month_alternatives})\.?,?\s+(?:de\s+)?\d{{4}}"
    rf"|(?:{_month_alternatives})\.?\s+\d{{1,2}},?\s+\d{{4}})"
)
_DAY_MONTH_YEAR_RE = re.compile(
    rf"(?<!\w)(\d{{1,2}})\.?\s+(?:de\s+)?({_month_alternatives})\.?,?\s+(?:de\s+)?(\d{{4}})(?!\d)",
    re.IGNORECASE,
)
_MONTH_DAY_YEAR_RE = re.compile(
    rf"(?<!\w)({_month_alternatives})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})(?!\d)", re.IGNORECASE
)
_ISO_DATE_RE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
# Day first with dots is the European convention; slashes are left alone (US and European
# readings disagree, and a wrong date is worse than none).
_DOTTED_DATE_RE = re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)")

_TOKEN_RE = re.compile(r"\w+")

# Short function words on date stamps ("le", "à", "am", "de") are allowed without listing them.
_MAX_FREE_WORD_LENGTH = 2
# A date stamp is a handful of tokens ("Updated 3 Jan 2020 at 17:07 GMT" is 7); a longer line
# with a date in it is a sentence.
_MAX_DATE_LINE_TOKENS = 12


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def has_date(text: str) -> bool:
    """True if the text contains a year, a numeric date or a clock time."""
    return bool(_YEAR_RE.search(text) or _NUMERIC_DATE_RE.search(text) or _TIME_RE.search(text))


def is_date_only(line: str) -> bool:
    """True for a line made only of a date and date words: a date stamp, not content."""
    folded = _fold(line)
    tokens = _TOKEN_RE.findall(folded)
    if not tokens or len(tokens) > _MAX_DATE_LINE_TOKENS or not has_date(folded):
        return False
    for token in tokens:
        if token.isdigit() or token in DATE_WORDS or len(token) <= _MAX_FREE_WORD_LENGTH:
            continue
        # Times like "17h30" and ordinals like "1er" / "3rd" tokenise as one mixed token.
        if any(char.isdigit() for char in token):
            continue
        return False
    return True


def parse_date(line: str) -> datetime | None:
    """The first complete calendar date written on the line, as midnight UTC; None if none.

    Only day-level dates are read; a month alone ("2021-09") is not a publication date.
    """
    folded = _fold(line)
    candidates: list[tuple[int, int, int, int]] = []  # (position, year, month, day)
    for match in _ISO_DATE_RE.finditer(folded):
        candidates.append(
            (match.start(), int(match.group(1)), int(match.group(2)), int(match.group(3)))
        )
    for match in _DOTTED_DATE_RE.finditer(folded):
        candidates.append(
            (match.start(), int(match.group(3)), int(match.group(2)), int(match.group(1)))
        )
    for match in _DAY_MONTH_YEAR_RE.finditer(folded):
        month = MONTHS[match.group(2).casefold()]
        candidates.append((match.start(), int(match.group(3)), month, int(match.group(1))))
    for match in _MONTH_DAY_YEAR_RE.finditer(folded):
        month = MONTHS[match.group(1).casefold()]
        candidates.append((match.start(), int(match.group(3)), month, int(match.group(2))))
    for _, year, month, day in sorted(candidates):
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            continue
    return None
