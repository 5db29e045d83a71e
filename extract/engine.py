"""The extraction rules of a document's head: type, number, issue date, issuer, title and summary.

`extract` runs them over the segments of `lines.page_lines` (rows cut at the header's column gap),
then the person rules of `persons` (owner, IDs, birth date, validity). Each rule proposes a value with
a confidence (`evidence.confidence`: the rule's strength times a factor from the OCR confidence of the
words it used), so a strong rule on a clean page is above 0.9 and a weak rule or a poor page stays
below. Nothing here raises on odd input: a page it cannot read gives no proposal.
"""

from __future__ import annotations

import re

from sohoa.extract.catalogue import Catalogue, DocType, load_catalogue
from sohoa.extract.dates import find_dates
from sohoa.extract.evidence import (
    all_lines,
    date_proposal,
    folded_words,
    page_width,
    proposal,
    words_from,
)
from sohoa.extract.lines import Line, Word, page_lines
from sohoa.extract.model import Extraction, Proposal
from sohoa.extract.persons import BIRTH_LABELS, VALID_LABELS, read_persons, read_valid_until
from sohoa.extract.text import (
    agency_case,
    capitalise,
    fold,
    is_agency_head,
    is_place_level,
    letters,
    nfc,
    similarity,
    upper_share,
)

_MOTTO = ("cong hoa xa hoi chu nghia viet nam", "doc lap - tu do - hanh phuc", "doc lap tu do hanh phuc")
_NUMBER = re.compile(r"(\d{1,6})\s*/\s*(?:((?:19|20)\d{2})\s*/\s*)?"
                     r"([A-ZĐ][A-ZĐa-z0-9]*(?:\s*-\s*[A-ZĐ][A-ZĐa-z0-9]*){0,3})")
_NUMBER_PREFIX = re.compile(r"^\s*(?:s\S?|so)\s*[:;.,]?\s*(?=\d)")  # on folded text: "Số:", "S6:", "So:"
_FIRST_STOP = ("can cu", "kinh gui", "ho va ten", "hom nay")  # a trích yếu may start "Thực hiện…"
_VV = re.compile(r"^\s*v\s*[/|]\s*v?(?![a-z])")  # "V/v", and "V/" when OCR lost the second v
_ISSUE_LABELS = ("ngay cap", "cap ngay", "date of issue")
_SUMMARY_STOP = ("can cu", "kinh gui", "xet ", "thuc hien", "dieu ", "theo de nghi", "ho va ten", "hom nay")


def extract(pages: list[list[dict]], sizes: list[tuple[float, float]] | None = None,
            catalogue: Catalogue | None = None) -> Extraction:
    """Proposals for one document from its pages' words (words.json "pages")."""
    if catalogue is None:
        from sohoa.core.settings import get_settings

        catalogue = load_catalogue(get_settings().doctypes_file)
    pages = pages if isinstance(pages, list) else []
    doc = [page_lines(words, n + 1, page_width(sizes, n)) for n, words in enumerate(pages)]
    result = Extraction()
    title_line, doc_type, type_conf, type_source = _find_type(doc, catalogue)
    number = _number_symbol(doc, catalogue)
    if doc_type is None and number is not None:
        doc_type, type_conf, type_source, title_line = _type_from_number(doc, number, catalogue)
    if doc_type is not None:
        where = title_line or number[1]
        result.doc_type = proposal(doc_type.code, type_conf, where, type_source)
        result.fields["doc_type_code"] = result.doc_type
        result.fields["doc_type_name"] = proposal(doc_type.name, type_conf, where, type_source)
    if number is not None:
        result.fields["number_symbol"] = number[0]
    anchor = number[1] if number else title_line
    _add(result, "issued_on", _issued_on(doc))
    agency = _issuing_agency(doc, anchor, title_line, sizes)
    if agency:
        result.fields["issuing_agency"] = agency[0]
        if agency[1]:
            result.fields["issuing_parent"] = agency[1]
    summary = _summary(doc, title_line, doc_type)
    _add(result, "summary", summary)
    _add(result, "title", _title(doc_type, title_line, summary, result.doc_type.confidence if result.doc_type else 0))
    read_persons(doc, result)
    read_valid_until(doc, doc_type, result)
    return result


