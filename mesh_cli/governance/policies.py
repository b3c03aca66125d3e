"""Governance policies over a domain's dbt manifest: contracts, docs, owners, keys, personal data, naming.

Pure functions over the manifest view (plus reading the YAML files that declare models, to point at a
line), so they import neither dbt nor click."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from mesh_cli.governance.findings import Finding
from mesh_cli.governance.policy import Policy
from mesh_cli.state.manifest import Manifest, as_manifest
from mesh_cli.state.nodes import REQUIRED, UNIQUE, Column, DataTest, Node

# Rules about what a model's YAML declares point at the YAML; the others at the model's SQL.
_SQL_RULES = {"pii.exposed", "naming.layer"}


@dataclass(frozen=True)
class _Issue:
    rule: str
    message: str
    column: str = ""
    fix: Optional[str] = None
    sql_line: Optional[int] = None


def check_manifest(domain: str, manifest: Union[Manifest, dict[str, Any]], project_dir: Path,
                   policy: Policy) -> list[Finding]:
    """Every governance finding on the models of `domain` (its own package) in its dbt manifest."""
    view = as_manifest(manifest)
    personal = _PersonalData(view)
    patterns = policy.patterns()
    yaml_texts: dict[Path, Optional[str]] = {}
    found: list[tuple[tuple[str, str, str, str], Finding]] = []
    for node in view.own(domain):
        issues = [
            *_contract(node), *_description(node), *_owner(node, view),
            *_primary_key(node, view.tests_on(node.unique_id)), *_pii(node, personal), *_naming(node, patterns),
        ]
        for issue in issues:
            if issue.rule in _SQL_RULES:
                file, line = _sql_file(node, project_dir), issue.sql_line
            else:
                file, line = _yaml_place(node, project_dir, yaml_texts)
            finding = policy.finding(issue.rule, domain, issue.message, model=node.name, file=file,
                                     line=line, fix=issue.fix)
            if finding is not None:
                found.append(((node.name, node.version_text or "", issue.rule, issue.column), finding))
    return [finding for _, finding in sorted(found, key=lambda pair: pair[0])]


# --- the rules ---------------------------------------------------------------------------------

def _contract(node: Node) -> list[_Issue]:
    label = node.label
    if not node.contract_enforced:
        if node.is_public:
            return [_Issue("contract.enforced", f"public model {label} has no enforced contract")]
        return []
    return [
        _Issue("contract.data-types", f"model {label} has an enforced contract but column '{c.name}' has no data_type",
               column=c.name, fix=f"Add `data_type:` to column '{c.name}' of {label}.")
        for c in sorted(node.columns, key=lambda c: c.name) if not c.data_type
    ]


def _description(node: Node) -> list[_Issue]:
    if node.is_public and not node.description.strip():
        return [_Issue("docs.description", f"public model {node.label} has no description")]
    return []


def _owner(node: Node, manifest: Manifest) -> list[_Issue]:
    if not node.is_public:
        return []
    label, group = node.label, node.group
    if not group:
        return [_Issue("owner.group", f"public model {label} has no group")]
    declared = manifest.group(node.package, group)
    if declared is not None and declared.owner_email:
        return []
    where = f" in {declared.original_file_path}" if declared is not None and declared.original_file_path else ""
    return [_Issue("owner.group", f"public model {label} is in group '{group}', whose owner has no email",
                   fix=f"Add `email:` to the owner of group '{group}'{where}.")]


def _primary_key(node: Node, tests: list[DataTest]) -> list[_Issue]:
    if not node.is_public:
        return []
    # A key is a set of columns declared unique together; a model-level constraint may span several
    # columns (a composite primary key), which counts as a key when every one of them is not null.
    keys: list[frozenset[str]] = []
    not_null: set[str] = set()
    for column in node.columns:
        if column.constraint_types & UNIQUE:
            keys.append(frozenset({column.name.lower()}))
        if column.constraint_types & REQUIRED:
            not_null.add(column.name.lower())
    for constraint in node.constraints:
        columns = frozenset(c.lower() for c in constraint.columns)
        if constraint.type in UNIQUE and columns:
            keys.append(columns)
        if constraint.type in REQUIRED:
            not_null |= columns
    for test in tests:
        if test.column and test.generic == "unique":
            keys.append(frozenset({test.column}))
        elif test.column and test.generic == "not_null":
            not_null.add(test.column)
    if any(key <= not_null for key in keys):
        return []
    nullable = sorted({c for key in keys if len(key) == 1 for c in key} - not_null)
    fix = f"Add a not_null test or constraint to '{nullable[0]}'." if nullable else None
    return [_Issue("model.primary-key",
                   f"public model {node.label} has no primary key: no column is both unique and not null",
                   fix=fix)]


def _pii(node: Node, personal: _PersonalData) -> list[_Issue]:
    if not node.is_public:
        return []
    label, raw_code = node.label, node.raw_code
    issues = []
    for name, origin in sorted(personal.exposed(node).items()):
        source = f" (from '{origin}')" if origin else ""
        example = f", e.g. {{{{ mesh_macros.mask_email('{name}') }}}}" if "email" in name.lower() else ""
        issues.append(_Issue(
            "pii.exposed", f"public model {label} exposes personal-data column '{name}'{source} without masking",
            column=name, sql_line=_column_line(raw_code, name),
            fix=f"Mask '{name}' with a mesh_macros.mask_* macro{example}, or drop it from {label}."))
    return issues


def _naming(node: Node, patterns: dict[str, str]) -> list[_Issue]:
    layer = _layer(node, patterns)
    pattern = patterns.get(layer) if layer else None
    if pattern is None or re.search(pattern, node.name):
        return []
    return [_Issue("naming.layer",
                   f"model {node.label} in layer '{layer}' does not match the naming pattern '{pattern}'",
                   fix=f"Rename '{node.name}' to match '{pattern}', the naming pattern of layer '{layer}'.")]


# --- personal data -----------------------------------------------------------------------------

class _PersonalData:
    """Which columns of a node hold personal data: marked so on the node, or passed through under the
    same name, unmasked, from a node it depends on. Memoised, as lineage is shared between models."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.memo: dict[str, dict[str, Optional[str]]] = {}

    def exposed(self, node: Node) -> dict[str, Optional[str]]:
        """Unmasked personal-data columns of `node`, each with the upstream it came from (None: its own mark)."""
        if node.unique_id in self.memo:
            return self.memo[node.unique_id]
        self.memo[node.unique_id] = {}  # a cycle (never in a valid manifest) must not recurse forever
        upstream: dict[str, str] = {}
        for parent_id in sorted(node.depends_on):
            parent = self.manifest.get(parent_id)
            if parent is not None:
                for name in self.exposed(parent):
                    upstream.setdefault(name.lower(), _node_name(parent, node.package))
        result: dict[str, Optional[str]] = {}
        for column in node.columns:
            if _masked(node, column):
                continue
            if column.pii:
                result[column.name] = None
            elif column.name.lower() in upstream:
                result[column.name] = upstream[column.name.lower()]
        self.memo[node.unique_id] = result
        return result


