"""The national-portal (Cổng Dịch vụ công quốc gia) view of a dossier: its fields, as the one-stop
system sends them for the QĐ 766 scoring, computed from sohoa's dossier view by one data file.

The mapping (ratios/data/dvcqg.yaml, or the file SOHOA_DVCQG_MAPPING names) says, per output field,
where the value comes from; this module only reads it and applies it to a plain dict (the JSON of
the dossier view), so a province adapts the field names, codes and formats without code. The keys of
a field are checked when the file is loaded: a typo is an error naming the field, not a silent gap.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import yaml
from sohoa.core.errors import ExitCode, SohoaError

DEFAULT_MAPPING: Final = Path(__file__).resolve().parent / "data" / "dvcqg.yaml"
KEYS: Final = frozenset({"from", "value", "map", "format", "template", "default", "each", "fields"})
PLACEHOLDER: Final = re.compile(r"\{([A-Za-z0-9_.]+)\}")
_MISSING: Final = object()


def load(path: Path | None = None) -> dict[str, dict]:
    """The mapping, checked: every field a mapping of known keys, lists with their own fields."""
    path = path or DEFAULT_MAPPING
    try:
        mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SohoaError(f"national-portal mapping {path}: cannot read ({exc.strerror})", ExitCode.INPUT_MISSING) from None
    except yaml.YAMLError as exc:
        raise SohoaError(f"national-portal mapping {path}: not YAML ({str(exc).splitlines()[0]})",
                         ExitCode.UNSUPPORTED) from None
    if not isinstance(mapping, dict) or not mapping:
        raise SohoaError(f"national-portal mapping {path}: expected field: {{from: …}} lines", ExitCode.UNSUPPORTED)
    _check(mapping, str(path))
    return mapping


def _check(mapping: dict, where: str) -> None:
    for name, spec in mapping.items():
        if not isinstance(spec, dict) or not spec or set(spec) - KEYS:
            unknown = ", ".join(sorted(set(spec) - KEYS)) if isinstance(spec, dict) else "not a mapping"
            raise SohoaError(f"national-portal mapping {where}: field {name}: {unknown or 'empty'} "
                             f"(keys: {', '.join(sorted(KEYS))})", ExitCode.UNSUPPORTED)
        if "each" in spec:
            if not isinstance(spec.get("fields"), dict):
                raise SohoaError(f"national-portal mapping {where}: field {name}: `each` needs `fields`",
                                 ExitCode.UNSUPPORTED)
            _check(spec["fields"], f"{where} {name}")


def lookup(document: Any, path: str) -> Any:
    """A dotted path into dicts and lists (list items by number); _MISSING when absent or null."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return _MISSING if current is None else current


def _fill(template: str, context: dict) -> Any:
    values = [lookup(context, name) for name in PLACEHOLDER.findall(template)]
    if any(value is _MISSING for value in values):
        return _MISSING
    found = iter(values)
    return PLACEHOLDER.sub(lambda _: str(next(found)), template)


def _format(value: Any, pattern: str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value[:10]) if len(value) <= 10 else datetime.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    return value.strftime(pattern)


def _map_key(value: Any) -> Any:
    return value if not isinstance(value, str) else value.strip()


def field(spec: dict, context: dict) -> Any:
    """One output value from its spec (see the module docstring and docs/integration.md)."""
    if "each" in spec:
        items = lookup(context, spec["each"])
        items = items if isinstance(items, list) else []
        return [apply(spec["fields"], {**context, **item}) for item in items if isinstance(item, dict)]
    if "value" in spec:
        value = spec["value"]
    elif "template" in spec:
        value = _fill(str(spec["template"]), context)
    else:
        value = lookup(context, str(spec.get("from", "")))
    if value is not _MISSING and "map" in spec:
        table = spec["map"] or {}
        value = table.get(_map_key(value), _MISSING)
    if value is not _MISSING and "format" in spec:
        value = _format(value, str(spec["format"]))
    return spec.get("default") if value is _MISSING else value


def apply(mapping: dict[str, dict], view: dict, base_url: str = "") -> dict[str, Any]:
    """The national-portal fields of one dossier view (a dict), in the mapping's order."""
    context = {**view, "base_url": base_url.rstrip("/")} if "base_url" not in view else view
    return {name: field(spec, context) for name, spec in mapping.items()}
