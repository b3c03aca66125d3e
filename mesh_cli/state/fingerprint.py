"""Content fingerprints: has a domain changed since its last successful build?

A domain's files (models, seeds, macros, tests, config), the local packages it installs (the
mesh's shared macros) and its profiles.yml make one hash; its public interface another. Both are
recorded when the domain builds; `mesh build --changed` and `mesh status` compare them with now.
Reads files only: no dbt, so a no-op `--changed` run stays fast."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from mesh_cli.project.discovery import Domain

RECORD = "fingerprint.json"
# dbt's own output and installed packages are results, not sources.
_SKIP_DIRS = {"target", "dbt_packages", "logs", "dbt_modules", "__pycache__"}
_SKIP_FILES = {"package-lock.yml", ".user.yml"}


def _files(folder: Path, skip: Iterable[str] = ()) -> Iterable[str]:
    skipped = {*_SKIP_DIRS, *skip}
    for base, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in skipped and not d.startswith("."))
        for name in sorted(files):
            if name not in _SKIP_FILES and not name.startswith("."):
                yield os.path.join(base, name)


def hash_files(folders: Iterable[Path], extra: Iterable[Path] = (), skip: Iterable[str] = ()) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        prefix = len(str(folder)) + 1
        for path in _files(folder, skip) if folder.is_dir() else []:
            digest.update(path[prefix:].encode() + b"\0")
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    for path in extra:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def domain_files_hash(domain: Domain, profiles_dir: Optional[Path]) -> str:
    """The domain's sources, its local packages and the profiles.yml it runs with."""
    skip = {domain.target_path, domain.packages_install_path}
    folders = [domain.path, *sorted(domain.local_packages)]
    profiles = [profiles_dir / "profiles.yml"] if profiles_dir is not None else []
    return hash_files(folders, profiles, skip)


def interface_hash(interface: Optional[dict[str, Any]]) -> Optional[str]:
    """What consumers see of a domain: its public models, their versions, relations and columns."""
    if interface is None:
        return None
    public = [m for m in interface.get("models", []) if m.get("access") == "public"]
    keep = ("name", "version", "latest_version", "deprecation_date", "relation_name", "database", "schema",
            "identifier", "columns", "contract_enforced", "access", "materialized")
    shown = [{k: m.get(k) for k in keep} for m in sorted(public, key=lambda m: (m["name"], str(m.get("version"))))]
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


@dataclass
class Fingerprint:
    files: str
    interface: Optional[str]
    upstreams: dict[str, Optional[str]] = field(default_factory=dict)   # upstream -> its interface hash then

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def load(state_dir: Path) -> Optional[Fingerprint]:
    path = state_dir / RECORD
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Fingerprint(data["files"], data.get("interface"), dict(data.get("upstreams") or {}))
    except (ValueError, KeyError, TypeError):
        return None   # an unreadable record means "unknown": the domain is rebuilt


def write_pending(state_dir: Path, fingerprint: Fingerprint) -> tuple[Path, Path]:
    """The record written next to its place, not yet in it: (written file, where it goes), for
    mesh_cli.state.staging.replace_together. Raises OSError naming the file."""
    tmp = state_dir / (RECORD + ".tmp")
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(fingerprint.to_json(), encoding="utf-8")
    except OSError as exc:
        raise OSError(f"cannot write {tmp}: {exc.strerror or exc}") from exc
    return tmp, state_dir / RECORD


def save(state_dir: Path, fingerprint: Fingerprint) -> None:
    tmp, final = write_pending(state_dir, fingerprint)
    os.replace(tmp, final)


def why_stale(recorded: Optional[Fingerprint], files: str, upstreams: dict[str, Optional[str]]) -> Optional[str]:
    """Why a domain needs a build, or None when it is up to date. `upstreams` are the upstream
    domains' current interface hashes."""
    if recorded is None:
        return "never built"
    if recorded.files != files:
        return "its files changed"
    for name, current in sorted(upstreams.items()):
        if name not in recorded.upstreams:
            return f"it now reads from '{name}'"
        if recorded.upstreams[name] != current:
            return f"upstream '{name}' changed its public interface"
    return None
