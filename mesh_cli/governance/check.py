"""`mesh check`: every rule over the whole mesh in one pass, without building anything.

Domains are parsed by dbt (in topological order, so each consumer parses against its upstreams'
fresh interfaces) into a state of their own; rules then run over the refs found in the files,
the parsed manifests and the SQL."""
from __future__ import annotations

import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional

from mesh_cli.governance.access import check_ref
from mesh_cli.core.results import DomainResult
from mesh_cli.core.status import DomainStatus
from mesh_cli.execution.plan import DbtCall, DomainPlan, Packages
from mesh_cli.execution.scheduler import run_plan
from mesh_cli.project.discovery import Domain
from mesh_cli.state.manifest import Manifest
from mesh_cli.governance.bypass_rule import BypassRule
from mesh_cli.governance.deprecation import deprecated_use
from mesh_cli.core.errors import (AccessViolationError, AmbiguousRefError, CycleError, MeshError, UnknownDomainError,
                             UnknownModelError)
from mesh_cli.governance.findings import CheckReport, Finding
from mesh_cli.governance.policy import Policy
from mesh_cli.core.layout import PARSED_MANIFEST, STATE_ENV
from mesh_cli.state.interface import load_interface, publish
from mesh_cli.project.links import CrossRef, Links
from mesh_cli.governance.policies import check_manifest
from mesh_cli.core.yamlfile import line_of
from mesh_cli.core.options import BuildOptions
from mesh_cli.execution.pool import WorkerPool
from mesh_cli.project.context import MeshContext
from mesh_cli.project.links import Interfaces
from mesh_cli.state.fingerprint import domain_files_hash
from mesh_cli.state.parses import interface_unchanged, manifest_key, own_key, record_inputs
from mesh_cli.state.storage import Storages


def _error_finding(policy: Policy, rule: str, domain: str, error: MeshError, model: Optional[str] = None) -> Optional[Finding]:
    """A ref error as a finding of `domain`: what is wrong, said without naming the domain, and its fix."""
    return policy.finding(rule, domain, error.summary or error.detail, model, error.file, error.line, error.fix or None)


class Checker:
    def __init__(self, ctx: MeshContext, policy: Policy, storages: Storages, interface: Interfaces) -> None:
        self.ctx, self.storages, self.interface = ctx, storages, interface
        self.policy = policy
        self.state = ctx.layout.check
        self.findings: list[Finding] = []
        self.bypass = BypassRule(ctx, policy, storages, interface, self.state)
        # While dbt parses in the workers this process only waits: the rules that need nothing but
        # the SQL, or one domain's own manifest, run meanwhile, in this order, one at a time.
        self.background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mesh-check")
        self.reviewing: set[str] = set()   # domains whose manifests get the policies once parsed
        self._reviews: dict[str, Future[list[Finding]]] = {}

    def review(self, domain: str) -> None:
        """Start the policies over `domain`'s manifest in the check's state, just parsed."""
        if domain in self.reviewing:
            self._reviews[domain] = self.background.submit(self._policies, domain)

    def _policies(self, domain: str) -> list[Finding]:
        return check_manifest(domain, Manifest.load(self.state / domain / "manifest.json"),
                              self.ctx.domains[domain].path, self.policy)

    def reviewed(self, domain: str) -> list[Finding]:
        future = self._reviews.get(domain)
        return future.result() if future is not None else self._policies(domain)

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
        interfaces = {p: load_interface(self.ctx.root, p, self.state) for p in producers}
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
        d = self.ctx.domains[domain]
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

