"""Scoring extraction against the labelled forms (testkit/forms.py), shared by the quality tests
and `make bench --only extract`.

A field is RIGHT when its proposed value equals the truth after NFC; precision = right / proposed,
recall = right / truth present. A proposal for a field the truth lacks (and does not leave
unscored) counts as proposed and wrong. `other_ids` is scored per ID: each truth ID found is right,
each proposed ID that is neither in the truth nor the owner's counts as a wrong proposal.
"""

from __future__ import annotations

import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .form_layout import render_form
from .forms import FIELDS, LabelledDoc
from .layout import _font

SCORED: tuple[str, ...] = (*FIELDS, "other_ids")


def _nfc(value) -> str:
    return unicodedata.normalize("NFC", str(value)).strip()


@dataclass
class Tally:
    """Counts per field: proposed, right, present (truth has a value)."""

    proposed: Counter = field(default_factory=Counter)
    right: Counter = field(default_factory=Counter)
    present: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.proposed.update(other.proposed)
        self.right.update(other.right)
        self.present.update(other.present)
        self.errors.extend(other.errors)

    def precision(self, name: str) -> float | None:
        return self.right[name] / self.proposed[name] if self.proposed[name] else None

    def recall(self, name: str) -> float | None:
        return self.right[name] / self.present[name] if self.present[name] else None

    def exact_share(self) -> float:
        """Share of truth fields (all names, other IDs one by one) proposed exactly right."""
        present = sum(self.present.values())
        return sum(self.right.values()) / present if present else 0.0


def proposals(extraction) -> tuple[dict[str, tuple[str, float]], list[tuple[str, float]]]:
    """(field → (value, confidence), other IDs) of an Extraction; doc_type merged into the fields."""
    fields = {name: (_nfc(p.value), float(p.confidence)) for name, p in extraction.fields.items()}
    if extraction.doc_type is not None and "doc_type_code" not in fields:
        fields["doc_type_code"] = (_nfc(extraction.doc_type.value), float(extraction.doc_type.confidence))
    others = [(_nfc(p.value), float(p.confidence)) for p in extraction.other_ids]
    return fields, others


def score(doc: LabelledDoc, extraction) -> Tally:
    """Compare one extraction with the document's truth."""
    tally = Tally()
    fields, others = proposals(extraction)
    truth = doc.truth
    for name in FIELDS:
        if name in doc.unscored:
            continue
        want = truth.get(name)
        got = fields.get(name)
        if want is not None:
            tally.present[name] += 1
        if got is None:
            if want is not None:
                tally.errors.append(f"{doc.name}: {name} missing (want {want!r})")
            continue
        tally.proposed[name] += 1
        if want is not None and got[0] == _nfc(want):
            tally.right[name] += 1
        else:
            tally.errors.append(f"{doc.name}: {name} = {got[0]!r} (want {want!r})")
    if "other_ids" in doc.unscored:
        return tally
    wanted = [_nfc(v) for v in truth.get("other_ids", [])]
    owner = _nfc(truth.get("owner_id", ""))
    got_ids = {value for value, _ in others}
    tally.present["other_ids"] += len(wanted)
    for value in wanted:
        if value in got_ids:
            tally.right["other_ids"] += 1
            tally.proposed["other_ids"] += 1
        else:
            tally.errors.append(f"{doc.name}: other_ids lacks {value}")
    for value in got_ids - set(wanted) - {owner}:
        tally.proposed["other_ids"] += 1
        tally.errors.append(f"{doc.name}: other_ids has unexpected {value}")
    return tally


def confident_owner_errors(doc: LabelledDoc, extraction, threshold: float = 0.9) -> list[str]:
    """Owner IDs proposed with confidence ≥ threshold that are not the truth, and a trap's invalid
    ID proposed anywhere (owner or other IDs) with that confidence."""
    fields, others = proposals(extraction)
    errors = [f"{doc.name}: invalid {value} proposed ({conf:.2f})"
              for value, conf in [*others, fields.get("owner_id", ("", 0.0))]
              if doc.draft.trap_id and value == doc.draft.trap_id and conf >= threshold]
    got = fields.get("owner_id")
    if got is None or got[1] < threshold or "owner_id" in doc.unscored:
        return errors
    want = doc.truth.get("owner_id")
    if want is None or got[0] != _nfc(want):
        errors.append(f"{doc.name}: owner_id {got[0]} ({got[1]:.2f})")
    return sorted(set(errors))


def exact_words(doc: LabelledDoc, dpi: int = 100) -> tuple[list[list[dict]], list[tuple[float, float]]]:
    """The words of the upright page as a perfect OCR would give them (boxes from the layout,
    split in proportion to the glyph advances, one line per row): the rules without OCR."""
    face = _font(doc.font, False, 48)
    w_mm, h_mm = doc.draft.size_mm
    forms = doc.forms()
    return [_form_words(form, doc.font, face, dpi) for form in forms], [(w_mm / 25.4 * 72, h_mm / 25.4 * 72)] * len(forms)


