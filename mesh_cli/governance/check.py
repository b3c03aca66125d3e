"""`mesh check`: every rule over the whole mesh in one pass, without building anything.

Domains are parsed by dbt (in topological order, so each consumer parses against its upstreams'
fresh interfaces) into a state of their own; rules then run over the refs found in the files,
the parsed manifests and the SQL."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from mesh_cli.governance.access import check_ref
from mesh_cli.execution.scheduler import Task, run_tasks
from mesh_cli.governance.bypass import find_bypasses
from mesh_cli.governance.deprecation import deprecated_use
from mesh_cli.core.errors import (AccessViolationError, AmbiguousRefError, CycleError, MeshError, UnknownDomainError,
                             UnknownModelError)
from mesh_cli.governance.findings import CheckReport, Finding
from mesh_cli.governance.policy import Policy
from mesh_cli.state.interface import STATE_DIR, STATE_ENV, load_interface, publish
from mesh_cli.project.links import CrossRef, Links
from mesh_cli.governance.policies import check_manifest
from mesh_cli.state.storage import catalog_name
from mesh_cli.core.yamlfile import line_of

if TYPE_CHECKING:
    from mesh_cli.app import BuildOptions, Mesh

def _error_finding(policy: Policy, rule: str, domain: str, error: MeshError, model: Optional[str] = None) -> Optional[Finding]:
    text, _, fix = error.detail.removeprefix(f"domain '{domain}' ").rpartition("; ")
    return policy.finding(rule, domain, text, model, error.file, error.line, fix or None)


class Checker:
    def __init__(self, mesh: "Mesh", policy: Policy) -> None:
        self.mesh = mesh
        self.policy = policy
        self.state = mesh.root / STATE_DIR / "check"
        self.findings: list[Finding] = []

    def add(self, finding: Optional[Finding]) -> None:
        if finding is not None:
            self.findings.append(finding)

    # --- refs across domains ---------------------------------------------------------------

    def _deprecation(self, cross: CrossRef, interface: dict[str, Any]) -> Optional[Finding]:
        use = deprecated_use(cross, interface)
        if use is None:
            return None
        # A warning by default even once the date has passed, as in dbt: a mesh raises it in mesh.yml.
        return self.policy.finding("version.deprecated", use.consumer, use.summary, use.model, use.file,
                                   use.line, use.fix)

    def _allowed(self, cross: CrossRef, interface: dict[str, Any]) -> Optional[Finding]:
        ref = cross.ref
        model = next((m for m in interface["models"] if m["name"] == ref.name), None)
        if model is None:
            return None
        allowed = self.policy.allowed_consumers(cross.producer, ref.name, model.get("meta") or {})
        if allowed is None or ref.domain in allowed:
            return None
        owner = (interface.get("groups", {}).get(model.get("group")) or {}).get("owner") or {}
        contact = owner.get("email") or owner.get("name") or f"the owners of '{cross.producer}'"
        return self.policy.finding(
            "access.allowed-consumers", ref.domain,
            f"refs '{cross.producer}.{ref.name}', whose consumers are limited to: {', '.join(allowed) or '(none)'}",
            ref.file.stem, ref.file, ref.line, f"ask {contact} to add '{ref.domain}' to its allowed consumers",
        )

    def refs_ok(self, domain: str, links: Links, producers: list[str]) -> bool:
        """Check `domain`'s refs to `producers` against their fresh interfaces; False blocks its parse."""
        blocking = False
        interfaces = {p: load_interface(self.mesh.root, p, self.state) for p in producers}
        for cross in (c for c in links.refs_of(domain) if c.producer in producers):
            interface = interfaces[cross.producer]
            if interface is None:
                continue
            error = check_ref(cross, interface, interfaces)
            if error is not None:
                rule = _ref_rule(error)
                finding = _error_finding(self.policy, rule, domain, error, cross.ref.file.stem)
                self.add(finding)
                blocking |= finding is not None and finding.severity == "error"
                continue
            self.add(self._allowed(cross, interface))
            self.add(self._deprecation(cross, interface))
        return not blocking

    def dependencies(self, domain: str, links: Links) -> None:
        d = self.mesh.domains[domain]
        declared = set(d.declared) | set(d.loom)
        crosses = links.refs_of(domain)
        for producer in sorted({c.producer for c in crosses} - declared):
            first = next(c for c in crosses if c.producer == producer)
            self.add(self.policy.finding(
                "deps.undeclared", domain, f"refs domain '{producer}' without declaring it in dependencies.yml",
                None, first.ref.file, first.ref.line,
                f"add `- name: {producer}` under projects: in dependencies.yml"))
        deps_file = d.path / "dependencies.yml"
        for producer in sorted(set(d.declared) - {c.producer for c in crosses}):
            line = line_of(deps_file, rf"name:\s*['\"]?{re.escape(producer)}\b")
            self.add(self.policy.finding(
                "deps.unused", domain, f"declares a dependency on domain '{producer}' but never refs it",
                None, deps_file, line, f"remove `- name: {producer}` from dependencies.yml"))

    def bypasses(self, domain: str, options: "BuildOptions") -> None:
        foreign: dict[str, str] = {}
        for other in self.mesh.domains:
            if other == domain:
                continue
            storage = self.mesh.storage(other, options)
            if storage.database is not None:
                foreign[catalog_name(storage.database).lower()] = other
            for interface in (load_interface(self.mesh.root, other, self.state), self.mesh.interface(other)):
                for m in (interface or {}).get("models", []):
                    if m.get("database"):
                        foreign.setdefault(str(m["database"]).lower(), other)
        own = self.mesh.storage(domain, options).database
        if own is not None:
            foreign.pop(catalog_name(own).lower(), None)  # a shared file is the domain's own storage too
        d = self.mesh.domains[domain]
        for folder in (d.path / p for p in (*d.model_paths, *d.snapshot_paths)):
            for path in sorted(folder.rglob("*.sql")) if folder.is_dir() else []:
                for hit in find_bypasses(path.read_text(encoding="utf-8", errors="replace"), foreign):
                    self.add(self.policy.finding(
                        "sql.bypass-ref", domain,
                        f"reads {hit.relation} of domain '{hit.domain}' directly instead of through ref()",
                        path.stem, path, hit.line,
                        f"replace {hit.relation} with {{{{ ref('{hit.domain}', '<model>') }}}}"))


