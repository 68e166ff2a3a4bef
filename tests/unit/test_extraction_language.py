"""Language identification from justext's stoplists, on short paragraphs written here. The same
check on the dev set's real news is a benchmark: python -m bench.dev_set language."""

from __future__ import annotations

import re

import pytest

from service.extraction import detect_language, stopwords

# The dev set's languages, each with one news paragraph of about 40 words (a short paragraph:
# the length the dev-set sweep measures).
PARAGRAPHS = {
    "en": "The city council voted on Tuesday to build a new bridge across the river, and the "
    "mayor said that work would start in the spring if the regional government agrees to pay "
    "for half of the cost of the project.",
    "de": "Der Stadtrat hat am Dienstag beschlossen, eine neue Brücke über den Fluss zu bauen, "
    "und der Bürgermeister sagte, dass die Arbeiten im Frühjahr beginnen könnten, wenn die "
    "Landesregierung die Hälfte der Kosten für das Projekt übernimmt.",
    "es": "El ayuntamiento votó el martes a favor de construir un nuevo puente sobre el río, y el "
    "alcalde dijo que las obras podrían empezar en la primavera si el gobierno regional acepta "
    "pagar la mitad del coste del proyecto.",
    "tr": "Belediye meclisi salı günü nehir üzerine yeni bir köprü yapılmasına karar verdi ve "
    "belediye başkanı, bölge hükümeti projenin maliyetinin yarısını ödemeyi kabul ederse "
    "çalışmaların ilkbaharda başlayabileceğini söyledi. Bu karar şehirde çok tartışıldı ve "
    "bazı vatandaşlar da buna karşı çıktı.",
    "pl": "Rada miasta zagłosowała we wtorek za budową nowego mostu na rzece, a burmistrz "
    "powiedział, że prace mogą się rozpocząć wiosną, jeśli rząd regionalny zgodzi się zapłacić "
    "połowę kosztów tego projektu. Nie wszyscy mieszkańcy są jednak z tego zadowoleni.",
    "ar": "صوت مجلس المدينة يوم الثلاثاء على بناء جسر جديد فوق النهر، وقال رئيس البلدية إن "
    "العمل قد يبدأ في الربيع إذا وافقت الحكومة الإقليمية على دفع نصف تكلفة المشروع. وقال إن "
    "هذا القرار مهم جدا لكل سكان المدينة الذين ينتظرون منذ سنوات.",
    "fr": "Le conseil municipal a voté mardi la construction d'un nouveau pont sur le fleuve, et "
    "le maire a déclaré que les travaux pourraient commencer au printemps si le gouvernement "
    "régional accepte de payer la moitié du coût du projet.",
}
DEV_SET_LANGUAGES = list(PARAGRAPHS)


@pytest.mark.parametrize("language", DEV_SET_LANGUAGES)
def test_detects_each_dev_set_language_in_a_short_paragraph(language: str) -> None:
    assert detect_language(PARAGRAPHS[language]) == language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (
            "The regional government approved the plan on Monday after a long debate in "
            "parliament, and opposition parties said they would challenge the decision in court.",
            "en",
        ),
        (
            "Le gouvernement régional a approuvé le plan lundi après un long débat au parlement, "
            "et les partis d'opposition ont annoncé qu'ils contesteraient la décision en justice.",
            "fr",
        ),
        (
            "Die Landesregierung hat den Plan am Montag nach einer langen Debatte im Parlament "
            "gebilligt, und die Opposition will die Entscheidung vor Gericht anfechten.",
            "de",
        ),
    ],
)
def test_detects_a_plain_sentence_pair(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["", "Breaking news", "Poutine a proposé à Biden des bases"])
def test_too_little_text_has_no_language(text: str) -> None:
    assert detect_language(text) is None


def test_text_without_words_has_no_language() -> None:
    assert detect_language("2021 " * 50) is None


@pytest.mark.parametrize("language", DEV_SET_LANGUAGES)
def test_stopwords_are_lower_case_words_of_the_language(language: str) -> None:
    words = stopwords(language)
    assert len(words) > 100
    assert all(word == word.lower() and re.fullmatch(r"[^\W\d_]+", word) for word in words)


def test_stopwords_hold_common_function_words() -> None:
    assert {"the", "and", "of"} <= stopwords("en")
    assert {"le", "la", "les", "des"} <= stopwords("fr")
    assert "und" in stopwords("de")
    # Names from Wikipedia's English debris are not Polish stopwords.
    assert "john" not in stopwords("pl")


def test_stopwords_of_unknown_language_are_empty() -> None:
    assert stopwords("xx") == frozenset()
    assert stopwords(None) == frozenset()