def _form_words(form, font: str, face, dpi: int) -> list[dict]:
    _, boxes = render_form(form, font, dpi)
    to_pt = 72.0 / dpi
    words: list[dict] = []
    for box in boxes:
        total = max(1.0, face.getlength(box.text))
        _, top, _, bottom = face.getbbox(box.text, anchor="ls")
        y_scale = (box.y1 - box.y0) / max(1, bottom - top)
        start = 0
        for part in box.text.split():
            start = box.text.index(part, start)
            x0 = box.x0 + (box.x1 - box.x0) * face.getlength(box.text[:start]) / total
            x1 = box.x0 + (box.x1 - box.x0) * face.getlength(box.text[:start + len(part)]) / total
            _, w_top, _, w_bottom = face.getbbox(part, anchor="ls")  # a word is as tall as its glyphs
            y0, y1 = box.y0 + (w_top - top) * y_scale, box.y0 + (w_bottom - top) * y_scale
            start += len(part)
            words.append({"text": part, "line": box.row, "confidence": 95.0,
                          "box_pt": [round(v * to_pt, 2) for v in (x0, y0, x1, y1)]})
    return words


SPECKS = (".", "'", "-", ",", "‘", "_")


def _speck(word: dict, before: bool, text: str) -> dict:
    x0, top, x1, bottom = word["box_pt"]
    height = bottom - top
    x = x0 - 0.6 * height if before else x1 + 0.3 * height
    return {"text": text, "line": word["line"], "confidence": 30.0,
            "box_pt": [round(x, 2), round(bottom - 0.3 * height, 2), round(x + 0.2 * height, 2), round(bottom, 2)]}


def _number_noise(word: dict, rng) -> list[dict]:
    """'4541/QĐ-UBND' read as '4541 /QĐ-UBND' or '4541/QĐ- UBND' (two words)."""
    text = word["text"]
    cut = text.index("/") if rng.random() < 0.5 else text.rindex("-") + 1
    x0, top, x1, bottom = word["box_pt"]
    split = x0 + (x1 - x0) * cut / len(text)
    return [{**word, "text": text[:cut], "box_pt": [x0, top, round(split - 1, 2), bottom]},
            {**word, "text": text[cut:], "box_pt": [round(split + 2, 2), top, x1, bottom]}]


def ocr_noise(pages: list[list[dict]], seed: int) -> list[list[dict]]:
    """The words with the noise Tesseract adds to real scans: specks read as punctuation before or
    after a line, on their own or glued to the first or last word ('. THÔNG BÁO', '.1. Họ, chữ đệm
    và tên:', 'Về việc … ''), 'Số:' read 'S6:' or 'Sô:', a space inside the number ('2576
    /QĐ-UBND'). Deterministic in `seed`; letters inside values are never changed."""
    import random

    rng = random.Random(seed)
    noisy: list[list[dict]] = []
    for words in pages:
        out: list[dict] = []
        lines: dict[int, list[dict]] = {}
        for word in words:
            lines.setdefault(word["line"], []).append(word)
        for line in lines.values():
            line = [dict(w) for w in line]
            if rng.random() < 0.3:
                if rng.random() < 0.5:
                    out.append(_speck(line[0], True, rng.choice(SPECKS)))
                else:  # glued to the first word, as in ".1. Họ, chữ đệm và tên:"
                    line[0]["text"] = rng.choice(SPECKS[:3]) + line[0]["text"]
            glue_end = rng.random() < 0.1
            if glue_end:  # glued to the last word: "… năm 2023'"
                line[-1]["text"] += rng.choice(SPECKS[:2])
            for i, word in enumerate(line):
                if word["text"] == "Số:" and rng.random() < 0.6:
                    out.append({**word, "text": rng.choice(("S6:", "Sô:", "Số;"))})
                elif i > 0 and line[i - 1]["text"] == "Số:" and "/" in word["text"] and "-" in word["text"]:
                    out.extend(_number_noise(word, rng))
                else:
                    out.append(word)
            if not glue_end and rng.random() < 0.15:
                out.append(_speck(line[-1], False, rng.choice(SPECKS[:2])))
        noisy.append(out)
    return noisy


@dataclass
class Read:
    """What OCR made of one scan: page words, page sizes and the seconds it took."""

    pages: list[list[dict]]
    sizes: list[tuple[float, float]]
    seconds: float


def ocr_scan(path: Path, work: Path, jobs: int = 1) -> Read:
    """Run the real OCR stages on `path` (no PDF is written) and return its words."""
    from sohoa.ocr import pipeline
    from sohoa.ocr.pipeline import OcrOptions

    options = OcrOptions(jobs=jobs)
    started = time.perf_counter()
    plan = pipeline.plan(path, work / f"{path.stem}.pdf", options)
    outcomes = list(pipeline.recognise_pages(plan.tasks, options))
    seconds = time.perf_counter() - started
    return Read([o.word_boxes for o in outcomes], [(o.width_pt, o.height_pt) for o in outcomes], seconds)
