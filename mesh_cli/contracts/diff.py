"""What changed between published contracts and current definitions, and whether it breaks consumers.

dbt-core's own rules (`ModelNode.same_contract`) decide for one model in one project; these follow
them and add what only a mesh can see: access and allow-lists, versions consumers still ref, and
`latest_version` moving under consumers that do not pin one. Pure functions over ModelContracts."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Optional

from mesh_cli.contracts.model import ModelContract
from mesh_cli.contracts.conformance import same_type
from mesh_cli.contracts.odcs import base_type

Key = tuple[str, str, Optional[str]]
# dbt drops constraints when a model stops being a table: a view cannot hold them.
_HOLDS_CONSTRAINTS = {"table", "incremental"}
_ACCESS_RANK = {"private": 0, "protected": 1, "public": 2}


@dataclass
class Reader:
    """A consumer model that refs a producer's model (from the refs found in its files)."""

    domain: str
    model: str
    producer: str
    name: str
    pinned: Optional[str] = None     # the version it pins; None follows the latest
    file: Optional[str] = None
    line: Optional[int] = None
    reads: Optional[bool] = None     # for a column change: reads that column? None when not known
    # A consumer in another repository: the columns its published reads say it reads (None: unknown)
    columns: Optional[list[str]] = None
    external: bool = False

    @property
    def label(self) -> str:
        return f"{self.domain}.{self.model}"

    def refs(self, version: Optional[str], latest: Optional[str]) -> bool:
        """Whether this ref lands on `version` of its model (whose latest was `latest`)."""
        if version is None or self.pinned is not None and str(self.pinned) == str(version):
            return True
        return self.pinned is None and latest is not None and str(latest) == str(version)


@dataclass
class Change:
    kind: str
    breaking: bool
    domain: str
    model: str
    version: Optional[str]
    message: str
    column: Optional[str] = None
    fix: Optional[str] = None
    consumers: list[Reader] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.domain}.{self.model}{f' v{self.version}' if self.version is not None else ''}"

    @property
    def readers(self) -> list[Reader]:
        """Consumers that read the changed column (or may: unknown counts as reading)."""
        return [c for c in self.consumers if c.reads is not False]

    @property
    def verdict(self) -> str:
        if not self.breaking:
            return "non-breaking"
        if self.column is not None and self.consumers:
            readers = self.readers
            if not readers:
                return f"breaking, no consumer reads `{self.column}`"
            return "breaking, read by " + ", ".join(sorted({r.label for r in readers}))
        if self.consumers:
            return "breaking for " + ", ".join(sorted({r.label for r in self.consumers}))
        return "breaking, no consumer in the mesh refs it"

    def to_dict(self) -> dict:
        return {
            "kind": self.kind, "breaking": self.breaking, "verdict": self.verdict, "domain": self.domain,
            "model": self.model, "version": self.version, "column": self.column, "message": self.message,
            "fix": self.fix,
            "consumers": [{"domain": r.domain, "model": r.model, "pinned_version": r.pinned, "file": r.file,
                           "line": r.line, "reads_column": r.reads, "external": r.external} for r in self.consumers],
        }


def _next_version(versions: Iterable[Optional[str]]) -> str:
    numbers = [int(v) for v in versions if v is not None and str(v).isdigit()]
    return str(max(numbers) + 1) if numbers else "2"


