"""`mesh init` and `mesh new-domain`: write a new mesh or domain from the templates in templates/.

Everything is checked before the first file is written, and no existing file is ever overwritten."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from string import Template
from typing import Any, Optional, Sequence

import yaml

from mesh_cli.core.config import CONFIG_FILE, MeshConfig, load_config
from mesh_cli.project.discovery import PROJECT_FILE, Domain, discover
from mesh_cli.core.errors import (DiscoveryError, DomainExistsError, FilesExistError, InvalidDomainNameError,
                             InvalidEmailError, NoDomainFolderError, NotAMeshError, UnknownDomainError)
from mesh_cli.core.layout import DEFAULT_PROFILES
from mesh_cli.core.yamlfile import read_yaml
from mesh_cli.project.meshfile import with_owner, yaml_scalar

TEMPLATES = Path(__file__).parent / "templates"
DBT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Deliberately loose: catches typos such as a missing '@' or domain, not every RFC 5322 corner.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MACROS_PACKAGE = "mesh_macros"
RESERVED = {MACROS_PACKAGE: "it is the name of the mesh's shared macros package", "dbt": "dbt reserves it"}

# (template, path written relative to the new mesh's folder)
MESH_FILES = [
    ("mesh/mesh.yml.tmpl", CONFIG_FILE),
    ("mesh/profiles.yml.tmpl", "profiles/profiles.yml"),    # comments only: the profile is storage's
    ("mesh/macros_project.yml.tmpl", "macros/dbt_project.yml"),
    ("mesh/pii.sql.tmpl", "macros/macros/pii.sql"),
    ("mesh/money.sql.tmpl", "macros/macros/money.sql"),
    ("mesh/tests.sql.tmpl", "macros/macros/tests.sql"),
    ("mesh/README.md.tmpl", "README.md"),
    ("mesh/gitignore.tmpl", ".gitignore"),
    (None, "domains/.gitkeep"),
]


@dataclass
class Scaffolded:
    """What a scaffolding command wrote: paths are absolute."""

    root: Path
    created: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"root": str(self.root), "created": [str(p) for p in self.created],
                "updated": [str(p) for p in self.updated], "notes": self.notes}


def _render(template: Optional[str], values: dict[str, str]) -> str:
    if template is None:
        return ""
    return Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)


def _blocked(root: Path, relative: str) -> Optional[Path]:
    """The path that stops `relative` from being written without overwriting anything, if any."""
    target = root / relative
    if target.exists() or target.is_symlink():
        return target
    for parent in target.parents:
        if parent == root or root not in parent.parents:
            break
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def _write(root: Path, files: dict[str, str]) -> list[Path]:
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:  # "x": fail rather than overwrite, even in a race
            handle.write(text)
        written.append(path)
    return written


def init_mesh(directory: Path) -> Scaffolded:
    """Create a new, empty mesh in `directory` (created if missing)."""
    root = directory.resolve()
    if root.exists() and not root.is_dir():
        raise FilesExistError(root.parent, [root], "choose a folder for the new mesh")
    name = root.name
    values = {"name": name, "name_yaml": yaml_scalar(name)}
    files = {dest: _render(template, values) for template, dest in MESH_FILES}
    # The same profile mesh writes for a mesh without one, so the two never drift apart.
    files["profiles/profiles.yml"] += DEFAULT_PROFILES.format(name=MeshConfig().profile)
    existing = list(dict.fromkeys(p for dest in files if (p := _blocked(root, dest)) is not None))
    if existing:
        raise FilesExistError(root, [p.relative_to(root) for p in existing],
                              "run `mesh init` in an empty folder, or move these away first")
    return Scaffolded(root, _write(root, files))


def new_domain(project_dir: Path, name: str, team: str, email: str, depends_on: Sequence[str] = ()) -> Scaffolded:
    """Add domain `name` to the mesh at `project_dir`, owned by `team` <`email`>, reading `depends_on`."""
    root = project_dir.resolve()
    _check_name(name)
    if not EMAIL.match(email):
        raise InvalidEmailError(email)
    config, config_file = load_config(root)
    domains = _domains(root, config, config_file)
    for other in domains:
        if other.name.lower() == name.lower():
            raise DomainExistsError(other.name, other.project_file)
    known = sorted(d.name for d in domains)
    upstreams = list(dict.fromkeys(depends_on))
    for upstream in upstreams:
        if upstream not in known:
            raise UnknownDomainError(upstream, known, "--depends-on takes the name of an existing domain")
    folder = _domain_folder(root, config, config_file, name)
    blocked = _blocked(root, folder.relative_to(root).as_posix())
    if blocked is not None:
        raise FilesExistError(blocked.parent, [Path(blocked.name)],
                              "choose another domain name, or move that away first")
    macros = _macros_package(root)
    files = _domain_files(name, config.profile, team, email, upstreams, folder, macros)
    result = Scaffolded(root)
    mesh_yml = with_owner(config_file, name, team, email) if config_file is not None else None
    if config_file is not None and mesh_yml is None:
        result.notes.append(f"{config_file} was left as it is (its domains: section is not a block mapping "
                            f"mesh can extend safely); add the owner by hand under domains: "
                            f"{name}: {{owner: {{team: {yaml_scalar(team)}, email: {yaml_scalar(email)}}}}}")
    if macros is None:
        result.notes.append(f"no shared macros package ({MACROS_PACKAGE}) at {root / 'macros'}: the domain "
                            f"installs no packages.yml")
    if upstreams:
        result.notes.append(f"until a model of {name} refs {', '.join(upstreams)} (see "
                            f"dependencies.yml), mesh check warns deps.unused")
    result.created = _write(folder, files)
    if config_file is not None and mesh_yml is not None:
        config_file.write_text(mesh_yml, encoding="utf-8")  # written last: it must name an existing domain
        result.updated.append(config_file)
    return result


def _check_name(name: str) -> None:
    if not DBT_NAME.match(name):
        fixed = re.sub(r"[^a-zA-Z0-9_]+", "_", name).strip("_") or "domain"
        raise InvalidDomainNameError(name, f"_{fixed}" if fixed[0].isdigit() else fixed)
    if name in RESERVED:
        raise InvalidDomainNameError(name, f"{name}_domain", RESERVED[name])
    if not isinstance(yaml.safe_load(name), str):  # `on`, `no`, `null`: YAML would not read a name
        raise InvalidDomainNameError(name, f"{name}_domain", "YAML reads it as true, false or null, not as a name")


def _domains(root: Path, config: MeshConfig, config_file: Optional[Path]) -> list[Domain]:
    """The mesh's domains; a fresh mesh from `mesh init` has none yet, which discover() refuses."""
    if not root.is_dir():
        raise NotAMeshError(root)
    if config.domain_paths:
        if not any(p.is_dir() for pattern in config.domain_paths for p in root.glob(pattern)):
            return []
        return discover(root, config)
    try:
        return discover(root, config)
    except DiscoveryError as exc:  # without mesh.yml, this only means: no dbt project below root
        if config_file is None:
            raise NotAMeshError(root) from exc
        return []


