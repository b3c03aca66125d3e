"""The rule `sql.bypass-ref`: SQL that reads another domain's relation by name, not through ref().

The catalogs that count as another domain's are known only once every domain is parsed; reading
the SQL with sqlglot does not depend on them, so it starts while dbt parses (warm())."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from mesh_cli.governance.bypass import BypassCache
from mesh_cli.governance.findings import Finding
from mesh_cli.governance.policy import Policy
from mesh_cli.project.context import MeshContext
from mesh_cli.project.links import Interfaces
from mesh_cli.state.interface import load_interface
from mesh_cli.state.storage import Storages, catalog_name


class BypassRule:
    def __init__(self, ctx: MeshContext, policy: Policy, storages: Storages, interface: Interfaces,
                 state: Path) -> None:
        self.ctx, self.policy, self.storages, self.interface, self.state = ctx, policy, storages, interface, state
        self.cache = BypassCache(ctx.layout.cache / "bypasses.json")
        self._catalogs_of: dict[str, tuple[Optional[str], list[str]]] = {}

    def _catalogs(self, other: str) -> tuple[Optional[str], list[str]]:
        """The catalog of `other`'s own file, and those its interfaces name (read once per check)."""
        if other not in self._catalogs_of:
            storage = self.storages.of(other)
            named = [str(m["database"]).lower()
                     for interface in (load_interface(self.ctx.root, other, self.state), self.interface(other))
                     for m in (interface or {}).get("models", []) if m.get("database")]
            self._catalogs_of[other] = (catalog_name(storage.database).lower() if storage.database else None, named)
        return self._catalogs_of[other]

    def findings(self, domain: str) -> list[Finding]:
        """`domain`'s models and snapshots that name another domain's relation instead of ref()-ing it."""
        found: list[Finding] = []
        foreign: dict[str, str] = {}
        for other in self.ctx.domains:
            if other == domain:
                continue
            own_file, named = self._catalogs(other)
            if own_file is not None:
                foreign[own_file] = other
            for catalog in named:
                foreign.setdefault(catalog, other)
        for other, ext in self.ctx.external.items():   # another repository's relations, read only through ref() too
            for m in ext.interface.get("models", []):
                if m.get("database"):
                    foreign.setdefault(str(m["database"]).lower(), other)
        own = self.storages.of(domain).database
        if own is not None:
            foreign.pop(catalog_name(own).lower(), None)  # a shared file is the domain's own storage too
        for path in self.sql_files(domain):
            for hit in self.cache.find(path.read_text(encoding="utf-8", errors="replace"), foreign):
                finding = self.policy.finding(
                    "sql.bypass-ref", domain,
                    f"reads {hit.relation} of domain '{hit.domain}' directly instead of through ref()",
                    path.stem, path, hit.line,
                    f"replace {hit.relation} with {{{{ ref('{hit.domain}', '<model>') }}}}")
                if finding is not None:
                    found.append(finding)
        return found

    def sql_files(self, domain: str) -> list[Path]:
        d = self.ctx.domains[domain]
        return [path for folder in (d.path / p for p in (*d.model_paths, *d.snapshot_paths)) if folder.is_dir()
                for path in sorted(folder.rglob("*.sql"))]

    def warm(self, domains: list[str]) -> None:
        """Read the SQL of `domains` with sqlglot ahead of findings() (the check does it while dbt
        parses, in a thread of its own: it does not depend on what the parses find)."""
        for domain in domains:
            for path in self.sql_files(domain):
                try:
                    self.cache.warm([path.read_text(encoding="utf-8", errors="replace")])
                except Exception:   # findings() reads the file again, and says what fails there
                    pass
