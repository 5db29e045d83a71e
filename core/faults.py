"""Fault points for crash tests: `maybe_crash(point, key)` kills this process with SIGKILL when
the environment variable `SOHOA_FAULT` names that point, and does nothing otherwise.

`SOHOA_FAULT=point` crashes at the first pass through `point`; `SOHOA_FAULT=point@suffix` only
where the object key ends with `suffix` (e.g. `local.linked@metadata.json`). The variable is read
once, at import: with it unset, a fault point costs one comparison. Never set it in production.
"""

from __future__ import annotations

import os
import signal
from typing import Final

_FAULT: Final = os.environ.get("SOHOA_FAULT", "")
_POINT, _, _SUFFIX = _FAULT.partition("@")


def maybe_crash(point: str, key: str = "") -> None:
    """Die here, as a power cut or `kill -9` would, if `SOHOA_FAULT` names this point."""
    if _POINT and point == _POINT and key.endswith(_SUFFIX):
        os.kill(os.getpid(), signal.SIGKILL)
