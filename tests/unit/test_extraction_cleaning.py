"""Plain-text cleaning: the seeds lose their boilerplate and keep every real paragraph."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.extraction import clean_text, line_fingerprint, normalise_whitespace

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"


def read_seed(number: str) -> str:
    (path,) = SEEDS_DIR.glob(f"{number}_*.txt")
    return path.read_text(encoding="utf-8")


SEED_NUMBERS = ["000", "001", "002", "003", "004"]

# Boilerplate of the seeds' outlets; none of it may reach a stored text.
SEED_BOILERPLATE = [
    "Rejoignez",
    "News-Front",
    "Telegram",
    "Lire aussi",
    "interdit en Russie",
    "interdite en Russie",
    "interdite en Fédération de Russie",
    "*",
    "SAWT BEIRUT",
    "19 October 2021",
    "Tuesday",
    "date 2021-09",
    "https://",
    "sputniknews",
    "28.09.2021",
    "Sputnik France",
]

SEED_TITLES = {
    "000": "Poutine a proposé à Biden d’utiliser les bases russes en Asie centrale",
    "001": (
        "La Russie avertit Biden de rester en dehors de l'Asie centrale après le départ des "
        "troupes américaines d'Afghanistan"
    ),
    "002": "Poutine a proposé à Biden de coordonner les actions sur l’Afghanistan",
    "003": (
        "Les USA interrogent la Russie sur l’idée d’utiliser ses bases en Asie centrale, "
        "selon le WSJ"
    ),
    "004": "Lavrov : personne en Asie centrale ne veut devenir l’otage de la politique américaine",
}

SEED_LEADS = {
    "000": "Le président russe Vladimir Poutine a proposé en juin à son homologue américain",
    "001": "Sergei Ryabkov, qui est vice-ministre des Affaires étrangères à Moscou depuis 2008",
    "002": "Lors du sommet de Genève, Vladimir Poutine a suggéré à son homologue américain",
    "003": "La possibilité d’utiliser les bases russes d’Asie centrale pour lutter contre",
    "004": "Les questions de la présence de militaires étrangers dans les pays de l’OTSC",
}

# Raw lines of the seeds that are boilerplate (by their start), besides the title line.
SEED_BOILERPLATE_LINE_STARTS = (
    "SAWT BEIRUT",
    "| 19 October",
    "date 2021-09",
    "Interrogé par Mark Milley",  # teaser of another article, signed "28.09.2021, Sputnik France"
    "Lire aussi",
    "* ",
    "Rejoignez",
)


@pytest.mark.parametrize("number", SEED_NUMBERS)
def test_seed_boilerplate_is_absent_from_cleaned_text(number: str) -> None:
    article = clean_text(read_seed(number))
    for boilerplate in SEED_BOILERPLATE:
        assert boilerplate not in article.text


@pytest.mark.parametrize("number", SEED_NUMBERS)
def test_seed_title_is_extracted_and_not_repeated_in_body(number: str) -> None:
    article = clean_text(read_seed(number))
    assert article.title == SEED_TITLES[number]
    assert SEED_TITLES[number] not in article.text


@pytest.mark.parametrize("number", SEED_NUMBERS)
def test_seed_body_starts_with_its_lead(number: str) -> None:
    article = clean_text(read_seed(number))
    assert article.text.startswith(SEED_LEADS[number])
    assert article.language == "fr"


@pytest.mark.parametrize("number", SEED_NUMBERS)
def test_every_real_seed_paragraph_survives_cleaning(number: str) -> None:
    raw_lines = [line for line in normalise_whitespace(read_seed(number)).split("\n") if line]
    title = SEED_TITLES[number]
    real_paragraphs = [
        line
        for line in raw_lines
        if line != title and not line.startswith(SEED_BOILERPLATE_LINE_STARTS)
    ]
    cleaned_paragraphs = clean_text(read_seed(number)).text.split("\n\n")
    # Cleaning only removes footnote markers ("talibans*") and notes inlined after them.
    expected = [re.sub(r"\*(?: \([^)]*\))?", "", line) for line in real_paragraphs]
    assert cleaned_paragraphs == expected


def test_seed_003_repeated_title_appears_once() -> None:
    raw = read_seed("003")
    title = SEED_TITLES["003"]
    assert raw.count(title) == 2
    article = clean_text(raw)
    assert article.title == title
    assert title not in article.text


def test_seed_000_date_stamp_becomes_publication_date() -> None:
    article = clean_text(read_seed("000"))
    assert article.published_at == datetime(2021, 10, 19, tzinfo=UTC)


def test_no_break_spaces_are_normalised() -> None:
    raw = read_seed("001")
    assert "\u00a0" in raw
    article = clean_text(raw)
    assert "\u00a0" not in article.text
    assert "« mis en garde »" in article.text


def test_footnote_markers_are_stripped_from_words() -> None:
    article = clean_text(read_seed("002"))
    assert "militants talibans, qui se sont emparés" in article.text


# --- a sixth outlet: other boilerplate, same shapes ---------------------------------------------

SIXTH_OUTLET_ARTICLE = """THE DAILY PLANET

