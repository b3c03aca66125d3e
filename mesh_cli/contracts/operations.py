"""`mesh contracts`: publish the current contracts, diff them against the published ones (with who
breaks and whether they read the changed column), list consumers on deprecated versions."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

from mesh_cli.contracts.model import ModelContract, extract_contracts, public
from mesh_cli.contracts.diff import Change, Key, Reader, diff
from mesh_cli.state.manifest import Manifest
from mesh_cli.contracts.store import CONTRACTS_DIR, PublishResult, publish, read_dir, read_git
from mesh_cli.governance.deprecation import DeprecatedUse, deprecated_use
from mesh_cli.core.errors import NotParsedError
from mesh_cli.state.interface import interface_path, load_interface

if TYPE_CHECKING:
    from mesh_cli.governance.findings import CheckReport
    from mesh_cli.governance.policy import Policy
    from mesh_cli.project.context import MeshContext
    from mesh_cli.project.links import Links


def _load(path: Path) -> Optional[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


@dataclass
class Current:
    """The contracts the code defines now, for the domains dbt could parse."""

    contracts: dict[Key, ModelContract]
    domains: list[str]                 # parsed
    unparsed: dict[str, str]           # domain -> why dbt could not parse it

    def blocking(self, root: Path) -> None:
        """Raise for unparsed domains that have published contracts: those cannot be compared."""
        published = {d: why for d, why in self.unparsed.items() if (root / CONTRACTS_DIR / d).is_dir()}
        if published:
            raise NotParsedError(published)


def current_contracts(ctx: MeshContext, policy: Policy, report: CheckReport) -> Current:
    """Every model's contract as the code defines it now, from `report`'s fresh parse of each
    selected domain (a check just run: a domain it could not parse keeps an older manifest)."""
    reasons = dict(report.unchecked)
    contracts: dict[Key, ModelContract] = {}
    for domain in report.domains:
        manifest_file = ctx.layout.domain_state(domain, check=True) / "manifest.json"
        if domain in reasons:
            continue
        if domain not in report.parsed or not manifest_file.is_file():
            parse = next((f for f in report.findings if f.domain == domain and f.rule == "dbt.parse"), None)
            reasons[domain] = parse.message if parse else "dbt could not parse it"
            continue
        owner = ctx.domains[domain].owner
        contracts.update(extract_contracts(
            Manifest.load(manifest_file), domain, (owner.team, owner.email) if owner else (None, None),
            lambda model, meta, d=domain: policy.allowed_consumers(d, model, meta), ctx.domains[domain].path))
    return Current(contracts, [d for d in report.domains if d not in reasons], reasons)


def publish_contracts(ctx: MeshContext, policy: Policy, report: CheckReport, check: bool = False) -> PublishResult:
    """Publish the parsed domains' contracts; unparsed domains keep theirs and are named."""
    current = current_contracts(ctx, policy, report)
    if check:  # a stale check must not pass because a domain could not be read
        current.blocking(ctx.root)
    result = publish(ctx.root, public(current.contracts), current.domains, ctx.config.name or ctx.root.name, check)
    result.skipped = current.unparsed
    return result


def readers(ctx: MeshContext, links: Links) -> list[Reader]:
    """Every cross-domain ref in the mesh's files, as a consumer of a producer's model."""
    found = []
    for cross in links.cross_refs:
        ref = cross.ref
        file = ref.file.relative_to(ctx.root) if ref.file.is_relative_to(ctx.root) else ref.file
        # A ref in YAML is a test's (relationships: to: ref(...)); name it by its file.
        model = ref.file.stem if ref.file.suffix in (".sql", ".py") else ref.file.name
        found.append(Reader(ref.domain, model, cross.producer, ref.name,
                            None if ref.version is None else str(ref.version), str(file), ref.line))
    return found


# --- which consumers read a changed column ----------------------------------------------------------

def _ref_pattern(producer: str, name: str) -> str:
    return (r"\{\{-?\s*ref\(\s*['\"]" + re.escape(producer) + r"['\"]\s*,\s*['\"]" + re.escape(name)
            + r"['\"][^)]*\)\s*-?\}\}")


