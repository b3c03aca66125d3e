"""Published state (version 1): what `mesh publish` writes to a location, and how a consumer in
another repository resolves it into `.mesh/external/<domain>/`, where the dbt plugin and every
feature read it as they read a local domain's interface.

At a location, each domain has a folder:

    <domain>/latest.json                  {"version": 1, "domain", "build_id", "published_at"}: the pointer
    <domain>/builds.json                  {"version": 1, "domain", "builds": [{"build_id", "published_at"}]}
    <domain>/builds/<build_id>/state.json the published state (see README: Published state)
    <domain>/builds/<build_id>/manifest.json, contracts/<model>[.v<N>].odcs.yaml

A build's folder is complete before the pointer names it, so a reader following latest.json never
sees half a publication; older builds stay, so a consumer can pin one."""
from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from mesh_cli.core.errors import (InvalidStateError, NewerStateError, NotPublishedError, PublishError,
                                  UnknownPublishedBuildError, UnreachableStateError)
from mesh_cli.state.interface import extract_interface
from mesh_cli.state.locations import Location, LocationUnreachable, open_location
from mesh_cli.state.staging import swap_folder

STATE_VERSION = 1
STATE_KIND = "mesh-domain-state"


def _dump(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- writing: mesh publish ----------------------------------------------------------------------

@dataclass
class Published:
    domain: str
    build_id: str
    location: str
    files: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "build_id": self.build_id, "location": self.location, "files": self.files}


def write_publication(location: Location, state: dict[str, Any], extra: dict[str, bytes]) -> Published:
    """Publish `state` (and `extra` files beside it) under its build id, then move the pointer."""
    domain, build_id = state["domain"], state["build_id"]
    if not location.can_write():
        raise PublishError(domain, location.url, "this location can only be read (a web server)",
                           "publish to the folder or object store the server serves")
    files = {"state.json": _dump(state), **extra}
    try:
        location.write_all(files, f"{domain}/builds/{build_id}")
        index = _json(location, f"{domain}/builds.json") or {"version": STATE_VERSION, "domain": domain, "builds": []}
        builds = [b for b in index.get("builds", []) if str(b.get("build_id")) != build_id]
        builds.append({"build_id": build_id, "published_at": state["published_at"]})
        location.write(f"{domain}/builds.json", _dump({**index, "builds": builds}))
        location.write(f"{domain}/latest.json", _dump({"version": STATE_VERSION, "domain": domain, "build_id": build_id,
                                                       "published_at": state["published_at"]}))
    except (OSError, LocationUnreachable, ValueError) as exc:
        raise PublishError(domain, location.url, str(exc), "check that the location exists and can be written") from exc
    return Published(domain, build_id, location.url, sorted(f"{domain}/builds/{build_id}/{f}" for f in files)
                     + [f"{domain}/builds.json", f"{domain}/latest.json"])


def _json(location: Location, path: str) -> Optional[dict[str, Any]]:
    raw = location.read(path)
    return None if raw is None else json.loads(raw)


# --- reading: external domains ------------------------------------------------------------------

@dataclass(frozen=True)
class ExternalState:
    """An external domain as resolved: where from, which build, and its published state."""

    domain: str
    location: str
    build_id: str
    state: dict[str, Any]
    folder: Path                  # .mesh/external/<domain>/
    resolved_at: str
    offline: bool = False         # the location was unreachable: this is the state resolved before
    declared_in: Optional[Path] = None

    @property
    def interface(self) -> dict[str, Any]:
        return self.state["interface"]

    @property
    def storage(self) -> dict[str, Any]:
        return self.state.get("storage") or {}

    @property
    def reads(self) -> list[dict[str, Any]]:
        return list(self.state.get("reads") or [])

    @property
    def owner(self) -> dict[str, Any]:
        return self.state.get("owner") or {}


@dataclass(frozen=True)
class ExternalSpec:
    """What a file asks for: a domain, its location, optionally a pinned build."""

    domain: str
    location: str
    build: Optional[str] = None
    declared_in: Optional[Path] = None
    base: Path = Path(".")        # a relative folder is relative to this
    kind: str = "mesh"            # or "dbt_loom": `location` is a dbt manifest.json (file or URL)


