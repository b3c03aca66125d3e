"""The catalog of data products (public models) across the mesh.

The data model below is shared by `mesh catalog`, `mesh show`, `mesh lineage` and the docs site:
change a field here and every reader follows. The functions are filled in by the catalog work."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional


@dataclass
class Column:
    name: str
    data_type: Optional[str] = None
    description: str = ""
    constraints: list[str] = field(default_factory=list)   # e.g. ["not_null", "primary_key"]
    tests: list[str] = field(default_factory=list)         # generic test names on the column
    pii: bool = False


@dataclass
class Consumer:
    domain: str
    model: str                    # the consuming model's name
    version: Optional[str] = None  # the version it pins, None when it follows the latest


@dataclass
class ProductVersion:
    version: Optional[str]                   # None for an unversioned model
    is_latest: bool = True
    deprecation_date: Optional[str] = None   # ISO date
    columns: list[Column] = field(default_factory=list)
    contract_enforced: bool = False
    contract_path: Optional[str] = None      # contracts/<domain>/<model>[.v<N>].odcs.yaml, relative to the mesh root, when published
    consumers: list[Consumer] = field(default_factory=list)


@dataclass
class LastBuild:
    status: str                   # success, error, skipped (from the last `mesh build`)
    at: Optional[str] = None      # ISO timestamp of the last successful build
    age_seconds: Optional[float] = None
    fresh: Optional[bool] = None  # against the declared SLA; None when no SLA is declared


@dataclass
class Product:
    domain: str
    name: str
    description: str = ""
    owner_team: Optional[str] = None
    owner_email: Optional[str] = None
    group: Optional[str] = None
    tags: list[str] = field(default_factory=list)
    materialized: Optional[str] = None
    latest_version: Optional[str] = None
    versions: list[ProductVersion] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)            # unique ids of the tests on the model
    sla_freshness: Optional[str] = None                        # e.g. "24h" (mesh_cli.sla)
    last_build: Optional[LastBuild] = None
    original_file_path: Optional[str] = None                   # relative to the mesh root

    @property
    def key(self) -> str:
        return f"{self.domain}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, **asdict(self)}
