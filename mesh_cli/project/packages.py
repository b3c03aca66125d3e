"""Whether a domain needs `dbt deps`, decided from file contents as dbt decides, without dbt.

`dbt deps` writes package-lock.yml with `sha1_hash`, a hash of the package spec, and resolves the
packages again only when that hash no longer matches; `dbt build` itself only needs the packages
in its install path. So deps is needed when a package is missing there or the lock is stale, never
because of file times: packages vendored or restored from a cache build offline as they are."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from mesh_cli.core.errors import ConfigError
from mesh_cli.core.yamlfile import read_yaml

LOCK_FILE = "package-lock.yml"

# dbt's PackageSpec classes in the order dbt tries them, keyed by the key that tells them apart,
# with the fields their to_dict() writes and their defaults; `name` is left out when None.
_REQUIRED = object()
_FIELDS: dict[str, tuple[tuple[str, Any], ...]] = {
    "local": (("local", _REQUIRED),),
    "tarball": (("tarball", _REQUIRED), ("name", _REQUIRED)),
    "git": (("git", _REQUIRED), ("revision", None), ("warn-unpinned", None), ("subdirectory", None)),
    "package": (("package", _REQUIRED), ("version", _REQUIRED), ("install_prerelease", False)),
    "private": (("private", _REQUIRED), ("provider", None), ("revision", None), ("warn-unpinned", None),
                ("subdirectory", None)),
}
# dbt renders packages.yml with Jinja (not dependencies.yml); a string it would render cannot be
# hashed without dbt. The same test dbt uses to skip rendering.
_JINJA = re.compile(r"({[{%#]|[#}%]})")


@dataclass(frozen=True)
class Package:
    kind: str                # local, tarball, git, package (hub), private
    label: str               # as the spec names it: 'dbt-labs/dbt_utils', a git URL, a local path
    entry: dict[str, Any]    # the spec entry as written


@dataclass(frozen=True)
class Spec:
    file: Optional[Path]     # the file dbt reads the packages from; None when there is none
    packages: tuple[Package, ...]
    rendered: bool           # dbt renders this file with Jinja (packages.yml)

    @property
    def file_name(self) -> str:
        return self.file.name if self.file is not None else "packages.yml"


def read_spec(project_dir: Path) -> Spec:
    """The packages dbt installs for this project: dependencies.yml's `packages:` wins over packages.yml."""
    for name, rendered in (("dependencies.yml", False), ("packages.yml", True)):
        path = project_dir / name
        data = read_yaml(path) if path.is_file() else None
        if isinstance(data, dict) and "packages" in data:
            entries = [e for e in data.get("packages") or [] if isinstance(e, dict)]
            return Spec(path, tuple(_package(e) for e in entries), rendered)
    return Spec(None, (), False)


def _package(entry: dict[str, Any]) -> Package:
    kind = next((k for k in _FIELDS if k in entry), "unknown")
    return Package(kind, str(entry.get(kind, entry)), entry)


def spec_hash(spec: Spec) -> Optional[str]:
    """dbt's `sha1_hash` of the spec (dbt/task/deps.py `_create_sha1_hash`): each package's
    to_dict() as sorted-key JSON, the lines sorted, joined by newlines. None when it cannot be
    known without dbt: a packages.yml string dbt would render, or an entry dbt would not accept."""
    lines = []
    for package in spec.packages:
        fields = _FIELDS.get(package.kind)
        if fields is None or (spec.rendered and _templated(package.entry)):
            return None
        if not set(package.entry) <= {f for f, _ in fields} | {"name"}:
            return None   # dbt's schema allows no other key
        if any(default is _REQUIRED and f not in package.entry for f, default in fields):
            return None
        as_dict = {f: package.entry.get(f, default) for f, default in fields}
        if package.entry.get("name") is not None:
            as_dict["name"] = package.entry["name"]
        # dbt keeps the entry as written (before rendering) in the spec, so it is hashed too.
        as_dict["unrendered"] = package.entry
        try:
            lines.append(json.dumps(as_dict, sort_keys=True))
        except TypeError:   # a YAML date, say: dbt could not hash it either
            return None
    return hashlib.sha1("\n".join(sorted(lines)).encode("utf-8")).hexdigest()


def _templated(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_JINJA.search(value))
    if isinstance(value, dict):
        return any(_templated(v) for v in value.values())
    if isinstance(value, list):
        return any(_templated(v) for v in value)
    return False


def _read_lock(project_dir: Path) -> Optional[dict[str, Any]]:
    """The lock file; {} when it exists but holds nothing usable (dbt would write it again)."""
    path = project_dir / LOCK_FILE
    if not path.is_file():
        return None
    try:
        data = read_yaml(path)
    except ConfigError:
        return {}
    return data if isinstance(data, dict) else {}


def _folder(project_dir: Path, package: Package) -> Optional[str]:
    """The folder dbt installs a package into, its project name, when the spec alone tells it."""
    if package.kind == "local":
        try:
            data = read_yaml(project_dir / package.label / "dbt_project.yml")
        except (OSError, ConfigError):
            return None
        return str(data["name"]) if isinstance(data, dict) and data.get("name") else None
    if package.kind == "tarball":
        return str(package.entry.get("name") or "") or None
    if package.kind == "package" and "/" in package.label:
        return package.label.rsplit("/", 1)[1]   # hub packages are named after their project
    return None   # git, private: only the checked-out project (or the lock) knows its name


def _installed(folder: Path) -> bool:
    return (folder / "dbt_project.yml").is_file()


def deps_reason(project_dir: Path, install_path: str = "dbt_packages") -> Optional[str]:
    """Why `dbt deps` must run before dbt can build this project, or None when it need not."""
    spec = read_spec(project_dir)
    if not spec.packages:
        return None
    where = project_dir / install_path
    lock = _read_lock(project_dir)
    if lock is not None:
        current = spec_hash(spec)
        if current is not None and lock.get("sha1_hash") != current:
            return f"{LOCK_FILE} does not match {spec.file_name}"
    # A current lock names every package deps installs, including those the packages need.
    locked = [str(p["name"]) for p in (lock or {}).get("packages") or [] if isinstance(p, dict) and p.get("name")]
    names = locked or [_folder(project_dir, p) for p in spec.packages]
    for name in names:
        if name is not None and not _installed(where / name):
            return f"package '{name}' is not installed in {install_path}/"
    if None in names:   # what dbt itself checks before it builds: at least one project per package
        found = [p for p in where.iterdir() if p.is_dir() and not p.name.startswith("__")] if where.is_dir() else []
        if len(found) < len(names):
            n = len(names)
            return f"{spec.file_name} lists {n} package{'s' if n != 1 else ''}, but {install_path}/ holds {len(found)}"
    return None


def blamed(project_dir: Path, reason: str) -> tuple[str, list[str]]:
    """The spec file and the packages a failed `dbt deps` could not install: those its reason names,
    else those fetched over the network (local packages need none), else all of them."""
    try:
        spec = read_spec(project_dir)
    except ConfigError:   # the spec broke since deps ran: dbt's reason says so
        return "packages.yml", []
    named = [p.label for p in spec.packages
             if p.label in reason or (p.kind == "local" and str((project_dir / p.label).resolve()) in reason)]
    remote = [p.label for p in spec.packages if p.kind != "local"]
    return spec.file_name, named or remote or [p.label for p in spec.packages]
