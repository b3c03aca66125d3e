"""`mesh build --dry-run`: the plan as a person reads it, or as JSON."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

from mesh_cli.execution.plan import DomainPlan


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _dbt_line(args: list[str], root: Path) -> str:
    shown = [_rel(Path(a), root) if a.startswith(str(root)) else a for a in args]
    return "dbt " + shlex.join(shown)


_SEED = "  (if a source reads a seed)"


def plan_text(plans: list[DomainPlan], workers: int, root: Path) -> str:
    n = len(plans)
    lines = [f"Plan: {n} domain{'s' if n != 1 else ''} ({', '.join(p.domain for p in plans)}) with {workers} "
             f"worker{'s' if workers != 1 else ''}; nothing runs (--dry-run)"]
    for plan in plans:
        calls = [plan.dbt.args(s) for s in plan.dbt.steps] + ([plan.dbt.catalog_args()] if plan.dbt.catalog else [])
        lines += [plan.domain, f"  waits for:   {', '.join(plan.upstreams) or '-'}"]
        lines += [f"  {'dbt:' if i == 0 else '':12} {_dbt_line(c, root)}" + (_SEED if c[0] == "seed" else "")
                  for i, c in enumerate(calls)]
        if plan.staging is not None:
            lines.append(f"  storage:     builds {_rel(plan.staging.database, root)} in place; its changes reach the "
                         "file only on success")
        if plan.packages.domains:
            lines.append(f"  packages:    {', '.join(plan.packages.domains)} stubbed in {_rel(plan.packages.install_dir, root)} "
                         "(domains of their own)")
        lines += [f"  {'environment:' if i == 0 else '':12} {k}={v}" for i, (k, v) in enumerate(sorted(plan.env.items()))]
        success = [f"interface published to {_rel(plan.publish_to, root)}/{plan.domain}" if plan.publish_to else "",
                   "fingerprint recorded" if plan.fingerprint else "",
                   f"contracts checked first: {', '.join(plan.contracts)}" if plan.contracts else ""]
        lines.append(f"  on success:  {'; '.join(s for s in success if s) or '-'}")
        kept = "its database stays as it was" if plan.staging is not None else "what dbt wrote stays"
        lines.append(f"  on failure:  {kept}; downstream domains are skipped")
        if plan.only_if_stale:
            lines.append("  --changed:   skipped as unchanged when nothing it reads changed by the time it would start")
    return "\n".join(lines)


def plan_json(plans: list[DomainPlan], workers: int) -> str:
    return json.dumps({"version": 1, "workers": workers, "domains": [p.to_dict() for p in plans]}, indent=2)
