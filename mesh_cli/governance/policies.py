"""Governance policies over a domain's dbt manifest: contracts, docs, owners, keys, personal data, naming.

Pure functions over the manifest dict (plus reading the YAML files that declare models, to point at a
line), so they import neither dbt nor click."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from mesh_cli.governance.findings import Finding
from mesh_cli.governance.policy import Policy
from mesh_cli.state.nodes import is_pii, merged_meta

# Rules about what a model's YAML declares point at the YAML; the others at the model's SQL.
_SQL_RULES = {"pii.exposed", "naming.layer"}
_UNIQUE = {"unique", "primary_key"}          # constraint types that make a column unique
_NOT_NULL = {"not_null", "primary_key"}      # constraint types that make a column not null


@dataclass(frozen=True)
class _Issue:
    rule: str
    message: str
    column: str = ""
    fix: Optional[str] = None
    sql_line: Optional[int] = None


def check_manifest(domain: str, manifest: dict[str, Any], project_dir: Path, policy: Policy) -> list[Finding]:
    """Every governance finding on the models of `domain` (its own package) in its dbt manifest."""
    nodes = manifest.get("nodes") or {}
    lookup = {**nodes, **(manifest.get("sources") or {})}
    tests = _tests_by_model(nodes)
    personal = _PersonalData(lookup)
    patterns = policy.patterns()
    yaml_texts: dict[Path, Optional[str]] = {}
    found: list[tuple[tuple[str, str, str, str], Finding]] = []
    for node in nodes.values():
        if node.get("resource_type") != "model" or node.get("package_name") != domain:
            continue
        issues = [
            *_contract(node), *_description(node), *_owner(node, manifest), *_primary_key(node, tests),
            *_pii(node, personal), *_naming(node, patterns),
        ]
        for issue in issues:
            if issue.rule in _SQL_RULES:
                file, line = _sql_file(node, project_dir), issue.sql_line
            else:
                file, line = _yaml_place(node, project_dir, yaml_texts)
            finding = policy.finding(issue.rule, domain, issue.message, model=node["name"], file=file,
                                     line=line, fix=issue.fix)
            if finding is not None:
                version = "" if node.get("version") is None else str(node["version"])
                found.append(((node["name"], version, issue.rule, issue.column), finding))
    return [finding for _, finding in sorted(found, key=lambda pair: pair[0])]


# --- the rules ---------------------------------------------------------------------------------

def _contract(node: dict[str, Any]) -> list[_Issue]:
    label = _label(node)
    if not _enforced(node):
        if _public(node):
            return [_Issue("contract.enforced", f"public model {label} has no enforced contract")]
        return []
    return [
        _Issue("contract.data-types", f"model {label} has an enforced contract but column '{name}' has no data_type",
               column=name, fix=f"Add `data_type:` to column '{name}' of {label}.")
        for name, column in sorted((node.get("columns") or {}).items()) if not column.get("data_type")
    ]


def _description(node: dict[str, Any]) -> list[_Issue]:
    if _public(node) and not (node.get("description") or "").strip():
        return [_Issue("docs.description", f"public model {_label(node)} has no description")]
    return []


def _owner(node: dict[str, Any], manifest: dict[str, Any]) -> list[_Issue]:
    if not _public(node):
        return []
    label, group = _label(node), node.get("group")
    if not group:
        return [_Issue("owner.group", f"public model {label} has no group")]
    declared = (manifest.get("groups") or {}).get(f"group.{node['package_name']}.{group}") or {}
    if (declared.get("owner") or {}).get("email"):
        return []
    where = f" in {declared['original_file_path']}" if declared.get("original_file_path") else ""
    return [_Issue("owner.group", f"public model {label} is in group '{group}', whose owner has no email",
                   fix=f"Add `email:` to the owner of group '{group}'{where}.")]


def _primary_key(node: dict[str, Any], tests: dict[str, list[dict[str, Any]]]) -> list[_Issue]:
    if not _public(node):
        return []
    # A key is a set of columns declared unique together; a model-level constraint may span several
    # columns (a composite primary key), which counts as a key when every one of them is not null.
    keys: list[frozenset[str]] = []
    not_null: set[str] = set()
    for name, column in (node.get("columns") or {}).items():
        types = {c.get("type") for c in column.get("constraints") or []}
        if types & _UNIQUE:
            keys.append(frozenset({name.lower()}))
        if types & _NOT_NULL:
            not_null.add(name.lower())
    for constraint in node.get("constraints") or []:
        columns = frozenset(c.lower() for c in constraint.get("columns") or [])
        if constraint.get("type") in _UNIQUE and columns:
            keys.append(columns)
        if constraint.get("type") in _NOT_NULL:
            not_null |= columns
    for test in tests.get(node["unique_id"], []):
        name, column = (test.get("test_metadata") or {}).get("name"), (test.get("column_name") or "").lower()
        if column and name == "unique":
            keys.append(frozenset({column}))
        elif column and name == "not_null":
            not_null.add(column)
    if any(key <= not_null for key in keys):
        return []
    nullable = sorted({c for key in keys if len(key) == 1 for c in key} - not_null)
    fix = f"Add a not_null test or constraint to '{nullable[0]}'." if nullable else None
    return [_Issue("model.primary-key",
                   f"public model {_label(node)} has no primary key: no column is both unique and not null",
                   fix=fix)]


def _pii(node: dict[str, Any], personal: _PersonalData) -> list[_Issue]:
    if not _public(node):
        return []
    label, raw_code = _label(node), node.get("raw_code") or ""
    issues = []
    for name, origin in sorted(personal.exposed(node).items()):
        source = f" (from '{origin}')" if origin else ""
        example = f", e.g. {{{{ mesh_macros.mask_email('{name}') }}}}" if "email" in name.lower() else ""
        issues.append(_Issue(
            "pii.exposed", f"public model {label} exposes personal-data column '{name}'{source} without masking",
            column=name, sql_line=_column_line(raw_code, name),
            fix=f"Mask '{name}' with a mesh_macros.mask_* macro{example}, or drop it from {label}."))
    return issues


def _naming(node: dict[str, Any], patterns: dict[str, str]) -> list[_Issue]:
    layer = _layer(node, patterns)
    pattern = patterns.get(layer) if layer else None
    if pattern is None or re.search(pattern, node["name"]):
        return []
    return [_Issue("naming.layer",
                   f"model {_label(node)} in layer '{layer}' does not match the naming pattern '{pattern}'",
                   fix=f"Rename '{node['name']}' to match '{pattern}', the naming pattern of layer '{layer}'.")]


# --- personal data -----------------------------------------------------------------------------

class _PersonalData:
    """Which columns of a node hold personal data: marked so on the node, or passed through under the
    same name, unmasked, from a node it depends on. Memoised, as lineage is shared between models."""

    def __init__(self, lookup: dict[str, dict[str, Any]]) -> None:
        self.lookup = lookup
        self.memo: dict[str, dict[str, Optional[str]]] = {}

    def exposed(self, node: dict[str, Any]) -> dict[str, Optional[str]]:
        """Unmasked personal-data columns of `node`, each with the upstream it came from (None: its own mark)."""
        uid = node.get("unique_id") or ""
        if uid in self.memo:
            return self.memo[uid]
        self.memo[uid] = {}  # a cycle (never in a valid manifest) must not recurse forever
        columns = node.get("columns") or {}
        upstream: dict[str, str] = {}
        for parent_id in sorted((node.get("depends_on") or {}).get("nodes") or []):
            parent = self.lookup.get(parent_id)
            if parent is not None:
                for name in self.exposed(parent):
                    upstream.setdefault(name.lower(), _node_name(parent, node.get("package_name")))
        result: dict[str, Optional[str]] = {}
        for name, column in columns.items():
            if _masked(node, name, column):
                continue
            if _marked(column):
                result[name] = None
            elif name.lower() in upstream:
                result[name] = upstream[name.lower()]
        self.memo[uid] = result
        return result


def _marked(column: dict[str, Any]) -> bool:
    return is_pii(column)


def _masked(node: dict[str, Any], name: str, column: dict[str, Any]) -> bool:
    if merged_meta(column).get("masked") is True:
        return True
    # mask_email('email'), mesh_macros.mask_email('c.email'), mask_phone(email, ...): any mask_* macro
    # whose first argument is the column, bare, quoted or qualified by a table alias.
    call = rf"\bmask_\w*\s*\(\s*['\"]?(?:\w+\.)*\"?{re.escape(name)}\"?['\"]?\s*[,)]"
    return re.search(call, node.get("raw_code") or "", re.IGNORECASE) is not None


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

def _tests_by_model(nodes: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    tests: dict[str, list[dict[str, Any]]] = {}
    for node in nodes.values():
        if node.get("resource_type") == "test" and node.get("attached_node"):
            tests.setdefault(node["attached_node"], []).append(node)
    return tests


def _layer(node: dict[str, Any], patterns: dict[str, str]) -> Optional[str]:
    if _public(node):
        return "public"
    # The first part is the model path (models/); the file name is not a folder.
    folders = Path(node.get("original_file_path") or "").parts[1:-1]
    return next((folder for folder in folders if folder in patterns), None)


def _sql_file(node: dict[str, Any], project_dir: Path) -> Optional[Path]:
    path = node.get("original_file_path")
    return project_dir / path if path else None


def _yaml_place(node: dict[str, Any], project_dir: Path,
                texts: dict[Path, Optional[str]]) -> tuple[Optional[Path], Optional[int]]:
    """The YAML file declaring the model and the line of its `- name:` entry; its SQL file when no YAML
    declares it (e.g. access set in a config() block)."""
    patch = node.get("patch_path")
    if not patch:
        return _sql_file(node, project_dir), None
    file = project_dir / patch.split("://", 1)[-1]
    if file not in texts:
        texts[file] = file.read_text(encoding="utf-8") if file.is_file() else None
    text = texts[file]
    return file, (_yaml_line(text, node["name"]) if text is not None else None)


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

def _public(node: dict[str, Any]) -> bool:
    return node.get("access") == "public"


def _enforced(node: dict[str, Any]) -> bool:
    contract = node.get("contract") or ((node.get("config") or {}).get("contract")) or {}
    return contract.get("enforced") is True


def _label(node: dict[str, Any]) -> str:
    version = node.get("version")
    return f"'{node['name']}'" + ("" if version is None else f" v{version}")


def _node_name(node: dict[str, Any], package: Optional[str]) -> str:
    """A node's name as a message shows it: a source by its source, another domain's model by its domain."""
    if node.get("resource_type") == "source":
        return f"{node.get('source_name')}.{node['name']}"
    own = node.get("package_name") in (None, package)
    return node["name"] if own else f"{node['package_name']}.{node['name']}"
