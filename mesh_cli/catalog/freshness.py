"""A data product's last build, as the catalog shows it: its domain's status in the last `mesh build`,
when the product's own node last built successfully (the caller reads it from the build history)
and whether that is fresh against its SLA; for an external product, when its published build ran."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Optional

from mesh_cli.contracts.sla import Sla
from mesh_cli.core.status import DomainStatus

if TYPE_CHECKING:
    from mesh_cli.project.context import MeshContext


NEVER_BUILT = "never built"


@dataclass
class LastBuild:
    # success, error, skipped: its domain in the last `mesh build`; "never built" when the build
    # history holds no successful build of the product
    status: str
    at: Optional[str] = None      # ISO timestamp (UTC) of the product's last successful build
    age_seconds: Optional[float] = None
    fresh: Optional[bool] = None  # against the declared SLA; None when no SLA is declared


def last_build(ctx: "MeshContext", domain: str, source: str, sla: Optional[Sla], built: Optional[datetime]) -> Optional[LastBuild]:
    """`built`: when the product's node last built successfully, from the build history. A build of
    other models of its domain publishes the domain's manifest again, but does not make it fresher."""
    run = ctx.layout.run_results
    status = None
    if run.is_file():
        results = json.loads(run.read_text(encoding="utf-8")).get("domains") or []
        status = next((r.get("status") for r in results if r.get("domain") == domain), None)
    if source != "build":
        return LastBuild(status) if status else None
    limit = None if sla is None or sla.freshness is None else sla.freshness.total_seconds()
    if built is None:
        return LastBuild(NEVER_BUILT, fresh=None if limit is None else False)
    age = max(0.0, time.time() - built.timestamp())
    return LastBuild(status or DomainStatus.SUCCESS.value, built.astimezone(timezone.utc).isoformat(timespec="seconds"),
                     round(age, 1), None if limit is None else age <= limit)


def external_build(built_at: Optional[str], sla: Optional[Sla]) -> LastBuild:
    """An external product's last build: when its published build ran (its state says)."""
    if not built_at:
        return LastBuild("external")
    at = datetime.fromisoformat(built_at.replace("Z", "+00:00"))
    age = max(0.0, time.time() - at.timestamp())
    limit = None if sla is None or sla.freshness is None else sla.freshness.total_seconds()
    return LastBuild("external", at.astimezone(timezone.utc).isoformat(timespec="seconds"), round(age, 1),
                     None if limit is None else age <= limit)
