"""Catalog, lineage, docs site and selection words naming what is not there."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from mesh_cli.core.errors.base import MeshError, ViolationError


class UnknownProductError(ViolationError):
    """`mesh show` or the catalog names a data product no built (or checked) domain publishes."""

    def __init__(self, key: str, close: Sequence[str], known: Sequence[str]) -> None:
        self.key, self.close, self.known = key, list(close), list(known)
        hint = f"did you mean {', '.join(self.close)}? " if self.close else ""
        super().__init__(
            f"unknown data product '{key}' (public models are read from .mesh/state/<domain>/manifest.json); "
            f"{hint}known products: {', '.join(self.known) or '(none: run `mesh build` or `mesh check` first)'}; "
            f"`mesh catalog` lists them"
        )


class UnknownNodeError(ViolationError):
    """`mesh lineage` names a model, seed or source that no domain's manifest holds."""

    def __init__(self, key: str, close: Sequence[str]) -> None:
        self.key, self.close = key, list(close)
        hint = f"did you mean {', '.join(self.close)}? " if self.close else ""
        super().__init__(
            f"no model, seed or source '{key}' in the mesh's manifests (.mesh/state/<domain>/manifest.json); "
            f"{hint}name it as <domain>.<model> or <domain>.<model>.v<N>, and run `mesh build` if it is new"
        )


class UnknownColumnError(ViolationError):
    """`mesh lineage --column` names a column the model does not have."""

    def __init__(self, node: str, column: str, known: Sequence[str], file: Path | None = None) -> None:
        self.node, self.column, self.known, self.path = node, column, list(known), file
        where = f" ({file})" if file is not None else ""
        super().__init__(
            f"'{node}'{where} has no column '{column}'; known columns: {', '.join(self.known) or '(none)'}; "
            f"check the spelling (`mesh show` lists a data product's columns)"
        )


class LineageUnavailableError(ViolationError):
    """Column lineage needs the compiled SQL of a successful build, which this model lacks."""

    def __init__(self, node: str, why: str) -> None:
        self.node, self.why = node, why
        super().__init__(
            f"no column lineage for '{node}': {why}; build its domain (mesh build --select "
            f"{node.split('.')[0]}) and retry"
        )


class DocsOutputError(MeshError):
    """The docs site cannot be written to, or served from, a folder."""

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        self.path, self.problem, self.fix = path, problem, fix
        super().__init__(f"{path}: {problem}; {fix}")


class PortInUseError(MeshError):
    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host, self.port, self.reason = host, port, reason
        super().__init__(f"cannot serve on {host}:{port} ({reason}); pick another port with --port, or --port 0 for any free one")


class LineageTargetError(MeshError):
    """An OpenLineage destination given to `mesh build` cannot be used; checked before anything builds."""

    def __init__(self, option: str, value: str, problem: str, fix: str) -> None:
        self.option, self.value = option, value
        super().__init__(f"{option} {value}: {problem}; {fix}")


class InvalidSelectorError(MeshError):
    """A --select/--exclude word that is not one of dbt's selection words."""

    def __init__(self, word: str) -> None:
        self.word = word
        super().__init__(
            f"'{word}' is not a selection word; use name, +name, name+, 2+name, name+1 or @name, where name is "
            f"a domain, <domain>.<model> or <domain>.<model>.v<N> (check --select/--exclude)"
        )


class UnknownSelectedModelError(MeshError):
    """A model word names a model that the domain's newest manifest does not hold."""

    def __init__(self, word: str, option: str, name: str, close: Sequence[str]) -> None:
        self.word, self.option, self.name, self.close = word, option, name, list(close)
        domain, model = name.split(".", 1)
        hint = f"did you mean {', '.join(self.close)}? " if self.close else ""
        super().__init__(
            f"{option} {word}: domain '{domain}' has no model '{model}' (its models are read from the newer of "
            f".mesh/check/{domain}/manifest.json and .mesh/state/{domain}/manifest.json); {hint}name a model "
            f"<domain>.<model> or <domain>.<model>.v<N>, and run `mesh check` first if it is new"
        )


class SelectionNotParsedError(MeshError):
    """A model word reaches domains whose models are unknown: neither checked nor built yet."""

    def __init__(self, word: str, option: str, domains: Sequence[str]) -> None:
        self.word, self.option, self.domains = word, option, list(domains)
        one = len(self.domains) == 1
        names = ", ".join(f"'{d}'" for d in self.domains)
        super().__init__(
            f"{option} {word} needs the models of domain{'' if one else 's'} {names}, which "
            f"{'has' if one else 'have'} never been parsed or built (no .mesh/check/<domain>/manifest.json or "
            f".mesh/state/<domain>/manifest.json); run `mesh check` first (`mesh build` does, unless --skip-checks)"
        )
