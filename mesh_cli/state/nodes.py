"""Small readings of dbt manifest nodes that several rules and reports share."""
from __future__ import annotations

from typing import Any


def merged_meta(node: dict[str, Any]) -> dict[str, Any]:
    """A node's or column's `meta`, with `config.meta` winning as dbt merges them."""
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def merged_tags(node: dict[str, Any]) -> set[str]:
    return {*(node.get("tags") or []), *((node.get("config") or {}).get("tags") or [])}


def is_pii(column: dict[str, Any]) -> bool:
    """A column marked as personal data: `meta: {pii: true}` or the `pii` tag."""
    return merged_meta(column).get("pii") is True or "pii" in merged_tags(column)
