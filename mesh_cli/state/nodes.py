"""How dbt merges a node's (or a column's) meta and tags, read from the manifest's JSON: the manifest
view (mesh_cli.state.manifest) builds on these, and contracts.sla reads a node's SLA with them."""
from __future__ import annotations

from typing import Any, Mapping


def merged_meta(node: Mapping[str, Any]) -> dict[str, Any]:
    """A node's or column's `meta`, with `config.meta` winning as dbt merges them."""
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def merged_tags(node: Mapping[str, Any]) -> set[str]:
    return {*(node.get("tags") or []), *((node.get("config") or {}).get("tags") or [])}
