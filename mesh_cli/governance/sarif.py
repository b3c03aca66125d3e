"""`mesh check` as SARIF 2.1.0, the format code-scanning services (GitHub's among them) read."""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from mesh_cli.governance.findings import CheckReport, Finding
from mesh_cli.governance.rules import RULES, Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/mesh-cli/mesh"
SRCROOT = "%SRCROOT%"

_LEVELS = {"error": "error", "warn": "warning", "off": "none"}


def to_sarif(report: CheckReport, root: Path, version: str) -> dict[str, Any]:
    """One SARIF log with one run: every rule mesh knows, and a result per finding."""
    rule_ids = sorted(RULES)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mesh",
                "version": version,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(RULES[rule_id]) for rule_id in rule_ids],
            }},
            # Locations are relative to the mesh root so the log stays valid on another checkout.
            "originalUriBaseIds": {SRCROOT: {"uri": _dir_uri(root)}},
            "results": [_result(f, root, index) for f in report.sorted()],
        }],
    }


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": _pascal(rule.id),
        "shortDescription": {"text": rule.summary},
        "help": {"text": rule.fix},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
    }


def _result(finding: Finding, root: Path, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": finding.rule}
    if finding.rule in index:
        result["ruleIndex"] = index[finding.rule]
    result["level"] = _LEVELS.get(finding.severity, "warning")
    result["message"] = {"text": f"{finding.message} Fix: {finding.fix}"}
    if finding.file is not None:
        physical: dict[str, Any] = {"artifactLocation": _artifact(finding.file, root)}
        if finding.line:  # SARIF lines start at 1; 0 or None means the whole file
            physical["region"] = {"startLine": finding.line}
        result["locations"] = [{"physicalLocation": physical}]
    properties = {"domain": finding.domain}
    if finding.model is not None:
        properties["model"] = finding.model
    result["properties"] = properties
    return result


def _artifact(file: Path, root: Path) -> dict[str, str]:
    if file.is_absolute() and not file.is_relative_to(root):
        return {"uri": file.as_uri()}   # outside the mesh: no base to be relative to
    relative = file.relative_to(root) if file.is_absolute() else file
    # A URI reference: forward slashes, and spaces or other reserved characters escaped.
    return {"uri": quote(relative.as_posix(), safe="/"), "uriBaseId": SRCROOT}


def _dir_uri(root: Path) -> str:
    # SARIF requires a base URI to end with a slash, or relative URIs resolve against its parent.
    uri = root.absolute().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _pascal(rule_id: str) -> str:
    """access.cross-domain -> AccessCrossDomain, the friendly-name style SARIF viewers expect."""
    words = rule_id.replace("-", ".").split(".")
    return "".join(w[:1].upper() + w[1:] for w in words)
