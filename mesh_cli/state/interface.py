"""Published interfaces: what a domain's last successful build offers to other domains.

Read by the orchestrator and by the dbt plugin, so it imports neither dbt nor click."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from mesh_cli.core.layout import Layout, state_root
from mesh_cli.state.manifest import Manifest, as_manifest
# node_access lives with the node records; it stays importable from here, where interfaces were read.
from mesh_cli.state.nodes import REFABLE, node_access  # noqa: F401
from mesh_cli.state.staging import replace_together


# On a shared PostgreSQL a domain builds into staging schemas (`<domain>__mesh_build`, and
# `<domain>__mesh_build_<custom>`) that are swapped into its live ones (`<domain>`, `<domain>_<custom>`)
# once it succeeds (warehouse/swap.py): what is published names the live relations, which consumers read.
STAGING = "__mesh_build"


def live_names(raw: bytes) -> bytes:
    """A dbt manifest (or any text) with staging schema names turned into the live ones."""
    marker = STAGING.encode()
    return raw.replace(marker + b"_", b"_").replace(marker, b"") if marker in raw else raw


def state_dir(root: Path, domain: str, state: Optional[Path] = None) -> Path:
    return (state or state_root(root)) / domain


def interface_path(root: Path, domain: str, state: Optional[Path] = None) -> Path:
    return state_dir(root, domain, state) / "interface.json"


def extract_interface(manifest: Union[Manifest, dict[str, Any]], project: str) -> dict[str, Any]:
    """The models, seeds and snapshots of `project` in a dbt manifest, with what consumers need to ref
    them. All are listed under "models", each with its resource_type: interface.json is a published format."""
    view = as_manifest(manifest)
    groups = {name: {"owner": dict(g.owner)} for name, g in view.groups_of(project).items()}
    models = [{
        "name": node.name,
        "resource_type": node.resource_type,
        "unique_id": node.unique_id,
        "version": node.version,
        "latest_version": node.latest_version,
        "deprecation_date": node.deprecation_date,
        "access": node.access,
        "group": node.group,
        "database": node.database,
        "schema": node.schema,
        "identifier": node.identifier,
        "relation_name": node.relation_name,
        "materialized": node.materialized,
        "contract_enforced": node.contract_enforced,
        "description": node.description,
        "columns": [{"name": c.name, "data_type": c.data_type} for c in node.columns],
        "original_file_path": node.original_file_path,
        "meta": dict(node.meta),
    } for node in view.own(project, REFABLE)]
    models.sort(key=lambda m: (m["name"], str(m["version"])))
    return {"project": project, "groups": groups, "models": models}


def publish(root: Path, domain: str, target_dir: Path, state: Optional[Path] = None,
            manifest_file: Optional[Path] = None) -> dict[str, Any]:
    """Record the manifest of a successful build (or check parse) as the domain's interface.
    `manifest_file`: where the parse wrote it, when not dbt's target/manifest.json."""
    publication = prepare_publication(root, domain, target_dir, state, manifest_file)
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


def prepare_publication(root: Path, domain: str, target_dir: Path, state: Optional[Path] = None,
                        manifest_file: Optional[Path] = None) -> Publication:
    """All of publish() that can fail short of replacing a file: reads and extracts the manifest,
    writes the new files. Raises OSError or ValueError naming the file, having changed nothing."""
    manifest_file = manifest_file or target_dir / "manifest.json"
    try:
        raw = live_names(manifest_file.read_bytes())
        interface = extract_interface(Manifest.from_dict(json.loads(raw), manifest_file), domain)
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
    """The interface in `state`; without one, in $MESH_STATE_DIR and then the last good build's.
    An external domain's (another repository's) is where it was last resolved, in every case."""
    folders = [state] if state else [state_root(root), Layout(root).state]
    folders.append(Layout(root).external)
    for folder in folders:
        path = interface_path(root, domain, folder)
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    return None


# What dbt is told of an upstream's public model (dbt.contracts.graph.node_args.ModelNodeArgs).
INJECTED = ("name", "identifier", "schema", "database", "relation_name", "version", "latest_version",
            "deprecation_date")


def public_models(interface: Optional[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodes the plugin injects for a domain's interface: as in dbt Mesh, only public nodes
    cross a project boundary; a public seed or snapshot is injected as a model with its relation."""
    return [{key: m[key] for key in INJECTED} for m in (interface or {"models": []})["models"] if m["access"] == "public"]


def published_domains(root: Path) -> list[str]:
    """Every domain with an interface: built here (or parsed by the check) or resolved from elsewhere."""
    found: set[str] = set()
    for folder in (state_root(root), Layout(root).external):
        if folder.is_dir():
            found |= {p.name for p in folder.iterdir() if (p / "interface.json").is_file()}
    return sorted(found)
