"""Vietnamese text helpers for extraction: folding for tolerant matching, name case, agency case.

Matching runs on folded text (NFD, marks dropped, đ→d, lower case, spaces squeezed), so an OCR page
that lost a diacritic ("QUYET DINH", "S6:") still matches. Values proposed to users are NFC.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case ASCII-ish text: diacritics dropped, đ → d, whitespace squeezed."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare.lower()).strip()


def similarity(a: str, b: str) -> float:
    """0..1 likeness of two folded strings (difflib's ratio: no extra dependency)."""
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def upper_share(text: str) -> float:
    """Share of the letters that are upper case (1.0 for a title line in capitals)."""
    alpha = [ch for ch in text if ch.isalpha()]
    return sum(ch.isupper() for ch in alpha) / len(alpha) if alpha else 0.0


def capitalise(word: str) -> str:
    """First letter upper, the rest lower ("NGUYỄN" → "Nguyễn"); digits and marks kept."""
    word = nfc(word)
    for i, ch in enumerate(word):
        if ch.isalpha():
            return word[:i] + ch.upper() + word[i + 1:].lower()
    return word


def name_case(text: str) -> str:
    """A person's or place's name: every word capitalised ("NGUYỄN VĂN AN" → "Nguyễn Văn An")."""
    return " ".join(capitalise(w) for w in nfc(text).split())


# The common Vietnamese family names: a closed list, so a family name OCR read without its marks
# ("NGUYEN", "Đăng") is spelled right. No two of them fold to the same letters.
FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
                "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Lương", "Tạ", "Đào", "Đoàn", "Vương", "Trương", "Lâm",
                "Cao", "Hà", "Tô", "Quách", "Châu", "Lưu", "Kiều", "Tăng", "Thái", "Triệu", "Mạc", "Tống")
_FAMILY_BY_FOLD = {fold(n): n for n in FAMILY_NAMES}


def person_name(text: str) -> tuple[str, bool]:
    """Name case, with the family name spelled from the list; True when a letter had to change."""
    words = name_case(text).split()
    if not words:
        return "", False
    known = _FAMILY_BY_FOLD.get(fold(words[0]))
    if known is None or known == words[0]:
        return " ".join(words), False
    return " ".join([known, *words[1:]]), True


# Agency names (NĐ 30/2020 spelling): the head word is capitalised, the common administrative words are
# lower case, the place after a level word (tỉnh, quận, xã...) is a proper name, and a field name after a
# department head word (Sở, Phòng...) starts with a capital ("Sở Tư pháp", "Phòng Tài nguyên và Môi trường").
ABBREVIATIONS = {
    "ubnd": "ủy ban nhân dân", "hdnd": "hội đồng nhân dân", "tp.": "thành phố", "tp": "thành phố",
    "tx.": "thị xã", "tt.": "thị trấn", "p.": "phường", "q.": "quận", "h.": "huyện",
}
# Whole agencies: a place follows, never a field name.
AGENCY_WORDS = ("ủy ban nhân dân", "hội đồng nhân dân", "công an", "tòa án nhân dân", "viện kiểm sát nhân dân",
                "văn phòng công chứng", "văn phòng đăng ký đất đai", "chi nhánh văn phòng đăng ký đất đai",
                "bộ phận tiếp nhận và trả kết quả", "bộ phận một cửa", "trung tâm phục vụ hành chính công",
                "ban chỉ huy quân sự", "chi cục thuế", "cục thuế", "bảo hiểm xã hội", "kho bạc nhà nước")
# Department heads: a field name follows ("Sở Tư pháp"); a place may follow that.
DEPARTMENT_WORDS = ("văn phòng", "sở", "phòng", "ban", "trung tâm", "chi cục", "cục", "bộ", "tổng cục", "đội",
                    "bộ phận", "hội đồng", "ủy ban")
