"""Features that carry a story: title and lead above the tail, names, and who is cited.

Plain word shingles cannot tell a rewrite of one report from a different story on the same topic
(see ../shared/README.md: rewrites share no more 3-shingles than unrelated pairs). A news story is
carried by its title and lead, its rare terms and names, and the outlet it cites as the original
reporter, so those are what we extract. Everything here is pure and language-general: tokens are
Unicode `\\w+` runs, so Arabic, Turkish, Polish and German tokenise as well as French.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

# Bumped whenever feature extraction changes, and stored with each signature, so `reindex`
# knows which signatures were made differently. 2: prefix stems, position-decayed weights.
# 3: signature features cut to 4-letter stems, names capped.
FEATURE_VERSION = 3

# Terms are cut to their first five letters: a crude, language-general stemmer that joins
# inflections ("Koalitionsvertrag"/"Koalitionsverhandlungen" stay apart, "Tadjikistan"/
# "Tadjikistan's", "zoológico"/"zoológicos" meet). On the dev set, 5 beat 6, 7 and whole words.
STEM_LENGTH = 5
# A term's weight decays with its position among the content terms: 1 + 2 * exp(-i / 20). The
# title and first sentences state the story; the tail carries background that several stories on
# one topic share. On the dev set this beat flat weights and hard title/lead/body weights.
LEAD_BOOST = 2.0
LEAD_DECAY_TERMS = 20.0
# The lead, for the "is one article's lead told in the other" check: the first 15 content terms,
# about a headline and one sentence.
LEAD_TERMS = 15
# Attributions are looked for in the title and the first two sentences (capped at 60 words):
# the inverted pyramid puts the cited source there.
LEAD_SENTENCES = 2
LEAD_MAX_WORDS = 60
# Terms of one or two letters are mostly function words or elisions (l', d') in every language.
MIN_TERM_LENGTH = 3
# Signature features: the first content terms (title and lead) and the names; 40 is about the
# count of content terms in a headline and a two-sentence lead.
MAX_KEY_TERMS = 40
# The names in the signature: the first 30 distinct ones (the title's and lead's come first), so
# a long article's tail of passing mentions does not dilute the set that rewrites share.
MAX_KEY_NAMES = 30
# Signature features are cut one letter shorter than the score's stems: the candidate generator
# must not miss a rewrite's other inflections and compounds, and the score sharpens afterwards.
# On the dev set this raised LSH candidate recall of clear positives from 143 to about 150 of
# 187 at about twice the candidates per article (10 instead of 5).
KEY_STEM_LENGTH = 4

WORD_RE = re.compile(r"\w+", re.UNICODE)
# A sentence ends at . ! ? followed by space or directly by an upper-case letter: outlets glue
# sentences ("gouvernementale.Selon"), and the tokeniser must still split there.
SENTENCE_END_RE = re.compile(r"(?<=[.!?…])(?:\s+|(?=[^\W\d_]))(?=[\"«“„(]?[^\W\d_])", re.UNICODE)

# Phrases that introduce who reported the story: "selon le journal X", "according to X",
# "a rapporté X", "laut X", "según X". A small, language-general list of attribution cues; the
# name that follows is what we keep.
ATTRIBUTION_CUES_BEFORE_NAME = (
    # French
    "selon",
    "d'après",
    "d’après",
    "rapporté",
    "rapporte",
    "écrit",
    "citant",
    "révèle",
    "relayé",
    "relayée",
    # English
    "according to",
    "citing",
    "reported by",
    "cited by",
    "told",
    # German
    "laut",
    "berichtet",
    "berichtete",
    "berichten",
    "meldet",
    "meldete",
    "schreibt",
    "zufolge",
    # Spanish
    "según",
    "informó",
    "informa",
    "publicó",
    "citando",
    # Polish
    "według",
    "podał",
    "podała",
    "podaje",
    "donosi",
    "informuje",
    # Arabic
    "بحسب",
    "حسب",
    "وفقا",
    "نقلا عن",
)
# Cues that follow the name: "the Times reported", "Reuters'e göre".
ATTRIBUTION_CUES_AFTER_NAME = ("reported", "reports", "göre", "bildirdi", "reported on")
# How far after a cue we look for the name: "a rapporté samedi le journal Kommersant".
ATTRIBUTION_MAX_GAP_WORDS = 4
ATTRIBUTION_MAX_NAME_WORDS = 4


# Tokens follow Zipf's law: a few thousand distinct words make up most of any text, so folding
# is cached (about a quarter of the worker's feature time went to folding the same words again).
@lru_cache(maxsize=200_000)
def fold(token: str) -> str:
    """Lower-case and strip accents, so "Sergueï" and "Serguei" are one term."""
    if token.isascii():
        return token.lower()
    decomposed = unicodedata.normalize("NFKD", token.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(term: str) -> str:
    return term[:STEM_LENGTH]


def normalise_text(text: str) -> str:
    """NFKC folds no-break and other exotic spaces into plain ones (the seeds use U+00A0)."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=64)
