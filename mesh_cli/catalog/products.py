"""The catalog of data products (public models) across the mesh.

The data model below (with LastBuild, from catalog/freshness.py) is shared by `mesh catalog`,
`mesh show`, `mesh lineage` and the docs site: change a field here and every reader follows.
Everything is read from each domain's dbt manifest of its last good build (catalog/manifests.py),
through the manifest view (as JSON), and each product's last build from the build history (when
dbt last built its node): no dbt import here."""
from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from mesh_cli.catalog.freshness import LastBuild, external_build, last_build
from mesh_cli.catalog.manifests import DomainManifest, load_manifests
from mesh_cli.core.config import Owner
from mesh_cli.core.errors import UnknownDomainError, UnknownProductError
from mesh_cli.core.layout import Layout
from mesh_cli.state.records import last_node_success
from mesh_cli.state.nodes import DataTest, Group, Node
from mesh_cli.contracts.sla import node_sla
from mesh_cli.core.yamlfile import read_yaml

if TYPE_CHECKING:
    from mesh_cli.project.context import MeshContext


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
    description: str = ""
    unique_id: Optional[str] = None                # model.<domain>.<name>[.v<N>]
    tests: list[str] = field(default_factory=list)  # unique ids of the tests on this version
    contract: Optional[dict[str, Any]] = None       # a summary of the published contract, when there is one


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
    sla_freshness: Optional[str] = None                        # e.g. "24h" (mesh_cli.contracts.sla)
    last_build: Optional[LastBuild] = None
    original_file_path: Optional[str] = None                   # relative to the mesh root
    source: str = "build"                                      # "check" when the domain was only parsed,
                                                               # "external" for another repository's
    location: Optional[str] = None                             # an external domain's published state

    @property
    def key(self) -> str:
        return f"{self.domain}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, **asdict(self)}


# --- building products -------------------------------------------------------------------------

def _columns(node: Node, tests: list[DataTest]) -> list[Column]:
    # Model-level constraints (`primary_key` over columns) belong to the columns they name.
    model_constraints: dict[str, list[str]] = {}
    for c in node.constraints:
        for name in c.columns:
            model_constraints.setdefault(name, []).append(c.type)
    return [Column(
        name=col.name, data_type=col.data_type, description=col.description,
        constraints=list(dict.fromkeys([c.type for c in col.constraints] + model_constraints.get(col.name, []))),
        tests=sorted({t.label for t in tests if t.column == col.name.lower()}), pii=col.pii,
    ) for col in node.columns]


def _consumers(unique_id: str, producer: str, manifests: dict[str, DomainManifest]) -> list[Consumer]:
    name = unique_id.split(".")[2]
    found = []
    for domain, dm in manifests.items():
        if domain == producer:
            continue
        for node in dm.manifest.own(domain):
            if unique_id not in node.depends_on:
                continue
            # dbt resolves an unpinned ref to the latest version: only the ref itself says it was pinned.
            pins = [r.version for r in node.refs
                    if r.name == name and r.package in (None, producer) and r.version is not None]
            found.append(Consumer(domain, node.name, pins[0] if pins else None))
    return sorted(found, key=lambda c: (c.domain, c.model))


def _contract_path(root: Path, domain: str, name: str, version: Optional[str],
                   folder: Optional[str] = None) -> Optional[str]:
    relative = f"{folder or 'contracts/' + domain}/{name}" + (f".v{version}" if version is not None else "") + ".odcs.yaml"
    return relative if (root / relative).is_file() else None


def contract_summary(root: Path, relative: str) -> dict[str, Any]:
    """A few facts from a published ODCS contract, for `mesh show`; the contracts module owns the format."""
    data = read_yaml(root / relative) or {}
    if not isinstance(data, dict):
        return {"path": relative}
    schema = data.get("schema") if isinstance(data.get("schema"), list) else []
    properties = sum(len(s.get("properties") or []) for s in schema if isinstance(s, dict))
    facts = {k: data[k] for k in ("apiVersion", "kind", "id", "name", "version", "status") if data.get(k) is not None}
    return {"path": relative, **facts, "objects": len(schema), "properties": properties}


def _public_models(dm: DomainManifest) -> list[Node]:
    return [n for n in dm.manifest.own(dm.domain) if n.is_public]


