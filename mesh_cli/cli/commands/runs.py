"""`mesh runs`, `mesh runs show ID` and `mesh status`: the build history and what needs a build."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from mesh_cli.state import history, records
from mesh_cli.cli.commands.options import format_option, project_dir_option, select_options
from mesh_cli.state.history import local_time
from mesh_cli.state.records import Build, BuildDetail, DomainStatus
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.cli.render import STATUS_LABEL, counts_text
from mesh_cli.core.status import BuildStatus

_BUILD_COLOUR = {BuildStatus.SUCCESS: "green", BuildStatus.ERROR: "red", BuildStatus.CANCELLED: "magenta"}


def _table(rows: list[list[str]]) -> list[str]:
    """Left-aligned columns, two spaces apart; the last column is not padded."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]) for r in rows]


def _styled(line: str, word: str, colour: Optional[str]) -> str:
    """Colour the first `word` of an aligned line without changing its width."""
    return line.replace(word, click.style(word, fg=colour), 1) if colour else line


def _elapsed(seconds: Optional[float], digits: int = 1) -> str:
    return "-" if seconds is None else f"{seconds:.{digits}f}s"


def _domains(b: Build) -> str:
    return ", ".join(f"{b.domains[k]} {k}" for k in ("ok", "failed", "skipped", "cancelled"))


def runs_text(found: list[Build], path: Path) -> list[str]:
    if not found:
        return [f"No build recorded yet in {path}: run `mesh build`."]
    rows = [["ID", "STARTED", "ELAPSED", "STATUS", "DOMAINS", "SELECTION"]]
    rows += [[str(b.id), local_time(b.started_at) or "-", _elapsed(b.elapsed), b.status, _domains(b),
              b.selection or "(all)"] for b in found]
    lines = _table(rows)
    return lines[:1] + [_styled(line, f"  {b.status}", _BUILD_COLOUR.get(b.status)) for line, b in zip(lines[1:], found)]


def show_text(detail: BuildDetail) -> list[str]:
    b = detail.build
    selection = f" --select {b.selection}" if b.selection and not b.selection.startswith("--") else \
        f" {b.selection}" if b.selection else ""
    lines = [_styled(f"Build {b.id}: {b.status}", b.status, _BUILD_COLOUR.get(b.status)),
             f"  command:  mesh {b.command}{selection} ({b.workers} worker{'s' if b.workers != 1 else ''})",
             f"  started:  {local_time(b.started_at)}",
             f"  ended:    {local_time(b.ended_at)} ({_elapsed(b.elapsed)})",
             f"  domains:  {_domains(b)}", "", "Domains:"]
    if detail.domains:
        rows = [[STATUS_LABEL.get(d.status, (d.status.upper(), None))[0], d.domain, local_time(d.started_at) or "-",
                 _elapsed(d.elapsed) if d.started_at is not None else "-",
                 counts_text(d.counts) if d.started_at is not None else "not run"] for d in detail.domains]
        for line, d in zip(_table(rows), detail.domains):
            label, colour = STATUS_LABEL.get(d.status, (d.status.upper(), None))
            lines.append("  " + _styled(line, label, colour))
            lines += [f"      {m}" for m in d.message.splitlines()]
    else:
        lines.append("  (none)")
    lines += ["", "Nodes (failures first):"]
    if detail.models:
        rows = [[m.status, m.unique_id, _elapsed(m.execution_time, 2),
                 f"{m.rows_affected} rows" if m.rows_affected is not None else "-"] for m in detail.models]
        for line, m in zip(_table(rows), detail.models):
            lines.append("  " + _styled(line, m.status, "red" if m.failed else None))
            if m.status not in ("success", "pass"):   # dbt's message says why, over several lines
                lines += [f"      {part.strip()}" for part in (m.message or "").splitlines() if part.strip()]
    else:
        lines.append("  (none: no domain ran dbt in this build)")
    return lines


def status_text(found: list[DomainStatus]) -> list[str]:
    rows = [["DOMAIN", "LAST SUCCESS", "STATE"]]
    for s in found:
        last = s.last_success
        rows.append([s.domain, "-" if last is None else f"{local_time(last.started_at)} (build {last.build_id})",
                     "up to date" if s.stale is None else f"stale: {s.stale}"])
    lines = _table(rows)
    return lines[:1] + [_styled(line, "up to date" if s.stale is None else "stale:", "green" if s.stale is None else "yellow")
                        for line, s in zip(lines[1:], found)]


@click.group(invoke_without_command=True)
@project_dir_option
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="How many builds to list.")
@format_option("text", "json")
@click.pass_context
def runs(ctx: click.Context, project_dir: Path, limit: int, fmt: str) -> None:
    """List recent builds, newest first, from the build history (.mesh/history.sqlite).

    `mesh runs show ID` shows one build: its domains and every node dbt ran.

    \b
    Example:
      mesh runs --limit 5
      mesh runs show 12 --format json
    """
    if ctx.invoked_subcommand is not None:
        return
    root = project_dir.resolve()
    found = records.builds(root, limit)
    if fmt == "json":
        click.echo(json.dumps([b.to_dict() for b in found], indent=2))
    else:
        click.echo("\n".join(runs_text(found, history.history_path(root))))


@runs.command(name="show")
@project_dir_option
@click.argument("build_id", metavar="ID", type=int)
@format_option("text", "json")
def show_run(project_dir: Path, build_id: int, fmt: str) -> None:
    """Show build ID: its domains (status, timings, message) and its nodes, failures first.

    \b
    Example:
      mesh runs show 12
    """
    detail = records.build(project_dir.resolve(), build_id)
    click.echo(json.dumps(detail.to_dict(), indent=2) if fmt == "json" else "\n".join(show_text(detail)))


@click.command()
@project_dir_option
@select_options
@format_option("text", "json")
def status(project_dir: Path, select: tuple[str, ...], exclude: tuple[str, ...], fmt: str) -> None:
    """Show, for each domain, its last successful build and whether it needs a build now.

    A domain is stale when its files changed since its last successful build, or an upstream
    domain changed its public interface since. Only hashes files: runs no dbt.

    \b
    Example:
      mesh status --select +marketing
    """
    found = Mesh.load(project_dir).status(BuildOptions(select, exclude))
    click.echo(json.dumps([s.to_dict() for s in found], indent=2) if fmt == "json" else "\n".join(status_text(found)))