def run_check(mesh: "Mesh", policy: Policy, options: "BuildOptions") -> CheckReport:
    checker = Checker(mesh, policy)
    links = mesh.linked
    for error in links.errors:
        rule = _ref_rule(error)
        domain = getattr(error, "consumer", None) or _domain_of(mesh, error)
        model = error.file.stem if isinstance(error, AmbiguousRefError) and error.file is not None else None
        checker.add(_error_finding(policy, rule, domain, error, model))
    try:
        selected = links.graph.select(options.select, options.exclude)
    except CycleError as cycle:
        checker.add(policy.finding("graph.cycle", cycle.path[0], cycle.message.split("; ")[0]))
        return CheckReport(checker.findings, sorted(mesh.domains))
    needed = set(selected) | {a for d in selected for a in links.graph.ancestors(d)}
    order = links.graph.order(needed)
    blocked = {f.domain for f in checker.findings if f.severity == "error"}
    unchecked: dict[str, str] = {}
    tasks = []
    for name in order:
        domain = mesh.domains[name]
        ups = [u for u in links.graph.upstreams(name) if u in needed]
        storage = mesh.storage(name, options)

        def before(name: str = name, ups: list[str] = ups) -> list[MeshError]:
            # Only upstreams it refs matter to its parse; a declared but unused one does not.
            used = sorted({c.producer for c in links.refs_of(name)})
            missing = [u for u in used if load_interface(mesh.root, u, checker.state) is None and mesh.interface(u) is None]
            if missing:
                unchecked[name] = f"upstream domain '{missing[0]}' could not be parsed"
            elif name in blocked or not checker.refs_ok(name, links, ups):
                unchecked[name] = "its refs have errors, so dbt did not parse it; fix them first"
            return [MeshError(unchecked[name])] if name in unchecked else []

        def env(name: str = name) -> dict[str, str]:
            return {**mesh.env(name, options), STATE_ENV: str(checker.state)}

        tasks.append(Task(
            domain=name, project_dir=domain.path, target_dir=domain.target_dir,
            spec={"project_dir": str(domain.path), "profiles_dir": str(storage.profiles_dir), "profile": storage.profile,
                  "target": options.target or mesh.config.target, "threads": None,
                  "steps": (["deps"] if domain.has_packages and not domain.packages_installed else []) + ["parse"],
                  **domain.package_spec},
            env=env, upstreams=ups, writes=None, reads=frozenset(), before=before,
            after=lambda name=name, domain=domain: publish(mesh.root, name, domain.target_dir, checker.state) and None,
        ))
    result = run_tasks(tasks, mesh.state_dir / "logs" / "check", options.workers, skip_downstream=False,
                       pool=mesh.pool(options.workers))
    if result.cancelled:
        raise KeyboardInterrupt  # Ctrl-C during the parses: no report is better than half of one
    for run in result.domains:
        if run.status == "error" and run.started_at is not None:
            checker.add(_parse_finding(mesh, policy, run.domain, run.message, run.log))
    for name in (d for d in selected if d not in blocked):
        checker.dependencies(name, links)
        checker.bypasses(name, options)
        parsed = {r.domain: r for r in result.domains}.get(name)
        manifest_file = checker.state / name / "manifest.json"
        if parsed is not None and parsed.status == "success" and manifest_file.is_file():
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
            checker.findings.extend(check_manifest(name, manifest, mesh.domains[name].path, policy))
    keep = set(selected)
    return CheckReport([f for f in checker.findings if f.domain in keep], selected,
                       {d: why for d, why in unchecked.items() if d in keep})


