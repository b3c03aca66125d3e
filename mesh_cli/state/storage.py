"""Where each domain's dbt profile comes from and which DuckDB file it writes.

Domains on the mesh's profile get their own DuckDB file and read upstream files attached
read-only. A project that brings its own profile keeps its own storage, resolved as dbt would."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from mesh_cli.core.config import MeshConfig
from mesh_cli.core.errors import ConfigError
from mesh_cli.core.layout import (ATTACH_ENV, DEFAULT_PROFILES, DOMAIN_ENV, PATH_ENV, PROFILES_DIR, ROOT_ENV,
                                  UPSTREAMS_ENV, Layout)
from mesh_cli.project.discovery import Domain
from mesh_cli.core.yamlfile import read_yaml


@dataclass(frozen=True)
class StorageKey:
    """What a domain writes, as far as mesh can tell: its DuckDB file, or, when only dbt can render
    the path, the profile (folder and name) it comes from. Equal keys never run at the same time."""

    database: Optional[Path] = None
    profile: Optional[tuple[Path, Optional[str]]] = None


@dataclass(frozen=True)
class Storage:
    profiles_dir: Path
    managed: bool                 # on the mesh's profile: one DuckDB file per domain
    database: Optional[Path]      # the DuckDB file the domain writes, when known
    key: Optional[StorageKey]     # None: writes nothing another domain could share
    profile: Optional[str] = None # passed as --profile when the project's own is defined nowhere
    # The output's config_options: DuckDB refuses a second connection to an open file with another
    # config, and the worker opens a managed file before dbt does (execution/held.py).
    duckdb_config: tuple[tuple[str, Any], ...] = ()   # values as YAML typed them: DuckDB compares types too


def _profiles_dir(domain: Domain, root: Path, option: Optional[Path]) -> Path:
    """dbt's order (--profiles-dir, $DBT_PROFILES_DIR, the project folder), then the mesh's
    profiles/ folder, then ~/.dbt."""
    if option is not None:
        return option.resolve()
    if os.environ.get("DBT_PROFILES_DIR"):
        return Path(os.environ["DBT_PROFILES_DIR"]).resolve()
    if (domain.path / "profiles.yml").is_file():
        return domain.path
    if (root / PROFILES_DIR / "profiles.yml").is_file():
        return (root / PROFILES_DIR).resolve()
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
    if _profile_entry(root / PROFILES_DIR, config.profile) is not None:
        return (root / PROFILES_DIR).resolve()
    folder = Layout(root).profiles
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


def _duckdb_config(folder: Path, profile: Optional[str], outputs: list[dict[str, Any]]) -> tuple[tuple[str, Any], ...]:
    """The config_options of the managed DuckDB output, as plain values."""
    managed = [o for o in outputs if o.get("type") == "duckdb" and PATH_ENV in str(o.get("path", ""))]
    options = (managed[0].get("config_options") if managed else None) or {}
    where = f"{folder / 'profiles.yml'}: {profile}.outputs ... config_options"
    if not isinstance(options, dict):
        raise ConfigError(where, "is not a mapping", "write it as `config_options: {name: value}`")
    rendered = [k for k, v in options.items() if not isinstance(v, (str, int, float, bool)) or "{{" in str(v) or "{%" in str(v)]
    if rendered:
        raise ConfigError(where, f"'{rendered[0]}' is not a plain value (a Jinja expression, or a list or mapping), which "
                          "mesh cannot pass on: it opens each domain's DuckDB file with these options before dbt does",
                          "write the value itself (DuckDB refuses a second connection with other options)")
    return tuple(sorted((str(k), v) for k, v in options.items()))


def resolve_storage(domain: Domain, root: Path, config: MeshConfig,
                    profiles_dir: Optional[Path] = None, target: Optional[str] = None) -> Storage:
    folder = _profiles_dir(domain, root, profiles_dir)
    database = (root / config.warehouse_dir / f"{domain.name}.duckdb").resolve()
    if profiles_dir is None and _profile_entry(folder, domain.profile) is None:
        # Defined nowhere dbt would look: the domain runs on the mesh's profile instead of failing.
        mesh_folder = mesh_profiles_dir(root, config)
        return Storage(mesh_folder, True, database, StorageKey(database), config.profile,
                       _duckdb_config(mesh_folder, config.profile, _outputs(mesh_folder, config.profile, target or config.target)))
    outputs = _outputs(folder, domain.profile, target or config.target)
    if any(PATH_ENV in str(o.get("path", "")) for o in outputs):
        return Storage(folder, True, database, StorageKey(database), duckdb_config=_duckdb_config(folder, domain.profile, outputs))
    duck = [o for o in outputs if o.get("type") == "duckdb"]
    if len(duck) == 1:
        raw = str(duck[0].get("path") or ":memory:")
        if raw == ":memory:" or raw.startswith("md:"):
            return Storage(folder, False, None, None)
        if "{{" not in raw:
            # dbt runs inside the project folder, so a relative path starts there.
            database = (domain.path / raw).resolve()
            return Storage(folder, False, database, StorageKey(database))
    if duck:  # a DuckDB path we cannot read without rendering: same profile, same file
        return Storage(folder, False, None, StorageKey(profile=(folder, domain.profile)))
    return Storage(folder, False, None, None)


def catalog_name(database: Path) -> str:
    """DuckDB names a file's catalog after the first dot-separated part of its file name."""
    return database.name.lstrip(".").split(".")[0]


