"""Consumers still on a deprecated version: one definition for `mesh check`'s rule and for
`mesh contracts deprecations`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

from mesh_cli.project.links import CrossRef


@dataclass(frozen=True)
class DeprecatedUse:
    consumer: str              # the consuming domain
    model: str                 # the consuming model (its file's name)
    file: Path
    line: int
    producer: str
    name: str                  # the producer's model
    version: Optional[str]     # the version the ref lands on
    latest: Optional[str]
    deprecation_date: date
    today: date

    @property
    def passed(self) -> bool:
        return self.deprecation_date < self.today

    @property
    def days_left(self) -> int:
        return (self.deprecation_date - self.today).days

    @property
    def pinned(self) -> str:
        return f"v{self.version}" if self.version is not None else "(unversioned)"

    @property
    def summary(self) -> str:
        version = f" v{self.version}" if self.version is not None else ""
        newer = f"; v{self.latest} is the latest" if self.latest is not None and str(self.latest) != str(self.version) else ""
        overdue = -self.days_left
        when = (f"since {self.deprecation_date} ({overdue} day{'s' if overdue != 1 else ''} overdue)" if self.passed
                else f"on {self.deprecation_date}")
        return f"refs '{self.producer}.{self.name}'{version}, deprecated {when}{newer}"

    @property
    def fix(self) -> str:
        v = f", v={self.latest}" if self.latest is not None else ""
        return f"move to ref('{self.producer}', '{self.name}'{v})"


def deprecated_use(cross: CrossRef, interface: dict[str, Any], today: Optional[date] = None) -> Optional[DeprecatedUse]:
    """The deprecated version `cross` lands on in the producer's `interface`, if any."""
    ref = cross.ref
    versions = [m for m in interface.get("models", []) if m["name"] == ref.name]
    if not versions:
        return None
    latest = versions[0]["latest_version"]
    wanted = ref.version if ref.version is not None else latest
    model = next((m for m in versions if str(m["version"]) == str(wanted)), versions[0])
    if not model.get("deprecation_date"):
        return None
    when = datetime.fromisoformat(str(model["deprecation_date"])).date()
    return DeprecatedUse(
        ref.domain, ref.file.stem, ref.file, ref.line, cross.producer, ref.name,
        None if wanted is None else str(wanted), None if latest is None else str(latest), when, today or date.today(),
    )
