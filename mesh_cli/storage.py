"""Where each domain's dbt profile comes from and which DuckDB file it writes.

Domains on the mesh's profile get their own DuckDB file and read upstream files attached
read-only. A project that brings its own profile keeps its own storage, resolved as dbt would."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from mesh_cli.config import MeshConfig
from mesh_cli.discovery import Domain
from mesh_cli.yamlfile import read_yaml
from mesh_cli.interface import ROOT_ENV

PATH_ENV = "MESH_DUCKDB_PATH"
ATTACH_ENV = "MESH_DUCKDB_ATTACH"
DOMAIN_ENV = "MESH_DOMAIN"
UPSTREAMS_ENV = "MESH_UPSTREAMS"
MESH_PROFILES = "profiles"


@dataclass(frozen=True)
class Storage:
    profiles_dir: Path
    managed: bool                 # on the mesh's profile: one DuckDB file per domain
    database: Optional[Path]      # the DuckDB file the domain writes, when known
    key: Optional[str]            # domains with the same key never run at the same time


def _profiles_dir(domain: Domain, root: Path, option: Optional[Path]) -> Path:
    """dbt's order (--profiles-dir, $DBT_PROFILES_DIR, the project folder), then the mesh's
    profiles/ folder, then ~/.dbt."""
    if option is not None:
        return option.resolve()
    if os.environ.get("DBT_PROFILES_DIR"):
        return Path(os.environ["DBT_PROFILES_DIR"]).resolve()
    if (domain.path / "profiles.yml").is_file():
        return domain.path
    if (root / MESH_PROFILES / "profiles.yml").is_file():
        return (root / MESH_PROFILES).resolve()
    return Path.home() / ".dbt"


def _outputs(profiles_dir: Path, profile: Optional[str], target: Optional[str]) -> list[dict[str, Any]]:
    path = profiles_dir / "profiles.yml"
    if not profile or not path.is_file():
        return []
    data = read_yaml(path) or {}
    entry = data.get(profile) if isinstance(data, dict) else None
    if not isinstance(entry, dict):
        return []
    outputs = entry.get("outputs") or {}
    chosen = target or entry.get("target")
    if isinstance(chosen, str) and "{{" not in chosen and chosen in outputs:
        return [outputs[chosen]]
    return [o for o in outputs.values() if isinstance(o, dict)]  # target unknown: consider them all


def resolve_storage(domain: Domain, root: Path, config: MeshConfig,
                    profiles_dir: Optional[Path] = None, target: Optional[str] = None) -> Storage:
    folder = _profiles_dir(domain, root, profiles_dir)
    outputs = _outputs(folder, domain.profile, target or config.target)
    if any(PATH_ENV in str(o.get("path", "")) for o in outputs):
        database = (root / config.warehouse_dir / f"{domain.name}.duckdb").resolve()
        return Storage(folder, True, database, str(database))
    duck = [o for o in outputs if o.get("type") == "duckdb"]
    if len(duck) == 1:
        raw = str(duck[0].get("path") or ":memory:")
        if raw == ":memory:" or raw.startswith("md:"):
            return Storage(folder, False, None, None)
        if "{{" not in raw:
            # dbt runs inside the project folder, so a relative path starts there.
            database = (domain.path / raw).resolve()
            return Storage(folder, False, database, str(database))
    if duck:  # a DuckDB path we cannot read without rendering: same profile, same file
        return Storage(folder, False, None, f"profile:{folder}:{domain.profile}")
    return Storage(folder, False, None, None)


def catalog_name(database: Path) -> str:
    """DuckDB names a file's catalog after the first dot-separated part of its file name."""
    return database.name.lstrip(".").split(".")[0]


def domain_env(root: Path, domain: Domain, storage: Storage, upstreams: list[tuple[str, Storage]]) -> dict[str, str]:
    """Environment a dbt process of `domain` needs; `mesh env` prints the same."""
    env = {ROOT_ENV: str(root), DOMAIN_ENV: domain.name, UPSTREAMS_ENV: ",".join(name for name, _ in upstreams)}
    if storage.managed and storage.database is not None:
        env[PATH_ENV] = str(storage.database)
        attach = [
            {"path": str(s.database), "alias": catalog_name(s.database), "read_only": True}
            for _, s in upstreams
            if s.database is not None and s.database != storage.database and s.database.exists()
        ]
        env[ATTACH_ENV] = json.dumps(attach)
    return env