def folded_stopwords(stopwords: frozenset[str]) -> frozenset[str]:
    """Stopwords folded like tokens ("été" -> "ete"); cached per list, as callers pass the
    same few frozensets again and again."""
    return frozenset(fold(w) for w in stopwords)


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if paragraph:
            sentences.extend(s.strip() for s in SENTENCE_END_RE.split(paragraph) if s.strip())
    return sentences


def tokenize(text: str) -> list[str]:
    """Folded `\\w+` runs: "gouvernementale.Selon" gives two tokens, Arabic and Turkish words
    are kept whole."""
    return [fold(t) for t in WORD_RE.findall(text)]


def content_terms(tokens: Iterable[str], stopwords: frozenset[str]) -> list[str]:
    """Tokens that carry content: not stopwords, not bare numbers, at least three letters."""
    return [
        t for t in tokens if len(t) >= MIN_TERM_LENGTH and t not in stopwords and not t.isdigit()
    ]


def is_capitalised(word: str) -> bool:
    return bool(word) and word[0].isupper()


def extract_names(text: str, stopwords: frozenset[str]) -> list[str]:
    """Capitalised words that are not stopwords, wherever they stand.

    Sentence-initial words are capitalised too, but those are mostly stopwords ("Les", "The"),
    which we drop; the rest of the noise is cheap. Scripts without case (Arabic) give no names,
    and their stories are carried by the terms alone.
    """
    names = []
    for word in WORD_RE.findall(text):
        if (is_capitalised(word) and not word.isupper()) or (word.isupper() and len(word) >= 2):
            folded = fold(word)
            if folded not in stopwords and len(folded) >= 2 and not folded.isdigit():
                names.append(folded)
    return names


def _is_name_word(word: str, stopwords: frozenset[str]) -> bool:
    return is_capitalised(word) and fold(word) not in stopwords and fold(word) not in _CUE_WORDS


def _name_after(words: list[str], start: int, stopwords: frozenset[str]) -> list[str]:
    """The run of capitalised words within a few words after position `start`."""
    gap = 0
    i = start
    while i < len(words) and gap <= ATTRIBUTION_MAX_GAP_WORDS:
        if _is_name_word(words[i], stopwords):
            name = []
            while i < len(words) and _is_name_word(words[i], stopwords):
                name.append(words[i])
                i += 1
                if len(name) == ATTRIBUTION_MAX_NAME_WORDS:
                    break
            return name
        gap += 1
        i += 1
    return []


def _name_before(words: list[str], end: int, stopwords: frozenset[str]) -> list[str]:
    name: list[str] = []
    i = end - 1
    while i >= 0 and _is_name_word(words[i], stopwords) and len(name) < ATTRIBUTION_MAX_NAME_WORDS:
        name.insert(0, words[i])
        i -= 1
    return name


def _attribution_keys(name: list[str]) -> set[str]:
    """A cited outlet as comparable keys: its folded name, and its acronym for long names,
    so "the Wall Street Journal" and "the WSJ" meet."""
    keys = {" ".join(fold(w) for w in name)}
    if len(name) >= 2:
        keys.add("".join(fold(w)[0] for w in name))
    return keys


def extract_attributions(text: str, stopwords: frozenset[str] = frozenset()) -> set[str]:
    """Who the text cites as the original reporter, e.g. {"kommersant"} or {"wsj", ...}."""
    keys: set[str] = set()
    clauses = [c for s in split_sentences(text) for c in re.split(r"[,;:()«»“”\"]", s)]
    for clause in clauses:
        # Keep apostrophes inside words ("d'après") and split off possessive suffixes
        # ("Reuters'e" -> "Reuters").
        words = re.findall(r"\w+(?:['’]\w+)?", clause)
        lowered = [w.casefold() for w in words]
        joined_positions = _cue_positions(lowered)
        for position, cue_len, before in joined_positions:
            if before:
                name = _name_after(words, position + cue_len, stopwords)
            else:
                bare_words = [re.split(r"['’]", w)[0] for w in words]
                name = _name_before(bare_words, position, stopwords)
            if name:
                keys |= _attribution_keys(name)
    return keys


_CUE_WORDS = frozenset(
    fold(w)
    for cue in ATTRIBUTION_CUES_BEFORE_NAME + ATTRIBUTION_CUES_AFTER_NAME
    for w in cue.split()
)


