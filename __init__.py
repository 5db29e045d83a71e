"""sohoa — scanned paper to a verified Vietnamese PDF/A electronic archive.

The repository root is the ``sohoa`` package; each top-level folder is one
responsibility (see README.md, "Architecture").
"""

__version__ = "0.1.0"