def _check_version(spec: ExternalSpec, where: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        raise InvalidStateError(spec.declared_in, spec.domain, where, "no integer `version`")
    if data["version"] > STATE_VERSION:
        raise NewerStateError(spec.declared_in, spec.domain, where, data["version"], STATE_VERSION)
    return data


def _fetch_loom(spec: ExternalSpec) -> tuple[dict[str, Any], Optional[bytes]]:
    """A dbt-loom manifest source: the dbt manifest itself, read as a state of its own."""
    folder, _, name = spec.location.rstrip("/").rpartition("/")
    raw = open_location(folder or ".", spec.base).read(name)
    if raw is None:
        raise NotPublishedError(spec.declared_in, spec.domain, spec.location)
    try:
        manifest = json.loads(raw)
        interface = extract_interface(manifest, spec.domain)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidStateError(spec.declared_in, spec.domain, spec.location, f"not a dbt manifest: {exc}") from exc
    meta = manifest.get("metadata") or {}
    models = interface["models"]
    state = {"version": STATE_VERSION, "kind": STATE_KIND, "domain": spec.domain,
             "build_id": str(meta.get("invocation_id") or "manifest"), "published_at": meta.get("generated_at"),
             "source": "dbt_loom", "interface": interface, "reads": [], "contracts": {},
             "storage": {"adapter_type": meta.get("adapter_type"), "database": models[0]["database"] if models else None,
                         "schema": models[0]["schema"] if models else None, "path": None}}
    return state, raw


def _fetch(spec: ExternalSpec, location: Location) -> tuple[dict[str, Any], Optional[bytes]]:
    """The state (and manifest) the spec names. Raises LocationUnreachable, or a RemoteStateError."""
    if spec.kind == "dbt_loom":
        return _fetch_loom(spec)
    where = f"{spec.location}/{spec.domain}"
    try:
        build = spec.build
        if build is None:
            raw = location.read(f"{spec.domain}/latest.json")
            if raw is None:
                raise NotPublishedError(spec.declared_in, spec.domain, spec.location)
            build = str(_check_version(spec, f"{where}/latest.json", json.loads(raw))["build_id"])
        raw = location.read(f"{spec.domain}/builds/{build}/state.json")
        if raw is None:
            index = _json(location, f"{spec.domain}/builds.json")
            if spec.build is None:
                raise InvalidStateError(spec.declared_in, spec.domain, where, f"latest.json names build {build}, which is missing")
            if index is None and _json(location, f"{spec.domain}/latest.json") is None:
                raise NotPublishedError(spec.declared_in, spec.domain, spec.location)
            known = [str(b["build_id"]) for b in (index or {}).get("builds", [])]
            raise UnknownPublishedBuildError(spec.declared_in, spec.domain, spec.location, build, known)
        state = _check_version(spec, f"{where}/builds/{build}/state.json", json.loads(raw))
    except ValueError as exc:   # not JSON
        raise InvalidStateError(spec.declared_in, spec.domain, where, f"not JSON: {exc}") from exc
    if state.get("kind") != STATE_KIND or state.get("domain") != spec.domain or "interface" not in state:
        raise InvalidStateError(spec.declared_in, spec.domain, where,
                                f"expected kind {STATE_KIND} of domain '{spec.domain}' with an interface")
    return state, location.read(f"{spec.domain}/builds/{build}/manifest.json")


def resolve_external(spec: ExternalSpec, external_dir: Path, offline: bool = False) -> ExternalState:
    """Fetch the spec's state into `external_dir/<domain>/`. When the location cannot be reached
    and `offline` is asked for, the state resolved last time (of the pinned build, if pinned)."""
    folder = external_dir / spec.domain
    try:
        location = open_location(spec.location if spec.kind == "mesh" else ".", spec.base)
        state, manifest = _fetch(spec, location)
    except LocationUnreachable as exc:
        previous = _load_resolved(spec, folder)
        if offline and previous is not None and (spec.build is None or previous.build_id == spec.build):
            return previous
        raise UnreachableStateError(spec.declared_in, spec.domain, spec.location, str(exc), previous is not None) from exc
    resolved = {"location": spec.location, "build_id": str(state["build_id"]), "resolved_at": _now()}
    _materialise(folder, state, manifest, resolved)
    return ExternalState(spec.domain, spec.location, resolved["build_id"], state, folder, resolved["resolved_at"],
                         False, spec.declared_in)


def _load_resolved(spec: ExternalSpec, folder: Path) -> Optional[ExternalState]:
    try:
        resolved = json.loads((folder / "resolved.json").read_text(encoding="utf-8"))
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return ExternalState(spec.domain, resolved.get("location", spec.location), str(resolved["build_id"]), state,
                         folder, resolved.get("resolved_at", "?"), True, spec.declared_in)


def _materialise(folder: Path, state: dict[str, Any], manifest: Optional[bytes], resolved: dict[str, Any]) -> None:
    """Replace `folder` with this state as a whole (a new folder renamed into place)."""
    new = _dump(state)
    if (folder / "state.json").is_file() and (folder / "state.json").read_bytes() == new:
        (folder / "resolved.json").write_bytes(_dump(resolved))   # same build: only say when it was checked
        return
    tmp = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        (tmp / "state.json").write_bytes(new)
        (tmp / "interface.json").write_bytes(_dump(state["interface"]))
        if manifest is not None:
            (tmp / "manifest.json").write_bytes(manifest)
        for name, text in (state.get("contracts") or {}).items():
            (tmp / "contracts").mkdir(exist_ok=True)
            (tmp / "contracts" / Path(name).name).write_text(text, encoding="utf-8")
        (tmp / "resolved.json").write_bytes(_dump(resolved))
        swap_folder(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def forget_others(external_dir: Path, keep: set[str]) -> None:
    """Drop resolved states of domains no longer external, so none is mistaken for a domain's state."""
    if external_dir.is_dir():
        for folder in external_dir.iterdir():
            if folder.is_dir() and folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)
