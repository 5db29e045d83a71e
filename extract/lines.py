"""Words → lines: rows by vertical overlap, split into segments at large horizontal gaps.

OCR line numbers are not trusted alone: a born-digital page puts both header columns (issuer on the
left, national motto on the right) on one line, and Tesseract may number one row twice. So words are
grouped geometrically into rows, and a row is cut where the gap between two words is much wider than
a space (or spans the page centre), which separates the NĐ 30/2020 two-column header blocks.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from itertools import pairwise

from sohoa.extract.text import nfc


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    confidence: float  # 0..1

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 0.1)


@dataclass
class Line:
    """One segment of a row: words close together on the same baseline."""

    page: int  # 1-based
    words: list[Word] = field(default_factory=list)
    row: int = 0  # index of the row on its page (segments of one row share it)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> list[float]:
        return [min(w.x0 for w in self.words), min(w.top for w in self.words),
                max(w.x1 for w in self.words), max(w.bottom for w in self.words)]

    @property
    def x0(self) -> float:
        return self.box[0]

    @property
    def x1(self) -> float:
        return self.box[2]

    @property
    def top(self) -> float:
        return self.box[1]

    @property
    def bottom(self) -> float:
        return self.box[3]

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def height(self) -> float:
        return statistics.median(w.height for w in self.words)

    @property
    def confidence(self) -> float:
        return sum(w.confidence for w in self.words) / len(self.words)

    def span(self, start: int, end: int) -> Line:
        """The segment of words start..end-1 (a value inside a line)."""
        return Line(self.page, self.words[start:end], self.row)


def parse_words(raw: list[dict]) -> list[Word]:
    """Word dicts of words.json → Words; malformed entries are skipped, never fatal."""
    words = []
    for item in raw if isinstance(raw, list) else []:
        try:
            text = nfc(str(item["text"])).strip()
            x0, top, x1, bottom = (float(v) for v in item["box_pt"])
            confidence = float(item.get("confidence", 100.0))
        except (KeyError, TypeError, ValueError):
            continue
        if text and x1 >= x0 and bottom >= top:
            words.append(Word(text, x0, top, x1, bottom, min(max(confidence / 100.0, 0.0), 1.0)))
    return words


def _overlap(a_top: float, a_bottom: float, b_top: float, b_bottom: float) -> float:
    return min(a_bottom, b_bottom) - max(a_top, b_top)


def rows(words: list[Word]) -> list[list[Word]]:
    """Words grouped by vertical overlap (half the smaller height), top to bottom, each left to right.

    A row's span is the median top and bottom of its words, so one tall or raised word (a speck merged
    into its box) cannot drag it; specks much smaller than the text join the row they sit in last."""
    if not words:
        return []
    typical = statistics.median(w.height for w in words)
    found: list[tuple[float, float, list[Word]]] = []  # (top, bottom, words) of each row
    for word in sorted((w for w in words if w.height >= 0.35 * typical), key=_centre):
        for i in range(len(found) - 1, max(len(found) - 4, -1), -1):
            top, bottom, members = found[i]
            if _overlap(top, bottom, word.top, word.bottom) >= 0.5 * min(bottom - top, word.height):
                members.append(word)
                found[i] = (statistics.median(w.top for w in members),
                            statistics.median(w.bottom for w in members), members)
                break
        else:
            found.append((word.top, word.bottom, [word]))
    for word in (w for w in words if w.height < 0.35 * typical):
        if not any(ch.isalnum() for ch in word.text) and word.text not in ("-", "–"):
            continue  # a speck read as punctuation (a dash is as flat, but it is text)
        row = next((r for r in found if r[0] <= _centre(word) <= r[1]), None)
        if row is None:
            found.append((word.top, word.bottom, [word]))
        else:
            row[2].append(word)
    found.sort(key=lambda r: (r[0] + r[1]) / 2)
    return [sorted(members, key=lambda w: w.x0) for _, _, members in found]


def _centre(word: Word) -> float:
    return (word.top + word.bottom) / 2


def split_row(row: list[Word], centre: float) -> list[list[Word]]:
    """Cut a row where the gap is wider than ~2 letter heights, or wider than one and either three
    times the row's usual space (a text layer's header columns) or across the page centre."""
    height = statistics.median(w.height for w in row)
    gaps = [word.x0 - prev.x1 for prev, word in pairwise(row)]
    usual = statistics.median(gaps) if len(gaps) >= 3 else 0.3 * height
    segments = [[row[0]]]
    for (prev, word), gap in zip(pairwise(row), gaps):
        crosses = prev.x1 <= centre + height and word.x0 >= centre - height and prev.x1 < word.x0
        wide = gap > 1.2 * height and gap > 3 * max(usual, 0.1 * height)
        if gap > 2.2 * height or wide or (crosses and gap > 1.0 * height):
            segments.append([])
        segments[-1].append(word)
    return segments


def page_lines(raw: list[dict], page: int, width: float | None = None) -> list[Line]:
    """The segments of one page, top to bottom and left to right."""
    words = parse_words(raw)
    if not words:
        return []
    if width is None:
        width = max(w.x1 for w in words) + min(w.x0 for w in words)
    lines = []
    for index, row in enumerate(rows(words)):
        for segment in split_row(row, width / 2):
            segment = _trim_specks(segment)
            if sum(ch.isalnum() for w in segment for ch in w.text) >= 2:  # specks and rules read as "|", "t"
                lines.append(Line(page, segment, index))
    return lines


def _trim_specks(segment: list[Word]) -> list[Word]:
    """Without the punctuation-only words at its ends: specks OCR reads as ". THÔNG BÁO" or "Về việc … '"."""
    start, end = 0, len(segment)
    while start < end and not any(ch.isalnum() for ch in segment[start].text):
        start += 1
    while end > start and not any(ch.isalnum() for ch in segment[end - 1].text):
        end -= 1
    words = segment[start:end]
    if words:  # a speck glued to the first or last word: ".1. Họ và tên:", "… năm 2023'"
        words[0] = replace(words[0], text=words[0].text.lstrip(_LEADING_SPECKS))
        words[-1] = replace(words[-1], text=words[-1].text.rstrip(_TRAILING_SPECKS))
    return words


_LEADING_SPECKS = ".'-,‘’`_|"
_TRAILING_SPECKS = "'‘’`_|"
