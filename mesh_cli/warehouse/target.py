"""Which warehouse a domain's dbt target is on: the `type:` of its profile output, read as dbt
would find it (the adapter type is never templated in practice; a templated one counts as unknown)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from mesh_cli.core.yamlfile import read_yaml


def adapter_of(profiles_dir: Path, profile: Optional[str], target: Optional[str]) -> Optional[str]:
    """The output type of `profile`'s `target` (its default target when None); None when unknown."""
    path = profiles_dir / "profiles.yml"
    data = read_yaml(path) if path.is_file() else None
    entry = data.get(profile) if isinstance(data, dict) and profile else None
    if not isinstance(entry, dict):
        return None
    outputs = entry.get("outputs") or {}
    chosen = target or entry.get("target")
    output = outputs.get(chosen) if isinstance(outputs, dict) and isinstance(chosen, str) else None
    kind = output.get("type") if isinstance(output, dict) else None
    return kind if isinstance(kind, str) and "{{" not in kind else None
