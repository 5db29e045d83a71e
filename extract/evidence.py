"""What every extraction rule shares: how sure a proposal is, and where its words are.

A rule reads `lines.Line` segments; these helpers turn the words it used into a `Proposal` (value,
confidence, page, box, source) and map a match in folded text back to the words that hold it.
"""

from __future__ import annotations

from sohoa.extract.dates import FoundDate
from sohoa.extract.lines import Line
from sohoa.extract.model import Proposal
from sohoa.extract.text import fold


def page_width(sizes: list[tuple[float, float]] | None, n: int) -> float | None:
    try:
        return float(sizes[n][0]) if sizes else None
    except (IndexError, TypeError, ValueError):
        return None


def confidence(strength: float, line: Line) -> float:
    """The rule's strength scaled by the OCR confidence of the words it read (1.0 for a text layer)."""
    return round(max(0.0, min(0.99, strength * (0.6 + 0.4 * line.confidence))), 3)


def proposal(value, strength: float, line: Line, source: str) -> Proposal:
    return Proposal(value, confidence(strength, line), line.page, line.box, source)


def folded_words(line: Line) -> tuple[str, list[int]]:
    """The line folded, and where each word starts in it (to map a match back to words and a box)."""
    starts, parts, at = [], [], 0
    for word in line.words:
        folded = fold(word.text)
        starts.append(at)
        parts.append(folded)
        at += len(folded) + 1
    return " ".join(parts), starts


def words_from(line: Line, char: int) -> int:
    """Index of the first word starting at or after folded offset `char`."""
    _, starts = folded_words(line)
    return next((i for i, s in enumerate(starts) if s >= char), len(starts))


def all_lines(doc: list[list[Line]]) -> list[Line]:
    return [line for page in doc for line in page]


def date_proposal(found: FoundDate, strength: float, line: Line, source: str) -> Proposal:
    start, end = words_from(line, found.start), words_from(line, found.end)
    if found.start > 0:
        # the word holding the match start
        _, starts = folded_words(line)
        start = max(i for i, s in enumerate(starts) if s <= found.start)
    span = line.span(start, max(end, start + 1))
    return proposal(found.value.isoformat(), strength, span, source)
