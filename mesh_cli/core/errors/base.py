"""The root of the hierarchy and the errors every layer raises: config, discovery, refusals, Ctrl-C."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


class MeshError(Exception):
    """Base of every error mesh raises on purpose. `exit_code` follows dbt: 1 failure, 2 usage."""

    exit_code = 2
    # Set by errors whose message ends with advice: what is wrong, said without the domain it is
    # about (a report names it apart), and how to fix it.
    summary = ""
    fix = ""

    def __init__(self, message: str, file: Path | None = None, line: int | None = None) -> None:
        # `detail` is the message without its place, for reports that show the place apart.
        self.detail, self.file, self.line = message, file, line
        where = f"{file}:{line}" if line is not None else f"{file}"
        self.message = f"{where}: {message}" if file is not None else message
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


class ViolationError(MeshError):
    """A rule of the mesh is broken; the mesh cannot run until it is fixed."""

    exit_code = 1


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


class CancelledError(MeshError):
    """Ctrl-C stopped a command before anything was built; `during` says where it was."""

    def __init__(self, during: str) -> None:
        self.during = during
        super().__init__(f"cancelled (Ctrl-C) {during}; nothing was built")


def _listed(items: Sequence[str], last: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"
