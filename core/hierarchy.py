"""Trees of codes given as (code, parent code) pairs: the agency hierarchy of QCVN 102 codes.

Pure functions over rows, so the package that owns the table (ratios, the registry) and those that
only need the shape (search filters, upload scopes) share one walk without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable


def subtree(parents: Iterable[tuple[str, str | None]], root: str) -> list[str]:
    """`root` and every code below it, in pre-order with children sorted by code.

    `root` is included even when no row names it; a cycle in the rows cannot loop forever.
    """
    children: dict[str | None, list[str]] = {}
    for code, parent in parents:
        children.setdefault(parent, []).append(code)
    found: list[str] = []
    seen: set[str] = set()
    stack = [root]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        found.append(current)
        stack.extend(sorted(children.get(current, []), reverse=True))
    return found
