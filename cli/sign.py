"""Commands of sohoa.sign (registered in cli/__init__.py)."""

from __future__ import annotations

COMMANDS: list = []
