"""Story features: tokenisation, attributions, serialisation; no database needed."""

from __future__ import annotations

import justext

from service.dedup.features import (
    FEATURE_VERSION,
    KEY_STEM_LENGTH,
    MAX_KEY_NAMES,
    StoryFeatures,
    extract_attributions,
    extract_features,
    split_sentences,
    tokenize,
)

FRENCH = frozenset(w.casefold() for w in justext.get_stoplist("French"))
ENGLISH = frozenset(w.casefold() for w in justext.get_stoplist("English"))
GERMAN = frozenset(w.casefold() for w in justext.get_stoplist("German"))


def test_glued_sentences_split_into_tokens_and_sentences() -> None:
    text = "une source anonyme gouvernementale.Selon le quotidien, rien."
    assert "gouvernementale" in tokenize(text)
    assert "selon" in tokenize(text)
    assert len(split_sentences(text)) == 2


def test_tokens_are_folded() -> None:
    assert tokenize("Sergueï Guérassimov") == ["serguei", "guerassimov"]


def test_attribution_after_a_verb_and_a_day() -> None:
    text = "Poutine a proposé des bases, a rapporté samedi le journal Kommersant."
    assert "kommersant" in extract_attributions(text, FRENCH)


def test_attribution_selon_acronym() -> None:
    assert "wsj" in extract_attributions("Les USA interrogent la Russie, selon le WSJ", FRENCH)


def test_attribution_according_to() -> None:
    text = "Troops moved north overnight, according to Reuters."
    assert "reuters" in extract_attributions(text, ENGLISH)


def test_attribution_laut() -> None:
    assert "spiegel" in extract_attributions("Laut Spiegel plant die Regierung mehr.", GERMAN)


def test_long_outlet_name_meets_its_acronym() -> None:
    keys = extract_attributions("a rapporté le Wall Street Journal", FRENCH)
    assert "wsj" in keys


def test_arabic_and_turkish_and_polish_do_not_crash() -> None:
    for text in (
        "أعلنت السلطات في إيطاليا ارتفاع عدد الوفيات جراء فيروس كورونا، بحسب وكالة الأنباء.",
        "Reuters'e göre İstanbul'da şiddetli yağış bekleniyor.",
        "Według PAP, Sejm przyjął ustawę.",
        "Die Grünen stimmen zu.\u00a0Österreichs Regierung steht.",
    ):
        features = extract_features("", text, stopwords=frozenset())
        assert features.term_weights


def test_features_round_trip_through_json() -> None:
    features = extract_features(
        "Poutine a proposé à Biden des bases",
        "Le président russe a proposé des bases, a rapporté samedi le journal Kommersant.",
        stopwords=FRENCH,
        language="fr",
    )
    assert StoryFeatures.from_json(features.to_json()) == features
    assert features.version == FEATURE_VERSION
    assert features.attributions == ("kommersant",)


def test_key_features_hold_lead_terms_and_names() -> None:
    features = extract_features(
        "Poutine a proposé à Biden des bases", "Texte du journal.", stopwords=FRENCH
    )
    keys = features.key_features()
    assert "t:" + "poutine"[:KEY_STEM_LENGTH] in keys
    assert "n:" + "biden"[:KEY_STEM_LENGTH] in keys


def test_key_features_join_inflections_and_cap_names() -> None:
    one = extract_features("Zoos", "Koalitionsvertrag des zoológico.", stopwords=GERMAN)
    other = extract_features("Zoos", "Koalitionsverhandlungen der zoológicos.", stopwords=GERMAN)
    assert one.key_features() == other.key_features()
    names = " ".join(f"Nom{chr(0x61 + i // 26)}{chr(0x61 + i % 26)}" for i in range(100))
    many = extract_features("", names, stopwords=frozenset())
    assert len([k for k in many.key_features() if k.startswith("n:")]) <= MAX_KEY_NAMES


def test_stopwords_are_matched_after_folding() -> None:
    features = extract_features("", "Il a été décidé.", stopwords=frozenset({"été"}))
    assert "ete" not in features.term_weights
