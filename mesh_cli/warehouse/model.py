"""What a shared warehouse must hold for the mesh, from mesh.yml and the domains' interfaces: a role per
domain, its schemas, and who may read which relation. Pure: no connection, no SQL."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional

from mesh_cli.core.layout import PASSWORD_ENV, ROLE_PREFIX_ENV
from mesh_cli.state.interface import STAGING

DEFAULT_PREFIX = "mesh_"
PUBLIC = "PUBLIC"   # PostgreSQL's pseudo-role for everyone: never granted by the mesh
# What a node becomes in the warehouse (ephemeral models become nothing).
_RELATIONS = {"table": "table", "incremental": "table", "seed": "table", "snapshot": "table",
              "view": "view", "materialized_view": "view"}

Allowed = Callable[[str, str, dict], Optional[list[str]]]   # (domain, model, meta) -> domains, None: any


def role_prefix() -> str:
    return os.environ.get(ROLE_PREFIX_ENV) or DEFAULT_PREFIX


def role_of(domain: str, prefix: Optional[str] = None) -> str:
    return f"{prefix if prefix is not None else role_prefix()}{domain}"


def password_env(domain: str) -> str:
    """The variable holding a domain role's password (read when needed, never stored)."""
    return f"{PASSWORD_ENV}{domain.upper()}"


# The schemas the swap works in beside each live one (warehouse/swap.py): where a domain builds, and
# where its replaced relations wait until the views over them are rebound.
OLD = "__mesh_old"


def staging_of(domain: str, live: str) -> str:
    """`sales` -> `sales__mesh_build`, `sales_restricted` -> `sales__mesh_build_restricted`."""
    return domain + STAGING + live[len(domain):]


def old_of(domain: str, live: str) -> str:
    return domain + OLD + live[len(domain):]


def live_of(domain: str, schema: str) -> Optional[str]:
    """The live schema a staging schema of `domain` is swapped into; None for any other schema."""
    head = domain + STAGING
    if schema == head or schema.startswith(head + "_"):
        return domain + schema[len(head):]
    return None


def working(domain: str, live: Iterable[str]) -> list[str]:
    """The staging and old schemas of `domain`'s live schemas (what provision creates beside them)."""
    return [s for schema in live for s in (staging_of(domain, schema), old_of(domain, schema))]


@dataclass(frozen=True, order=True)
class Grant:
    """One privilege of one role: USAGE on a schema, or SELECT on a relation of it."""

    schema: str
    relation: Optional[str]     # None: the schema itself
    grantee: str
    privilege: str
    kind: str = "schema"        # schema, table or view

    @property
    def target(self) -> str:
        return f"schema {self.schema}" if self.relation is None else f"{self.kind} {self.schema}.{self.relation}"

    def text(self) -> str:
        return f"{self.privilege} on {self.target} to {self.grantee}"


@dataclass(frozen=True)
class DomainSpace:
    """A domain's place in the warehouse: its role and the schemas that role owns."""

    domain: str
    role: str
    schemas: tuple[str, ...]

    @property
    def working(self) -> list[str]:
        return working(self.domain, self.schemas)


@dataclass(frozen=True)
class Readable:
    """A relation of the mesh and who its access rules let read it (`why` says so in words)."""

    domain: str
    node: str                   # domain.model[.vN]
    schema: str
    relation: str
    kind: str
    access: str
    readers: tuple[str, ...]    # consumer domains
    why: str


@dataclass(frozen=True)
class WarehouseModel:
    """Roles, schemas and expected grants of the whole mesh."""

    spaces: tuple[DomainSpace, ...]
    relations: tuple[Readable, ...]
    prefix: str

    @property
    def roles(self) -> dict[str, str]:
        return {s.domain: s.role for s in self.spaces}

    def space(self, domain: str) -> DomainSpace:
        return next(s for s in self.spaces if s.domain == domain)

    def owner_of(self, schema: str) -> Optional[str]:
        return next((s.domain for s in self.spaces if schema in s.schemas), None)

    def expected(self, domains: Optional[Iterable[str]] = None) -> set[Grant]:
        """The grants the access rules call for on the relations (and schemas) of `domains` (all)."""
        chosen = set(domains) if domains is not None else {s.domain for s in self.spaces}
        roles = self.roles
        grants: set[Grant] = set()
        for r in self.relations:
            if r.domain not in chosen:
                continue
            for reader in r.readers:
                grants.add(Grant(r.schema, r.relation, roles[reader], "SELECT", r.kind))
                grants.add(Grant(r.schema, None, roles[reader], "USAGE"))
        return grants

    def managed(self, grantee: str) -> bool:
        """Whether the mesh decides this grantee's grants: its roles (of domains gone too) and PUBLIC.
        Grants to any other role (an analyst's, a BI tool's) are left as they are."""
        return grantee == PUBLIC or grantee.startswith(self.prefix)

    def readable(self, schema: str, relation: str) -> Optional[Readable]:
        return next((r for r in self.relations if (r.schema, r.relation) == (schema, relation)), None)


def schemas_of(domain: str, interface: Optional[Mapping[str, Any]]) -> tuple[str, ...]:
    """The domain's schema, named after it, and its custom schemas (dbt prefixes them with it:
    `<domain>_<custom>`) as its last build placed its nodes."""
    found = {domain}
    for node in (interface or {}).get("models", []):
        schema = str(node.get("schema") or "")
        # `<domain>__mesh_*` are the staging and old schemas the swap works in, never published.
        if (schema == domain or schema.startswith(f"{domain}_")) and not schema.startswith(f"{domain}__mesh_"):
            found.add(schema)
    return tuple(sorted(found, key=lambda s: (s != domain, s)))


def compile_model(domains: Iterable[str], interfaces: Mapping[str, Optional[Mapping[str, Any]]],
                  allowed: Allowed, prefix: Optional[str] = None, placed: bool = True,
                  parsed: Optional[Mapping[str, Optional[Mapping[str, Any]]]] = None) -> WarehouseModel:
    """The warehouse the mesh needs. `placed`: relations are where the interfaces say (built on this
    warehouse); otherwise each is put in its domain's schema, as the mesh's profile would (on paper).
    `parsed`: interfaces of a `mesh check` parse, whose schemas the domains will build into too."""
    names = sorted(domains)
    prefix = prefix if prefix is not None else role_prefix()
    spaces, relations = [], []
    for domain in names:
        interface = interfaces.get(domain)
        space = (tuple(sorted({*schemas_of(domain, interface), *schemas_of(domain, (parsed or {}).get(domain))},
                              key=lambda s: (s != domain, s))) if placed else (domain,))
        spaces.append(DomainSpace(domain, role_of(domain, prefix), space))
        for node in (interface or {}).get("models", []):
            kind = _RELATIONS.get(str(node.get("materialized") or ""))
            schema = str(node.get("schema") or "") if placed else domain
            if kind is None or schema not in space:
                continue
            label = f"{domain}.{node['name']}" + (f".v{node['version']}" if node.get("version") is not None else "")
            access = str(node.get("access") or "protected")
            readers: list[str] = []
            if access == "public":
                listed = allowed(domain, node["name"], node.get("meta") or {})
                readers = [d for d in names if d != domain and (listed is None or d in listed)]
                why = "public" + (f", allowed consumers: {', '.join(listed) or '(none)'}" if listed is not None else "")
            else:
                why = f"{access}: nobody outside {domain}"
            relations.append(Readable(domain, label, schema, str(node.get("identifier") or node["name"]), kind,
                                      access, tuple(readers), why))
    return WarehouseModel(tuple(spaces), tuple(relations), prefix)
