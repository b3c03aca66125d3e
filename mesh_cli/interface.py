"""Published interfaces: what a domain's last successful build offers to other domains.

Read by the orchestrator and by the dbt plugin, so it imports neither dbt nor click."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Optional

from mesh_cli.nodes import merged_meta

STATE_DIR = ".mesh"
ROOT_ENV = "MESH_ROOT"
# `mesh check` parses into a state of its own, so a check never replaces the last good build's.
STATE_ENV = "MESH_STATE_DIR"


def state_root(root: Path) -> Path:
    return Path(os.environ[STATE_ENV]) if os.environ.get(STATE_ENV) else root / STATE_DIR / "state"


def state_dir(root: Path, domain: str, state: Optional[Path] = None) -> Path:
    return (state or state_root(root)) / domain


def interface_path(root: Path, domain: str, state: Optional[Path] = None) -> Path:
    return state_dir(root, domain, state) / "interface.json"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # readers never see a half-written file


def extract_interface(manifest: dict[str, Any], project: str) -> dict[str, Any]:
    """The models of `project` in a dbt manifest, with what consumers need to ref them."""
    groups = {
        g["name"]: {"owner": g.get("owner") or {}}
        for g in (manifest.get("groups") or {}).values()
        if g.get("package_name") == project
    }
    models = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or node.get("package_name") != project:
            continue
        columns = node.get("columns") or {}
        models.append({
            "name": node["name"],
            "unique_id": node["unique_id"],
            "version": node.get("version"),
            "latest_version": node.get("latest_version"),
            "deprecation_date": node.get("deprecation_date"),
            "access": node.get("access") or "protected",
            "group": node.get("group"),
            "database": node.get("database"),
            "schema": node.get("schema"),
            "identifier": node.get("alias") or node["name"],
            "relation_name": node.get("relation_name"),
            "materialized": (node.get("config") or {}).get("materialized"),
            "contract_enforced": bool(((node.get("contract") or {}).get("enforced"))),
            "description": node.get("description") or "",
            "columns": [{"name": c.get("name"), "data_type": c.get("data_type")} for c in columns.values()],
            "original_file_path": node.get("original_file_path"),
            "meta": merged_meta(node),
        })
    models.sort(key=lambda m: (m["name"], str(m["version"])))
    return {"project": project, "groups": groups, "models": models}


def publish(root: Path, domain: str, target_dir: Path, state: Optional[Path] = None) -> dict[str, Any]:
    """Record the manifest of a successful build (or check parse) as the domain's interface."""
    manifest_file = target_dir / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    interface = extract_interface(manifest, domain)
    folder = state_dir(root, domain, state)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "manifest.json.tmp"
    shutil.copyfile(manifest_file, tmp)
    os.replace(tmp, folder / "manifest.json")
    _write_atomic(interface_path(root, domain, state), json.dumps(interface, indent=2, sort_keys=True))
    return interface


def load_interface(root: Path, domain: str, state: Optional[Path] = None) -> Optional[dict[str, Any]]:
    """The interface in `state`; without one, in $MESH_STATE_DIR and then the last good build's."""
    folders = [state] if state else [state_root(root), root / STATE_DIR / "state"]
    for folder in folders:
        path = interface_path(root, domain, folder)
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    return None


def published_domains(root: Path) -> list[str]:
    folder = state_root(root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "interface.json").is_file())


def find_mesh_root(start: Path) -> Optional[Path]:
    """The mesh a dbt process belongs to: $MESH_ROOT, else the nearest folder above `start`
    that holds published state. None outside a mesh, which keeps the plugin inert."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV])
    for folder in (start, *start.parents):
        if (folder / STATE_DIR / "state").is_dir():
            return folder
    return None
