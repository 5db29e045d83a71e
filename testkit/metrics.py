"""OCR quality metrics: character error rate and keyword recall.

Both compare Unicode NFC text with whitespace collapsed, so layout spacing
and composed-vs-decomposed diacritics never count as OCR errors, while a
wrong or missing tone mark does.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import Levenshtein

_WHITESPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFC, every whitespace run (including newlines) to one space, stripped."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def cer(truth: str, hypothesis: str) -> float:
    """Levenshtein distance / length of the truth, on normalized strings.

    0.0 when both are empty, 1.0 when only the truth is empty. The value can
    exceed 1.0 when the hypothesis is much longer than the truth.
    """
    t, h = normalize(truth), normalize(hypothesis)
    if not t:
        return 0.0 if not h else 1.0
    return Levenshtein.distance(t, h) / len(t)


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese diacritics ("Đặng Thị Ánh" -> "dang thi anh").

    đ/Đ are separate letters, not a base letter plus a combining mark, so NFD
    leaves them alone and they are mapped to d explicitly.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).lower()


def keyword_recall(keywords: list[str], text: str, folded: bool) -> float:
    """Share of `keywords` found as substrings of `text` (1.0 if there are none).

    Matching is on whitespace-normalized text, so a keyword split across a
    line break still matches; with `folded`, case and diacritics are ignored.
    """
    if not keywords:
        return 1.0
    haystack = normalize(text)
    needles = [normalize(k) for k in keywords]
    if folded:
        haystack = fold(haystack)
        needles = [fold(k) for k in needles]
    return sum(1 for k in needles if k in haystack) / len(needles)