def _masked(node: Node, column: Column) -> bool:
    if column.masked:
        return True
    # mask_email('email'), mesh_macros.mask_email('c.email'), mask_phone(email, ...): any mask_* macro
    # whose first argument is the column, bare, quoted or qualified by a table alias.
    call = rf"\bmask_\w*\s*\(\s*['\"]?(?:\w+\.)*\"?{re.escape(column.name)}\"?['\"]?\s*[,)]"
    return re.search(call, node.raw_code, re.IGNORECASE) is not None


def _column_line(raw_code: str, name: str) -> Optional[int]:
    """Where the column is selected: its `as <name>` alias, else its first mention outside a comment."""
    lines = raw_code.splitlines()
    word = re.escape(name)
    for pattern in (rf"\bas\s+\"?{word}\"?(?!\w)", rf"(?<!\w){word}(?!\w)"):
        for number, line in enumerate(lines, 1):
            if not line.lstrip().startswith("--") and re.search(pattern, line, re.IGNORECASE):
                return number
    return None


# --- where things are ---------------------------------------------------------------------------

def _layer(node: Node, patterns: dict[str, str]) -> Optional[str]:
    if node.is_public:
        return "public"
    # The first part is the model path (models/); the file name is not a folder.
    folders = Path(node.original_file_path or "").parts[1:-1]
    return next((folder for folder in folders if folder in patterns), None)


def _sql_file(node: Node, project_dir: Path) -> Optional[Path]:
    return project_dir / node.original_file_path if node.original_file_path else None


def _yaml_place(node: Node, project_dir: Path,
                texts: dict[Path, Optional[str]]) -> tuple[Optional[Path], Optional[int]]:
    """The YAML file declaring the model and the line of its `- name:` entry; its SQL file when no YAML
    declares it (e.g. access set in a config() block)."""
    if not node.patch_path:
        return _sql_file(node, project_dir), None
    file = project_dir / node.patch_path.split("://", 1)[-1]
    if file not in texts:
        texts[file] = file.read_text(encoding="utf-8") if file.is_file() else None
    text = texts[file]
    return file, (_yaml_line(text, node.name) if text is not None else None)


def _yaml_line(text: str, name: str) -> Optional[int]:
    """The line of `- name: <name>` under the top-level `models:` key, least indented (columns are
    `- name:` entries too, nested deeper)."""
    entry = re.compile(rf"^(\s*)-\s+name:\s*['\"]?{re.escape(name)}['\"]?\s*(#.*)?$")
    section, best = None, None
    for number, line in enumerate(text.splitlines(), 1):
        top = re.match(r"([A-Za-z_]\w*)\s*:", line)
        if top:
            section = top.group(1)
            continue
        match = entry.match(line)
        if match and section == "models" and (best is None or len(match.group(1)) < best[0]):
            best = (len(match.group(1)), number)
    return best[1] if best else None


# --- node facts ---------------------------------------------------------------------------------

def _node_name(node: Node, package: str) -> str:
    """A node's name as a message shows it: a source by its source, another domain's model by its domain."""
    if node.resource_type == "source":
        return f"{node.source_name}.{node.name}"
    return node.name if node.package in ("", package) else f"{node.package}.{node.name}"
