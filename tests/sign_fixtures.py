"""The signing tests' fixtures: one throwaway PKI (certomancer CA, OCSP, CRL, timestamp server on
loopback) and one SoftHSM2 token per session, from sohoa.testkit.pki."""

from __future__ import annotations

from typing import Iterator

import pytest

from sohoa.testkit.pki import (  # noqa: F401  (re-exported for the tests)
    P12_PASSWORD, UNIT_NAME, TestPki, Token, softhsm_token as _token, throwaway_pki,
)


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory) -> Iterator[TestPki]:
    with throwaway_pki(tmp_path_factory.mktemp("pki")) as pki:
        yield pki


@pytest.fixture(scope="session")
def softhsm_token(test_pki, tmp_path_factory) -> Iterator[Token]:
    with _token(test_pki, tmp_path_factory.mktemp("softhsm")) as token:
        yield token
