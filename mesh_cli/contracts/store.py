"""Published contracts: one ODCS file per public model version under `contracts/<domain>/`,
read from the work tree, from another folder, or from a git revision."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import yaml

from mesh_cli.contracts.model import ModelContract
from mesh_cli.contracts.diff import Key
from mesh_cli.core.errors import ContractFileError, ContractInvalidError, GitRefError
from mesh_cli.contracts.odcs import dump, from_odcs, to_odcs, validate

CONTRACTS_DIR = "contracts"
SUFFIX = ".odcs.yaml"


def relative_path(c: ModelContract) -> Path:
    version = f".v{c.version}" if c.version is not None else ""
    return Path(c.domain) / f"{c.model}{version}{SUFFIX}"


def _parse(text: str, file: Path) -> ModelContract:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ContractFileError(file, f"not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(doc, dict) or doc.get("kind") != "DataContract":
        raise ContractFileError(file, "not an ODCS data contract (kind: DataContract is missing)")
    try:
        return from_odcs(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ContractFileError(file, f"not a contract mesh can read ({exc.__class__.__name__}: {exc})") from exc


def read_dir(folder: Path, domains: Optional[Iterable[str]] = None) -> dict[Key, ModelContract]:
    """The contracts in `folder` (laid out as `contracts/`), for `domains` or all."""
    wanted = set(domains) if domains is not None else None
    found: dict[Key, ModelContract] = {}
    for path in sorted(folder.glob(f"*/*{SUFFIX}")) if folder.is_dir() else []:
        if wanted is None or path.parent.name in wanted:
            c = _parse(path.read_text(encoding="utf-8"), path)
            found[c.key] = c
    return found


def published_contracts(root: Path, domain: str) -> list[ModelContract]:
    """The contracts `domain` has published in the mesh's contracts/ folder."""
    return list(read_dir(root / CONTRACTS_DIR, [domain]).values())


def _git(root: Path, *args: str) -> str:
    run = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise subprocess.CalledProcessError(run.returncode, args, run.stdout, run.stderr)
    return run.stdout


def read_git(root: Path, rev: str, domains: Optional[Iterable[str]] = None) -> dict[Key, ModelContract]:
    """The contracts as committed at git revision `rev` of the repository holding `root`."""
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except FileNotFoundError as exc:
        raise GitRefError(rev, "git is not installed") from exc
    except subprocess.CalledProcessError as exc:
        problem = (exc.stderr or "").strip().splitlines()
        raise GitRefError(rev, problem[-1] if problem else "no such revision") from exc
    wanted = set(domains) if domains is not None else None
    found: dict[Key, ModelContract] = {}
    listing = _git(root, "ls-tree", "-r", "--name-only", rev, "--", f"{CONTRACTS_DIR}/")
    for name in sorted(line for line in listing.splitlines() if line.endswith(SUFFIX)):
        path = Path(name)
        if len(path.parts) != 3 or (wanted is not None and path.parts[1] not in wanted):
            continue
        c = _parse(_git(root, "show", f"{rev}:./{name}"), Path(f"{rev}:{name}"))
        found[c.key] = c
    return found


@dataclass
class PublishResult:
    written: list[Path] = field(default_factory=list)     # new or changed
    removed: list[Path] = field(default_factory=list)     # no longer a public model version
    unchanged: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # domain -> why dbt could not parse it

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)

    def to_dict(self, root: Path) -> dict:
        rel = lambda ps: [str(p.relative_to(root)) for p in ps]  # noqa: E731
        return {"written": rel(self.written), "removed": rel(self.removed), "unchanged": rel(self.unchanged),
                "skipped": self.skipped}


def publish(root: Path, contracts: dict[Key, ModelContract], domains: Iterable[str], mesh_name: str,
            check: bool = False) -> PublishResult:
    """Make `contracts/<domain>/` of each of `domains` hold exactly their public contracts.
    Every document is validated before any file is touched; `check` writes nothing."""
    folder = root / CONTRACTS_DIR
    texts: dict[Path, str] = {}
    for c in sorted(contracts.values(), key=lambda c: (c.domain, c.model, str(c.version))):
        doc = to_odcs(c, mesh_name)
        problems = validate(doc)
        if problems:
            raise ContractInvalidError(c.label, problems)
        texts[folder / relative_path(c)] = dump(doc)
    result = PublishResult()
    for domain in sorted(set(domains)):
        existing = set((folder / domain).glob(f"*{SUFFIX}")) if (folder / domain).is_dir() else set()
        result.removed += sorted(existing - set(texts))
    for path, text in texts.items():
        same = path.is_file() and path.read_text(encoding="utf-8") == text
        (result.unchanged if same else result.written).append(path)
    if check:
        return result
    for path in result.written:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(texts[path], encoding="utf-8")
        os.replace(tmp, path)
    for path in result.removed:
        path.unlink()
    return result
