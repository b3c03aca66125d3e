"""What `mesh check` reports: findings with a rule, a severity and a place, gathered in a report."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

SEVERITIES = ("error", "warn", "off")


@dataclass(frozen=True)
class Finding:
    rule: str                      # a rule id from rules.RULES
    severity: str                  # error or warn (off never reaches a report)
    domain: str
    message: str                   # what is wrong, one line
    fix: str                       # how to fix it, one line
    model: Optional[str] = None
    file: Optional[Path] = None
    line: Optional[int] = None

    def location(self, root: Path) -> str:
        """`file:line`, relative to the mesh root when it is inside it; empty without a file."""
        if self.file is None:
            return ""
        shown = self.file.relative_to(root) if self.file.is_relative_to(root) else self.file
        return f"{shown}{f':{self.line}' if self.line else ''}"

    def text(self, root: Path) -> str:
        """One line: where, rule, what, how to fix."""
        where = f"{self.location(root)}: " if self.file is not None else ""
        return f"{where}[{self.rule}] domain '{self.domain}': {self.message}; fix: {self.fix}"

    def to_dict(self, root: Optional[Path] = None) -> dict[str, Any]:
        data = asdict(self)
        if self.file is not None:
            data["file"] = str(self.file.relative_to(root)) if root and self.file.is_relative_to(root) else str(self.file)
        return data


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    unchecked: dict[str, str] = field(default_factory=dict)   # domain -> why it could not be checked
    parsed: list[str] = field(default_factory=list)   # domains dbt parsed in this check (fresh manifests)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warn"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def sorted(self) -> list[Finding]:
        order = {d: i for i, d in enumerate(self.domains)}
        return sorted(self.findings, key=lambda f: (order.get(f.domain, len(order)), f.domain,
                                                    f.severity != "error", str(f.file or ""), f.line or 0, f.rule))
