"""The merge rules of ingest/describe.py (issue #14): proposals fill only what nobody typed, legal
fields only when near-certain, contradictions are flagged, confirmation empties the review state."""

from __future__ import annotations

from datetime import date

import pytest

from sohoa.core.errors import SohoaError
from sohoa.core.records import RecordMetadata
from sohoa.ingest import describe
from sohoa.ingest.policy import IngestFields

NAMES = {"XNHN": "Giấy xác nhận tình trạng hôn nhân", "QD": "Quyết định"}


def proposal(value, confidence):
    return {"value": value, "confidence": confidence, "page": 1, "box": [0, 0, 1, 1], "source": "test"}


def merged(fields: IngestFields, **proposals):
    others = proposals.pop("other_ids", [])
    return describe.merge(fields, proposals, others, {"fields": proposals}, NAMES)


def test_untyped_fields_are_filled_and_unconfirmed_typed_ones_never_change():
    out = merged(IngestFields(title="Tờ trình của phòng"), title=proposal("Quyết định về việc cấp phép", 0.95),
                 number_symbol=proposal("12/QĐ-UBND", 0.9), doc_type_code=proposal("QD", 0.97))
    assert out.fields.title == "Tờ trình của phòng"  # typed wins
    assert out.disagreements == ["title"]
    assert out.fields.number_symbol == "12/QĐ-UBND" and out.fields.doc_type == "QD"
    assert out.unconfirmed == ["doc_type_code", "number_symbol"] and out.doc_type_name == "Quyết định"
    assert out.review_confidence == 0.9


def test_weak_proposals_fill_nothing_and_legal_fields_need_near_certainty():
    out = merged(IngestFields(), summary=proposal("V/v gì đó", 0.4), owner_id=proposal("001090012345", 0.85),
                 valid_until=proposal("2025-04-15", 0.72), issued_on=proposal("2024-10-15", 0.7))
    assert out.fields.summary is None and out.fields.owner_id is None and out.fields.valid_until is None
    assert out.fields.issued_on == date(2024, 10, 15) and out.unconfirmed == ["issued_on"]


def test_invalid_values_are_never_used():
    out = merged(IngestFields(), owner_id=proposal("00109001234", 0.99), issued_on=proposal("3024-13-45", 0.99),
                 other_ids=[proposal("12345", 0.99), proposal("079190001234", 0.95), proposal("079190001235", 0.5)])
    assert out.fields.owner_id is None and out.fields.issued_on is None
    assert out.other_ids == ["079190001234"]  # the valid, near-certain one only
    assert out.review_confidence is None


def test_a_typed_value_agreeing_with_the_page_is_neither_flagged_nor_unconfirmed():
    out = merged(IngestFields(owner_id="001090012345", title="quyết định  về việc cấp phép"),
                 owner_id=proposal("001090012345", 0.99), title=proposal("Quyết định về việc cấp phép", 0.95))
    assert out.unconfirmed == [] and out.disagreements == [] and out.review_confidence is None


def _meta(**fields) -> RecordMetadata:
    return RecordMetadata(record_id="R1", record_code="X-TP-1", original_sha256="0" * 64, original_size=1, **fields)


def test_confirming_settles_everything_and_setting_counts_as_confirming():
    meta = _meta(number_symbol="12/QĐ-UBND", unconfirmed=["number_symbol", "issued_on"], disagreements=["title"],
                 review_confidence=0.7, issued_on=date(2024, 1, 2))
    new, changed = describe.described_metadata(meta, {"issued_on": "2024-01-03"}, confirm=False)
    assert new.issued_on == date(2024, 1, 3) and new.unconfirmed == ["number_symbol"] and changed == ["issued_on"]
    assert new.review_confidence == 0.7  # still waiting for the rest
    done, changed = describe.described_metadata(new, {}, confirm=True)
    assert done.unconfirmed == [] == done.disagreements and done.review_confidence is None
    assert changed == ["number_symbol", "title"]


@pytest.mark.parametrize("pair, message", [("issued_on=15/10/2024", "YYYY-MM-DD"), ("owner_id=12", "owner ID"),
                                           ("other_ids=001090012345,99", "other_ids")])
def test_bad_values_are_one_line_errors(pair, message):
    values = describe.parse_assignments([pair])
    with pytest.raises(SohoaError) as caught:
        describe.described_metadata(_meta(), values, confirm=False)
    assert message in caught.value.message and "\n" not in caught.value.message


def test_unknown_fields_are_refused():
    with pytest.raises(SohoaError) as caught:
        describe.parse_assignments(["record_code=KQ9"])
    assert "FIELD=VALUE" in caught.value.message