_CUE_FIRST_WORDS = frozenset(
    cue.casefold().split()[0] for cue in ATTRIBUTION_CUES_BEFORE_NAME + ATTRIBUTION_CUES_AFTER_NAME
)


def _cue_positions(lowered: list[str]) -> list[tuple[int, int, bool]]:
    # Most clauses hold no cue at all: skip the scan of every cue at every position.
    if _CUE_FIRST_WORDS.isdisjoint(lowered):
        return []
    found = []
    for cues, before in (
        (ATTRIBUTION_CUES_BEFORE_NAME, True),
        (ATTRIBUTION_CUES_AFTER_NAME, False),
    ):
        for cue in cues:
            cue_words = cue.casefold().split()
            n = len(cue_words)
            for i in range(len(lowered) - n + 1):
                if lowered[i : i + n] == cue_words:
                    found.append((i, n, before))
    return found


@dataclass(frozen=True)
class StoryFeatures:
    """What one article contributes to matching; stored as JSON with the article."""

    # Position-decayed term frequencies of stemmed content terms (title first, then the text).
    # Its keys are what the service counts document frequencies of.
    term_weights: dict[str, float]
    # Stemmed content terms of the title and first sentence: the story's statement.
    lead_terms: tuple[str, ...]
    # Folded capitalised words (names, places, outlets), whole for the evidence.
    names: tuple[str, ...]
    # Cited original reporters found in the title and lead.
    attributions: tuple[str, ...]
    word_count: int
    language: str | None = None
    version: int = field(default=FEATURE_VERSION)

    def to_json(self) -> dict[str, Any]:
        return {
            "term_weights": self.term_weights,
            "lead_terms": list(self.lead_terms),
            "names": list(self.names),
            "attributions": list(self.attributions),
            "word_count": self.word_count,
            "language": self.language,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoryFeatures:
        return cls(
            term_weights={k: float(v) for k, v in data["term_weights"].items()},
            lead_terms=tuple(data["lead_terms"]),
            names=tuple(data["names"]),
            attributions=tuple(data["attributions"]),
            word_count=int(data["word_count"]),
            language=data.get("language"),
            version=int(data.get("version", FEATURE_VERSION)),
        )

    @cached_property
    def damped_weights(self) -> dict[str, float]:
        """term_weights with repeats damped (see sublinear): the weights the score compares."""
        return {t: sublinear(w) for t, w in self.term_weights.items()}

    def key_features(self) -> set[str]:
        """The set hashed into the MinHash signature: what two tellings of one story share.

        The first content terms (title and lead, in text order) and the first names of the text,
        all cut to KEY_STEM_LENGTH letters. Independent of corpus statistics, so a signature
        never changes as the corpus grows.
        """
        lead = list(self.term_weights)[:MAX_KEY_TERMS]
        features = {"t:" + t[:KEY_STEM_LENGTH] for t in lead}
        features |= {"n:" + n[:KEY_STEM_LENGTH] for n in self.names[:MAX_KEY_NAMES]}
        return features


def lead_text(text: str) -> str:
    """The first sentences of the body, capped in words: where the inverted pyramid puts the
    cited source (the title is searched beside it by the caller)."""
    sentences = split_sentences(text)[:LEAD_SENTENCES]
    words = " ".join(sentences).split()[:LEAD_MAX_WORDS]
    return " ".join(words)


def position_weight(position: int) -> float:
    return 1.0 + LEAD_BOOST * math.exp(-position / LEAD_DECAY_TERMS)


def extract_features(
    title: str | None,
    text: str,
    *,
    stopwords: frozenset[str],
    language: str | None = None,
) -> StoryFeatures:
    stopwords = folded_stopwords(stopwords)
    title = normalise_text(title or "")
    text = normalise_text(text)
    body_tokens = tokenize(text)
    terms = [stem(t) for t in content_terms(tokenize(title) + body_tokens, stopwords)]
    # Dicts keep insertion order: the first key is the first content term of the title.
    weights: dict[str, float] = {}
    for position, term in enumerate(terms):
        weights[term] = weights.get(term, 0.0) + position_weight(position)
    lead = lead_text(text)
    return StoryFeatures(
        term_weights={t: round(w, 3) for t, w in weights.items()},
        lead_terms=tuple(dict.fromkeys(terms[:LEAD_TERMS])),
        names=tuple(
            dict.fromkeys(extract_names(title, stopwords) + extract_names(text, stopwords))
        ),
        attributions=tuple(sorted(extract_attributions(title + "\n" + lead, stopwords))),
        word_count=len(body_tokens),
        language=language,
    )


def sublinear(weight: float) -> float:
    """Damp repeated terms: the tenth mention of a name says less than the first."""
    return 1.0 + math.log(weight) if weight > 1.0 else weight
