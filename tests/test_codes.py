"""Validators of Vietnamese codes (DESIGN.md "Codes")."""

import pytest

from sohoa.core import codes
from sohoa.core.errors import ExitCode, InvalidCode


def test_valid_codes_are_normalised():
    assert codes.agency_code(" 000.00.12.h36 ") == "000.00.12.H36"
    assert codes.dossier_code("000.00.12.H36-240115-0001") == "000.00.12.H36-240115-0001"
    assert codes.result_code("000.00.12.H36-240115-0001", 2) == "000.00.12.H36-240115-0001-KQ2"
    assert codes.personal_id("001204012345") == "001204012345"
    assert codes.tax_code("0101234567-001") == "0101234567-001"
    assert codes.owner_id("0101234567") == "0101234567"
    assert codes.retention_code("1") == "01"


@pytest.mark.parametrize(
    "validator, value, hint",
    [
        (codes.agency_code, "000.00.12", "four dot-separated groups"),
        (codes.dossier_code, "000.00.12.H36-241315-0001", "not a date"),
        (codes.dossier_code, "000.00.12.H36-240115-01", "<agency code>-YYMMDD-NNNN"),
        (codes.dossier_code, "000.12.H36-240115-0001", "four dot-separated groups"),
        (codes.personal_id, "00120401234", "12 digits"),
        (codes.tax_code, "0101234567-01", "10 digits"),
        (codes.owner_id, "abc", "12-digit CCCD"),
        (codes.retention_code, "08", "01..07"),
    ],
)
def test_invalid_codes_explain_the_expected_form(validator, value, hint):
    with pytest.raises(InvalidCode) as error:
        validator(value)
    assert hint in error.value.message
    assert error.value.exit_code == ExitCode.INVALID_CODE
