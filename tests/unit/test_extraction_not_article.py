"""Pages that are not articles: block notices, paywalls, cookie walls, login forms, stubs."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.extraction import clean_text, not_article_reason

REPO_ROOT = Path(__file__).resolve().parents[2]


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
            "Two hurt when snowmobile crashed into tree",
            "You have reached your limit of free articles this month. Subscribe now for "
            "unlimited access to local news.",
            "paywall or subscription notice",
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


def test_long_article_using_the_notices_words_is_an_article() -> None:
    """The words of notices (cookies, subscribers, sign in, robot) in a real report: the dev
    set's sweep (python -m bench.dev_set not-article) checks the same on 1,968 real texts."""
    text = (
        "The city's largest bakery said on Monday that it would stop selling cookies at its "
        "three downtown shops after the price of butter doubled this year. Its owner told "
        "reporters that subscribers to the bakery's weekly box would still receive biscuits, "
        "and that customers could sign in to the shop's website to change an order.\n\n"
        "The newspaper's own subscription numbers rose in the same period, its publisher said, "
        "because readers wanted local reporting on prices. A robot that packs boxes at the "
        "bakery's warehouse was switched off to save electricity, and four workers were moved "
        "to the shops instead.\n\n"
        "Economists at the regional university said that food prices in the province had risen "
        "by eleven percent since January, twice the national rate, and that small businesses "
        "were hit hardest because they cannot buy in bulk. The council will discuss a support "
        "scheme for independent shops at its meeting next Thursday, the mayor's office said, "
        "and the bakery's owner plans to speak there."
    )
    assert len(text.split()) >= 150
    assert not_article_reason("Bakery stops selling cookies as butter prices double", text) is None
