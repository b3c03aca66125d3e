"""Meshes that span repositories: published state that cannot be written, reached or trusted.

Each stops a command before any dbt runs (exit 2) with one line: the file that asks for it, the
domain, what is wrong and the fix."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from mesh_cli.core.errors.base import MeshError


class RemoteStateError(MeshError):
    """Published state of a domain elsewhere that mesh cannot use. `file` asks for it (mesh.yml,
    a dbt_loom.config.yml); `domain` is the external domain."""

    def __init__(self, file: Optional[Path], domain: str, problem: str, fix: str) -> None:
        self.domain, self.summary, self.fix = domain, problem, fix
        super().__init__(f"external domain '{domain}': {problem}; {fix}", file)


class UnreachableStateError(RemoteStateError):
    def __init__(self, file: Optional[Path], domain: str, location: str, reason: str, offline_copy: bool) -> None:
        self.location, self.reason = location, reason
        fix = ("check the location and your network, or rerun with --offline to use the state resolved last time"
               if offline_copy else
               "check the location and your network (no state was resolved before, so --offline cannot help)")
        super().__init__(file, domain, f"cannot reach {location} ({reason})", fix)


class NotPublishedError(RemoteStateError):
    def __init__(self, file: Optional[Path], domain: str, location: str) -> None:
        self.location = location
        super().__init__(file, domain, f"{location} holds no published state of it",
                         f"run `mesh publish --select {domain} --to <location>` in the repository of '{domain}' "
                         f"after a good build, or fix the location")


class NewerStateError(RemoteStateError):
    def __init__(self, file: Optional[Path], domain: str, location: str, version: object, supported: int) -> None:
        self.version = version
        super().__init__(file, domain, f"{location} was written by a newer mesh (state version {version}; this mesh "
                                       f"reads version {supported})", "upgrade mesh-cli in this repository")


class UnknownPublishedBuildError(RemoteStateError):
    def __init__(self, file: Optional[Path], domain: str, location: str, build: str, known: Sequence[str]) -> None:
        self.build, self.known = build, list(known)
        listed = ", ".join(self.known) or "(none)"
        super().__init__(file, domain, f"{location} holds no build '{build}'",
                         f"pin one of the published builds ({listed}) or remove `build:` to follow the latest")


class InvalidStateError(RemoteStateError):
    def __init__(self, file: Optional[Path], domain: str, location: str, problem: str) -> None:
        super().__init__(file, domain, f"{location} is not a mesh state ({problem})",
                         "publish it again with `mesh publish`, or fix the location")


class ExternalClashError(RemoteStateError):
    def __init__(self, file: Optional[Path], domain: str, local: Path) -> None:
        super().__init__(file, domain, f"its name is also the name of a domain of this mesh ({local})",
                         "remove it from external_domains, or rename one of them")


class ExternalStorageError(RemoteStateError):
    """A consumer about to build cannot see the DuckDB file an external domain's state names."""

    def __init__(self, file: Optional[Path], domain: str, consumer: str, path: Path) -> None:
        self.consumer, self.path = consumer, path
        super().__init__(file, domain, f"its DuckDB file {path}, which '{consumer}' reads, does not exist on this machine",
                         f"set `duckdb_path:` under external_domains.{domain} in mesh.yml to where this machine sees it")


class ExternalStatesError(MeshError):
    """Several external domains cannot be used: each is named, and the command stops (exit 2)."""

    def __init__(self, errors: Sequence[RemoteStateError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(e.message for e in self.errors))

    def lines(self) -> list[str]:
        return [e.message for e in self.errors]


class PublishError(MeshError):
    """`mesh publish` cannot write a domain's state."""

    def __init__(self, domain: str, location: str, problem: str, fix: str) -> None:
        self.domain, self.location, self.summary, self.fix = domain, location, problem, fix
        super().__init__(f"cannot publish domain '{domain}' to {location}: {problem}; {fix}")


class MissingExtraError(MeshError):
    def __init__(self, scheme: str, extra: str, package: str) -> None:
        self.scheme, self.extra = scheme, extra
        super().__init__(f"{scheme}:// locations need the optional package {package}: "
                         f'pip install "mesh-cli[{extra}]"')
