"""Exit codes and the errors that carry them.

Exit codes are a stable interface (scripts and the workers branch on them), so
values are never renumbered; new ones are appended. Every expected failure is a
`SohoaError` with a one-line message; the CLI prints it and exits with its code,
never a traceback.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final


class ExitCode(IntEnum):
    OK = 0
    USAGE = 2  # bad command-line arguments (Click's own code)
    INPUT_MISSING = 3  # the input path does not exist or cannot be read
    INPUT_EMPTY = 4  # zero bytes
    UNSUPPORTED = 5  # not a PDF, TIFF, JPEG or PNG
    DAMAGED = 6  # truncated or corrupt file
    ENCRYPTED = 7  # password-protected PDF
    NO_PAGES = 8  # a PDF with no pages
    TOO_LARGE = 9  # pixel count above the limit (decompression bomb)
    BAD_PAGE_SIZE = 10  # page smaller than 1 inch or larger than 200 inches
    OUTPUT_INVALID = 11  # the PDF/A we produced failed validation (a bug: report it)
    MISSING_DEPENDENCY = 12  # Tesseract, a language model or Java/PDFBox not installed
    OUTPUT_ERROR = 13  # the output cannot be written
    INVALID_CODE = 14  # a dossier/agency/ID/retention code fails validation
    INTERNAL = 15  # unexpected error (a bug)
    FIXITY_FAILED = 16  # stored objects missing or altered, or catalog and storage disagree
    NOT_FOUND = 17  # no record with that id or code
    REFUSED = 18  # the action is not allowed on this record (e.g. reuse of an expired document)
    TOO_MANY_PAGES = 19  # more pages in one file than SOHOA_MAX_PAGES
    SIGNING_SETUP = 20  # the signing key, certificate, password or token cannot be used (sign/)
    SIGNATURE_INVALID = 21  # a signature is missing, broken, untrusted or the file changed after signing
    CODE_CONFLICT = 22  # a code read off the pages disagrees with the one given (split/)
    INTERRUPTED = 130


EXIT_CODE_DOCS: Final[dict[ExitCode, str]] = {
    ExitCode.OK: "success",
    ExitCode.USAGE: "bad command-line arguments",
    ExitCode.INPUT_MISSING: "input file not found or unreadable",
    ExitCode.INPUT_EMPTY: "input file is empty (0 bytes)",
    ExitCode.UNSUPPORTED: "not a PDF, TIFF, JPEG or PNG document",
    ExitCode.DAMAGED: "truncated or damaged file",
    ExitCode.ENCRYPTED: "encrypted (password-protected) PDF",
    ExitCode.NO_PAGES: "PDF has no pages",
    ExitCode.TOO_LARGE: "image larger than the pixel limit (SOHOA_MAX_PIXELS)",
    ExitCode.BAD_PAGE_SIZE: "absurd page size (under 1 inch or over 200 inches)",
    ExitCode.OUTPUT_INVALID: "produced PDF/A failed validation",
    ExitCode.MISSING_DEPENDENCY: "a required program or language model is missing",
    ExitCode.OUTPUT_ERROR: "output cannot be written",
    ExitCode.INVALID_CODE: "invalid code (dossier, agency, ID, retention)",
    ExitCode.INTERNAL: "internal error",
    ExitCode.FIXITY_FAILED: "fixity check found missing or altered objects, or catalog and storage disagree",
    ExitCode.NOT_FOUND: "no such record",
    ExitCode.REFUSED: "action refused (e.g. the document has expired)",
    ExitCode.TOO_MANY_PAGES: "more pages in one file than the limit (SOHOA_MAX_PAGES)",
    ExitCode.SIGNING_SETUP: "the signing key, certificate, password or token cannot be used",
    ExitCode.SIGNATURE_INVALID: "signature missing, invalid, untrusted, or the file changed after signing",
    ExitCode.CODE_CONFLICT: "a dossier code read off the pages disagrees with the one given",
    ExitCode.INTERRUPTED: "interrupted",
}


class SohoaError(Exception):
    """An expected failure with a one-line message and a stable exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    def __reduce__(self):
        # Keep the exit code when the error crosses from a worker process to the parent.
        return (self.__class__, (self.message, self.exit_code))

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.exit_code.name


class InputError(SohoaError):
    """The input cannot become a record: the reason is permanent, retrying will not help."""

    exit_code = ExitCode.DAMAGED


class MissingDependency(SohoaError):
    exit_code = ExitCode.MISSING_DEPENDENCY


class InvalidCode(SohoaError):
    exit_code = ExitCode.INVALID_CODE


class OutputInvalid(SohoaError):
    exit_code = ExitCode.OUTPUT_INVALID