def run_check(ctx: MeshContext, links: Links, policy: Policy, options: BuildOptions, storages: Storages,
              interface: Interfaces, pool: WorkerPool) -> CheckReport:
    """Every rule over the selected domains: their refs against fresh interfaces, dbt's parse of each
    (in topological order, into the check's own state) and the policies over the parsed manifests."""
    checker = Checker(ctx, policy, storages, interface)
    for error in links.errors:
        rule = _ref_rule(error)
        domain = getattr(error, "consumer", None) or _domain_of(ctx, error)
        model = error.file.stem if isinstance(error, AmbiguousRefError) and error.file is not None else None
        checker.add(_error_finding(policy, rule, domain, error, model))
    try:
        selected = links.graph.select(options.select, options.exclude)
    except CycleError as cycle:
        checker.add(policy.finding("graph.cycle", cycle.path[0], cycle.summary))
        return CheckReport(checker.findings, sorted(ctx.domains))
    needed = set(selected) | {a for d in selected for a in links.graph.ancestors(d)}
    order = links.graph.order(needed)
    blocked = {f.domain for f in checker.findings if f.severity == "error"}
    guards = _ParseGuards(ctx, checker, links, interface, blocked)
    plans = [_parse_plan(ctx, ctx.domains[name], storages, options, links, checker.state) for name in order]
    # A consumer's parse waits only for the upstreams whose interface this check may change.
    settled = {p.domain for p in plans if interface_unchanged(checker.state, p.domain, guards.own_key(p))}
    plans = [p.model_copy(update={"upstreams": tuple(u for u in links.graph.upstreams(p.domain)
                                                     if u in needed and u not in settled)}) for p in plans]
    for p in plans:
        # external domains (never parsed here) included: refs into them obey the same rules
        guards.producers[p.domain] = [u for u in links.graph.upstreams(p.domain) if u in needed or links.graph.is_external(u)]
    checker.reviewing = {d for d in selected if d not in blocked}
    checker.background.submit(checker.bypass.warm, sorted(checker.reviewing, key=order.index))
    result = run_plan(plans, guards, ctx.layout.logs / "check", options.workers, skip_downstream=False, pool=pool)
    unchecked = guards.unchecked
    if result.cancelled:
        checker.background.shutdown(wait=False, cancel_futures=True)
        raise KeyboardInterrupt  # Ctrl-C during the parses: no report is better than half of one
    checker.background.shutdown(wait=True)
    for run in result.domains:
        if run.status == DomainStatus.ERROR and run.started_at is not None:
            checker.add(_parse_finding(ctx, policy, run))
    for name in (d for d in selected if d not in blocked):
        checker.dependencies(name, links)
        checker.findings.extend(checker.bypass.findings(name))
        parsed = {r.domain: r for r in result.domains}.get(name)
        manifest_file = checker.state / name / "manifest.json"
        if parsed is not None and parsed.status == DomainStatus.SUCCESS and manifest_file.is_file():
            checker.findings.extend(checker.reviewed(name))
    checker.bypass.cache.save()
    keep = set(selected)
    return CheckReport([f for f in checker.findings if f.domain in keep], selected,
                       {d: why for d, why in unchecked.items() if d in keep},
                       [r.domain for r in result.domains if r.status == DomainStatus.SUCCESS and r.domain in keep])


def _parse_plan(ctx: MeshContext, domain: Domain, storages: Storages, options: BuildOptions, links: Links,
                state: Path) -> DomainPlan:
    """A domain's parse for the check: into the check's own state, reading its upstreams' fresh ones.
    Its profile and environment are the build's (every upstream attached: a parse opens no
    database), so that dbt's partial parsing holds from the check to the build and back."""
    storage = storages.of(domain.name)
    upstreams = links.graph.upstreams(domain.name)
    return DomainPlan(
        domain=domain.name, project_dir=domain.path, target_dir=domain.target_dir,
        dbt=DbtCall(project_dir=domain.path, profiles_dir=storage.profiles_dir, profile=storage.profile,
                    target=options.target or ctx.config.target, steps=(*(("deps",) if domain.needs_deps else ()), "parse"),
                    manifest_out=state / domain.name / PARSED_MANIFEST),
        env={**storages.env(domain.name, upstreams, frozenset(upstreams)), STATE_ENV: str(state)},
        packages=Packages.of(domain), upstreams=tuple(upstreams), publish_to=state)