Updated: March 3, 2021 10:45 GMT

Mayor announces new bridge over the river

The mayor of Springfield on Tuesday announced plans for a new bridge over the river, saying \
construction would start next spring and cost about $40 million.

Read more: Council approves budget for 2021

Engineers said the bridge would carry four lanes of traffic and a cycle path, replacing a ferry \
that has operated since 1952.

Follow us on Twitter and Telegram for the latest news from Springfield.

© 2021 Some Outlet. All rights reserved.

https://dailyplanet.example/news/2021/03/03/bridge
"""


def test_sixth_outlet_boilerplate_is_removed_by_shape() -> None:
    article = clean_text(SIXTH_OUTLET_ARTICLE)
    assert article.title == "Mayor announces new bridge over the river"
    assert article.text == (
        "The mayor of Springfield on Tuesday announced plans for a new bridge over the river, "
        "saying construction would start next spring and cost about $40 million.\n\n"
        "Engineers said the bridge would carry four lanes of traffic and a cycle path, "
        "replacing a ferry that has operated since 1952."
    )
    assert article.published_at == datetime(2021, 3, 3, tzinfo=UTC)
    assert article.language == "en"


NEUTRAL_BODY = [
    "The regional government approved the plan on Monday after a long debate in parliament.",
    "Opposition parties said they would challenge the decision in court next month.",
]


@pytest.mark.parametrize(
    "boilerplate_line",
    [
        # cross-links
        "Lesen Sie auch: Regierung stellt neuen Haushalt vor",
        "Te puede interesar: Fuerte explosión en una bodega de pirotecnia",
        "Czytaj także: Sejm przyjął ustawę budżetową",
        "İlgili haber: Meclis bütçeyi kabul etti",
        "اقرأ أيضا: البرلمان يقر الميزانية الجديدة",
        "READ MORE: Car garages could be charging motorists extra for repairs",
        # social calls to action
        "Folgen Sie uns auf Facebook und Instagram!",
        "Síguenos en Twitter y en nuestro canal de Telegram",
        "Bizi Twitter ve Instagram'dan takip edin",
        "تابعونا على تويتر وفيسبوك",
        # date stamps, copyright, links, bylines
        "01. Januar 2020, 22:52 Uhr",
        "25 Mart 2020 Çarşamba 16:24",
        "Copyright 2020 The Associated Press. All rights reserved.",
        "Source: www.example-news.com",
        "Los ministros se reunieron el martes para debatir el plan... 28.09.2021, El Diario",
    ],
)
def test_boilerplate_shapes_are_removed_in_several_languages(boilerplate_line: str) -> None:
    raw = "\n\n".join([NEUTRAL_BODY[0], boilerplate_line, NEUTRAL_BODY[1]])
    article = clean_text(raw, title="Plan approved")
    assert article.text == "\n\n".join(NEUTRAL_BODY)


@pytest.mark.parametrize(
    "content_line",
    [
        # a subheading inside the body, in capitals
        "NISSAN SENTRA",
        # a short line with a year is not a date stamp
        "Brexit in 2020",
        # a sentence naming social networks without inviting anyone to follow
        "Trump told supporters to join him on Twitter after the vote, the newspaper said.",
        # a sentence that quotes a link
        "The full report is available at https://example.org/report and runs to 300 pages.",
        # a title-like sentence that merely starts like the title
        "Plan approved, said the minister, but only after two amendments.",
        # a bare link inside the body: one of the things the article presents
        "https://example.org/plan-documents",
    ],
)
def test_content_lines_resembling_boilerplate_are_kept(content_line: str) -> None:
    raw = "\n\n".join([NEUTRAL_BODY[0], content_line, NEUTRAL_BODY[1]])
    article = clean_text(raw, title="Plan approved")
    assert content_line in article.text.split("\n\n")


def test_bare_links_before_and_after_the_body_are_dropped() -> None:
    raw = "\n\n".join(["https://example.org/share", *NEUTRAL_BODY, "www.example.org/source"])
    article = clean_text(raw, title="Plan approved")
    assert article.text == "\n\n".join(NEUTRAL_BODY)


def test_given_title_overrides_inference_and_its_repeats_are_dropped() -> None:
    raw = "Plan approved | Springfield Gazette\n\n" + "\n\n".join(NEUTRAL_BODY)
    article = clean_text(raw, title="Plan approved")
    assert article.title == "Plan approved"
    assert article.text == "\n\n".join(NEUTRAL_BODY)


def test_text_without_a_headline_keeps_its_first_paragraph() -> None:
    article = clean_text("\n\n".join(NEUTRAL_BODY))
    assert article.title is None
    assert article.text == "\n\n".join(NEUTRAL_BODY)


# --- learned boilerplate -------------------------------------------------------------------------


def test_known_boilerplate_fingerprints_drop_their_lines() -> None:
    recurring = "Avatar_shz von dpa"
    raw = "\n\n".join([NEUTRAL_BODY[0], recurring, NEUTRAL_BODY[1]])
    assert recurring in clean_text(raw, title="Plan").text
    learned = frozenset({line_fingerprint("AVATAR_SHZ  von\u00a0dpa")})
    assert clean_text(raw, title="Plan", known_boilerplate=learned).text == "\n\n".join(
        NEUTRAL_BODY
    )


def test_known_boilerplate_drops_a_learned_paragraph_no_shape_rule_catches() -> None:
    seed = read_seed("002")
    learned = next(line for line in seed.split("\n") if line.startswith("Le ministre russe"))
    assert learned.strip() in clean_text(seed).text
    article = clean_text(seed, known_boilerplate={line_fingerprint(learned)})
    assert "Le ministre russe" not in article.text
    assert article.text.startswith(SEED_LEADS["002"])


def test_raw_line_fingerprints_cover_every_raw_line_including_boilerplate() -> None:
    seed = read_seed("002")
    article = clean_text(seed)
    raw_lines = [line for line in seed.split("\n") if line.strip()]
    assert len(article.raw_line_fingerprints) == len(raw_lines)
    assert line_fingerprint(raw_lines[-1]) in article.raw_line_fingerprints
    assert (
        line_fingerprint(
            "Rejoignez News-Front sur Facebook, GAB, Vkontakte, et Telegram pour découvrir "
            "le choix de l’équipe"
        )
        in article.raw_line_fingerprints
    )


def test_raw_line_fingerprints_list_a_repeated_line_once() -> None:
    article = clean_text(read_seed("003"))
    assert article.raw_line_fingerprints.count(line_fingerprint(SEED_TITLES["003"])) == 1


# --- line_fingerprint ---------------------------------------------------------------------------


def test_line_fingerprint_ignores_case_and_white_space() -> None:
    assert line_fingerprint("Rejoignez\u00a0News-Front  sur Facebook") == line_fingerprint(
        "  rejoignez news-front sur FACEBOOK\u200b"
    )


def test_line_fingerprint_keeps_digits() -> None:
    assert line_fingerprint("Page 1") != line_fingerprint("Page 2")


def test_line_fingerprint_is_a_signed_64_bit_integer() -> None:
    fingerprints = [line_fingerprint(f"line {number}") for number in range(200)]
    assert all(-(2**63) <= value < 2**63 for value in fingerprints)
    assert any(value < 0 for value in fingerprints)


def test_line_fingerprint_is_stable_across_processes() -> None:
    # Python's hash() of a str changes with every process (PYTHONHASHSEED); ours must not.
    line = "Rejoignez News-Front sur Facebook"
    code = f"from service.extraction import line_fingerprint;print(line_fingerprint({line!r}))"
    output = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env={"PYTHONHASHSEED": "12345"},
    ).stdout
    assert int(output) == line_fingerprint(line) == PINNED_FINGERPRINT


# blake2b (8-byte digest, big-endian, signed) of "rejoignez news-front sur facebook".
PINNED_FINGERPRINT = 6680393450708018065
