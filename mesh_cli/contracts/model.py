"""A data product's interface as a contract: one per public model version, read from a dbt manifest.

Pure functions over the manifest's JSON: neither dbt nor click is imported here."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from mesh_cli.state.nodes import is_pii, merged_meta
from mesh_cli.contracts.sla import node_sla

# The constraint and test names that make a column required or unique.
REQUIRED = {"not_null", "primary_key"}
UNIQUE = {"unique", "primary_key"}


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


def version_text(value: Any) -> Optional[str]:
    """dbt writes a version as a number or a string; compare them as text."""
    return None if value is None else str(value)


def _constraint_name(c: dict[str, Any]) -> str:
    kind = str(c.get("type") or "")
    if kind == "check" and c.get("expression"):
        return f"check({c['expression']})"
    if c.get("columns"):
        return f"{kind}({', '.join(c['columns'])})"
    return kind


def _column_tests(manifest: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """model unique id -> column name (lowercase) -> generic test names attached to it."""
    tests: dict[str, dict[str, set[str]]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "test" or not node.get("column_name"):
            continue
        meta = node.get("test_metadata") or {}
        attached = node.get("attached_node") or next(iter((node.get("depends_on") or {}).get("nodes") or []), None)
        if attached and meta.get("name"):
            column = str(node["column_name"]).strip('"').lower()
            tests.setdefault(attached, {}).setdefault(column, set()).add(meta["name"])
    return tests


def extract_contracts(
    manifest: dict[str, Any], domain: str,
    owner: tuple[Optional[str], Optional[str]] = (None, None),
    allowed: Callable[[str, dict[str, Any]], Optional[list[str]]] = lambda model, meta: None,
    project_dir: Path = Path("."),
) -> dict[tuple[str, str, Optional[str]], ModelContract]:
    """Every model of `domain` in `manifest` (public or not: a diff must see a model that stopped
    being public), keyed by (domain, model, version). `owner` is the domain's (team, email) from
    mesh.yml, used when the model's group names no owner; `allowed` reads a model's allow-list."""
    groups = {g["name"]: g.get("owner") or {} for g in (manifest.get("groups") or {}).values()
              if g.get("package_name") == domain}
    tests = _column_tests(manifest)
    found: dict[tuple[str, str, Optional[str]], ModelContract] = {}
    for uid, node in sorted(manifest.get("nodes", {}).items()):
        if node.get("resource_type") != "model" or node.get("package_name") != domain:
            continue
        config = node.get("config") or {}
        meta = merged_meta(node)
        group_owner = groups.get(node.get("group") or "", {})
        model_constraints = [_constraint_name(c) for c in node.get("constraints") or []]
        primary_key = [col for c in node.get("constraints") or [] if c.get("type") == "primary_key"
                       for col in c.get("columns") or []]
        columns = []
        for col in (node.get("columns") or {}).values():
            kinds = sorted({_constraint_name(c) for c in col.get("constraints") or []})
            if "primary_key" in kinds:
                primary_key.append(col["name"])
            columns.append(ColumnContract(
                name=col["name"], data_type=col.get("data_type"), description=(col.get("description") or "").strip(),
                tags=sorted(col.get("tags") or []), constraints=kinds,
                tests=sorted(tests.get(uid, {}).get(col["name"].lower(), set())), pii=is_pii(col),
            ))
        sla = node_sla(node, project_dir)
        contract = ModelContract(
            domain=domain, model=node["name"], version=version_text(node.get("version")),
            latest_version=version_text(node.get("latest_version")),
            deprecation_date=str(node["deprecation_date"])[:10] if node.get("deprecation_date") else None,
            access=node.get("access") or "protected", group=node.get("group"),
            owner_team=group_owner.get("name") or owner[0], owner_email=group_owner.get("email") or owner[1],
            allowed_consumers=allowed(node["name"], meta), materialized=config.get("materialized"),
            contract_enforced=bool((config.get("contract") or node.get("contract") or {}).get("enforced")),
            description=(node.get("description") or "").strip(), tags=sorted(node.get("tags") or []),
            columns=columns, constraints=sorted(model_constraints), primary_key=list(dict.fromkeys(primary_key)),
            relation=node.get("relation_name"), identifier=node.get("alias") or node["name"],
            sla_freshness=sla.freshness_text if sla else None, sla_support=sla.support if sla else None,
        )
        found[contract.key] = contract
    return found


def public(contracts: dict[tuple[str, str, Optional[str]], ModelContract]) -> dict[tuple[str, str, Optional[str]], ModelContract]:
    return {k: c for k, c in contracts.items() if c.access == "public"}
