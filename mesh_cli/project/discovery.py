"""Folders to Domain objects: every dbt project of the mesh, validated once when found."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from mesh_cli.core.config import MeshConfig, Owner
from mesh_cli.core.errors import ConfigError, DiscoveryError, DuplicateDomainError
from mesh_cli.core.layout import STATE_DIR
from mesh_cli.core.yamlfile import read_yaml

PROJECT_FILE = "dbt_project.yml"
# Build outputs and tool folders never hold a domain.
SKIP_DIRS = {"target", "dbt_packages", "dbt_modules", "logs", STATE_DIR, ".git", "node_modules",
             ".venv", "venv", "__pycache__", ".pytest_cache"}


@dataclass(frozen=True)
class Domain:
    """One dbt project of the mesh, as found on disk before dbt parses it."""

    name: str
    path: Path
    profile: Optional[str]
    model_paths: tuple[str, ...]
    seed_paths: tuple[str, ...]
    snapshot_paths: tuple[str, ...]
    test_paths: tuple[str, ...]
    target_path: str
    packages_install_path: str
    declared: tuple[str, ...] = ()        # projects: in dependencies.yml
    loom: tuple[str, ...] = ()            # manifests named in dbt_loom.config.yml
    local_packages: tuple[Path, ...] = ()
    remote_packages: bool = False
    owner: Optional[Owner] = None
    packages: tuple[str, ...] = field(default=(), compare=False)  # names of local packages
    # Local packages that are domains of this mesh (a dbt Core fallback for a `projects:` entry):
    # built on their own and read through cross-domain refs, never rebuilt inside this project.
    domain_packages: tuple[str, ...] = field(default=(), compare=False)

    @property
    def project_file(self) -> Path:
        return self.path / PROJECT_FILE

    @property
    def target_dir(self) -> Path:
        return self.path / self.target_path

    @property
    def needs_deps(self) -> bool:
        """Whether `dbt deps` must run before dbt can parse the project."""
        return self.has_packages and not self.packages_installed

    @property
    def has_packages(self) -> bool:
        """Whether `dbt deps` has anything to install (domains installed as packages are stubbed)."""
        return bool(self.local_packages) or self.remote_packages

    @property
    def packages_installed(self) -> bool:
        """Whether every package is installed and package-lock.yml matches the spec, so that
        `dbt deps` need not run (mesh_cli/packages.py decides from contents, as dbt does)."""
        from mesh_cli.project.packages import deps_reason

        return deps_reason(self.path, self.packages_install_path) is None

    def source_dirs(self) -> list[Path]:
        """Folders whose files may hold refs: models, snapshots and tests."""
        return [self.path / p for p in (*self.model_paths, *self.snapshot_paths, *self.test_paths)]

    def seed_files(self) -> list[Path]:
        return [f for p in self.seed_paths for f in sorted((self.path / p).rglob("*.csv"))]


def _paths(project: dict[str, Any], key: str, legacy: str | None, default: str) -> tuple[str, ...]:
    value = project.get(key) or (project.get(legacy) if legacy else None) or [default]
    return tuple(str(v) for v in value)


def _package_entries(project_dir: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for filename in ("packages.yml", "dependencies.yml"):
        path = project_dir / filename
        if path.is_file():
            data = read_yaml(path) or {}
            if not isinstance(data, dict):
                raise ConfigError(str(path), "must be a mapping with packages: and/or projects:")
            entries.extend(e for e in data.get("packages") or [] if isinstance(e, dict))
    return entries


def _declared_projects(project_dir: Path) -> tuple[str, ...]:
    path = project_dir / "dependencies.yml"
    if not path.is_file():
        return ()
    data = read_yaml(path) or {}
    names = []
    for i, entry in enumerate(data.get("projects") or []):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ConfigError(f"{path}: projects[{i}]", "each project needs a name", "write `- name: <project>`")
        names.append(str(entry["name"]))
    return tuple(names)


def _loom_projects(project_dir: Path) -> tuple[str, ...]:
    """dbt-loom users declare upstreams as manifests; each one counts as a declared dependency."""
    for filename in ("dbt_loom.config.yml", "dbt_loom.config.yaml"):
        path = project_dir / filename
        if path.is_file():
            data = read_yaml(path) or {}
            return tuple(str(m["name"]) for m in data.get("manifests") or [] if isinstance(m, dict) and m.get("name"))
    return ()


def load_domain(project_dir: Path, config: MeshConfig) -> Domain:
    project_file = project_dir / PROJECT_FILE
    if not project_file.is_file():
        raise DiscoveryError(
            f"{project_dir}: no {PROJECT_FILE} in this folder; a domain is a dbt project: "
            f"add one (dbt init) or move the folder out of the mesh's domain_paths"
        )
    project = read_yaml(project_file)
    if not isinstance(project, dict) or not project.get("name"):
        raise ConfigError(f"{project_file}: name", "is missing", "every dbt project needs `name: <project>`")
    entries = _package_entries(project_dir)
    local = tuple((project_dir / str(e["local"])).resolve() for e in entries if "local" in e)
    settings = config.domains.get(str(project["name"]))
    return Domain(
        name=str(project["name"]),
        path=project_dir.resolve(),
        profile=str(project["profile"]) if project.get("profile") else None,
        model_paths=_paths(project, "model-paths", "source-paths", "models"),
        seed_paths=_paths(project, "seed-paths", "data-paths", "seeds"),
        snapshot_paths=_paths(project, "snapshot-paths", None, "snapshots"),
        test_paths=_paths(project, "test-paths", None, "tests"),
        target_path=str(project.get("target-path") or "target"),
        packages_install_path=str(project.get("packages-install-path") or project.get("modules-path") or "dbt_packages"),
        declared=_declared_projects(project_dir),
        loom=_loom_projects(project_dir),
        local_packages=local,
        remote_packages=any("local" not in e for e in entries),
        owner=settings.owner if settings else None,
    )


def _candidate_dirs(root: Path, config: MeshConfig) -> list[Path]:
    if config.domain_paths:
        found: list[Path] = []
        for pattern in config.domain_paths:
            matches = sorted(p for p in root.glob(pattern) if p.is_dir() and p.name not in SKIP_DIRS)
            found.extend(matches)
        return found
    found = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        if PROJECT_FILE in files:
            found.append(Path(current))
    return found


def discover(root: Path, config: MeshConfig) -> list[Domain]:
    """All domains under `root`, sorted by name. Projects installed by others as local packages are
    packages, not domains (dbt builds them inside their installer, so they are not built twice),
    unless some project declares them under `projects:`."""
    root = root.resolve()
    if not root.is_dir():
        raise DiscoveryError(f"{root}: no such folder; pass the mesh's folder with --project-dir")
    projects = [load_domain(d, config) for d in _candidate_dirs(root, config)]
    if not projects:
        where = ", ".join(config.domain_paths) if config.domain_paths else "any folder below it"
        raise DiscoveryError(
            f"{root}: no dbt projects found in {where}; add a domain (a folder with {PROJECT_FILE}) "
            f"or point --project-dir at the mesh"
        )
    # dbt Cloud's `projects:` wins over the dbt Core fallback of installing the upstream as a local
    # package: a project some other project declares as an upstream is a domain of its own.
    declared = {name for d in projects for name in (*d.declared, *d.loom)}
    installed = {p for d in projects for p in d.local_packages}
    domains = [d for d in projects if d.path not in installed or d.name in declared]
    by_name: dict[str, list[Domain]] = {}
    for d in domains:
        by_name.setdefault(d.name, []).append(d)
    for name, same in sorted(by_name.items()):
        if len(same) > 1:
            raise DuplicateDomainError(name, [d.project_file for d in same])
    names = {p.path: p.name for p in projects}
    resolved = [_with_packages(d, names, set(by_name)) for d in domains]
    for name in config.domains:
        if name not in by_name:
            raise ConfigError(
                f"{root / 'mesh.yml'}: domains.{name}", "names no domain of this mesh",
                f"known domains: {', '.join(sorted(by_name))}",
            )
    return sorted(resolved, key=lambda d: d.name)


def _with_packages(domain: Domain, names: dict[Path, str], domain_names: set[str]) -> Domain:
    packages: list[tuple[Path, str]] = []
    for path in domain.local_packages:
        if path in names:
            packages.append((path, names[path]))
        elif (path / PROJECT_FILE).is_file():
            data = read_yaml(path / PROJECT_FILE) or {}
            packages.append((path, str(data.get("name", path.name))))
    upstream = {name for _, name in packages if name in domain_names and name != domain.name}
    upstream_paths = {path for path, name in packages if name in upstream}
    return replace(domain, local_packages=tuple(p for p in domain.local_packages if p not in upstream_paths),
                   packages=tuple(name for _, name in packages if name not in upstream),
                   domain_packages=tuple(sorted(upstream)))