def _ref_rule(error: MeshError) -> str:
    if isinstance(error, AccessViolationError):
        return "access.cross-domain"
    if isinstance(error, AmbiguousRefError):
        return "ref.ambiguous"
    return "ref.unknown" if isinstance(error, (UnknownDomainError, UnknownModelError)) else "dbt.parse"


# dbt refuses a ref to a private model from another group at parse time; say so as a rule.
_PRIVATE = re.compile(r"Node model\.[^.]+\.(?P<consumer>\S+) attempted to reference node model\.[^.]+\.(?P<model>\S+), "
                      r"which is not allowed because the referenced node is private to the '(?P<group>[^']*)' group")


def _parse_finding(mesh: "Mesh", policy: Policy, domain: str, message: str, log: Optional[Path]) -> Optional[Finding]:
    reason = message.split("; see the log")[0]
    m = _PRIVATE.search(reason)
    if m is None:
        return policy.finding("dbt.parse", domain, reason, file=log, fix=f"read {log}")
    d = mesh.domains[domain]
    files = [p for folder in d.source_dirs() if folder.is_dir() for p in sorted(folder.rglob(f"{m['consumer']}.sql"))]
    file = files[0] if files else None
    line = line_of(file, rf"ref\(\s*['\"]{re.escape(m['model'])}['\"]") if file else None
    return policy.finding(
        "access.group", domain, f"model '{m['consumer']}' refs '{m['model']}', which is private to group "
        f"'{m['group']}'", m["consumer"], file, line,
        f"put '{m['consumer']}' in group '{m['group']}', or make '{m['model']}' protected")


def _domain_of(mesh: "Mesh", error: MeshError) -> str:
    for name, d in mesh.domains.items():
        if error.file is not None and error.file.is_relative_to(d.path):
            return name
    return ""
