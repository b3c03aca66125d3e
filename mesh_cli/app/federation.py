"""Meshes that span repositories: which external domains a mesh names (mesh.yml's
`external_domains:`, dbt-loom manifest sources), resolving them before anything runs, and
`mesh publish`, which writes a domain's state for consumers elsewhere."""
from __future__ import annotations

import hashlib
import json
import os
import re
from importlib.metadata import PackageNotFoundError, version
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional

from mesh_cli.contracts.reads import published_reads
from mesh_cli.contracts.store import CONTRACTS_DIR, SUFFIX
from mesh_cli.core.config import CONFIG_FILE, MeshConfig
from mesh_cli.core.errors import (ExternalClashError, ExternalStatesError, ExternalStorageError, MeshError, PublishError,
                                  RemoteStateError)
from mesh_cli.core.yamlfile import read_yaml
from mesh_cli.governance.policy import Policy
from mesh_cli.project.context import MeshContext
from mesh_cli.project.discovery import Domain
from mesh_cli.project.links import Interfaces, Links
from mesh_cli.state.interface import interface_path
from mesh_cli.state.locations import open_location
from mesh_cli.state.records import last_success
from mesh_cli.state.remote import (STATE_KIND, STATE_VERSION, ExternalSpec, ExternalState, Published, forget_others,
                                   resolve_external, write_publication)
from mesh_cli.state.storage import Storage, Storages

def _mesh_version() -> str:
    try:
        return version("mesh-cli")
    except PackageNotFoundError:   # run from a source tree
        return "unknown"


_ENV_VAR = re.compile(r"\{\{\s*env_var\(\s*['\"](\w+)['\"]\s*(?:,\s*['\"]([^'\"]*)['\"]\s*)?\)\s*\}\}")


def _render(text: str) -> str:
    """dbt-loom renders `{{ env_var('NAME') }}` in its config; so do we, for the same files."""
    return _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), text)


def _loom_specs(domain: Domain, taken: set[str]) -> list[ExternalSpec]:
    """dbt-loom's `file` and `http` manifest sources naming no domain of this mesh: external domains,
    so dbt-loom users switch without edits. Other source types (dbt Cloud, object stores) are skipped."""
    for filename in ("dbt_loom.config.yml", "dbt_loom.config.yaml"):
        path = domain.path / filename
        if not path.is_file():
            continue
        found = []
        for entry in (read_yaml(path) or {}).get("manifests") or []:
            if not isinstance(entry, dict) or entry.get("name") in taken or entry.get("name") is None:
                continue
            config = entry.get("config") or {}
            where = config.get("path") if entry.get("type") == "file" else config.get("url") if entry.get("type") == "http" else None
            if where:
                found.append(ExternalSpec(str(entry["name"]), _render(str(where)), None, path, domain.path, "dbt_loom"))
        return found
    return []


def external_specs(root: Path, config: MeshConfig, domains: Iterable[Domain]) -> list[ExternalSpec]:
    """Every external domain the mesh names; a name that is also a local domain is refused."""
    local = {d.name: d for d in domains}
    mesh_file = root / CONFIG_FILE
    specs: list[ExternalSpec] = []
    for name, ext in sorted(config.external_domains.items()):
        if name in local:
            raise ExternalClashError(mesh_file, name, local[name].project_file)
        specs.append(ExternalSpec(name, ext.state, ext.build, mesh_file, root))
    taken = set(local) | {s.domain for s in specs}
    for d in sorted(local.values(), key=lambda d: d.name):
        for spec in _loom_specs(d, taken):
            taken.add(spec.domain)
            specs.append(spec)
    return specs


def resolve_externals(root: Path, config: MeshConfig, domains: Iterable[Domain], external_dir: Path,
                      offline: bool = False) -> tuple[dict[str, ExternalState], list[str]]:
    """Resolve every external domain into `external_dir`, before anything runs; and the notes to
    show (a state used offline)."""
    specs = external_specs(root, config, domains)
    found, notes, errors = {}, [], []
    for spec in specs:
        try:
            state = resolve_external(spec, external_dir, offline)
        except RemoteStateError as exc:   # every one is named, not just the first
            errors.append(exc)
            continue
        found[spec.domain] = state
        if state.offline:
            notes.append(f"external domain '{spec.domain}': {spec.location} cannot be reached; using build "
                         f"{state.build_id} as resolved at {state.resolved_at} (--offline)")
    if errors:
        raise errors[0] if len(errors) == 1 else ExternalStatesError(errors)
    forget_others(external_dir, set(found))
    return found, notes