def domain_env(root: Path, domain: Domain, storage: Storage, upstreams: list[tuple[str, Storage]],
               built: frozenset[str] = frozenset()) -> dict[str, str]:
    """Environment a dbt process of `domain` needs; `mesh env` prints the same. An upstream's file
    is attached when it exists now or is among the domains `built` before this one starts."""
    env = {ROOT_ENV: str(root), DOMAIN_ENV: domain.name, UPSTREAMS_ENV: ",".join(name for name, _ in upstreams)}
    if storage.profile is not None:  # so that plain `dbt` finds the mesh's profile too
        env.update(DBT_PROFILE=storage.profile, DBT_PROFILES_DIR=str(storage.profiles_dir))
    if storage.managed and storage.database is not None:
        env[PATH_ENV] = str(storage.database)
        attach = [
            {"path": str(s.database), "alias": catalog_name(s.database), "read_only": True}
            for name, s in upstreams
            if s.database is not None and s.database != storage.database and (name in built or s.database.exists())
        ]
        env[ATTACH_ENV] = json.dumps(attach)
    return env


class Storages:
    """Each domain's storage and dbt environment under one set of options (profiles folder, target):
    what the check and the build hand to dbt. Profiles are read once per domain."""

    def __init__(self, root: Path, config: MeshConfig, domains: Mapping[str, Domain],
                 profiles_dir: Optional[Path] = None, target: Optional[str] = None,
                 external: Optional[Mapping[str, Storage]] = None) -> None:
        self.root, self.config, self.domains = root, config, domains
        self.profiles_dir, self.target = profiles_dir, target or config.target
        # External domains (issue 14): the storage their published state names, only ever read.
        self._found: dict[str, Storage] = dict(external or {})

    def of(self, domain: str) -> Storage:
        if domain not in self._found:
            self._found[domain] = resolve_storage(self.domains[domain], self.root, self.config,
                                                  self.profiles_dir, self.target)
        return self._found[domain]

    def env(self, domain: str, upstreams: list[str], built: frozenset[str] = frozenset()) -> dict[str, str]:
        """What a dbt process of `domain` reading `upstreams` needs in its environment (`built`:
        upstreams that this run builds before `domain` starts)."""
        return domain_env(self.root, self.domains[domain], self.of(domain), [(u, self.of(u)) for u in upstreams],
                          built)
