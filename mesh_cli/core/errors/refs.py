"""Refs between domains that cannot be followed: unknown, refused by access, ambiguous, cyclic, unbuilt."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from mesh_cli.core.errors.base import MeshError, ViolationError, _listed


class UnknownDomainError(MeshError):
    """A selector or ref names a domain that does not exist."""

    def __init__(self, name: str, known: Sequence[str], hint: str = "",
                 file: Path | None = None, line: int | None = None) -> None:
        self.name, self.known = name, list(known)
        # In a file (a ref, dependencies.yml) the mesh is wrong: exit 1; on the command line, usage: exit 2.
        self.exit_code = 1 if file is not None else 2
        listed = f"known domains: {', '.join(known) or '(none)'}"
        # Without a hint, the known domains are the advice.
        self.summary, self.fix = (f"unknown domain '{name}'; {listed}", hint) if hint else (f"unknown domain '{name}'", listed)
        super().__init__(f"{self.summary}; {self.fix}", file, line)


class UnknownModelError(ViolationError):
    def __init__(self, consumer: str, producer: str, model: str, file: Path, line: int,
                 version: str | None = None) -> None:
        self.consumer, self.producer, self.model, self.version = consumer, producer, model, version
        what = f"'{model}'" + (f" version {version}" if version is not None else "")
        self.summary = f"refs model {what} of domain '{producer}', which has no such {'version' if version is not None else 'model'}"
        self.fix = (f"check the name{' and version' if version is not None else ''} "
                    f"(`mesh ls --select {producer}` lists its public models)")
        super().__init__(f"domain '{consumer}' {self.summary}; {self.fix}", file, line)


class AccessViolationError(ViolationError):
    """A ref to another domain's model, seed or snapshot (`resource_type`) that is not public."""

    def __init__(self, consumer: str, producer: str, model: str, access: str, group: str | None,
                 file: Path, line: int, contact: str | None = None, resource_type: str = "model") -> None:
        self.consumer, self.producer, self.model, self.access, self.group = consumer, producer, model, access, group
        self.contact, self.resource_type = contact, resource_type
        owner = f"group '{group}'" if group else f"domain '{producer}' (no group)"
        owner += f" (owner: {contact})" if contact else ""
        # dbt gives only models an `access`; a seed or snapshot declares it in its config (or meta).
        what, allowed, how = ("", "models", "access: public") if resource_type == "model" else (
            f"{resource_type} ", "models, seeds and snapshots", "config: {access: public}")
        self.summary = f"refs {what}'{producer}.{model}', which is {access} to {owner}"
        self.fix = (f"only public {allowed} can be used across domains: ask the owners of '{producer}' to make it "
                    f"public ({how}) or use one of its public models")
        super().__init__(f"domain '{consumer}' {self.summary}; {self.fix}", file, line)


class CycleError(ViolationError):
    def __init__(self, path: Sequence[str]) -> None:
        self.path = list(path)
        self.summary = f"domains depend on each other in a cycle: {' -> '.join(self.path)}"
        self.fix = "break it by moving the shared models into one domain"
        super().__init__(f"{self.summary}; {self.fix}")


class NotBuiltError(ViolationError):
    def __init__(self, consumer: str, producer: str) -> None:
        self.consumer, self.producer = consumer, producer
        super().__init__(
            f"domain '{consumer}' needs domain '{producer}', which has never been built; "
            f"build it first: mesh build --select {producer} (or mesh build --select +{consumer})"
        )


class AmbiguousRefError(ViolationError):
    """A one-argument ref to a name that several other domains publish: which one dbt picks is chance."""

    def __init__(self, consumer: str, name: str, producers: Sequence[str], file: Path, line: int,
                 version: str | None = None, resource_type: str = "model") -> None:
        self.consumer, self.name, self.producers = consumer, name, sorted(producers)
        self.version, self.resource_type = version, resource_type
        v = f", v={version}" if version is not None else ""
        domains = _listed([f"'{p}'" for p in self.producers])
        refs = _listed([f"{{{{ ref('{p}', '{name}'{v}) }}}}" for p in self.producers], "or")
        self.summary = (f"has an ambiguous ref('{name}'{v}): domains {domains} "
                        f"{'both' if len(self.producers) == 2 else 'all'} have a {resource_type} '{name}'")
        self.fix = f"write {refs}"
        super().__init__(f"domain '{consumer}' {self.summary}; {self.fix}", file, line)
