"""The one exception hierarchy. Each error builds its own message: what, where, how to fix."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


class MeshError(Exception):
    """Base of every error mesh raises on purpose. `exit_code` follows dbt: 1 failure, 2 usage."""

    exit_code = 2

    def __init__(self, message: str, file: Path | None = None, line: int | None = None) -> None:
        # `detail` is the message without its place, for reports that show the place apart.
        self.detail, self.file, self.line = message, file, line
        self.message = f"{file}:{line}: {message}" if file is not None else message
        super().__init__(self.message)

    def lines(self) -> list[str]:
        return [self.message]


class ConfigError(MeshError):
    """A configuration file is malformed: `location` is `file: key`."""

    def __init__(self, location: str, problem: str, fix: str = "") -> None:
        self.location, self.problem, self.fix = location, problem, fix
        super().__init__(f"{location}: {problem}" + (f"; {fix}" if fix else ""))


class DiscoveryError(MeshError):
    """The mesh's folders do not hold what mesh needs."""


class DuplicateDomainError(MeshError):
    def __init__(self, name: str, paths: Sequence[Path]) -> None:
        self.name, self.paths = name, list(paths)
        where = " and ".join(str(p) for p in paths)
        super().__init__(
            f"two domains are both named '{name}' ({where}); "
            f"rename one in its dbt_project.yml (name:), project names must be unique in a mesh"
        )


class UnknownDomainError(MeshError):
    """A selector or ref names a domain that does not exist."""

    def __init__(self, name: str, known: Sequence[str], hint: str = "",
                 file: Path | None = None, line: int | None = None) -> None:
        self.name, self.known = name, list(known)
        # In a file (a ref, dependencies.yml) the mesh is wrong: exit 1; on the command line, usage: exit 2.
        self.exit_code = 1 if file is not None else 2
        super().__init__(
            f"unknown domain '{name}'; known domains: {', '.join(known) or '(none)'}" + (f"; {hint}" if hint else ""),
            file, line,
        )


class ViolationError(MeshError):
    """A rule of the mesh is broken; the mesh cannot run until it is fixed."""

    exit_code = 1


class UnknownModelError(ViolationError):
    def __init__(self, consumer: str, producer: str, model: str, file: Path, line: int,
                 version: str | None = None) -> None:
        self.consumer, self.producer, self.model, self.version = consumer, producer, model, version
        what = f"'{model}'" + (f" version {version}" if version is not None else "")
        super().__init__(
            f"domain '{consumer}' refs model {what} of domain '{producer}', which has no such "
            f"{'version' if version is not None else 'model'}; check the name"
            + (" and version" if version is not None else "")
            + f" (`mesh ls --select {producer}` lists its public models)",
            file, line,
        )


class AccessViolationError(ViolationError):
    def __init__(self, consumer: str, producer: str, model: str, access: str, group: str | None,
                 file: Path, line: int, contact: str | None = None) -> None:
        self.consumer, self.producer, self.model, self.access, self.group = consumer, producer, model, access, group
        self.contact = contact
        owner = f"group '{group}'" if group else f"domain '{producer}' (no group)"
        owner += f" (owner: {contact})" if contact else ""
        super().__init__(
            f"domain '{consumer}' refs '{producer}.{model}', which is {access} to {owner}; "
            f"only public models can be used across domains: ask the owners of '{producer}' to make it "
            f"public (access: public) or use one of its public models",
            file, line,
        )


class CycleError(ViolationError):
    def __init__(self, path: Sequence[str]) -> None:
        self.path = list(path)
        super().__init__(
            f"domains depend on each other in a cycle: {' -> '.join(self.path)}; "
            f"break it by moving the shared models into one domain"
        )


class NotBuiltError(ViolationError):
    def __init__(self, consumer: str, producer: str) -> None:
        self.consumer, self.producer = consumer, producer
        super().__init__(
            f"domain '{consumer}' needs domain '{producer}', which has never been built; "
            f"build it first: mesh build --select {producer} (or mesh build --select +{consumer})"
        )


class Violations(ViolationError):
    """Several violations found in one pass: all are reported, not just the first."""

    def __init__(self, errors: Sequence[MeshError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(e.message for e in self.errors))

    def lines(self) -> list[str]:
        return [e.message for e in self.errors]


class ChecksFailedError(ViolationError):
    """`mesh build` found errors in its checks and built nothing."""

    def __init__(self, lines: Sequence[str], errors: int) -> None:
        self.errors, self._lines = errors, list(lines)
        super().__init__(
            f"mesh check found {errors} error{'s' if errors != 1 else ''}; nothing was built: fix "
            f"{'them' if errors != 1 else 'it'} (mesh check lists them) or rerun with --skip-checks"
        )

    def lines(self) -> list[str]:
        return [*self._lines, self.message]


def raise_all(errors: Sequence[MeshError]) -> None:
    """Raise every error found in one pass: one alone as itself, several together."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise Violations(errors)