class _Differ:
    def __init__(self, old: dict[Key, ModelContract], new: dict[Key, ModelContract],
                 readers: list[Reader], today: date) -> None:
        self.old, self.new, self.readers, self.today = old, new, readers, today
        self.changes: list[Change] = []

    def readers_of(self, c: ModelContract, version: Optional[str]) -> list[Reader]:
        return [r for r in self.readers if r.producer == c.domain and r.name == c.model
                and r.refs(version, c.latest_version)]

    def versions(self, c: ModelContract) -> list[Optional[str]]:
        return [k[2] for k in {**self.old, **self.new} if k[:2] == c.key[:2]]

    def add(self, kind: str, breaking: bool, c: ModelContract, message: str, column: Optional[str] = None,
            fix: Optional[str] = None, consumers: Optional[list[Reader]] = None) -> None:
        readers = self.readers_of(c, c.version) if consumers is None else consumers
        self.changes.append(Change(kind, breaking, c.domain, c.model, c.version, message, column,
                                   fix if breaking else None, [Reader(**r.__dict__) for r in readers]))

    def new_version_fix(self, c: ModelContract) -> str:
        nxt = _next_version(self.versions(c))
        if c.version is None:
            return (f"leave '{c.model}' as it is and add the change as a new version: `versions: [{{v: 1}}, {{v: {nxt}}}]` "
                    f"with `latest_version: 1`, then set a deprecation_date on v1 once consumers have moved")
        return (f"keep v{c.version} unchanged and add the change as v{nxt} (`- v: {nxt}` under versions:), "
                f"with a deprecation_date on v{c.version} so its consumers can migrate")

    # --- one contract against its published self ------------------------------------------------

    def compare(self, o: ModelContract, n: ModelContract) -> None:
        if _ACCESS_RANK.get(n.access, 1) < _ACCESS_RANK.get(o.access, 2):
            self.add("access_narrowed", True, o, f"{o.label} is no longer public: access is now {n.access}",
                     fix=f"keep '{o.model}' public until its consumers have moved off it, with a deprecation_date to announce it")
            return
        self.allowed(o, n)
        enforced = o.contract_enforced
        if enforced and not n.contract_enforced:
            self.add("contract_unenforced", True, o, f"{o.label}: the contract is no longer enforced",
                     fix=f"keep `contract: {{enforced: true}}` on '{o.model}'")
        elif n.contract_enforced and not enforced:
            self.add("contract_enforced", False, o, f"{o.label}: the contract is now enforced")
        for oc in o.columns:
            nc = n.column(oc.name)
            if nc is None:
                self.add("column_removed", enforced, o, f"column `{oc.name}` removed from {o.label}", oc.name,
                         self.new_version_fix(o))
                continue
            ob, nb = base_type(oc.data_type), base_type(nc.data_type)
            # Two spellings of one type (`double` and `double precision`, portable across warehouses)
            # are no change.
            if ob != nb and (ob is None or nb is None or not same_type(ob, nb)):
                self.add("type_changed", enforced, o, f"column `{oc.name}` of {o.label} changed type from "
                         f"{oc.data_type} to {nc.data_type}", oc.name, self.new_version_fix(o))
            elif _size(oc.data_type) != _size(nc.data_type):
                self.add("type_size_changed", False, o, f"column `{oc.name}` of {o.label} changed size or precision "
                         f"from {oc.data_type} to {nc.data_type}", oc.name)
            removed = sorted(set(oc.constraints) - set(nc.constraints))
            for constraint in removed:
                self.add("constraint_removed", enforced, o, f"constraint {constraint} removed from column "
                         f"`{oc.name}` of {o.label}", oc.name, f"keep the {constraint} constraint on `{oc.name}`, "
                         f"or {self.new_version_fix(o)}")
            for constraint in sorted(set(nc.constraints) - set(oc.constraints)):
                self.add("constraint_added", False, o, f"constraint {constraint} added to column `{oc.name}` of {o.label}", oc.name)
            if oc.required and not nc.required and not {"not_null", "primary_key"} & set(removed):
                self.add("nullability_loosened", True, o, f"column `{oc.name}` of {o.label} may now be null "
                         "(its not_null test was removed)", oc.name, f"keep the not_null test on `{oc.name}`, "
                         f"or {self.new_version_fix(o)}")
            if oc.description != nc.description:
                self.add("description_changed", False, o, f"description of column `{oc.name}` of {o.label} changed", oc.name)
            if oc.tags != nc.tags or oc.pii != nc.pii:
                self.add("tags_changed", False, o, f"tags of column `{oc.name}` of {o.label} changed", oc.name)
        for nc in n.columns:
            if o.column(nc.name) is None:
                self.add("column_added", False, o, f"column `{nc.name}` added to {o.label}", nc.name)
        self.model_level(o, n, enforced)

    def allowed(self, o: ModelContract, n: ModelContract) -> None:
        if n.allowed_consumers is None:
            return
        before = None if o.allowed_consumers is None else set(o.allowed_consumers)
        after = set(n.allowed_consumers)
        if before is not None and before <= after:
            if after != before:
                self.add("consumers_widened", False, o, f"{o.label} allows more consumer domains: {', '.join(sorted(after - before))}")
            return
        lost = [r for r in self.readers_of(o, o.version) if r.domain not in after]
        shut = sorted(before - after) if before is not None else ["every domain not listed"]
        self.add("consumers_narrowed", True, o, f"{o.label} narrowed its allowed consumers to: "
                 f"{', '.join(sorted(after)) or '(none)'} (no longer: {', '.join(shut)})",
                 fix="keep " + (", ".join(sorted({r.domain for r in lost})) or "the removed domains")
                 + " in the allowed consumers until they no longer read it", consumers=lost)

    def model_level(self, o: ModelContract, n: ModelContract, enforced: bool) -> None:
        for constraint in sorted(set(o.constraints) - set(n.constraints)):
            self.add("constraint_removed", enforced, o, f"model constraint {constraint} removed from {o.label}",
                     fix=f"keep the {constraint} constraint, or {self.new_version_fix(o)}")
        for constraint in sorted(set(n.constraints) - set(o.constraints)):
            self.add("constraint_added", False, o, f"model constraint {constraint} added to {o.label}")
        if o.materialized != n.materialized:
            had = bool(o.constraints or any(c.constraints for c in o.columns))
            drops = (enforced and had and o.materialized in _HOLDS_CONSTRAINTS and n.materialized not in _HOLDS_CONSTRAINTS)
            self.add("materialization_changed", drops, o, f"{o.label} changed materialization from {o.materialized} "
                     f"to {n.materialized}" + (", which drops its constraints" if drops else ""),
                     fix=f"keep '{o.model}' materialized as {o.materialized}, or {self.new_version_fix(o)}")
        if o.description != n.description:
            self.add("description_changed", False, o, f"description of {o.label} changed")
        if o.tags != n.tags:
            self.add("tags_changed", False, o, f"tags of {o.label} changed")
        if o.deprecation_date != n.deprecation_date:
            self.add("deprecation_changed", False, o, f"{o.label}: deprecation date "
                     + (f"set to {n.deprecation_date}" if n.deprecation_date else "removed"))
        if (o.owner_team, o.owner_email) != (n.owner_team, n.owner_email):
            self.add("owner_changed", False, o, f"{o.label}: owner changed to {n.owner_team or ''} <{n.owner_email or ''}>")

    # --- versions and models that appear or disappear --------------------------------------------

    def removed(self, o: ModelContract) -> None:
        readers = self.readers_of(o, o.version)
        past = o.deprecation_date is not None and date.fromisoformat(o.deprecation_date) < self.today
        others = [k for k in self.new if k[:2] == o.key[:2]]
        kind = "version_removed" if o.version is not None and others else "model_removed"
        what = f"v{o.version} of {o.domain}.{o.model}" if kind == "version_removed" else o.label
        if past and readers:
            why = f"{what} was removed after its deprecation date ({o.deprecation_date}), but consumers still ref it"
        elif past:
            why = f"{what} was removed after its deprecation date ({o.deprecation_date})"
        else:
            why = f"{what} was removed" + (f" before its deprecation date ({o.deprecation_date})" if o.deprecation_date else "")
        fix = (f"restore {what} until its consumers have moved off it"
               + ("" if o.deprecation_date else ", and give it a deprecation_date first"))
        self.add(kind, not past or bool(readers), o, why, fix=fix, consumers=readers)

    def added(self, n: ModelContract) -> None:
        if any(k[:2] == n.key[:2] for k in self.old):
            self.add("version_added", False, n, f"v{n.version} of {n.domain}.{n.model} added", consumers=[])
        else:
            self.add("model_added", False, n, f"{n.label} published", consumers=[])

    def latest(self) -> None:
        models = sorted({k[:2] for k in self.old} & {k[:2] for k in self.new if self.new[k].access == "public"})
        for domain, model in models:
            before = next((c.latest_version for k, c in self.old.items() if k[:2] == (domain, model)), None)
            after_contract = next(c for k, c in self.new.items() if k[:2] == (domain, model))
            after = after_contract.latest_version
            if before is None or after is None or str(before) == str(after):
                continue
            unpinned = [r for r in self.readers if r.producer == domain and r.name == model and r.pinned is None]
            message = f"latest_version of {domain}.{model} moved from {before} to {after}"
            if unpinned:
                message += ", under consumers that do not pin a version"
            self.changes.append(Change(
                "latest_moved", bool(unpinned), domain, model, None, message, None,
                f"pin those consumers to v{before} (ref('{domain}', '{model}', v={before})) before moving "
                f"latest_version, or keep latest_version: {before}" if unpinned else None,
                [Reader(**r.__dict__) for r in unpinned]))


def diff(old: dict[Key, ModelContract], new: dict[Key, ModelContract], readers: list[Reader],
         today: Optional[date] = None) -> list[Change]:
    """Changes from the published `old` (public contracts) to the current `new` (every model)."""
    d = _Differ(old, new, readers, today or date.today())
    keys = sorted(set(old) | {k for k, c in new.items() if c.access == "public"}, key=lambda k: (k[0], k[1], str(k[2])))
    for key in keys:
        o, n = old.get(key), new.get(key)
        if o is None and n is not None:
            d.added(n)
        elif o is not None and n is None:
            d.removed(o)
        elif o is not None and n is not None:
            d.compare(o, n)
    d.latest()
    return d.changes


def _size(data_type: Optional[str]) -> str:
    """The size or precision of a type, `(18,2)` of `DECIMAL(18, 2)`; '' without one."""
    text = (data_type or "").lower().replace(" ", "")
    return text[text.index("("):] if "(" in text else ""
