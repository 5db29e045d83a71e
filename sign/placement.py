"""Where the visible signature goes: the top-right area of page 1, on a spot that hides no word
when there is one (the OCR word boxes say where the words are), else on the spot that hides least.

Boxes here are in PDF points with a top-left origin, [x0, top, x1, bottom], as the OCR words are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

MARGIN = 14.0  # pt from the page edges
STEP = 6.0  # pt between candidate spots


@dataclass(frozen=True)
class Spot:
    x0: float
    top: float
    x1: float
    bottom: float
    hidden_area: float  # pt² of words under the spot (0: hides nothing)

    def pdf_rect(self, page_height: float) -> tuple[float, float, float, float]:
        """The same box in PDF user space (bottom-left origin): (x1, y1, x2, y2)."""
        return (self.x0, page_height - self.bottom, self.x1, page_height - self.top)


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


def _candidates(page_w: float, page_h: float, box_w: float, box_h: float) -> Iterable[tuple[float, float]]:
    """(x0, top) of each spot in the top-right quarter, nearest the corner first."""
    right = page_w - MARGIN - box_w
    left_limit = max(MARGIN, page_w / 2 - box_w / 2)
    bottom_limit = max(MARGIN, page_h / 3 - box_h)
    spots = []
    x = right
    while x >= left_limit - 1e-6:
        top = MARGIN
        while top <= bottom_limit + 1e-6:
            spots.append((x, top))
            top += STEP
        x -= STEP
    if not spots:
        spots.append((max(0.0, right), MARGIN))
    return sorted(spots, key=lambda s: (s[1] - MARGIN) + (right - s[0]))


def place(page_w: float, page_h: float, box_w: float, box_h: float,
          avoid: Sequence[Sequence[float]] = ()) -> Spot:
    """The spot of a box_w × box_h box in the top-right area of the page that hides the least text."""
    box_w, box_h = min(box_w, page_w - 2 * MARGIN), min(box_h, page_h - 2 * MARGIN)
    best: Spot | None = None
    for x0, top in _candidates(page_w, page_h, box_w, box_h):
        rect = (x0, top, x0 + box_w, top + box_h)
        hidden = sum(_overlap(rect, word) for word in avoid)
        if best is None or hidden < best.hidden_area:
            best = Spot(*rect, hidden_area=hidden)
        if hidden == 0:
            break
    assert best is not None
    return best
