"""Shared passages: the runs of words two articles both have, as the compare page marks them."""

from __future__ import annotations

from service.stories.passages import RUN_WORDS, Passage, shared_passages

SYNDICATED = (
    "The central bank raised its main rate by half a point on Thursday, its third rise this year."
)


def joined(passages: list[Passage]) -> str:
    return "".join(p.text for p in passages)


def shared(passages: list[Passage]) -> list[str]:
    return [p.text for p in passages if p.shared]


def test_a_near_copy_shows_its_shared_run_in_both_texts_and_nothing_else() -> None:
    a = "BREAKING NEWS\n\n" + SYNDICATED + "\nFollow us for more."
    b = "Markets | Reuters\n\n" + SYNDICATED + "\nAnalysts had expected it."

    result = shared_passages(a, b)

    assert shared(result.a) == [SYNDICATED.rstrip(".")]
    assert shared(result.b) == [SYNDICATED.rstrip(".")]
    assert result.runs == 1
    assert result.shared_words_a == result.shared_words_b == 18


def test_passages_give_back_each_text_exactly() -> None:
    a = "  Le président a dit: « nous restons ».\n\nPuis il est parti, sans un mot de plus…  "
    b = "Selon Kommersant, le président a dit: « nous restons ». Fin."

    result = shared_passages(a, b)

    assert joined(result.a) == a
    assert joined(result.b) == b
    # Punctuation and spaces between the words of a run belong to the run.
    assert shared(result.a) == ["Le président a dit: « nous restons"]
    assert shared(result.b) == ["le président a dit: « nous restons"]


def test_runs_shorter_than_the_near_copy_shingle_are_not_highlighted() -> None:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    short_run = " ".join(words[: RUN_WORDS - 1])
    a = f"{short_run} one two three"
    b = f"four five {short_run} six"

    result = shared_passages(a, b)

    assert shared(result.a) == [] and shared(result.b) == []
    assert result.runs == 0
    assert result.words_a == RUN_WORDS - 1 + 3


def test_words_are_compared_case_folded_but_shown_as_written() -> None:
    a = "THE PRIME MINISTER RESIGNED ON MONDAY EVENING"
    b = "Reports say the Prime Minister resigned on Monday evening."

    result = shared_passages(a, b)

    assert shared(result.a) == ["THE PRIME MINISTER RESIGNED ON MONDAY EVENING"]
    assert shared(result.b) == ["the Prime Minister resigned on Monday evening"]


def test_two_separate_runs_stay_two_passages() -> None:
    first = "one two three four five six"
    second = "seven eight nine ten eleven twelve"
    a = f"{first} and then something else entirely {second}"
    b = f"{second} whatever lies between {first}"

    result = shared_passages(a, b)

    assert shared(result.a) == [first, second]
    assert shared(result.b) == [second, first]
    assert result.runs == 2


def test_empty_and_wordless_texts_have_no_passages_to_share() -> None:
    empty = shared_passages("", "")
    assert empty.a == [] and empty.b == []
    result = shared_passages("", "— … —")
    assert result.a == [] and joined(result.b) == "— … —"
    assert result.runs == 0 and result.words_b == 0