def _add(result: Extraction, name: str, found: Proposal | None) -> None:
    if found is not None:
        result.fields[name] = found


def _is_motto(folded: str) -> bool:
    return any(similarity(folded[:len(m) + 2], m) > 0.8 for m in _MOTTO) or folded.startswith("doc lap")


# ------------------------------------------------------------------ type and title


def _find_type(doc: list[list[Line]], catalogue: Catalogue) -> tuple[Line | None, DocType | None, float, str]:
    """The first capitalised title line (or two or three, "GIẤY TIẾP NHẬN HỒ SƠ / VÀ HẸN TRẢ KẾT QUẢ")
    that starts with a catalogue cue; exact matches on the folded text first, then near ones."""
    cues = catalogue.cues()
    candidates = []
    for page in doc:
        for line in page:
            if letters(line.text) >= 3 and upper_share(line.text) >= 0.75 and not _is_motto(fold(line.text)):
                candidates.append(_title_group(line, page))
    for fuzzy in (False, True):
        for group in candidates:
            if fuzzy and is_agency_head(group[0].text):
                continue
            for k in range(1, len(group) + 1):
                folded = fold(" ".join(l.text for l in group[:k])).rstrip(":. ")
                found = _match_cue(folded, cues, fuzzy)
                if found:
                    doc_type, score = found
                    title = Line(group[0].page, [w for l in group[:k] for w in l.words], group[k - 1].row)
                    title = _canonical_title(title, doc_type)
                    if score == 1.0:
                        return title, doc_type, 0.97, "catalogue:title"
                    return title, doc_type, min(0.85, score * 0.9), "catalogue:title-fuzzy"
    return None, None, 0.0, ""


def _canonical_title(title: Line, doc_type: DocType) -> Line:
    """The title's words with the cue part spelled as the catalogue does ("KẾT QUÁ" read → "KẾT QUẢ")."""
    folded = [fold(w.text) for w in title.words]
    for cue in sorted(doc_type.cues, key=len, reverse=True):
        cue_words = cue.split()
        n = len(cue_words)
        if len(folded) >= n and similarity(" ".join(folded[:n]), fold(cue)) >= 0.85:
            fixed = [Word(text, w.x0, w.top, w.x1, w.bottom, w.confidence)
                     for text, w in zip(cue_words, title.words[:n])]
            return Line(title.page, fixed + title.words[n:], title.row)
    return title


def _title_group(line: Line, page: list[Line]) -> list[Line]:
    """The line and up to two capitalised lines right under it, each alone on its row."""
    group = [line]
    for nxt in page:
        if len(group) == 3:
            break
        if nxt.row <= group[-1].row or nxt.top < group[-1].bottom - 0.5:
            continue
        alone = sum(1 for l in page if l.row == nxt.row) == 1
        close = nxt.top - group[-1].bottom < 1.2 * group[-1].height
        if not (alone and close and upper_share(nxt.text) >= 0.75 and letters(nxt.text) >= 2):
            break
        group.append(nxt)
    return group


def _match_cue(folded: str, cues: list[tuple[str, DocType]], fuzzy: bool) -> tuple[DocType, float] | None:
    for cue, doc_type in cues:  # longest first
        if not fuzzy:
            if folded == cue or (folded.startswith(cue) and not folded[len(cue)].isalnum()):
                return doc_type, 1.0
            continue
        if len(cue) < 10:
            continue
        head = " ".join(folded.split()[:len(cue.split())])
        score = similarity(head, cue)
        if score >= 0.85:
            return doc_type, score
    return None


def _type_from_number(doc, number, catalogue):
    """No title line: the number's symbol names the type ("QĐ"), or a "V/v" summary makes it a công văn."""
    symbol = number[2]
    by_symbol = catalogue.by_symbol(symbol.split("-")[0])
    if by_symbol is not None:
        return by_symbol, 0.75, "pattern:number-symbol", None
    official = catalogue.types.get("CV")
    if official is not None and _vv_line(doc) is not None:
        return official, 0.85, "pattern:cong-van", None
    return None, 0.0, "", None


