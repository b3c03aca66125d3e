"""A dbt manifest's records, typed: its nodes (models, seeds, snapshots, sources) with their columns
and constraints, its data tests and its groups, each built from the JSON dbt wrote, and how dbt
merges a node's (or a column's) meta and tags. The manifest view (mesh_cli.state.manifest) holds
the records; contracts.sla reads a node's SLA with merged_meta, from the JSON."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

# What ref() can reach in another project.
REFABLE = ("model", "seed", "snapshot")
# The constraint and generic test names that make a column required, or unique.
REQUIRED = frozenset({"not_null", "primary_key"})
UNIQUE = frozenset({"unique", "primary_key"})

Raw = Mapping[str, Any]


def merged_meta(node: Mapping[str, Any]) -> dict[str, Any]:
    """A node's or column's `meta`, with `config.meta` winning as dbt merges them."""
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def merged_tags(node: Mapping[str, Any]) -> set[str]:
    return {*(node.get("tags") or []), *((node.get("config") or {}).get("tags") or [])}


def version_text(value: Any) -> Optional[str]:
    """dbt writes a version as a number or a string; compare them as text."""
    return None if value is None else str(value)


def node_access(node: Raw) -> str:
    """dbt gives only models an access; a seed or snapshot declares one in its config (dbt keeps
    config keys it does not know) or its meta. Without one it is protected, as a model is."""
    if node.get("resource_type") == "model":
        return node.get("access") or "protected"
    return str((node.get("config") or {}).get("access") or merged_meta(node).get("access") or "protected")


@dataclass(frozen=True)
class Constraint:
    """A constraint on a model (over `columns`) or on one column (without columns)."""

    type: str
    columns: tuple[str, ...] = ()
    expression: Optional[str] = None

    @classmethod
    def from_dict(cls, raw: Raw) -> Constraint:
        return cls(str(raw.get("type") or ""), tuple(raw.get("columns") or ()), raw.get("expression"))

    @property
    def label(self) -> str:
        """As a contract lists it: `not_null`, `primary_key(id, day)`, `check(amount > 0)`."""
        if self.type == "check" and self.expression:
            return f"check({self.expression})"
        return f"{self.type}({', '.join(self.columns)})" if self.columns else self.type


@dataclass(frozen=True)
class Column:
    name: str
    data_type: Optional[str] = None
    description: str = ""
    tags: tuple[str, ...] = ()                        # the column's own `tags`, as dbt writes them
    all_tags: frozenset[str] = frozenset()            # with its config.tags
    meta: Raw = field(default_factory=dict)           # merged: config.meta wins, as dbt merges them
    constraints: tuple[Constraint, ...] = ()

    @classmethod
    def from_dict(cls, key: str, raw: Raw) -> Column:
        return cls(raw.get("name") or key, raw.get("data_type"), raw.get("description") or "",
                   tuple(raw.get("tags") or ()), frozenset(merged_tags(raw)), merged_meta(raw),
                   tuple(Constraint.from_dict(c) for c in raw.get("constraints") or ()))

    @property
    def constraint_types(self) -> frozenset[str]:
        return frozenset(c.type for c in self.constraints)

    @property
    def pii(self) -> bool:
        """Marked as personal data: `meta: {pii: true}` or the `pii` tag."""
        return self.meta.get("pii") is True or "pii" in self.all_tags

    @property
    def masked(self) -> bool:
        return self.meta.get("masked") is True


@dataclass(frozen=True)
class Ref:
    name: str
    package: Optional[str] = None
    version: Optional[str] = None   # as text; None when the ref follows the latest version


@dataclass(frozen=True)
class Node:
    """A model, seed, snapshot or source (or another node dbt writes, but a test)."""

    unique_id: str
    resource_type: str
    name: str
    package: str
    raw: Raw = field(repr=False, compare=False)   # as dbt wrote it, for readers that take a node dict
    version: Any = None                 # as dbt writes it: a number or a string
    latest_version: Any = None
    deprecation_date: Optional[str] = None
    access: str = "protected"           # node_access(): a seed's or snapshot's from its config
    declared_access: Optional[str] = None   # the `access` dbt writes, on models only
    group: Optional[str] = None
    database: Optional[str] = None
    schema: Optional[str] = None
    identifier: str = ""                # alias, a source's identifier, else its name
    relation_name: Optional[str] = None
    materialized: Optional[str] = None
    # dbt copies config.contract to the node's `contract` when it parses, then checksums and compares
    # that one; a seed has config.contract too but no contract of its own, as contracts skip seeds.
    contract_enforced: bool = False
    description: str = ""
    tags: tuple[str, ...] = ()
    meta: Raw = field(default_factory=dict)   # merged: config.meta wins
    columns: tuple[Column, ...] = ()
    constraints: tuple[Constraint, ...] = ()   # model-level
    original_file_path: Optional[str] = None
    patch_path: Optional[str] = None
    raw_code: str = ""
    compiled_code: Optional[str] = None
    depends_on: tuple[str, ...] = ()
    refs: tuple[Ref, ...] = ()
    source_name: Optional[str] = None
    fqn: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: Raw) -> Node:
        config, name = raw.get("config") or {}, raw.get("name") or ""
        return cls(
            unique_id=raw.get("unique_id") or "", resource_type=raw.get("resource_type") or "", name=name,
            package=raw.get("package_name") or "", raw=raw, version=raw.get("version"),
            latest_version=raw.get("latest_version"), deprecation_date=raw.get("deprecation_date"),
            access=node_access(raw), declared_access=raw.get("access"), group=raw.get("group"),
            database=raw.get("database"), schema=raw.get("schema"),
            identifier=raw.get("alias") or raw.get("identifier") or name, relation_name=raw.get("relation_name"),
            materialized=config.get("materialized"),
            contract_enforced=(raw.get("contract") or {}).get("enforced") is True,
            description=raw.get("description") or "", tags=tuple(raw.get("tags") or ()), meta=merged_meta(raw),
            columns=tuple(Column.from_dict(k, c) for k, c in (raw.get("columns") or {}).items()),
            constraints=tuple(Constraint.from_dict(c) for c in raw.get("constraints") or ()),
            original_file_path=raw.get("original_file_path"), patch_path=raw.get("patch_path"),
            raw_code=raw.get("raw_code") or "", compiled_code=raw.get("compiled_code"),
            depends_on=tuple((raw.get("depends_on") or {}).get("nodes") or ()),
            refs=tuple(Ref(r.get("name") or "", r.get("package"), version_text(r.get("version")))
                       for r in raw.get("refs") or ()),
            source_name=raw.get("source_name"), fqn=tuple(raw.get("fqn") or ()),
        )

    @property
    def key(self) -> str:
        """`model.orders.fct_orders.v1` -> `orders.fct_orders.v1`: its name across the mesh."""
        return self.unique_id.split(".", 1)[1]

    @property
    def version_text(self) -> Optional[str]:
        return version_text(self.version)

    @property
    def latest_version_text(self) -> Optional[str]:
        return version_text(self.latest_version)

    @property
    def deprecation_day(self) -> Optional[str]:
        """The deprecation date as an ISO date (dbt writes a timestamp)."""
        return str(self.deprecation_date)[:10] if self.deprecation_date else None

    @property
    def is_public(self) -> bool:
        return self.access == "public"

    @property
    def label(self) -> str:
        """`'fct_orders' v2`, as messages name a model."""
        return f"'{self.name}'" + ("" if self.version is None else f" v{self.version}")

    def column(self, name: str) -> Optional[Column]:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)


@dataclass(frozen=True)
class DataTest:
    """A data test: generic (`generic` names it, on a column or not) or singular."""

    unique_id: str
    name: str                           # a singular test's file name
    package: str
    attached_node: Optional[str] = None    # the model, seed or snapshot whose YAML declares it
    column_name: Optional[str] = None
    generic: Optional[str] = None          # test_metadata.name: not_null, unique, relationships...
    namespace: Optional[str] = None        # the package of a generic test's macro (dbt_utils...)
    depends_on: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: Raw) -> DataTest:
        meta = raw.get("test_metadata") or {}
        return cls(raw.get("unique_id") or "", raw.get("name") or "", raw.get("package_name") or "",
                   raw.get("attached_node"), raw.get("column_name"), meta.get("name"), meta.get("namespace"),
                   tuple((raw.get("depends_on") or {}).get("nodes") or ()))

    @property
    def column(self) -> Optional[str]:
        """The tested column as the model's columns are matched: unquoted, lower case."""
        return str(self.column_name).strip('"').lower() if self.column_name else None

    @property
    def label(self) -> str:
        if not self.generic:
            return self.name
        return f"{self.namespace}.{self.generic}" if self.namespace else self.generic

    def on(self, unique_id: str) -> bool:
        """Declared on the node, or reads it (a relationships test points at it)."""
        return self.attached_node == unique_id or unique_id in self.depends_on


@dataclass(frozen=True)
class Group:
    unique_id: str
    name: str
    package: Optional[str] = None
    owner: Raw = field(default_factory=dict)   # as declared: name, email and any other keys
    original_file_path: Optional[str] = None

    @classmethod
    def from_dict(cls, key: str, raw: Raw) -> Group:
        uid = raw.get("unique_id") or key
        return cls(uid, raw.get("name") or uid.split(".", 2)[-1], raw.get("package_name"), raw.get("owner") or {},
                   raw.get("original_file_path"))

    @property
    def owner_name(self) -> Optional[str]:
        return self.owner.get("name")

    @property
    def owner_email(self) -> Optional[str]:
        return self.owner.get("email")
