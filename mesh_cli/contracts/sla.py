"""The service levels a data product declares, read from its dbt `meta`.

The convention (documented in the README): `meta: {mesh: {sla: {freshness: 24h}}}` on a model, with
an optional `support` (a channel or URL) and `availability`. Freshness is a number followed by
m (minutes), h (hours) or d (days)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Optional

from mesh_cli.core.errors import ConfigError
from mesh_cli.state.nodes import merged_meta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)\s*$")
_UNIT = {"m": "m", "min": "m", "h": "h", "d": "d"}
_SECONDS = {"m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Sla:
    freshness_value: Optional[float] = None     # e.g. 24
    freshness_unit: Optional[str] = None        # m, h or d
    support: Optional[str] = None
    availability: Optional[str] = None

    @property
    def freshness(self) -> Optional[timedelta]:
        if self.freshness_value is None or self.freshness_unit is None:
            return None
        return timedelta(seconds=self.freshness_value * _SECONDS[self.freshness_unit])

    @property
    def freshness_text(self) -> Optional[str]:
        if self.freshness_value is None:
            return None
        return f"{self.freshness_value:g}{self.freshness_unit}"


class SlaFormatError(ValueError):
    """A declared freshness that is not `<number><m|h|d>`; the caller names the file and model."""


def read_sla(meta: dict[str, Any]) -> Optional[Sla]:
    """The SLA in a model's merged meta, or None when it declares none."""
    raw = ((meta or {}).get("mesh") or {}).get("sla")
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise SlaFormatError(f"meta.mesh.sla must be a mapping such as {{freshness: 24h}}, not {raw!r}")
    value = unit = None
    if raw.get("freshness") is not None:
        match = _DURATION.match(str(raw["freshness"]))
        if not match:
            raise SlaFormatError(f"meta.mesh.sla.freshness {raw['freshness']!r} is not a duration such as 30m, 24h or 7d")
        value, unit = float(match.group(1)), _UNIT[match.group(2)]
    return Sla(value, unit, raw.get("support"), raw.get("availability"))


def node_sla(node: dict[str, Any], project_dir: Path) -> Optional[Sla]:
    """The SLA of a manifest model node; a malformed one is a ConfigError naming its file."""
    try:
        return read_sla(merged_meta(node))
    except SlaFormatError as exc:
        where = (node.get("patch_path") or "").split("://", 1)[-1] or node.get("original_file_path") or ""
        raise ConfigError(f"{project_dir / where if where else project_dir}: model {node['name']}", str(exc),
                          "see Service levels (SLA) in the README") from exc
