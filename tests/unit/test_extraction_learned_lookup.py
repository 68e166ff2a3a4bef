"""Learned boilerplate can be given as a lookup, asked once with the text's own lines."""

from __future__ import annotations

from service.extraction import clean_text, line_fingerprint

OUTLET_LINE = "The Harbour Gazette is an independent newspaper owned by its readers since 1901."
BODY = (
    "The harbour council approved the new ferry timetable on Monday after a long debate.\n"
    "Ferries will run every forty minutes from March, the council said in a statement.\n"
)


def test_lookup_is_asked_with_the_texts_line_fingerprints_and_its_answer_dropped() -> None:
    asked: list[tuple[int, ...]] = []

    def lookup(fingerprints: tuple[int, ...]) -> set[int]:
        asked.append(fingerprints)
        return {line_fingerprint(OUTLET_LINE)}

    article = clean_text(
        "Ferry timetable approved\n" + BODY + OUTLET_LINE, known_boilerplate=lookup
    )

    assert len(asked) == 1
    assert line_fingerprint(OUTLET_LINE) in asked[0]
    assert OUTLET_LINE not in article.text
    assert "forty minutes" in article.text