def _title(doc_type: DocType | None, title_line: Line | None, summary: Proposal | None,
           type_conf: float) -> Proposal | None:
    if doc_type is None:
        return None
    head = _sentence_case(title_line.text.rstrip(":. ")) if title_line else doc_type.name
    where = title_line or (summary and _line_of(summary))
    if where is None:
        return None
    if doc_type.administrative and summary is not None:
        text = _expand_vv(str(summary.value))
        return Proposal(f"{head} {text[0].lower()}{text[1:]}", min(type_conf, summary.confidence),
                        where.page, where.box, "catalogue:title+summary")
    return Proposal(head, min(0.97, type_conf), where.page, where.box, "catalogue:title")


def _line_of(proposal: Proposal) -> Line:
    x0, top, x1, bottom = proposal.box
    return Line(proposal.page, [Word(str(proposal.value), x0, top, x1, bottom, proposal.confidence)])


def _sentence_case(text: str) -> str:
    text = " ".join(nfc(text).split())
    return capitalise(text.split()[0]) + "".join(" " + w.lower() for w in text.split()[1:]) if text else text


def _expand_vv(text: str) -> str:
    return re.sub(r"^\s*[Vv]\s*/\s*[Vv]\s*[:.]?\s*", "về việc ", text).strip()


# ------------------------------------------------------------------ number, date, issuer, summary


def _number_symbol(doc: list[list[Line]], catalogue: Catalogue) -> tuple[Proposal, Line, str] | None:
    for line in all_lines(doc):
        folded, _ = folded_words(line)
        prefix = _NUMBER_PREFIX.match(folded)
        if prefix is None:
            continue
        start = words_from(line, prefix.end() - (1 if folded[prefix.end() - 1:prefix.end()] == " " else 0))
        start = min(start, max(0, len(line.words) - 1))
        # The number may start inside the first word ("Số:2576/QĐ-UBND"): match on the raw text after "Số".
        raw = line.text
        raw_prefix = (re.match(r"^\s*\S{1,3}?\s*[:;.,]\s*", raw) or re.match(r"^\s*\S{1,3}?\s+", raw)
                      or re.match(r"^\s*[^\d\s]{1,3}", raw))
        body = raw[raw_prefix.end():] if raw_prefix else raw
        m = _NUMBER.match(body.strip().replace("\u00d0", "Đ"))  # OCR reads Đ as the look-alike Ð
        if m is None:
            continue
        symbol = _normal_symbol(re.sub(r"\s+", "", m[3]), catalogue)
        value = f"{m[1]}/{m[2] + '/' if m[2] else ''}{symbol}"
        strength = 0.97 if re.match(r"^\s*s[o6]\s*:", folded) else 0.9
        span = line.span(start, len(line.words)) if start < len(line.words) else line
        return proposal(value, strength, span, "pattern:number-symbol"), line, symbol
    return None


def _normal_symbol(symbol: str, catalogue: Catalogue) -> str:
    """Upper case, and a type symbol that lost its mark ("QD") spelled as the catalogue does ("QĐ")."""
    parts = re.sub("Đ{2,}", "Đ", symbol).split("-")  # "QĐÐ": one letter read twice
    known = catalogue.by_symbol(parts[0])
    if known is not None and known.symbol:
        parts[0] = known.symbol
    return "-".join(p if p == (known.symbol if known else None) else p.upper() for p in parts)


def _issued_on(doc: list[list[Line]]) -> Proposal | None:
    labelled = None
    for line in all_lines(doc):
        folded, _ = folded_words(line)
        if any(cue in folded for cue in BIRTH_LABELS + VALID_LABELS):
            continue
        dates = find_dates(folded)
        if not dates:
            continue
        if re.match(r"^[^,:;]{2,45}[,.]\s*ngay\b", folded):  # "Hà Nội, ngày 15 tháng 10 năm 2018" (OCR: "Nội. ngày")
            return date_proposal(dates[0], 0.96 if dates[0].spelled else 0.92, line, "pattern:place-date")
        label = next((c for c in _ISSUE_LABELS if c in folded), None)
        if label and labelled is None:
            after = [d for d in dates if d.start >= folded.index(label)]
            if after:
                labelled = date_proposal(after[0], 0.9, line, "label:ngày cấp")
    return labelled


