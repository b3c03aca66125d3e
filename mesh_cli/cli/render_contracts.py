"""Text and markdown for `mesh contracts`: what changed, who it breaks, what to do."""
from __future__ import annotations

from itertools import groupby
from pathlib import Path

from mesh_cli.contracts.diff import Change, Reader
from mesh_cli.contracts.store import PublishResult
from mesh_cli.contracts.operations import DeprecationUse, DiffReport


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _reader(r: Reader, column: str | None) -> str:
    pin = f"pins v{r.pinned}" if r.pinned is not None else "follows the latest version"
    reads = ""
    if column is not None:
        reads = {True: f", reads `{column}`", False: f", does not read `{column}`", None: f", may read `{column}`"}[r.reads]
    where = f" ({r.file}:{r.line})" if r.file else ""
    elsewhere = ", in another repository" if r.external else ""
    return f"{r.label} ({pin}{reads}{elsewhere}){where}"


def _summary(report: DiffReport) -> str:
    if not report.changes:
        return "No changes: the current definitions match the published contracts."
    broken = len(report.breaking)
    return f"{_plural(len(report.changes), 'change')}: {broken} breaking, {len(report.changes) - broken} non-breaking"


def diff_text(report: DiffReport) -> str:
    lines = [f"Compared with {report.base}", ""]
    ordered = sorted(report.changes, key=lambda c: (c.domain, c.model, str(c.version), not c.breaking))
    for label, group in groupby(ordered, key=lambda c: c.label):
        lines.append(label)
        for c in group:
            lines.append(f"  {'BREAKING' if c.breaking else 'ok':<9} {c.message}")
            if c.breaking:
                lines.append(f"            verdict: {c.verdict}")
                for r in c.consumers:
                    lines.append(f"            consumer: {_reader(r, c.column)}")
                if c.fix:
                    lines.append(f"            fix: {c.fix}")
        lines.append("")
    lines.append(_summary(report))
    for domain, why in sorted(report.unparsed.items()):
        lines.append(f"note: domain '{domain}' was not compared: dbt could not parse it ({why})")
    return "\n".join(lines)


def _md_consumers(c: Change) -> str:
    if not c.consumers:
        return "none in the mesh"
    return "<br>".join(_reader(r, c.column) for r in c.consumers)


def diff_markdown(report: DiffReport) -> str:
    """A pull-request comment."""
    broken = report.breaking
    title = (f"### :x: mesh contracts: {_plural(len(broken), 'breaking change')}" if broken
             else "### :white_check_mark: mesh contracts: no breaking change")
    lines = [title, "", f"Compared with {report.base}. {_summary(report)}.", ""]
    if report.changes:
        lines += ["| | Data product | Change | Verdict | Consumers |", "|---|---|---|---|---|"]
        for c in sorted(report.changes, key=lambda c: (not c.breaking, c.domain, c.model, str(c.version))):
            mark = ":x: breaking" if c.breaking else "non-breaking"
            lines.append(f"| {mark} | `{c.label}` | {c.message} | {c.verdict} | "
                         f"{_md_consumers(c) if c.breaking else ''} |")
        lines.append("")
    if broken:
        lines.append("**How to fix**")
        lines.append("")
        for c in broken:
            lines.append(f"- `{c.label}`: {c.fix}")
        lines.append("")
        lines.append("Breaking a published version breaks its consumers: publish the change as a new version and "
                     "keep the old one, with a `deprecation_date`, until every consumer has moved.")
    return "\n".join(lines)


def publish_text(result: PublishResult, root: Path, check: bool) -> str:
    rel = lambda p: p.relative_to(root)  # noqa: E731
    verb = ("would write", "would remove") if check else ("wrote", "removed")
    lines = [f"{verb[0]} {rel(p)}" for p in result.written] + [f"{verb[1]} {rel(p)}" for p in result.removed]
    done = ("to write", "to remove") if check else ("written", "removed")
    lines.append(f"{_plural(len(result.written), 'contract')} {done[0]}, {len(result.removed)} {done[1]}, "
                 f"{len(result.unchanged)} unchanged")
    for domain, why in sorted(result.skipped.items()):
        lines.append(f"note: domain '{domain}' was left as it was: dbt could not parse it ({why})")
    if check and result.changed:
        lines.append("The published contracts are stale: run `mesh contracts publish` and commit contracts/.")
    return "\n".join(lines)


def deprecations_text(uses: list[DeprecationUse], unknown: list[str], root: Path) -> str:
    lines = []
    for u in uses:
        use = u.use
        file = use.file.relative_to(root) if use.file.is_relative_to(root) else use.file
        when = (f"PASSED {use.deprecation_date} ({-use.days_left} days ago)" if use.passed
                else f"{use.deprecation_date} (in {use.days_left} days)")
        notify = " ".join(x for x in (u.notify_team, f"<{u.notify_email}>" if u.notify_email else None) if x) or "(no owner)"
        lines.append(f"{use.consumer}.{use.model} -> {use.producer}.{use.name} {use.pinned}: {when}; "
                     f"notify {notify}; {use.fix} ({file}:{use.line})")
    for producer in unknown:
        lines.append(f"note: domain '{producer}' has never been built or checked, so its versions are unknown; "
                     f"run `mesh check` first")
    passed = sum(u.use.passed for u in uses)
    lines.append(f"{_plural(len(uses), 'consumer ref')} on deprecated versions ({passed} past the date)"
                 if uses else "No consumer is on a deprecated version.")
    return "\n".join(lines)
