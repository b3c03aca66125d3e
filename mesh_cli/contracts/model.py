"""A data product's interface as a contract: one per public model version, read from a dbt manifest.

Pure functions over the manifest view (mesh_cli.state.manifest): neither dbt nor click is imported here."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

from mesh_cli.contracts.sla import node_sla
from mesh_cli.state.manifest import Manifest, as_manifest
from mesh_cli.state.nodes import REQUIRED, UNIQUE, DataTest, Group, Node


@dataclass
class ColumnContract:
    name: str
    data_type: Optional[str] = None
    description: str = ""
    tags: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)   # enforced constraint types: not_null, unique, primary_key, check...
    tests: list[str] = field(default_factory=list)         # generic data tests on the column: not_null, unique...
    pii: bool = False

    @property
    def required(self) -> bool:
        return bool(REQUIRED & {*self.constraints, *self.tests})

    @property
    def unique(self) -> bool:
        return bool(UNIQUE & {*self.constraints, *self.tests})


@dataclass
class ModelContract:
    domain: str
    model: str
    version: Optional[str] = None
    latest_version: Optional[str] = None
    deprecation_date: Optional[str] = None   # ISO date
    access: str = "public"
    group: Optional[str] = None
    owner_team: Optional[str] = None
    owner_email: Optional[str] = None
    allowed_consumers: Optional[list[str]] = None   # None: any domain may read it
    materialized: Optional[str] = None
    contract_enforced: bool = False
    description: str = ""
    tags: list[str] = field(default_factory=list)
    columns: list[ColumnContract] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)   # model-level, e.g. "primary_key(order_id)"
    primary_key: list[str] = field(default_factory=list)
    relation: Optional[str] = None
    identifier: Optional[str] = None
    sla_freshness: Optional[str] = None
    sla_support: Optional[str] = None

    @property
    def key(self) -> tuple[str, str, Optional[str]]:
        return (self.domain, self.model, self.version)

    @property
    def label(self) -> str:
        return f"{self.domain}.{self.model}{f' v{self.version}' if self.version is not None else ''}"

    def column(self, name: str) -> Optional[ColumnContract]:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Allowed = Callable[[str, dict[str, Any]], Optional[list[str]]]


def extract_contracts(
    manifest: Union[Manifest, dict[str, Any]], domain: str,
    owner: tuple[Optional[str], Optional[str]] = (None, None),
    allowed: Allowed = lambda model, meta: None,
    project_dir: Path = Path("."),
) -> dict[tuple[str, str, Optional[str]], ModelContract]:
    """Every model of `domain` in `manifest` (public or not: a diff must see a model that stopped
    being public), keyed by (domain, model, version). `owner` is the domain's (team, email) from
    mesh.yml, used when the model's group names no owner; `allowed` reads a model's allow-list."""
    view = as_manifest(manifest)
    groups = view.groups_of(domain)
    found: dict[tuple[str, str, Optional[str]], ModelContract] = {}
    for node in sorted(view.own(domain), key=lambda n: n.unique_id):
        contract = _model_contract(node, domain, groups.get(node.group or ""), owner, allowed, project_dir,
                                   view.tests_on(node.unique_id))
        found[contract.key] = contract
    return found


def _model_contract(node: Node, domain: str, group: Optional[Group], owner: tuple[Optional[str], Optional[str]],
                    allowed: Allowed, project_dir: Path, tests: list[DataTest]) -> ModelContract:
    sla = node_sla(dict(node.raw), project_dir)
    return ModelContract(
        domain=domain, model=node.name, version=node.version_text, latest_version=node.latest_version_text,
        deprecation_date=node.deprecation_day, access=node.access, group=node.group,
        owner_team=(group.owner_name if group else None) or owner[0],
        owner_email=(group.owner_email if group else None) or owner[1],
        allowed_consumers=allowed(node.name, dict(node.meta)), materialized=node.materialized,
        contract_enforced=node.contract_enforced, description=node.description.strip(), tags=sorted(node.tags),
        columns=_columns(node, tests), constraints=sorted(c.label for c in node.constraints),
        primary_key=_primary_key(node), relation=node.relation_name, identifier=node.identifier,
        sla_freshness=sla.freshness_text if sla else None, sla_support=sla.support if sla else None,
    )


def _columns(node: Node, tests: list[DataTest]) -> list[ColumnContract]:
    generic: dict[str, set[str]] = {}   # column (lower case) -> generic tests on it
    for test in tests:
        if test.column and test.generic:
            generic.setdefault(test.column, set()).add(test.generic)
    return [ColumnContract(
        name=col.name, data_type=col.data_type, description=col.description.strip(), tags=sorted(col.tags),
        constraints=sorted({c.label for c in col.constraints}), tests=sorted(generic.get(col.name.lower(), set())),
        pii=col.pii,
    ) for col in node.columns]


def _primary_key(node: Node) -> list[str]:
    """The columns of a model-level primary_key constraint, then those with a primary_key of their own."""
    key = [name for c in node.constraints if c.type == "primary_key" for name in c.columns]
    key += [col.name for col in node.columns if "primary_key" in col.constraint_types]
    return list(dict.fromkeys(key))


def public(contracts: dict[tuple[str, str, Optional[str]], ModelContract]) -> dict[tuple[str, str, Optional[str]], ModelContract]:
    return {k: c for k, c in contracts.items() if c.access == "public"}