def external_storage(name: str, state: ExternalState, config: MeshConfig, root: Path) -> Storage:
    """What a consumer attaches to read an external domain: the DuckDB file its state names (or
    where mesh.yml says this machine sees it). Never written here."""
    ext = config.external_domains.get(name)
    path = ext.duckdb_path if ext is not None and ext.duckdb_path else state.storage.get("path")
    duck = state.storage.get("adapter_type") == "duckdb" and path
    database = (root / os.path.expanduser(str(path))).resolve() if duck else None
    return Storage(profiles_dir=root, managed=False, database=database, key=None)


def missing_storage(root: Path, storages: Storages, external: dict[str, ExternalState], consumer: str,
                    upstreams: Iterable[str]) -> list[MeshError]:
    """A consumer on the mesh's DuckDB profile cannot read an external domain whose file it cannot see:
    said before dbt starts rather than as a Catalog Error in the middle of its build."""
    if not storages.of(consumer).managed:
        return []
    return [ExternalStorageError(root / CONFIG_FILE, u, consumer, db) for u in upstreams
            if u in external and (db := storages.of(u).database) is not None and not db.exists()]


# --- mesh publish ---------------------------------------------------------------------------------

def _load(path: Path) -> Optional[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def domain_state(ctx: MeshContext, links: Links, policy: Policy, storages: Storages, interface: Interfaces,
                 domain: str, to: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The state `domain` publishes (version 1) from its last good build, and the files beside it."""
    folder = interface_path(ctx.root, domain).parent
    published, manifest_file = _load(folder / "interface.json"), folder / "manifest.json"
    if published is None or not manifest_file.is_file():
        raise PublishError(domain, to, "it has never built successfully here",
                           f"run `mesh build --select {domain}` first")
    raw = manifest_file.read_bytes()
    meta = json.loads(raw).get("metadata") or {}
    run = last_success(ctx.root, domain)
    build_id = str(run.build_id) if run is not None else hashlib.sha256(raw).hexdigest()[:12]
    for model in published["models"]:
        # mesh.yml's allow-lists travel with the model, so a consumer elsewhere applies them too.
        allowed = policy.allowed_consumers(domain, model["name"], model.get("meta") or {})
        if allowed is not None:
            model["meta"] = {**model.get("meta", {}), "mesh": {**(model.get("meta") or {}).get("mesh", {}),
                                                                "allowed_consumers": allowed}}
    storage = storages.of(domain)
    first = next(iter(published["models"]), {})
    adapter = meta.get("adapter_type")
    contracts = {p.name: p.read_text(encoding="utf-8")
                 for p in sorted((ctx.root / CONTRACTS_DIR / domain).glob(f"*{SUFFIX}"))}
    owner = ctx.domains[domain].owner
    settings = ctx.config.domains.get(domain)
    state = {
        "version": STATE_VERSION, "kind": STATE_KIND, "domain": domain, "build_id": build_id,
        "published_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "built_at": meta.get("generated_at"),
        "mesh": {"name": ctx.config.name, "mesh_cli": _mesh_version(), "dbt_version": meta.get("dbt_version")},
        "owner": {"team": owner.team if owner else None, "email": owner.email if owner else None},
        "description": settings.description if settings else None,
        "storage": {"adapter_type": adapter, "database": first.get("database"), "schema": first.get("schema"),
                    "path": str(storage.database) if adapter == "duckdb" and storage.database is not None else None},
        "interface": published,
        "contracts": contracts,
        "reads": published_reads(ctx, links, domain, interface),
    }
    extra = {"manifest.json": raw, **{f"contracts/{n}": t.encode("utf-8") for n, t in contracts.items()}}
    return state, extra


def publish_domains(ctx: MeshContext, links: Links, policy: Policy, storages: Storages, interface: Interfaces,
                    domains: list[str], to: str) -> list[Published]:
    """Publish each domain's state to `to`; all are composed (and can fail) before any is written."""
    location = open_location(to, Path.cwd())
    states = [domain_state(ctx, links, policy, storages, interface, d, to) for d in domains]
    return [write_publication(location, state, extra) for state, extra in states]
