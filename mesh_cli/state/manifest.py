"""One typed, read-only view of a dbt manifest.json: the nodes, groups and tests mesh reads (typed
in mesh_cli.state.nodes), built once per manifest file and handed to each reader, and the sqlglot
dialect of its compiled SQL.

The manifest is read as JSON: dbt is imported only where it runs. dbt always writes `metadata`,
whose schema version is checked here; hand-made manifests in tests carry none and are accepted."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

from mesh_cli.core.errors import UnsupportedManifestError
from mesh_cli.state.nodes import DataTest, Group, Node, Raw

# Manifest schema version -> the dbt releases mesh supports that write it (README: Supported versions).
# dbt 1.10 and 1.11 both declare `@schema_version("manifest", 12)` (dbt/artifacts/schemas/manifest/v12).
SCHEMAS: dict[int, str] = {12: "dbt-core 1.10 and 1.11"}
_SCHEMA_URL = re.compile(r"/manifest/v(\d+)\.json$")


@dataclass(frozen=True)
class Manifest:
    nodes: Mapping[str, Node]           # by unique id: dbt's nodes (but tests), then its sources
    groups: Mapping[str, Group]         # by unique id
    tests: tuple[DataTest, ...] = ()
    schema_version: Optional[int] = None   # None: a hand-made manifest, without metadata
    path: Optional[Path] = None
    adapter_type: Optional[str] = None     # the warehouse dbt compiled for (metadata.adapter_type)

    @property
    def dialect(self) -> str:
        """The sqlglot dialect of the manifest's compiled SQL (DuckDB when dbt did not say)."""
        return sql_dialect(self.adapter_type)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")), path)

    @classmethod
    def from_dict(cls, data: Raw, path: Optional[Path] = None) -> Manifest:
        """Raises UnsupportedManifestError for a manifest another dbt wrote."""
        version = _schema_version(data, path)
        raw_nodes = [*(data.get("nodes") or {}).values(), *(data.get("sources") or {}).values()]
        return cls(
            {n.unique_id: n for n in (Node.from_dict(r) for r in raw_nodes if r.get("resource_type") != "test")},
            {key: Group.from_dict(key, g) for key, g in (data.get("groups") or {}).items()},
            tuple(DataTest.from_dict(r) for r in raw_nodes if r.get("resource_type") == "test"),
            version, path, (data.get("metadata") or {}).get("adapter_type"),
        )

    def get(self, unique_id: str) -> Optional[Node]:
        return self.nodes.get(unique_id)

    def own(self, package: str, kinds: Iterable[str] = ("model",)) -> list[Node]:
        """The nodes of these kinds that `package` defines, in the manifest's order."""
        kinds = tuple(kinds)
        return [n for n in self.nodes.values() if n.resource_type in kinds and n.package == package]

    def groups_of(self, package: str) -> dict[str, Group]:
        """`package`'s groups by name."""
        return {g.name: g for g in self.groups.values() if g.package == package}

    def group(self, package: str, name: str) -> Optional[Group]:
        return self.groups.get(f"group.{package}.{name}")

    def tests_on(self, unique_id: str) -> list[DataTest]:
        """The tests declared on a node (its YAML attaches them)."""
        return list(self._attached.get(unique_id, ()))

    @cached_property
    def _attached(self) -> dict[str, list[DataTest]]:
        # Rules ask once per model: an index, not a scan of every test each time.
        index: dict[str, list[DataTest]] = {}
        for test in self.tests:
            if test.attached_node:
                index.setdefault(test.attached_node, []).append(test)
        return index


def as_manifest(manifest: Union[Manifest, Raw]) -> Manifest:
    """Readers take a Manifest or the JSON of one (tests build small ones by hand)."""
    return manifest if isinstance(manifest, Manifest) else Manifest.from_dict(manifest)


def _schema_version(data: Raw, path: Optional[Path]) -> Optional[int]:
    if "metadata" not in data:
        return None
    raw = (data.get("metadata") or {}).get("dbt_schema_version")
    match = _SCHEMA_URL.search(str(raw or ""))
    version = int(match.group(1)) if match else None
    if version not in SCHEMAS:
        supported = ", ".join(f"v{v}, written by {writers}" for v, writers in sorted(SCHEMAS.items()))
        raise UnsupportedManifestError(path, f"v{version}" if version is not None else raw, supported)
    return version


# dbt adapter type -> sqlglot dialect, for the adapters whose names differ; sqlglot names the others
# (duckdb, postgres, snowflake, bigquery, databricks, redshift, trino) as dbt does.
_DIALECTS = {"sqlserver": "tsql", "fabric": "tsql", "synapse": "tsql"}
KNOWN_DIALECTS = frozenset({"duckdb", "postgres", "snowflake", "bigquery", "databricks", "spark", "redshift",
                            "trino", "athena", "clickhouse", "tsql", "mysql", "oracle", "sqlite", "teradata"})


def sql_dialect(adapter_type: Optional[str]) -> str:
    """The sqlglot dialect that parses SQL dbt compiled for `adapter_type` (duckdb when unknown)."""
    name = _DIALECTS.get(adapter_type or "", adapter_type or "duckdb")
    return name if name in KNOWN_DIALECTS else "duckdb"