class _ParseGuards:
    """The check's answers to the scheduler: a domain is parsed only when its refs are sound, and
    each parse is published into the check's state for its consumers' parses."""

    def __init__(self, ctx: MeshContext, checker: Checker, links: Links, interface: Interfaces, blocked: set[str]) -> None:
        self.ctx, self.checker, self.links, self.interface, self.blocked = ctx, checker, links, interface, blocked
        self.unchecked: dict[str, str] = {}
        self.producers: dict[str, list[str]] = {}   # upstreams whose refs are checked, waited for or not
        self._own: dict[str, str] = {}

    def own_key(self, plan: DomainPlan) -> str:
        """What the domain's own interface depends on, its files read as its parse starts."""
        domain = self.ctx.domains[plan.domain]
        self._own[plan.domain] = own_key(domain_files_hash(domain, plan.dbt.profiles_dir), plan.dbt.common(), plan.env)
        return self._own[plan.domain]

    def manifest_key(self, plan: DomainPlan) -> str:
        return manifest_key(self.ctx.root, self.own_key(plan), plan.env)

    def before(self, plan: DomainPlan) -> list[str]:
        name = plan.domain
        # Only upstreams it refs matter to its parse; a declared but unused one does not.
        used = sorted({c.producer for c in self.links.refs_of(name)})
        missing = [u for u in used
                   if load_interface(self.ctx.root, u, self.checker.state) is None and self.interface(u) is None]
        if missing:
            self.unchecked[name] = f"upstream domain '{missing[0]}' could not be parsed"
        elif name in self.blocked or not self.checker.refs_ok(name, self.links, self.producers.get(name, [])):
            self.unchecked[name] = "its refs have errors, so dbt did not parse it; fix them first"
        return [self.unchecked[name]] if name in self.unchecked else []

    def up_to_date(self, plan: DomainPlan) -> Optional[str]:
        return None

    def verify(self, plan: DomainPlan, catalog: dict[str, dict[str, str]]) -> list[str]:
        return []

    def publish(self, plan: DomainPlan, commit: Callable[[], None]) -> None:
        publish(self.ctx.root, plan.domain, plan.target_dir, plan.publish_to, plan.dbt.manifest_out)
        if plan.publish_to is not None and plan.domain in self._own:
            record_inputs(plan.publish_to, plan.domain, self._own[plan.domain])
        self.checker.review(plan.domain)


def _ref_rule(error: MeshError) -> str:
    if isinstance(error, AccessViolationError):
        return "access.cross-domain"
    if isinstance(error, AmbiguousRefError):
        return "ref.ambiguous"
    return "ref.unknown" if isinstance(error, (UnknownDomainError, UnknownModelError)) else "dbt.parse"


def _private_ref(run: DomainResult) -> Optional[tuple[str, str, str]]:
    """(model, the private model it refs, that model's group) when dbt refused the parse for a ref
    from outside the group: the fields of dbt's DbtReferenceError, which the worker sends back.
    Models only, as the finding points at the referring model's file; other refusals stay dbt.parse."""
    steps = (run.outcome or {}).get("steps") or []
    ref = steps[-1].get("reference") if steps else None
    if ref is None or ref["access"] != "private" or not (ref["node"].startswith("model.") and ref["target"].startswith("model.")):
        return None
    # unique ids are model.<package>.<name>[.v<N>]: the name (and version) within the domain
    return ref["node"].split(".", 2)[2], ref["target"].split(".", 2)[2], ref["scope"]


def _parse_finding(ctx: MeshContext, policy: Policy, run: DomainResult) -> Optional[Finding]:
    domain, log = run.domain, run.log
    reason = run.message.split("; see the log")[0]
    private = _private_ref(run)
    if private is None:
        return policy.finding("dbt.parse", domain, reason, file=log, fix=f"read {log}")
    # dbt refuses a ref to a private model from another group at parse time; say so as a rule.
    consumer, model, group = private
    d = ctx.domains[domain]
    files = [p for folder in d.source_dirs() if folder.is_dir() for p in sorted(folder.rglob(f"{consumer}.sql"))]
    file = files[0] if files else None
    line = line_of(file, rf"ref\(\s*['\"]{re.escape(model)}['\"]") if file else None
    return policy.finding(
        "access.group", domain, f"model '{consumer}' refs '{model}', which is private to group '{group}'",
        consumer, file, line, f"put '{consumer}' in group '{group}', or make '{model}' protected")


def _domain_of(ctx: MeshContext, error: MeshError) -> str:
    for name, d in ctx.domains.items():
        if error.file is not None and error.file.is_relative_to(d.path):
            return name
    return ""