PLACE_LEVELS = ("thành phố", "thị xã", "thị trấn", "tỉnh", "quận", "huyện", "phường", "xã")
_HEADS_AND_LEVELS = AGENCY_WORDS + DEPARTMENT_WORDS + PLACE_LEVELS


def expand_abbreviations(text: str) -> str:
    out = []
    for word in nfc(text).split():
        key = fold(word)
        out.append(ABBREVIATIONS.get(key, word))
    return " ".join(out)


def _starts_with(words_folded: list[str], i: int, phrase: str) -> bool:
    parts = fold(phrase).split()
    return words_folded[i:i + len(parts)] == parts


def _phrase_at(words_folded: list[str], i: int, phrases: tuple[str, ...]) -> str | None:
    for phrase in sorted(phrases, key=lambda p: -len(p.split())):
        if _starts_with(words_folded, i, phrase):
            return phrase
    return None


def is_place_level(text: str) -> bool:
    words = fold(expand_abbreviations(text)).split()
    return bool(words) and _phrase_at(words, 0, PLACE_LEVELS) is not None


def is_agency_head(text: str) -> bool:
    words = fold(expand_abbreviations(text)).split()
    return bool(words) and _phrase_at(words, 0, AGENCY_WORDS + DEPARTMENT_WORDS) is not None


def agency_case(text: str) -> str:
    """"ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH" → "Ủy ban nhân dân Thành phố Hồ Chí Minh"."""
    glued = re.sub(r"(?<=[^\W\d_])-(?=[^\W\d_])", " ", text)  # OCR: "HỘI-ĐỒNG NHÂN DÂN"
    words = [w for w in _fix_uy(expand_abbreviations(glued)).split() if any(ch.isalnum() for ch in w) or w in "-–"]
    while words and not words[-1][-1:].isalnum():  # OCR specks after the name: "Huế '", "Mỹ An _."
        words[-1] = words[-1][:-1]
        if not words[-1]:
            words.pop()
    folded = [fold(w) for w in words]
    out: list[str] = []
    mode = "common"  # common | field (after a department head) | place (after a level word)
    i = 0
    while i < len(words):
        level = _phrase_at(folded, i, PLACE_LEVELS)
        head = _phrase_at(folded, i, AGENCY_WORDS + DEPARTMENT_WORDS) if mode != "place" else None
        if level and (mode != "place" or level != "thành phố"):
            n = len(level.split())
            rest = folded[i + n:]
            # Numbered units and the one city whose name includes its level keep the level capitalised.
            proper = bool(rest) and (rest[0].isdigit() or rest[:3] == ["ho", "chi", "minh"])
            out.extend(_case_phrase(level, proper))
            mode, i = "place", i + n
            continue
        if head:
            n = len(head.split())
            out.extend(_case_phrase(head, False))
            mode = "common" if head in AGENCY_WORDS else "field"
            i += n
            if mode == "field" and i < len(words) and _phrase_at(folded, i, _HEADS_AND_LEVELS) is None:
                out.append(capitalise(words[i]))
                i += 1
            continue
        word = words[i]
        if mode == "place" or mode == "field" and out and fold(out[-1]) in ("va", "-", "–"):
            out.append(capitalise(word))
        else:
            out.append(word.lower())
        i += 1
    if out:
        out[0] = capitalise(out[0]) if out[0].islower() or out[0].isupper() else out[0]
    return " ".join(out)


def _case_phrase(phrase: str, proper: bool) -> list[str]:
    """The phrase as the vocabulary spells it (an OCR "bạn" in "Ủy bạn nhân dân" is put right), lower
    case; a level that is part of a proper name capitalises its first word ("Thành phố")."""
    return [capitalise(w) if proper and i == 0 else w for i, w in enumerate(phrase.split())]


def _fix_uy(text: str) -> str:
    """The old placement of the tone mark ("UỶ", "uỷ") in the modern one used by NĐ 30 ("Ủy")."""
    return text.replace("UỶ", "ỦY").replace("Uỷ", "Ủy").replace("uỷ", "ủy")
