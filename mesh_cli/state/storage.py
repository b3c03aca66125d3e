"""Where each domain's dbt profile comes from and which DuckDB file it writes.

Domains on the mesh's profile get their own DuckDB file and read upstream files attached
read-only. A project that brings its own profile keeps its own storage, resolved as dbt would."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from mesh_cli.core.config import MeshConfig
from mesh_cli.project.discovery import Domain
from mesh_cli.core.yamlfile import read_yaml
from mesh_cli.state.interface import ROOT_ENV

PATH_ENV = "MESH_DUCKDB_PATH"
ATTACH_ENV = "MESH_DUCKDB_ATTACH"
DOMAIN_ENV = "MESH_DOMAIN"
UPSTREAMS_ENV = "MESH_UPSTREAMS"
MESH_PROFILES = "profiles"


# The mesh's profile, for domains whose own profile is defined nowhere (a mesh written for dbt Cloud
# ships no profiles.yml): written to .mesh/profiles/ when the mesh has no profiles/ folder of its own.
DEFAULT_PROFILES = """\
{name}:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{{{ env_var('MESH_DUCKDB_PATH') }}}}"
      attach: "{{{{ fromjson(env_var('MESH_DUCKDB_ATTACH', '[]')) }}}}"
      threads: 4
"""


@dataclass(frozen=True)
class Storage:
    profiles_dir: Path
    managed: bool                 # on the mesh's profile: one DuckDB file per domain
    database: Optional[Path]      # the DuckDB file the domain writes, when known
    key: Optional[str]            # domains with the same key never run at the same time
    profile: Optional[str] = None # passed as --profile when the project's own is defined nowhere


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


def _profile_entry(profiles_dir: Path, profile: Optional[str]) -> Optional[dict[str, Any]]:
    path = profiles_dir / "profiles.yml"
    if not profile or not path.is_file():
        return None
    data = read_yaml(path) or {}
    entry = data.get(profile) if isinstance(data, dict) else None
    return entry if isinstance(entry, dict) else None


def mesh_profiles_dir(root: Path, config: MeshConfig) -> Path:
    """The folder holding the mesh's own profile: profiles/ if it defines it, else one mesh writes."""
    if _profile_entry(root / MESH_PROFILES, config.profile) is not None:
        return (root / MESH_PROFILES).resolve()
    folder = root / ".mesh" / "profiles"
    if _profile_entry(folder, config.profile) is None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "profiles.yml").write_text(DEFAULT_PROFILES.format(name=config.profile), encoding="utf-8")
    return folder.resolve()


def _outputs(profiles_dir: Path, profile: Optional[str], target: Optional[str]) -> list[dict[str, Any]]:
    entry = _profile_entry(profiles_dir, profile)
    if entry is None:
        return []
    outputs = entry.get("outputs") or {}
    chosen = target or entry.get("target")
    if isinstance(chosen, str) and "{{" not in chosen and chosen in outputs:
        return [outputs[chosen]]
    return [o for o in outputs.values() if isinstance(o, dict)]  # target unknown: consider them all


def resolve_storage(domain: Domain, root: Path, config: MeshConfig,
                    profiles_dir: Optional[Path] = None, target: Optional[str] = None) -> Storage:
    folder = _profiles_dir(domain, root, profiles_dir)
    database = (root / config.warehouse_dir / f"{domain.name}.duckdb").resolve()
    if profiles_dir is None and _profile_entry(folder, domain.profile) is None:
        # Defined nowhere dbt would look: the domain runs on the mesh's profile instead of failing.
        return Storage(mesh_profiles_dir(root, config), True, database, str(database), config.profile)
    outputs = _outputs(folder, domain.profile, target or config.target)
    if any(PATH_ENV in str(o.get("path", "")) for o in outputs):
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
    if storage.profile is not None:  # so that plain `dbt` finds the mesh's profile too
        env.update(DBT_PROFILE=storage.profile, DBT_PROFILES_DIR=str(storage.profiles_dir))
    if storage.managed and storage.database is not None:
        env[PATH_ENV] = str(storage.database)
        attach = [
            {"path": str(s.database), "alias": catalog_name(s.database), "read_only": True}
            for _, s in upstreams
            if s.database is not None and s.database != storage.database and s.database.exists()
        ]
        env[ATTACH_ENV] = json.dumps(attach)
    return env
