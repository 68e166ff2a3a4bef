"""Pages that are not articles: block notices, paywalls, cookie walls, login forms, stubs."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from service.extraction import clean_text, not_article_reason

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_SET = REPO_ROOT.parent / "shared" / "eval" / "semeval_dev.jsonl"


@cache
def dev_set_texts() -> list[str]:
    texts = []
    with DEV_SET.open(encoding="utf-8") as lines:
        for line in lines:
            pair = json.loads(line)
            texts += [pair["text1"], pair["text2"]]
    return texts


@pytest.mark.parametrize(
    ("title", "text", "reason"),
    [
        (
            None,
            "Our systems have detected unusual traffic from your computer network. Please "
            "verify that you are not a robot by completing the captcha below.",
            "IP block or bot check",
        ),
        (
            "Przykro nam",
            "Z adresu IP, z którego się łączysz, odnotowaliśmy ogromną ilość połączeń. Jeśli "
            'chcesz połączyć się z nami, zaznacz "NIE JESTEM ROBOTEM".',
            "IP block or bot check",
        ),
        (
            "Ask Amy: Older father hates Granddad assumptions",
            "We hope you have enjoyed your complimentary access for the month. To continue "
            "reading, please sign in with your existing account or subscribe today.",
            "paywall or subscription notice",
        ),
        (
            "Exklusiv",
            "Dieser Artikel ist nur für Abonnenten verfügbar. Jetzt abonnieren und weiterlesen.",
            "paywall or subscription notice",
        ),
        (
            "Regierung muss bei Schienen-Elektrifizierung zulegen",
            "OK\n\nWir setzen auf unserer Website Cookies und andere Technologien ein, um Ihnen "
            "den vollen Funktionsumfang unseres Angebotes anzubieten. Durch die weitere Nutzung "
            "unserer Website erklären Sie sich damit einverstanden.",
            "cookie or consent wall",
        ),
        (
            None,
            "Sitemizde çerezlerden faydalanıyoruz. Sitemizi kullanmaya devam ederek çerezleri "
            "kullanmamıza izin vermiş oluyorsunuz.",
            "cookie or consent wall",
        ),
        (
            "Sign in",
            "E-mail or Username: Password: Remember me. Forgot your password? Sign in or create "
            "an account.",
            "login or registration form",
        ),
        (
            "VA Lottery",
            "We noticed you’re blocking ads! Keep supporting great journalism by turning off "
            "your ad blocker.",
            "ad-block wall",
        ),
    ],
)
def test_notices_are_not_articles(title: str | None, text: str, reason: str) -> None:
    assert not_article_reason(title, text) == f"not an article: {reason}"


def test_too_little_text_is_not_an_article_and_says_the_minimum() -> None:
    reason = not_article_reason(
        "Venezuela News And Views", "A blog about life under a dictatorship"
    )
    assert reason == "not an article: too little text (7 words, minimum 20)"


def test_article_with_a_notice_appended_is_still_an_article() -> None:
    body = " ".join(
        f"Sentence {number} of the report says the council approved the new bridge plan."
        for number in range(6)
    )
    text = body + "\n\nWe use cookies to improve your experience. Subscribe to continue reading."
    assert not_article_reason("Council approves bridge", text) is None


def test_article_about_data_protection_is_not_a_cookie_wall() -> None:
    text = (
        "The regulator fined the company for sharing personal data without consent. "
        "Its privacy policy, the regulator said, did not explain which personal data was sold. "
        "The company said it would appeal and update its privacy policy next month."
    )
    assert not_article_reason("Company fined over personal data", text) is None


@pytest.mark.parametrize("number", ["000", "001", "002", "003", "004"])
def test_seeds_are_articles(number: str) -> None:
    (path,) = (REPO_ROOT / "seeds").glob(f"{number}_*.txt")
    article = clean_text(path.read_text(encoding="utf-8"))
    assert not_article_reason(article.title, article.text) is None


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ("Przykro nam, ale z adresu IP", "IP block or bot check"),
        ("VA Lottery\nWe noticed you’re blocking ads!", "ad-block wall"),
        ("Two hurt in when snowmobile crashed into tree\nYou have reached", "paywall"),
        ("Grüne: Regierung muss bei Schienen-Elektrifizierung zulegen\nOK", "cookie"),
    ],
)
def test_dev_set_scrape_failures_are_flagged(start: str, reason: str) -> None:
    matches = [text for text in dev_set_texts() if text.startswith(start)]
    assert matches
    for text in matches:
        flagged = not_article_reason(None, text)
        assert flagged is not None
        assert reason in flagged


def test_dev_set_real_articles_are_not_flagged() -> None:
    # 38 of the dev set's 1,968 texts are flagged, every one a scrape failure (block notices,
    # paywalls, cookie walls, login prompts, site slogans). None has 150 words.
    flagged = [text for text in dev_set_texts() if not_article_reason(None, text)]
    assert len(flagged) <= 40
    assert all(len(text.split()) < 150 for text in flagged)
