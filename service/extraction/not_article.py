"""Pages that are not articles: scrape failures that would otherwise cluster with each other.

On the dev set the closest "different story" pairs are not articles at all: two Polish IP-block
notices (cosine 1.00), an English paywall notice, a German cookie banner. Such pages share their
text across unrelated URLs, so they must be turned away before deduplication.

A notice is recognised by multilingual phrases, sentence by sentence. A page is rejected for a
notice only if, once the notice's sentences are set aside, too little text remains to be an
article: an article that ends with "We use cookies..." or "Subscribe to continue" is kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator

# Fewer words than this is no article: the dev set's texts under 20 words are all site headers
# or slogans ("Venezuela News And Views / A blog about life under...") and its shortest real
# brief has 21. Below it a story signature (shingles, lead, names) is mostly noise too.
MIN_ARTICLE_WORDS = 20
# Text left beside a notice must be a real brief to count as an article: twice the bare
# minimum, because the title and a teaser sentence usually survive next to a notice.
MIN_WORDS_BESIDE_NOTICE = 2 * MIN_ARTICLE_WORDS
# People write letters, digits, punctuation and spaces: in articles of any language, control
# characters, private-use and unassigned code points and U+FFFD (bytes that did not decode) are
# all but absent, while random bytes read as text are a quarter control characters. Past this
# share of the non-space characters the input is binary or decoded with the wrong charset.
MAX_GARBLED_SHARE = 0.05
# Enough characters to judge by, so a multi-megabyte text costs no more than a short one.
GARBLED_SAMPLE_CHARS = 100_000
_GARBLED_CATEGORIES = frozenset({"Cc", "Co", "Cs", "Cn"})
_NOTICE_PATTERNS: dict[str, tuple[str, ...]] = {
    "IP block or bot check": (
        r"unusual traffic", r"are you a robot", r"not a robot", r"verify (?:that )?you are",
        r"captcha", r"access denied", r"your ip address", r"ip address (?:has been|was) blocked",
        r"too many requests", r"checking your browser", r"request (?:was|has been) blocked",
        r"automated (?:queries|requests|access)",
        r"je ne suis pas un robot", r"votre adresse ip", r"trafic inhabituel", r"accès refusé",
        r"ich bin kein roboter", r"ihre ip-adresse", r"zugriff verweigert",
        r"ungewöhnliche[nr]? (?:datenverkehr|zugriffe)",
        r"no soy un robot", r"(?:tu|su) dirección ip", r"tráfico inusual", r"acceso denegado",
        r"nie jestem robotem", r"adres\w* ip\b", r"ilość połączeń", r"liczbę połączeń",
        r"robot değilim", r"ip adresiniz", r"olağandışı trafik", r"erişim engellendi",
        r"لست روبوت", r"عنوان ip", r"تم حظر",
    ),
    "ad-block wall": (
        r"ad ?blocker", r"adblock", r"blocking ads", r"werbeblocker", r"adblocka",
        r"bloqueur de pub", r"bloqueador de (?:anuncios|publicidad)", r"reklam engelleyici",
        r"مانع الإعلانات",
    ),
    "paywall or subscription notice": (
        r"subscribe (?:today|now|to (?:continue|read|keep))", r"subscribers? only",
        r"subscriber[- ]only", r"for subscribers", r"reached (?:the|your) (?:limit|maximum)",
        r"free (?:articles|access)", r"(?:to )?continue (?:reading|viewing)",
        r"purchase a subscription", r"already (?:a )?subscribe", r"complimentary access",
        r"subscriber account", r"available (?:only )?to subscribers", r"become a subscriber",
        r"premium content", r"unlimited (?:digital )?access", r"print edition",
        r"réservé aux abonnés", r"abonnez-vous pour", r"déjà abonné", r"pour lire la suite",
        r"nur für abonnenten", r"exklusiv für abonnenten", r"jetzt abonnieren", r"weiterlesen mit",
        r"bereits abonnent", r"um weiterzulesen", r"abo abschließen",
        r"exclusivo para suscriptores", r"suscríbete para", r"ya eres suscriptor",
        r"para seguir leyendo", r"contenido exclusivo",
        r"tylko dla (?:prenumeratorów|subskrybentów)", r"wykup (?:dostęp|subskrypcję|prenumeratę)",
        r"aby czytać dalej", r"aby czytać nasze artykuły",
        r"abonelere özel", r"okumaya devam etmek için",
        r"للمشتركين فقط", r"لمواصلة القراءة",
    ),
    # Consent-banner phrasing, not the words "cookie" or "personal data": articles about
    # baking or about data protection must not match.
    "cookie or consent wall": (
        r"\bcookies?\b.{0,80}\b(?:polic(?:y|ies)|settings|preferences|enabled|consent)",
        r"\b(?:we|site|website|partners)\s+(?:use|uses)\b.{0,40}\bcookies", r"use of cookies",
        r"accept(?:ing)? (?:all )?cookies", r"enable cookies", r"by continuing to use this",
        r"\b(?:verwende[nt]?|setzen|setzt|nutzen|nutzt)\b.{0,60}\bcookies",
        r"cookie[- ]?(?:richtlinie|einstellungen|informationen|hinweis)", r"von cookies",
        r"durch die weitere nutzung", r"datenschutzerklärung", r"datenschutzbestimmungen",
        r"akzeptieren und schließen",
        r"(?:utilisons|utilise) des cookies", r"en poursuivant votre navigation", r"tout accepter",
        r"(?:utilizamos|usamos|utiliza|usa) cookies", r"política de cookies", r"aceptar y cerrar",
        r"plik\w* cookie", r"ciasteczk", r"polityce prywatności", r"zaakceptuj i zamknij",
        r"wyrażasz zgodę", r"wyrażają państwo zgodę", r"chronić twoje dane",
        r"çerez", r"ملفات تعريف الارتباط",
    ),
    "error page": (
        r"page not found", r"404 not found", r"403 forbidden", r"seite nicht gefunden",
        r"page introuvable", r"página no encontrada", r"nie znaleziono strony",
        r"sayfa bulunamadı", r"الصفحة غير موجودة",
    ),
    "login or registration form": (
        r"password", r"mot de passe", r"passwort", r"contraseña", r"hasło", r"şifre",
        r"كلمة المرور", r"\bsign (?:in|up)\b", r"\blog ?in\b", r"\blogging in\b", r"register now",
        r"create an account", r"anmelden", r"einloggen", r"se connecter", r"iniciar sesión",
        r"zaloguj", r"giriş yap", r"تسجيل الدخول",
    ),
}  # fmt: skip
# Matched against lower-cased text: re.IGNORECASE makes these alternations 3-4 times slower.
_NOTICE_RES: dict[str, re.Pattern[str]] = {
    kind: re.compile("|".join(patterns)) for kind, patterns in _NOTICE_PATTERNS.items()
}

_WORD_RE = re.compile(r"\w+")
# Sentences end at a line break or at . ! ? followed by a space; notices glue sentences too
# ("połączeń.Zauważmy"), so a full stop directly followed by a capital also ends one.
_SENTENCE_SPLIT_RE = re.compile(r"\n+|(?<=[.!?])\s+|(?<=[a-zß-ÿ]\.)(?=[A-ZÀ-Ý])")


def _sentences(text: str) -> Iterator[str]:
    """Sentences one at a time: the caller usually stops after the first few."""
    start = 0
    for boundary in _SENTENCE_SPLIT_RE.finditer(text):
        yield text[start : boundary.start()]
        start = boundary.end()
    yield text[start:]


def _words(text: str) -> int:
    return len(_WORD_RE.findall(text))


def _notice_kind(text: str) -> str | None:
    # The first listed kind wins: "log in to your subscriber account" is a paywall before it is
    # a login form.
    lowered = text.lower()
    return next((kind for kind, pattern in _NOTICE_RES.items() if pattern.search(lowered)), None)


def _garbled_share(text: str) -> float:
    """The share of non-space characters that no one writes: controls, private use,
    unassigned code points, and U+FFFD where undecodable bytes were replaced."""
    written = "".join(text[:GARBLED_SAMPLE_CHARS].split())
    if not written:
        return 0.0
    # Fast path for nearly every text: printable means no control, private-use or unassigned
    # code point (the per-character look-up below costs more than the rest of the checks).
    if written.isprintable() and "\ufffd" not in written:
        return 0.0
    garbled = sum(
        1 for c in written if c == "\ufffd" or unicodedata.category(c) in _GARBLED_CATEGORIES
    )
    return garbled / len(written)


def not_article_reason(title: str | None, text: str) -> str | None:
    """Why this page is not an article ("not an article: cookie or consent wall"), or None."""
    garbled = _garbled_share(text)
    if garbled > MAX_GARBLED_SHARE:
        return (
            f"not an article: binary or garbled text ({garbled:.0%} of its characters are "
            "control or undecodable characters)"
        )
    notice_words: Counter[str] = Counter()
    # A notice in the title ("Access denied", "Subscribe to read") counts; the title's other
    # words do not make an article.
    title_kind = _notice_kind(title) if title else None
    if title_kind:
        notice_words[title_kind] += 1
    words_beside_notices = 0
    for sentence in _sentences(text):
        kind = _notice_kind(sentence)
        if kind:
            notice_words[kind] += _words(sentence)
            continue
        words_beside_notices += _words(sentence)
        if words_beside_notices >= MIN_WORDS_BESIDE_NOTICE:
            # Enough article text whatever follows: no need to read further.
            return None
    if notice_words:
        kind, _ = notice_words.most_common(1)[0]
        return f"not an article: {kind}"
    total_words = _words(text)
    if total_words < MIN_ARTICLE_WORDS:
        return f"not an article: too little text ({total_words} words, minimum {MIN_ARTICLE_WORDS})"
    return None
