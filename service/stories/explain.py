"""Match evidence in words, for people: why an article joined its story, or started one, or why
two articles are (not) one story. Pure functions over the evidence JSON that dedup.assign stores
and stories.compare returns; keys this module does not know yet (a new signal) are still listed,
under their own names, so no evidence is ever hidden from the page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MATCH_KIND_WORDS = {
    "canonical": "started the story",
    "exact": "exact re-post",
    "near_copy": "near copy",
    "rewrite": "rewrite",
}
COMPONENT_WORDS = {
    "cosine": "Term overlap (IDF-weighted cosine of title, lead and body terms)",
    "lead_told": "How much of one lead the other article tells",
    "semantic": "Semantic similarity (sentence encoder)",
    "embedding_cosine": "Semantic similarity (sentence encoder, language-centred cosine)",
}
# Keys rendered by describe() itself, or bookkeeping not worth a line.
_HANDLED = {
    "decided_by",
    "components",
    "shared_rare_terms",
    "shared_names",
    "shared_attributions",
    "conflicting_attributions",
    "threshold",
    "shared_wording",
    "best_candidate",
    "best_score",
    "date_gap_days",
    "same_story_now",
    "semantic_similarity",
    "deciding_signal",
    "cross_language",
    "vetoed",
}


@dataclass(frozen=True)
class EvidenceLine:
    label: str
    value: str


def match_kind_words(kind: str | None) -> str:
    return MATCH_KIND_WORDS.get(kind or "", kind or "not matched yet")


def _names(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _number(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else str(value)


def _percent(value: Any) -> str:
    return f"{100 * value:.1f} %" if isinstance(value, int | float) else str(value)


def deciding_signal(evidence: Mapping[str, Any] | None, similarity: float | None) -> str:
    """One phrase: the signal that decided this article's place in its story."""
    if not evidence:
        return ""
    decided_by = str(evidence.get("decided_by", ""))
    if decided_by != "story score":
        return decided_by
    phrase = "story score"
    if similarity is not None and "threshold" in evidence:
        phrase += f" {similarity:.2f} ≥ {_number(evidence['threshold'])}"
    if evidence.get("deciding_signal"):
        phrase += f", carried most by its {evidence['deciding_signal']}"
    if evidence.get("cross_language"):
        phrase += " (across languages)"
    if evidence.get("shared_attributions"):
        phrase += f"; both cite {_names(evidence['shared_attributions'])}"
    return phrase


def describe(
    evidence: Mapping[str, Any] | None, *, similarity: float | None = None
) -> list[EvidenceLine]:
    """The evidence as label/value lines, the deciding ones first."""
    if not evidence:
        return []
    lines: list[EvidenceLine] = []
    decided_by = evidence.get("decided_by")
    if decided_by == "story score":
        lines.append(EvidenceLine("Decided by", deciding_signal(evidence, similarity)))
    elif decided_by == "best candidate below the threshold":
        lines.append(
            EvidenceLine(
                "Started a new story",
                f"the closest stored article, {evidence.get('best_candidate')}, scored "
                f"{_number(evidence.get('best_score'))}, below the threshold "
                f"{_number(evidence.get('threshold'))}",
            )
        )
    elif decided_by == "best candidate vetoed: different original reporters":
        lines.append(
            EvidenceLine(
                "Started a new story",
                f"the closest stored article, {evidence.get('best_candidate')}, scored "
                f"{_number(evidence.get('best_score'))} (threshold "
                f"{_number(evidence.get('threshold'))}), but the two leads cite different "
                "original reporters: a follow-up, not a retelling",
            )
        )
    elif decided_by == "no candidate shares enough key terms":
        lines.append(
            EvidenceLine("Started a new story", "no stored article shares enough key terms")
        )
    elif decided_by:
        lines.append(EvidenceLine("Decided by", str(decided_by)))
    elif "threshold" in evidence and similarity is not None:
        reached = "reaches" if similarity >= float(evidence["threshold"]) else "is below"
        lines.append(
            EvidenceLine(
                "Story score",
                f"{similarity:.2f} {reached} the threshold {_number(evidence['threshold'])}",
            )
        )

    if evidence.get("vetoed"):
        lines.append(EvidenceLine("Not one story, whatever the score", str(evidence["vetoed"])))
    if evidence.get("cross_language"):
        lines.append(EvidenceLine("Languages", "different: judged with the cross-language bar"))
    if evidence.get("shared_attributions"):
        lines.append(
            EvidenceLine("Original reporter cited by both", _names(evidence["shared_attributions"]))
        )
    conflicting = evidence.get("conflicting_attributions")
    if conflicting:
        lines.append(
            EvidenceLine(
                "Different original reporters cited",
                " vs ".join(_names(side) for side in conflicting),
            )
        )
    if evidence.get("shared_rare_terms"):
        lines.append(
            EvidenceLine("Shared rare terms (stems)", _names(evidence["shared_rare_terms"]))
        )
    if evidence.get("shared_names"):
        lines.append(EvidenceLine("Shared names", _names(evidence["shared_names"])))
    for key, value in (evidence.get("components") or {}).items():
        lines.append(EvidenceLine(COMPONENT_WORDS.get(key, key), _number(value)))
    if "semantic_similarity" in evidence:
        lines.append(
            EvidenceLine(COMPONENT_WORDS["semantic"], _number(evidence["semantic_similarity"]))
        )
    if "shared_wording" in evidence:
        lines.append(
            EvidenceLine(
                "Shared wording (5-word runs in both texts)",
                _percent(evidence["shared_wording"]),
            )
        )
    if "date_gap_days" in evidence:
        lines.append(
            EvidenceLine("Published apart", f"{float(evidence['date_gap_days']):.1f} days")
        )
    if "same_story_now" in evidence:
        lines.append(
            EvidenceLine("In one story now", "yes" if evidence["same_story_now"] else "no")
        )
    for key, value in evidence.items():
        if key not in _HANDLED:
            lines.append(EvidenceLine(key.replace("_", " ").capitalize(), _number(value)))
    return lines