class ColumnReads:
    """Reads consumers' SQL: compiled by their last build when there is one, else the model file
    with the ref replaced by a placeholder relation."""

    def __init__(self, ctx: MeshContext) -> None:
        self.ctx = ctx
        self.manifests: dict[str, Optional[dict[str, Any]]] = {}

    def manifest(self, domain: str) -> Optional[dict[str, Any]]:
        if domain not in self.manifests:
            self.manifests[domain] = _load(interface_path(self.ctx.root, domain).parent / "manifest.json")
        return self.manifests[domain]

    def sql(self, reader: Reader, version: Optional[str]) -> Optional[tuple[str, str]]:
        """The consumer's SQL and the relation name it reads the producer's model by."""
        file = self.ctx.root / reader.file if reader.file else None
        if file is None or not file.is_file() or file.suffix != ".sql":
            return None
        text = file.read_text(encoding="utf-8")
        manifest = self.manifest(reader.domain) or {}
        node = manifest.get("nodes", {}).get(f"model.{reader.domain}.{reader.model}")
        uid = f"model.{reader.producer}.{reader.name}" + (f".v{version}" if version is not None else "")
        upstream = manifest.get("nodes", {}).get(uid)
        # Compiled SQL shows what Jinja hides, but only while the file is what was built (dbt's checksum).
        built = (node or {}).get("checksum", {}).get("checksum") == hashlib.sha256(text.strip().encode()).hexdigest()
        if built and node.get("compiled_code") and upstream and upstream.get("relation_name"):
            return node["compiled_code"], upstream["relation_name"]
        from mesh_cli.governance.bypass import neutralise_jinja  # sqlglot: only when a diff reads SQL

        placeholder = f'"__mesh_ref__"."{reader.producer}"."{reader.name}"'
        return neutralise_jinja(re.sub(_ref_pattern(reader.producer, reader.name), placeholder, text)), placeholder

    def test_field(self, reader: Reader) -> Optional[str]:
        """The column a relationships test in YAML compares against (`field:` beside `to: ref(...)`)."""
        file = self.ctx.root / reader.file if reader.file else None
        if file is None or file.suffix not in (".yml", ".yaml") or not file.is_file() or not reader.line:
            return None
        lines = file.read_text(encoding="utf-8").splitlines()
        near = lines[max(0, reader.line - 3):reader.line + 2]
        found = next((m for line in near if (m := re.search(r"\bfield:\s*['\"]?(\w+)", line))), None)
        return found.group(1) if found else None

    def attach(self, change: Change, published: dict[Key, ModelContract]) -> None:
        """Mark, for each consumer of a column change, whether it reads the column."""
        if change.column is None:
            return
        contract = published.get((change.domain, change.model, change.version))
        known = [c.name for c in contract.columns] if contract else []
        for reader in change.consumers:
            version = reader.pinned if reader.pinned is not None else (contract.latest_version if contract else None)
            if change.version is None:
                version = None
            if reader.external:   # elsewhere: its published reads say which columns it reads
                reader.reads = None if reader.columns is None else change.column.lower() in {c.lower() for c in reader.columns}
                continue
            field = self.test_field(reader)
            if field is not None:
                reader.reads = field.lower() == change.column.lower()
                continue
            found = self.sql(reader, version)
            if found is None:
                reader.reads = None
                continue
            from mesh_cli.contracts.columns import columns_read  # sqlglot: only when a diff reads SQL

            read = columns_read(found[0], found[1], known)
            reader.reads = None if read is None else change.column.lower() in {c.lower() for c in read}


@dataclass
class DiffReport:
    base: str                     # what the current definitions were compared with
    changes: list[Change] = field(default_factory=list)
    unparsed: dict[str, str] = field(default_factory=dict)   # domains left out (no published contracts)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def ok(self) -> bool:
        return not self.breaking

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "base": self.base, "breaking": len(self.breaking),
                "non_breaking": len(self.changes) - len(self.breaking),
                "changes": [c.to_dict() for c in self.changes], "unparsed": self.unparsed}


