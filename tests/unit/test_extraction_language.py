"""Language identification from justext's stoplists, checked on the dev set's real news."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from service.extraction import detect_language, stopwords

DEV_SET = Path(__file__).resolve().parents[3] / "shared" / "eval" / "semeval_dev.jsonl"
DEV_SET_LANGUAGES = ["en", "de", "es", "tr", "pl", "ar", "fr"]
SNIPPETS_PER_LANGUAGE = 15
# 40 words: a short paragraph. The detector misreads 0.3% of 40-word excerpts of the dev set.
SNIPPET_WORDS = 40


@cache
def dev_set_texts() -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {language: [] for language in DEV_SET_LANGUAGES}
    with DEV_SET.open(encoding="utf-8") as lines:
        for line in lines:
            pair = json.loads(line)
            for side in ("1", "2"):
                text = pair[f"text{side}"]
                if text not in texts[pair[f"lang{side}"]]:
                    texts[pair[f"lang{side}"]].append(text)
    return texts


def snippets(language: str) -> list[str]:
    """40-word excerpts from the middle of the language's first long texts."""
    found = []
    for text in dev_set_texts()[language]:
        words = text.split()
        if len(words) >= 3 * SNIPPET_WORDS:
            middle = len(words) // 2
            found.append(" ".join(words[middle : middle + SNIPPET_WORDS]))
        if len(found) == SNIPPETS_PER_LANGUAGE:
            break
    return found


@pytest.mark.parametrize("language", DEV_SET_LANGUAGES)
def test_detects_each_dev_set_language_on_short_snippets(language: str) -> None:
    excerpts = snippets(language)
    assert len(excerpts) == SNIPPETS_PER_LANGUAGE
    detected = [detect_language(excerpt) for excerpt in excerpts]
    assert detected == [language] * SNIPPETS_PER_LANGUAGE


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
