"""Published contracts and dbt manifests that cannot be read or compared."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from mesh_cli.core.errors.base import MeshError, ViolationError


class ContractFileError(MeshError):
    """A published contract file cannot be read as an ODCS document mesh wrote."""

    def __init__(self, file: Path, problem: str) -> None:
        self.problem = problem
        super().__init__(f"{problem}; fix the file or run `mesh contracts publish` to write it again", file)


class ContractInvalidError(MeshError):
    """A contract mesh would publish fails ODCS validation (a bug, or a value ODCS cannot hold)."""

    def __init__(self, contract: str, problems: Sequence[str]) -> None:
        self.contract, self.problems = contract, list(problems)
        super().__init__(f"the ODCS contract of {contract} is not valid: {'; '.join(self.problems[:3])}; "
                         "nothing was written: report this with `mesh --debug contracts publish`")


class GitRefError(MeshError):
    """`--base` names a git revision that cannot be read."""

    def __init__(self, ref: str, problem: str) -> None:
        self.ref, self.problem = ref, problem
        super().__init__(f"cannot read contracts at git revision '{ref}': {problem}; "
                         "pass a branch, tag or commit of this repository (e.g. --base origin/main)")


class NotParsedError(ViolationError):
    """Domains whose current definitions dbt could not parse, so their contracts are unknown."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = dict(reasons)
        listed = "; ".join(f"domain '{d}': {why}" for d, why in sorted(reasons.items()))
        super().__init__(f"cannot read the current contracts: {listed}; run `mesh check` to see why and fix it")


class UnsupportedManifestError(MeshError):
    """A manifest.json of a schema version mesh cannot read: a dbt it does not support wrote it.
    `version` is as found (`v13`), None when the metadata names none; `supported` lists what mesh reads."""

    def __init__(self, path: Path | None, version: str | None, supported: str) -> None:
        self.path, self.version, self.supported = path, version, supported
        found = (f"manifest schema {version} was written by a dbt" if version else
                 "manifest names no schema version (metadata.dbt_schema_version), so it was written by a dbt")
        super().__init__(f"{found} this mesh does not support (it reads {supported}); rebuild the domain with "
                         f"a supported dbt (see README: Supported versions)", path)
