"""The one exception hierarchy. Each error builds its own message: what, where, how to fix."""
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


class ViolationError(MeshError):
    """A rule of the mesh is broken; the mesh cannot run until it is fixed."""

    exit_code = 1


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


class LineageTargetError(MeshError):
    """An OpenLineage destination given to `mesh build` cannot be used; checked before anything builds."""

    def __init__(self, option: str, value: str, problem: str, fix: str) -> None:
        self.option, self.value = option, value
        super().__init__(f"{option} {value}: {problem}; {fix}")


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


def _listed(items: Sequence[str], last: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


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


class CancelledError(MeshError):
    """Ctrl-C stopped a command before anything was built; `during` says where it was."""

    def __init__(self, during: str) -> None:
        self.during = during
        super().__init__(f"cancelled (Ctrl-C) {during}; nothing was built")


class UnsupportedManifestError(MeshError):
    """A manifest.json of a schema version mesh cannot read: a dbt it does not support wrote it.
    `version` is as found (`v13`), None when the metadata names none; `supported` lists what mesh reads."""

    def __init__(self, path: Path | None, version: str | None, supported: str) -> None:
        self.path, self.version, self.supported = path, version, supported
        found = (f"manifest schema {version} was written by a dbt" if version else
                 "manifest names no schema version (metadata.dbt_schema_version), so it was written by a dbt")
        super().__init__(f"{found} this mesh does not support (it reads {supported}); rebuild the domain with "
                         f"a supported dbt (see README: Supported versions)", path)