def _issuing_agency(doc, anchor: Line | None, title_line: Line | None,
                    sizes) -> tuple[Proposal, Proposal | None] | None:
    """The top-left block above "Số:" (or above the title): the lower level is the issuer, the upper its parent."""
    page_no = (anchor or title_line).page if (anchor or title_line) else 1
    if not doc or page_no > len(doc):
        return None
    lines = doc[page_no - 1]
    if not lines:
        return None
    limit = anchor.top if anchor else (title_line.top if title_line else None)
    if limit is None:
        return None
    width = page_width(sizes, page_no - 1) or (max(l.x1 for l in lines) + min(l.x0 for l in lines))
    per_row: dict[int, int] = {}
    for line in lines:
        per_row[line.row] = per_row.get(line.row, 0) + 1
    block: list[Line] = []
    for line in lines:
        if line.top >= limit - 0.5 or line is title_line:
            continue
        folded = fold(line.text)
        if letters(line.text) < 2 or upper_share(line.text) < 0.8 or _is_motto(folded):
            continue
        if per_row[line.row] > 1 and line.centre > width / 2:
            continue  # the right column: motto and place-date
        if find_dates(folded) or _NUMBER_PREFIX.match(folded):
            continue
        block.append(line)
    if not block:
        return None
    levels: list[list[Line]] = []
    for line in block:
        starts_unit = is_agency_head(line.text) and levels and not is_place_level(line.text)
        if not levels or starts_unit:
            levels.append([line])
        else:
            levels[-1].append(line)
    issuer = levels[-1]
    parent = levels[-2] if len(levels) > 1 else None
    return _agency_proposal(issuer), (_agency_proposal(parent) if parent else None)


def _agency_proposal(lines: list[Line]) -> Proposal:
    joined = Line(lines[0].page, [w for line in lines for w in line.words], lines[0].row)
    text = agency_case(" ".join(line.text for line in lines))
    return proposal(text, 0.93, joined, "layout:issuer-block")


def _vv_line(doc: list[list[Line]]) -> Line | None:
    for line in all_lines(doc):
        if _VV.match(fold(line.text)):
            return line
    return None


def _summary(doc, title_line: Line | None, doc_type: DocType | None) -> Proposal | None:
    """The trích yếu: the lines under the type title, or a công văn's "V/v …" (it has no title line)."""
    if doc_type is None or "summary" not in doc_type.fields:
        return None
    vv = _vv_line(doc) if title_line is None else None
    if vv is not None:
        first, strength, source = vv, 0.93, "pattern:v/v"
    elif title_line is not None:
        lines = doc[title_line.page - 1]
        after = [l for l in lines if l.row > title_line.row]
        if not after:
            return None
        first, strength, source = after[0], 0.92, "layout:under-title"
    else:
        return None
    taken = [first]
    if first is not vv and _stops_summary(first, _FIRST_STOP):
        return None
    lines = doc[first.page - 1]
    for line in lines:
        if line.top <= taken[-1].bottom or len(taken) >= 3:
            continue
        gap = line.top - taken[-1].bottom
        if gap > 1.8 * taken[-1].height or abs(line.centre - first.centre) > 0.25 * max(first.x1 - first.x0, 1) \
                and abs(line.x0 - first.x0) > first.height:
            break
        if _stops_summary(line):
            break
        taken.append(line)
    text = " ".join(" ".join(l.text for l in taken).split()).rstrip(" .;")
    if first is vv:
        text = re.sub(r"^\s*[Vv]\s*[/|]\s*[Vv]?\s*", "V/v ", text)
    if letters(text) < 4:
        return None
    joined = Line(first.page, [w for l in taken for w in l.words], first.row)
    return proposal(text, strength, joined, source)


def _stops_summary(line: Line, stops: tuple[str, ...] = _SUMMARY_STOP) -> bool:
    folded = fold(line.text)
    return (folded.startswith(stops) or upper_share(line.text) > 0.8 or letters(line.text) < 2
            or bool(re.fullmatch(r"[-_=.\s*]+", line.text)))