def diff_contracts(ctx: MeshContext, policy: Policy, report: CheckReport, links: Links, base: Optional[str] = None,
                   against: Optional[Path] = None, elsewhere: Iterable[Reader] = ()) -> DiffReport:
    """`elsewhere`: consumers in other repositories, from the reads they published."""
    current = current_contracts(ctx, policy, report)
    current.blocking(ctx.root)
    if base is not None:
        published, where = read_git(ctx.root, base, current.domains), f"contracts at git revision {base}"
    else:
        folder = against if against is not None else ctx.root / CONTRACTS_DIR
        published, where = read_dir(folder, current.domains), f"contracts in {folder}"
    changes = diff(published, current.contracts, readers(ctx, links) + list(elsewhere))
    reads = ColumnReads(ctx)
    for change in changes:
        reads.attach(change, published)
    return DiffReport(where, changes, current.unparsed)


# --- versions on their way out ------------------------------------------------------------------

@dataclass
class DeprecationUse:
    use: DeprecatedUse
    notify_team: Optional[str]       # the consuming domain's owner, who has to migrate
    notify_email: Optional[str]
    producer_email: Optional[str]    # whom to ask about the new version

    def to_dict(self, root: Path) -> dict[str, Any]:
        u = self.use
        file = u.file.relative_to(root) if u.file.is_relative_to(root) else u.file
        return {"consumer": u.consumer, "model": u.model, "file": str(file), "line": u.line, "producer": u.producer,
                "product": u.name, "version": u.version, "latest_version": u.latest,
                "deprecation_date": u.deprecation_date.isoformat(), "days_left": u.days_left, "passed": u.passed,
                "notify": {"team": self.notify_team, "email": self.notify_email},
                "producer_owner": self.producer_email, "fix": u.fix}


def _freshest_interface(ctx: MeshContext, domain: str) -> Optional[dict[str, Any]]:
    """The producer's interface from whichever is newer: its last build or the last check's parse."""
    candidates = [p for p in (interface_path(ctx.root, domain), interface_path(ctx.root, domain, ctx.layout.check))
                  if p.is_file()]
    if not candidates:
        return load_interface(ctx.root, domain)   # an external domain's, as last resolved
    newest = max(candidates, key=lambda p: p.stat().st_mtime)
    return load_interface(ctx.root, domain, newest.parent.parent)


def deprecations(ctx: MeshContext, links: Links, within_days: Optional[int] = None, today: Optional[date] = None) -> tuple[list[DeprecationUse], list[str]]:
    """Refs that land on a version with a deprecation date (within `within_days` of today, or
    any), soonest first; and the producers whose interface is unknown (never built nor checked)."""
    today = today or date.today()
    horizon = today + timedelta(days=within_days) if within_days is not None else None
    interfaces: dict[str, Optional[dict[str, Any]]] = {}
    uses, unknown = [], set()
    for cross in links.cross_refs:
        if cross.producer not in interfaces:
            interfaces[cross.producer] = _freshest_interface(ctx, cross.producer)
        interface = interfaces[cross.producer]
        if interface is None:
            unknown.add(cross.producer)
            continue
        use = deprecated_use(cross, interface, today)
        if use is None or (horizon is not None and use.deprecation_date > horizon):
            continue
        owner = ctx.domains[use.consumer].owner
        model = next((m for m in interface["models"] if m["name"] == use.name), {})
        producer_owner = (interface.get("groups", {}).get(model.get("group")) or {}).get("owner") or {}
        producer_domain = ctx.domains[cross.producer].owner if cross.producer in ctx.domains else None
        uses.append(DeprecationUse(use, owner.team if owner else None, owner.email if owner else None,
                                   producer_owner.get("email") or (producer_domain.email if producer_domain else None)))
    uses.sort(key=lambda u: (u.use.deprecation_date, u.use.consumer, u.use.model, u.use.producer, u.use.name))
    return uses, sorted(unknown)
