"""Published interfaces: what a domain's last successful build offers to other domains.

Read by the orchestrator and by the dbt plugin, so it imports neither dbt nor click."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from mesh_cli.state.nodes import merged_meta
from mesh_cli.state.staging import replace_together

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


# What ref() can reach in another project. All are listed under "models", each with its resource_type.
REFABLE = ("model", "seed", "snapshot")


def node_access(node: dict[str, Any]) -> str:
    """dbt gives only models an access; a seed or snapshot declares one in its config (dbt keeps
    config keys it does not know) or its meta. Without one it is protected, as a model is."""
    if node.get("resource_type") == "model":
        return node.get("access") or "protected"
    return str((node.get("config") or {}).get("access") or merged_meta(node).get("access") or "protected")


def extract_interface(manifest: dict[str, Any], project: str) -> dict[str, Any]:
    """The models, seeds and snapshots of `project` in a dbt manifest, with what consumers need to ref them."""
    groups = {
        g["name"]: {"owner": g.get("owner") or {}}
        for g in (manifest.get("groups") or {}).values()
        if g.get("package_name") == project
    }
    models = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in REFABLE or node.get("package_name") != project:
            continue
        columns = node.get("columns") or {}
        models.append({
            "name": node["name"],
            "resource_type": node["resource_type"],
            "unique_id": node["unique_id"],
            "version": node.get("version"),
            "latest_version": node.get("latest_version"),
            "deprecation_date": node.get("deprecation_date"),
            "access": node_access(node),
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
    publication = prepare_publication(root, domain, target_dir, state)
    try:
        replace_together(publication.moves)
    finally:
        publication.discard()
    return publication.interface


@dataclass
class Publication:
    """A domain's new manifest.json and interface.json, written next to the published ones and
    not yet in place: replace_together(moves) puts them there."""

    interface: dict[str, Any]
    moves: list[tuple[Optional[Path], Path]]   # (written file, where it goes)

    def discard(self) -> None:
        """Remove the written files that were not moved into place."""
        for new, _ in self.moves:
            if new is not None:
                new.unlink(missing_ok=True)


def prepare_publication(root: Path, domain: str, target_dir: Path, state: Optional[Path] = None) -> Publication:
    """All of publish() that can fail short of replacing a file: reads and extracts the manifest,
    writes the new files. Raises OSError or ValueError naming the file, having changed nothing."""
    manifest_file = target_dir / "manifest.json"
    try:
        raw = manifest_file.read_bytes()
        interface = extract_interface(json.loads(raw), domain)
    except OSError as exc:
        raise OSError(f"cannot read {manifest_file}: {exc.strerror or exc}") from exc
    except ValueError as exc:   # not JSON, or not UTF-8
        raise ValueError(f"{manifest_file} is not a dbt manifest: {exc}") from exc
    folder = state_dir(root, domain, state)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create the folder {folder}: {exc.strerror or exc}") from exc
    publication = Publication(interface, [])
    text = json.dumps(interface, indent=2, sort_keys=True).encode("utf-8")
    for content, final in ((raw, folder / "manifest.json"), (text, interface_path(root, domain, state))):
        tmp = final.with_name(final.name + ".tmp")
        try:
            tmp.write_bytes(content)
        except OSError as exc:
            publication.discard()
            raise OSError(f"cannot write {tmp}: {exc.strerror or exc}") from exc
        publication.moves.append((tmp, final))
    return publication


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
