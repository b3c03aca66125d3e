"""`mesh init` and `mesh new-domain` refusing to write."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from mesh_cli.core.errors.base import MeshError


class ScaffoldError(MeshError):
    """`mesh init` or `mesh new-domain` refused; nothing was written."""


class FilesExistError(ScaffoldError):
    def __init__(self, folder: Path, existing: Sequence[Path], fix: str) -> None:
        self.folder, self.existing = folder, list(existing)
        names = ", ".join(str(p) for p in self.existing)
        super().__init__(f"{folder}: already holds {names}; mesh never overwrites files, so nothing was "
                         f"written: {fix}")


class InvalidDomainNameError(ScaffoldError):
    def __init__(self, name: str, suggestion: str, reason: str = "") -> None:
        self.name, self.suggestion = name, suggestion
        why = reason or ("a domain is a dbt project, and dbt project names must match ^[a-zA-Z_][a-zA-Z0-9_]*$ "
                         "(letters, digits and underscores, not starting with a digit)")
        super().__init__(f"'{name}' is not a valid domain name: {why}; use '{suggestion}' instead")


class DomainExistsError(ScaffoldError):
    def __init__(self, name: str, project_file: Path) -> None:
        self.name, self.project_file = name, project_file
        super().__init__(f"a domain named '{name}' already exists ({project_file}); choose another name, "
                         f"domain names are unique in a mesh (and DuckDB ignores their case)")


class InvalidEmailError(ScaffoldError):
    def __init__(self, email: str) -> None:
        self.email = email
        super().__init__(f"'{email}' is not an email address (--email); give the owning team's address, "
                         f"e.g. --email sales@example.com")


class NotAMeshError(ScaffoldError):
    def __init__(self, root: Path) -> None:
        self.root = root
        super().__init__(f"{root}: not a mesh (no mesh.yml and no dbt projects); create one with "
                         f"`mesh init {root}` or point --project-dir at the mesh")


class NoDomainFolderError(ScaffoldError):
    def __init__(self, config_file: Path, patterns: Sequence[str]) -> None:
        self.config_file, self.patterns = config_file, list(patterns)
        super().__init__(f"{config_file}: domain_paths ({', '.join(self.patterns)}) has no folder pattern "
                         f"such as \"domains/*\" where a new domain could go; add one to domain_paths")
