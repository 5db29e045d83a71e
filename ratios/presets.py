"""Named target presets (issue #19 item 5): sets of the four indicators' targets from a plan or a
decision, kept with their source in data/presets.yaml and applied by `sohoa targets preset NAME`
into the same storage as `sohoa targets set` (points are left as they are)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from sohoa.core.db import Database
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios.indicators import INDICATORS

PRESETS_FILE: Final = Path(__file__).parent / "data" / "presets.yaml"


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    source: str
    targets: dict[str, float]  # indicator → fraction (0.8), as stored
    default: bool = False


def load(path: Path = PRESETS_FILE) -> dict[str, Preset]:
    """Every preset of the file, in its order; a malformed file is a bug of the package (exit 15)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SohoaError(f"{path}: expected a mapping of preset names", ExitCode.INTERNAL)
    return {str(key): _preset(path, str(key), entry) for key, entry in data.items()}


def _preset(path: Path, key: str, entry: object) -> Preset:
    if not isinstance(entry, dict) or not isinstance(entry.get("targets"), dict) or not entry.get("source"):
        raise SohoaError(f"{path}: preset {key!r} needs a source and targets", ExitCode.INTERNAL)
    targets = {}
    for indicator, percent in entry["targets"].items():
        if indicator not in INDICATORS or not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
            raise SohoaError(f"{path}: preset {key!r}: bad target {indicator}: {percent!r}", ExitCode.INTERNAL)
        targets[indicator] = percent / 100
    return Preset(key, str(entry.get("name") or key), " ".join(str(entry["source"]).split()), targets,
                  bool(entry.get("default", False)))


def get(key: str) -> Preset:
    presets = load()
    if key not in presets:
        raise SohoaError(f"unknown preset {key!r}: expected one of {', '.join(presets)} (see sohoa targets presets)",
                         ExitCode.USAGE)
    return presets[key]


def apply(catalog: Database, key: str, agency: str | None) -> tuple[Preset, str]:
    """Store the preset's targets for the agency (None = every agency's default); returns the
    preset and the agency row changed."""
    from sohoa.ratios.agencies import load_tree, require_agency
    from sohoa.ratios.targets import ALL_AGENCIES, set_targets

    preset = get(key)
    code = require_agency(load_tree(catalog), agency) if agency else None
    set_targets(catalog, code, preset.targets, {})
    return preset, code or ALL_AGENCIES
