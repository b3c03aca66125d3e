"""How `mesh build` shows progress: a live view on a terminal, a line per event otherwise, JSON lines
for machines. Lines are written whole by the orchestrator, so parallel domains never interleave."""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from typing import Any, Optional

import click

from mesh_cli.cli import render
from mesh_cli.core.status import DomainStatus
from mesh_cli.execution.scheduler import BuildResult, DomainResult
from mesh_cli.governance.findings import CheckReport


def plan_line(domains: list[str], workers: int) -> str:
    n = len(domains)
    return (f"Building {n} domain{'s' if n != 1 else ''} ({', '.join(domains)}) "
            f"with {workers} worker{'s' if workers != 1 else ''}")


class Reporter:
    """Every moment of a build the user sees; each format shows them its own way."""

    def changed(self, stale: dict[str, str]) -> None: ...
    def noop_text(self) -> Optional[str]:
        """What `changed({})` printed, when it is the same every time (the no-op memo replays it)."""
        return None
    def checked(self, report: CheckReport) -> None: ...
    def plan(self, domains: list[str], workers: int) -> None: ...
    def start(self, domain: str) -> None: ...
    def result(self, result: DomainResult) -> None: ...
    def close(self) -> None: ...
    def summary(self, result: BuildResult) -> None: ...


class TextReporter(Reporter):
    def changed(self, stale: dict[str, str]) -> None:
        if not stale:
            click.echo(self.noop_text(), nl=False)
        for name, why in stale.items():
            click.echo(f"Changed: {name} ({why})")

    def noop_text(self) -> Optional[str]:
        return "Nothing to build: every selected domain is up to date.\n"

    def checked(self, report: CheckReport) -> None:
        click.echo(render.check_summary(report))

    def plan(self, domains: list[str], workers: int) -> None:
        click.echo(plan_line(domains, workers))

    def summary(self, result: BuildResult) -> None:
        click.echo(render.build_summary(result))


class LineReporter(TextReporter):
    def start(self, domain: str) -> None:
        click.echo(f"START {domain}")

    def result(self, result: DomainResult) -> None:
        label, colour, rest = render.domain_line(result)
        click.echo(f"{click.style(label, fg=colour)} {rest}")
        if result.status == DomainStatus.ERROR:
            for line in result.message.splitlines():
                click.secho(f"Error: {line}", fg="red", err=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class JsonReporter(Reporter):
    """`--log-format json`: every line on stdout is one JSON event, as with dbt's --log-format json."""

    def _emit(self, event: dict[str, Any]) -> None:
        click.echo(json.dumps({"ts": _now(), **event}))

    def changed(self, stale: dict[str, str]) -> None:
        self._emit({"event": "changed", "domains": stale})

    def checked(self, report: CheckReport) -> None:
        self._emit({"event": "checked", "errors": len(report.errors), "warnings": len(report.warnings),
                    "domains": report.domains})

    def plan(self, domains: list[str], workers: int) -> None:
        self._emit({"event": "plan", "domains": domains, "workers": workers})

    def start(self, domain: str) -> None:
        self._emit({"event": "start", "domain": domain})

    def result(self, result: DomainResult) -> None:
        self._emit({"event": "finish", **result.to_dict()})

    def summary(self, result: BuildResult) -> None:
        self._emit({"event": "done", **result.to_dict()})


class LiveReporter(TextReporter):
    """A table of domains (pending, running with elapsed time, done) redrawn in place on a TTY."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.order: list[str] = []
        self.started: dict[str, float] = {}
        self.done: dict[str, DomainResult] = {}
        self.errors: list[str] = []
        self.console = console or Console()
        self.live = Live(console=self.console, refresh_per_second=4, transient=False,
                         get_renderable=self._table)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        for name in self.order:
            if name in self.done:
                label, colour, rest = render.domain_line(self.done[name])
                table.add_row(f"[{colour}]{label}[/]", rest)
            elif name in self.started:
                table.add_row("[bold blue]RUN[/]", f"{name:<12} {time.time() - self.started[name]:.0f}s")
            else:
                table.add_row("[dim]WAIT[/]", f"[dim]{name}[/]")
        n = len(self.done)
        table.add_row("", f"[bold]{n}/{len(self.order)} done, {len(self.started) - n} running[/]")
        return table

    def plan(self, domains: list[str], workers: int) -> None:
        self.console.print(plan_line(domains, workers), highlight=False, markup=False)
        self.order = list(domains)
        self.live.start()

    def start(self, domain: str) -> None:
        self.started[domain] = time.time()

    def result(self, result: DomainResult) -> None:
        self.done[result.domain] = result
        self.started.setdefault(result.domain, time.time())
        if result.status == DomainStatus.ERROR:
            self.errors.extend(result.message.splitlines())

    def close(self) -> None:
        self.live.stop()
        for line in self.errors:
            click.secho(f"Error: {line}", fg="red", err=True)


class Quiet(Reporter):
    """`--format json` without JSON logs: only the final report, as one JSON document."""

    def changed(self, stale: dict[str, str]) -> None:
        if not stale:
            click.echo(self.noop_text(), nl=False)

    def noop_text(self) -> Optional[str]:
        return json.dumps(BuildResult([], 0.0).to_dict(), indent=2) + "\n"

    def summary(self, result: BuildResult) -> None:
        click.echo(json.dumps(result.to_dict(), indent=2))


def reporter(fmt: str, log_format: str, tty: Optional[bool] = None) -> Reporter:
    if log_format == "json":
        return JsonReporter()
    if fmt != "text":
        return Quiet()
    if tty if tty is not None else sys.stdout.isatty():
        return LiveReporter()
    return LineReporter()