def _build_products(ctx: "MeshContext", manifests: dict[str, DomainManifest]) -> list[Product]:
    products = []
    built = last_node_success(ctx.root, [n.unique_id for dm in manifests.values() if dm.source == "build"
                                          for n in _public_models(dm)])
    for domain, dm in manifests.items():
        tests = [t for t in dm.manifest.tests if t.package == domain]
        groups = dm.manifest.groups_of(domain)
        versions: dict[str, list[Node]] = {}
        for node in _public_models(dm):
            versions.setdefault(node.name, []).append(node)
        external = ctx.external.get(domain)
        folder = ctx.domains[domain].path if external is None else ctx.layout.external / domain
        owner = ctx.domains[domain].owner if external is None else Owner(**external.owner)
        for name, group in sorted(versions.items()):
            group.sort(key=lambda n: (n.version is None, str(n.version)))
            latest = group[0].latest_version_text
            head = next((n for n in group if n.version_text == latest), group[-1])
            ids = {n.unique_id for n in group}
            on_model = [t for t in tests if ids & set(t.depends_on)]
            group_owner: Optional[Group] = groups.get(head.group or "")
            sla = node_sla(dict(head.raw), folder)
            path = folder / (head.original_file_path or "")
            products.append(Product(
                domain=domain, name=name, description=head.description,
                owner_team=(group_owner.owner_name if group_owner else None) or (owner.team if owner else None),
                owner_email=(group_owner.owner_email if group_owner else None) or (owner.email if owner else None),
                group=head.group, tags=sorted(set(head.tags)), materialized=head.materialized, latest_version=latest,
                versions=[_product_version(ctx.root, domain, n, on_model, manifests) for n in group],
                tests=sorted(t.unique_id for t in on_model),
                sla_freshness=sla.freshness_text if sla else None,
                last_build=last_build(ctx, domain, dm.source, sla, built.get(head.unique_id)) if external is None
                else external_build(external.state.get("built_at"), sla),
                original_file_path=(str(path.relative_to(ctx.root)) if path.is_relative_to(ctx.root) else str(path))
                if external is None else f"{domain}:{head.original_file_path}",
                source=dm.source, location=None if external is None else external.location,
            ))
    return sorted(products, key=lambda p: p.key)


def _product_version(root: Path, domain: str, node: Node, tests: list[DataTest],
                     manifests: dict[str, DomainManifest]) -> ProductVersion:
    version = node.version_text
    own = [t for t in tests if t.on(node.unique_id)]
    contract = _contract_path(root, domain, node.name, version)
    if manifests[domain].source == "external":   # its contracts came with its published state
        contract = _contract_path(root, domain, node.name, version,
                                  str((Layout(root).external / domain / "contracts").relative_to(root)))
    return ProductVersion(
        version=version, is_latest=version is None or version == node.latest_version_text,
        deprecation_date=node.deprecation_day,
        columns=_columns(node, [t for t in own if t.attached_node == node.unique_id]),
        contract_enforced=node.contract_enforced,
        contract_path=contract, consumers=_consumers(node.unique_id, domain, manifests),
        description=node.description, unique_id=node.unique_id,
        tests=sorted(t.unique_id for t in own),
        contract=contract_summary(root, contract) if contract else None,
    )


# --- the catalog -------------------------------------------------------------------------------

@dataclass
class Catalog:
    products: list[Product]
    missing: list[str]     # domains neither built nor checked: they contribute nothing
    domains: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, ctx: "MeshContext") -> "Catalog":
        manifests, missing = load_manifests(ctx)
        return cls(_build_products(ctx, manifests), missing, sorted({*ctx.domains, *ctx.external}))

    def search(self, query: Optional[str] = None, domain: Optional[str] = None,
               tag: Optional[str] = None) -> list[Product]:
        """Products matching every filter; the query, ignoring case, in key, description, columns, tags, owner."""
        found = self.products
        if domain is not None:
            if domain not in self.domains:
                raise UnknownDomainError(domain, self.domains, hint="check --domain")
            found = [p for p in found if p.domain == domain]
        if tag is not None:
            found = [p for p in found if tag.lower() in (t.lower() for t in p.tags)]
        if query:
            found = [p for p in found if _matches(p, query.lower())]
        return found

    def get(self, key: str) -> Product:
        for p in self.products:
            if p.key == key:
                return p
        known = [p.key for p in self.products]
        raise UnknownProductError(key, difflib.get_close_matches(key, known, n=3, cutoff=0.6), known)


def _matches(p: Product, query: str) -> bool:
    words = [p.key, p.description, p.owner_team or "", p.owner_email or "", *p.tags,
             *(c.name for v in p.versions for c in v.columns)]
    return any(query in w.lower() for w in words)


def products(ctx: "MeshContext", query: Optional[str] = None, domain: Optional[str] = None,
             tag: Optional[str] = None) -> list[Product]:
    """The mesh's data products matching a case-insensitive query (key, description, columns, tags, owner)."""
    return Catalog.load(ctx).search(query, domain, tag)


def product(ctx: "MeshContext", key: str) -> Product:
    """One data product by `domain.model`."""
    return Catalog.load(ctx).get(key)