def _domain_folder(root: Path, config: MeshConfig, config_file: Optional[Path], name: str) -> Path:
    """Where discovery will find the new domain: the first `<folder>/*`-like pattern of domain_paths."""
    if not config.domain_paths:
        return root / "domains" / name
    for pattern in config.domain_paths:
        parts = PurePosixPath(pattern).parts
        if parts and _is_glob(parts[-1]) and fnmatch(name, parts[-1]) and not any(_is_glob(p) for p in parts[:-1]):
            return root.joinpath(*parts[:-1], name)
    raise NoDomainFolderError(config_file or root / CONFIG_FILE, config.domain_paths)


def _is_glob(part: str) -> bool:
    return any(c in part for c in "*?[")


def _macros_package(root: Path) -> Optional[Path]:
    project = root / "macros" / PROJECT_FILE
    if project.is_file():
        data = read_yaml(project)
        if isinstance(data, dict) and data.get("name") == MACROS_PACKAGE:
            return project.parent
    return None


def _domain_files(name: str, profile: str, team: str, email: str, depends_on: list[str], folder: Path,
                  macros: Optional[Path]) -> dict[str, str]:
    model = f"fct_{name}_examples"
    hint = "".join(f"\n# This domain reads from {u}: ref its public models as {{{{ ref('{u}', '<model>') }}}}."
                   for u in depends_on)
    amount = ("{{ mesh_macros.cents_to_dollars('amount_cents') }}" if macros is not None
              else "cast(amount_cents / 100.0 as decimal(18, 2))")
    values = {
        "name": name, "profile": profile, "group": f"{name}_team", "model": model, "amount": amount,
        "team": yaml_scalar(team), "email": yaml_scalar(email), "upstream_hint": hint,
        "macros": yaml_scalar(Path(os.path.relpath(macros, folder)).as_posix()) if macros is not None else "",
        "projects": "".join(f"  - name: {u}\n" for u in depends_on).rstrip("\n"),
    }
    plan: list[tuple[str, str]] = [
        ("domain/dbt_project.yml.tmpl", PROJECT_FILE),
        ("domain/groups.yml.tmpl", "models/_groups.yml"),
        ("domain/stg_examples.sql.tmpl", "models/staging/stg_examples.sql"),
        ("domain/staging.yml.tmpl", "models/staging/_staging.yml"),
        ("domain/mart.sql.tmpl", f"models/marts/{model}.sql"),
        ("domain/marts.yml.tmpl", "models/marts/_marts.yml"),
        ("domain/raw_examples.csv.tmpl", "seeds/raw_examples.csv"),
        ("domain/seeds.yml.tmpl", "seeds/_seeds.yml"),
    ]
    if macros is not None:
        plan.append(("domain/packages.yml.tmpl", "packages.yml"))
    if depends_on:
        plan.append(("domain/dependencies.yml.tmpl", "dependencies.yml"))
    return {dest: _render(template, values) for template, dest in plan}
