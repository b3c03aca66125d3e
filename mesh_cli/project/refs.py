"""Reading refs and model names out of a domain's files, before dbt parses anything."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from mesh_cli.project.discovery import Domain
from mesh_cli.project.scancache import ScanCache
from mesh_cli.core.yamlfile import read_yaml

# ref('model'), ref("pkg", "model"), ref('pkg', 'model', v=2), ref('model', version='1')
_REF = re.compile(
    r"""\bref\(\s*(?P<q1>['"])(?P<a>[^'"]+)(?P=q1)\s*"""
    r"""(?:,\s*(?P<q2>['"])(?P<b>[^'"]+)(?P=q2)\s*)?"""
    r"""(?:,\s*(?:v|version)\s*=\s*(?P<q3>['"]?)(?P<v>[\w.]+)(?P=q3)\s*)?\)"""
)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
# SQL comments, skipping over string literals so a '--' inside quotes is kept.
_SQL_COMMENT = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)
# YAML keys whose text is prose, not configuration: a ref() written there is not a dependency.
_PROSE_KEYS = {"description", "doc", "docs", "meta", "label"}
_SNAPSHOT = re.compile(r"\{%-?\s*snapshot\s+(\w+)")
_SOURCE_SUFFIXES = {".sql", ".py", ".yml", ".yaml", ".md"}


@dataclass(frozen=True)
class Ref:
    """One ref() call found in a domain's files."""

    domain: str
    package: Optional[str]
    name: str
    version: Optional[str]
    file: Path
    line: int


def _blank(match: re.Match[str]) -> str:
    # Keep line numbers: replace a comment by as many newlines as it spans.
    text = match.group(0)
    return text if text.startswith("'") else "\n" * text.count("\n")


def _blank_comments(text: str, sql: bool) -> str:
    text = _JINJA_COMMENT.sub(_blank, text)
    return _SQL_COMMENT.sub(_blank, text) if sql else text


def _config_strings(node: Any) -> Iterator[str]:
    """String values of a YAML document, leaving out prose (descriptions, docs, meta)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in _PROSE_KEYS:
                yield from _config_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _config_strings(item)
    elif isinstance(node, str) and "ref(" in node:
        yield node


def _files(domain: Domain) -> Iterator[Path]:
    for folder in domain.source_dirs():
        if folder.is_dir():
            yield from (p for p in sorted(folder.rglob("*")) if p.suffix in _SOURCE_SUFFIXES and p.is_file())


def _file_refs(path: Path) -> list[list[Any]]:
    """[package, name, version, line] of each ref() in one file."""
    text = _blank_comments(path.read_text(encoding="utf-8", errors="replace"), sql=path.suffix == ".sql")
    if "ref(" not in text:
        return []
    if path.suffix in (".yml", ".yaml"):
        found = [(m, text.find(m.group(0))) for s in _config_strings(read_yaml(path)) for m in _REF.finditer(s)]
    else:
        found = [(m, m.start()) for m in _REF.finditer(text)]
    refs = []
    for m, offset in found:
        package, name = (m["a"], m["b"]) if m["b"] else (None, m["a"])
        refs.append([package, name, m["v"], text.count("\n", 0, max(offset, 0)) + 1])
    return refs


def scan_refs(domain: Domain, cache: Optional[ScanCache] = None) -> list[Ref]:
    cache = cache or ScanCache()
    refs: list[Ref] = []
    for path in _files(domain):
        if path.suffix == ".md":
            continue
        for package, name, version, line in cache.get(path, "refs", lambda path=path: _file_refs(path)):
            refs.append(Ref(domain.name, package, name, version, path, line))
    return refs


def refable_nodes(domain: Domain, cache: Optional[ScanCache] = None) -> dict[str, str]:
    """Every name ref() can reach in the domain, with its resource type as the files tell it:
    `model` (versioned models too), `seed` or `snapshot`."""
    cache = cache or ScanCache()
    stems: dict[str, str] = {}
    declared: dict[str, str] = {}   # seeds, snapshots and YAML entries say what they are: they win
    snapshot_dirs = [domain.path / p for p in domain.snapshot_paths]
    for folder in domain.source_dirs():
        if not folder.is_dir():
            continue
        kind = "snapshot" if folder in snapshot_dirs else "model"
        for path in folder.rglob("*"):
            if path.suffix in (".sql", ".py") and path.is_file():
                stems.setdefault(path.stem, kind)
                if path.suffix == ".sql":
                    declared.update(dict.fromkeys(cache.get(path, "snapshots", lambda path=path: _SNAPSHOT.findall(
                        path.read_text(encoding="utf-8", errors="replace"))), "snapshot"))
            elif path.suffix in (".yml", ".yaml") and path.is_file():
                declared.update(cache.get(path, "nodes", lambda path=path: sorted(_yaml_nodes(path).items())))
    declared.update(dict.fromkeys((p.stem for p in domain.seed_files()), "seed"))
    return {**stems, **declared}


def model_names(domain: Domain, cache: Optional[ScanCache] = None) -> set[str]:
    """Every name ref() can reach in the domain: models, versioned models, seeds, snapshots."""
    return set(refable_nodes(domain, cache))


_YAML_KINDS = {"models": "model", "seeds": "seed", "snapshots": "snapshot"}


def _yaml_nodes(path: Path) -> dict[str, str]:
    data = read_yaml(path)
    if not isinstance(data, dict):
        return {}
    found = {}
    for key, kind in _YAML_KINDS.items():
        for entry in data.get(key) or []:
            if isinstance(entry, dict) and entry.get("name"):
                found[str(entry["name"])] = kind
    return found
