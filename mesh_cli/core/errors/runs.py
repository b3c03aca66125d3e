"""Builds that cannot start or be recorded: the lock, retry, the history, dbt deps."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from mesh_cli.core.errors.base import MeshError, ViolationError


class BuildLockedError(ViolationError):
    """Another `mesh build` holds the warehouse's lock."""

    def __init__(self, path: Path, pid: object, host: object, since: object, command: object) -> None:
        self.pid, self.host, self.since, self.command = pid, host, since, command
        who = f"process {pid} on {host}" if pid is not None else "another process"
        what = f" (`{command}`)" if command else ""
        super().__init__(
            f"another mesh build is running: {who} has held {path} since {since or 'an unknown time'}{what}; "
            f"wait for it to finish, or delete {path} if that process is gone"
        )


class NothingToRetryError(MeshError):
    """`mesh retry` with no previous build."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no previous build to retry ({path} does not exist); run `mesh build` first")


class HistoryError(MeshError):
    """The build history (`.mesh/history.sqlite`) cannot be read or written."""

    def __init__(self, file: Path, problem: str, fix: str = "") -> None:
        self.path, self.problem = file, problem
        fix = fix or "move the file away to start a new history (builds and their state are not affected)"
        super().__init__(f"{file}: cannot use the build history: {problem}; {fix}")


class UnknownBuildError(ViolationError):
    """`mesh runs show` names a build id the history does not hold."""

    def __init__(self, build_id: int, last: int | None, file: Path) -> None:
        self.build_id, self.last, self.path = build_id, last, file
        known = (f"the last build is {last}; `mesh runs` lists the recent ones" if last is not None
                 else "no build has been recorded yet: run `mesh build`")
        super().__init__(f"no build {build_id} in the build history ({file}); {known}")


class DepsFailedError(MeshError):
    """`dbt deps` could not install a domain's packages, so dbt did not run in it."""

    exit_code = 1

    def __init__(self, domain: str, code: int, spec_file: str, packages: Sequence[str], reason: str,
                 log: Path | None) -> None:
        self.domain, self.code, self.spec_file, self.reason, self.log = domain, code, spec_file, reason, log
        self.packages = list(packages)
        one = len(self.packages) == 1
        names = ", ".join(f"'{p}'" for p in self.packages)
        it = "it" if one else "them"
        super().__init__(
            f"dbt deps failed in domain '{domain}' (exit {code}): could not install package{'' if one else 's'} "
            f"{names}: {reason or 'dbt gave no reason'}; check {it} in {spec_file} and that "
            f"{'its source' if one else 'their sources'} can be reached, or vendor {it} with a package-lock.yml "
            f"that matches {spec_file} (mesh then runs no dbt deps); see the log: {log}"
        )
