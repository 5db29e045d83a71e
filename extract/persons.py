"""Persons on the pages: the owner's name, ID and date of birth, every other person's ID, and validity.

Names come after their labels ("Họ và tên", "Họ, chữ đệm, tên", "Ông (bà)"); a qualified label
("… người mẹ", "… chủ hộ") is another person. IDs are read where a label says so (or, for a lone
12-digit word outside tables, as another person's at low confidence), checked by `ids`, and given to
the nearest name above them in the same column: the owner's go to `owner_id`, the others to
`other_ids` with their names, so a marriage certificate is found by either spouse's ID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sohoa.extract import ids
from sohoa.extract.catalogue import DocType
from sohoa.extract.dates import add_months, find_dates
from sohoa.extract.evidence import all_lines, date_proposal, folded_words, proposal, words_from
from sohoa.extract.lines import Line
from sohoa.extract.model import Extraction, Proposal
from sohoa.extract.text import fold, person_name

_LABELS = (r"^(?:\d{1,2}\s*[.,)]\s*)?(ho va ten|ho, chu dem va ten|ho, chu dem, ten|ho ten|ten chu ho|chu ho|"
           r"ong\s*/\s*ba|ong\s*\(ba\)|ong|ba)(?![a-z])")
_NAME_LABELS = (re.compile(_LABELS + r"([^:]{0,40}):\s*"), re.compile(_LABELS + r"()\s*"),
                # inside a line: "1. Cấp cho: Ông (bà) NGÔ THỊ THU HUYỀN"
                re.compile(r"(?<=: )(ho va ten|ong\s*/\s*ba|ong\s*\(ba\))(?![a-z])()\s*:?\s*"))
_LABEL_PUNCTUATION = str.maketrans({".": ",", ";": ":"})  # OCR: "Họ. chữ đệm. tên; …" (same length)
# A qualified name label is another person's: "Họ, chữ đệm, tên người mẹ", "… chủ hộ", "… người đi khai tử".
# Any other qualifier ("người yêu cầu", "/ Full name", or one OCR garbled) stays the owner's.
_OTHER_ROLE_WORDS = frozenset({"me", "cha", "bo", "con", "giam", "dien", "chung", "ho", "nhan"})
# The parties of a marriage: when no unqualified name is on the page, the first of them is the owner.
_PARTY_WORDS = frozenset({"chong", "vo"})
_OTHER_ROLE_PHRASES = ("di khai", "uy quyen", "chu ho", "tiep nhan")
_ID_CUES = ("dinh danh", "cccd", "can cuoc", "cmnd", "chung minh", "ma so thue", "mst", "ma so doanh nghiep",
            "ma so ho kinh doanh", "so/no", "so / no", "no.", "no:", "giay to tuy than", "ho chieu")
BIRTH_LABELS = ("ngay, thang, nam sinh", "ngay thang nam sinh", "sinh ngay", "ngay sinh", "date of birth")
VALID_LABELS = ("co gia tri su dung den", "co gia tri den", "gia tri den", "co hieu luc den", "date of expiry",
                "co thoi han den")


@dataclass
class _Person:
    name: str | None
    role: str  # "owner" | "party" (a spouse: the owner when nobody is unqualified) | "other"
    line: Line | None
    strength: float


@dataclass
class _Id:
    value: str
    kind: str
    line: Line  # the words of the number
    labelled: bool
    repaired: bool


def read_persons(doc: list[list[Line]], result: Extraction) -> None:
    """owner_name, date_of_birth, owner_id and other_ids (with their names) into `result`."""
    people, found, births = _collect(doc)
    owner = next((p for p in people if p.role == "owner" and p.name),
                 next((p for p in people if p.role == "party" and p.name), None))
    if owner is not None:
        result.fields["owner_name"] = proposal(owner.name, owner.strength, owner.line, "label:họ và tên")
    birth = _nearest_birth(births, owner)
    if birth is not None:
        result.fields["date_of_birth"] = birth
    born = date.fromisoformat(str(birth.value)) if birth is not None else None
    owner_id, others = _assign(found, people, owner, born)
    if owner_id is not None:
        result.fields["owner_id"] = _id_proposal(owner_id)
    for found_id, name in others:
        result.other_ids.append(_id_proposal(found_id))
        result.other_names.append(name)


def _collect(doc: list[list[Line]]) -> tuple[list[_Person], list[_Id], list[tuple[Line, Proposal]]]:
    """Every labelled name, every checked ID and every labelled birth date, in reading order."""
    people: list[_Person] = []
    found: list[_Id] = []
    births: list[tuple[Line, Proposal]] = []
    for page in doc:
        numbers_per_row: dict[int, int] = {}
        for line in page:
            numbers_per_row[line.row] = numbers_per_row.get(line.row, 0) + sum(
                ids.numberish(w.text) for w in line.words)
        for line in page:
            person = _name_after_label(line, page)
            if person:
                people.append(person)
            found.extend(_ids_in(line, page, table=numbers_per_row.get(line.row, 0) >= 3))
            birth = _labelled_date(line, BIRTH_LABELS, "label:ngày sinh", past=True)
            if birth:
                births.append((line, birth))
    return people, found, births


def _assign(found: list[_Id], people: list[_Person], owner: _Person | None,
            born: date | None) -> tuple[_Id | None, list[tuple[_Id, str | None]]]:
    """The owner's ID (the first labelled one held by the owner), and the others with their holders' names."""
    owner_id: _Id | None = None
    others: list[tuple[_Id, str | None]] = []
    seen: set[str] = set()
    for found_id in found:
        if found_id.value in seen:
            continue
        seen.add(found_id.value)
        holder = _holder(found_id, people)
        # An ID above every name (an ID card's number) is the document's own when it is labelled.
        is_owner = found_id.labelled if holder is None else holder is owner
        agrees = found_id.kind != "cccd" or ids.valid_cccd(found_id.value, born)
        if is_owner and found_id.labelled and not agrees:
            continue  # the owner's CCCD disagrees with the birth date: one of them is misread
        if owner_id is None and is_owner and found_id.labelled:
            owner_id = found_id
        else:
            others.append((found_id, holder.name if holder else None))
    return owner_id, others


def _name_after_label(line: Line, page: list[Line]) -> _Person | None:
    folded = folded_words(line)[0].translate(_LABEL_PUNCTUATION)
    m = _NAME_LABELS[0].match(folded) or _NAME_LABELS[1].match(folded) or _NAME_LABELS[2].search(folded)
    if m is None:
        return None
    label, qualifier = m[1], " ".join(m[2].split()).strip(" ,")
    colon = ":" in folded[m.start(2):m.end()]
    bare = label in ("ong", "ba") and not colon and not folded[m.end(1):].lstrip().startswith(("(", "/"))
    if bare and not _looks_like_name(line.words[words_from(line, m.end()):]):
        return None  # "Ông" / "Bà" starting a sentence, not a label
    qualifier_words = set(re.findall(r"[a-z]+", qualifier))
    other = qualifier_words & _OTHER_ROLE_WORDS or any(p in qualifier for p in _OTHER_ROLE_PHRASES)
    if other or label in ("ten chu ho", "chu ho"):
        role = "other"
    else:
        role = "party" if qualifier_words & _PARTY_WORDS else "owner"
    words = line.words[words_from(line, m.end()):]
    if not words:  # the value sits in the next segment of the row ("Họ và tên:      NGUYỄN VĂN AN")
        nxt = next((l for l in page if l.row == line.row and l.x0 > line.x1), None)
        if nxt is None:  # or on the line below, as on an ID card
            nxt = next((l for l in page if l.row > line.row and abs(l.x0 - line.x0) < 3 * line.height
                        and l.top - line.bottom < 1.5 * line.height), None)
        words = nxt.words if nxt else []
    name_words = []
    for word in words:
        core = word.text.strip(".,;")
        if not core or not all(ch.isalpha() for ch in core) or not core[0].isupper():
            break
        name_words.append(word)
        if word.text != core:
            break
    if not 2 <= len(name_words) <= 7:
        return None
    strength = 0.95 if label.startswith("ho") else 0.85
    name, respelled = person_name(" ".join(w.text.strip(".,;") for w in name_words))
    strength = strength * 0.9 if respelled else strength
    return _Person(name, role, Line(line.page, name_words, line.row), strength)


def _looks_like_name(words) -> bool:
    return len(words) >= 2 and all(w.text[:1].isupper() for w in words[:2])


def _ids_in(line: Line, page: list[Line], table: bool) -> list[_Id]:
    texts = [w.text for w in line.words]
    # The label may sit left of the number on its row, or on a wrapped line beside it.
    before_row = " ".join(fold(l.text) for l in page if l.x1 <= line.x0 and l is not line
                          and l.top < line.bottom and l.bottom > line.top)
    out = []
    for start, end, raw in ids.digit_runs(texts):
        context = before_row + " " + fold(" ".join(texts[:start]))
        labelled = any(cue in context for cue in _ID_CUES)
        if not labelled and (table or end - start > 1):
            continue  # an unlabelled number made of pieces, or a table cell: too easy to be wrong
        kinds = ("cccd", "cmnd", "mst") if labelled else ("cccd",)
        if labelled and not any(c in context for c in ("cmnd", "chung minh", "ho chieu")):
            kinds = ("cccd", "mst")
        checked = ids.check(raw, kinds)
        if checked is None:
            continue
        out.append(_Id(checked.value, checked.kind, line.span(start, end), labelled, checked.repaired))
    return out


def _holder(found: _Id, people: list[_Person]) -> _Person | None:
    """The person whose name is nearest above the ID in the same column (or on the same row)."""
    best = None
    for person in people:
        line = person.line
        if line is None or line.page != found.line.page or line.top > found.line.bottom:
            continue
        same_column = min(line.x1, found.line.x1) - max(line.x0, found.line.x0) > -0.25 * (line.x1 - line.x0 + 200)
        if not same_column:
            continue
        if best is None or line.top > best.line.top:
            best = person
    return best


def _id_proposal(found: _Id) -> Proposal:
    strength = {"cccd": 0.97, "mst": 0.95, "cmnd": 0.85}[found.kind]
    if not found.labelled:
        strength = 0.7
    if found.repaired:
        strength = min(strength, 0.75)
    if min(w.confidence for w in found.line.words) < 0.9:
        # One misread digit still passes a CCCD's structure: a number OCR was unsure of stays below 0.9.
        strength = min(strength, 0.85)
    source = f"id:{found.kind}" + (":repaired" if found.repaired else "") + ("" if found.labelled else ":unlabelled")
    return proposal(found.value, strength, found.line, source)


def _labelled_date(line: Line, labels: tuple[str, ...], source: str, past: bool = False) -> Proposal | None:
    folded, _ = folded_words(line)
    label = next((c for c in labels if c in folded), None)
    if label is None:
        return None
    at = folded.index(label) + len(label)
    for found in find_dates(folded, None if past else date.today().year + 100):
        if found.start >= at and (not past or found.value <= date.today()):
            return date_proposal(found, 0.95, line, source)
    return None


def _nearest_birth(births: list[tuple[Line, Proposal]], owner: _Person | None) -> Proposal | None:
    """The owner's birth date: the first one after the owner's name line (else the first on the pages)."""
    if not births:
        return None
    if owner is not None and owner.line is not None:
        after = [p for line, p in births if (line.page, line.top) >= (owner.line.page, owner.line.top - 1)]
        if after:
            return after[0]
    return births[0][1]


def read_valid_until(doc: list[list[Line]], doc_type: DocType | None, result: Extraction) -> None:
    for line in all_lines(doc):
        found = _labelled_date(line, VALID_LABELS, "label:có giá trị đến")
        if found is not None:
            result.fields["valid_until"] = found
            return
    issued = result.fields.get("issued_on")
    if doc_type is not None and doc_type.valid_months and issued is not None:
        until = add_months(date.fromisoformat(str(issued.value)), doc_type.valid_months)
        result.fields["valid_until"] = Proposal(until.isoformat(), round(min(issued.confidence, 0.99) * 0.75, 3),
                                                issued.page, issued.box, "catalogue:valid-months")
