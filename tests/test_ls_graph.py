"""`mesh ls` and `mesh graph` in every format."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import mesh_cli


def test_ls_text(built_basic: Path) -> None:
    result = mesh_cli("ls", "--project-dir", str(built_basic))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "core  (domains/core)  owner: Core <core@example.com>",
        "  upstreams:   -",
        "  downstreams: sales",
        "  public models:",
        "    dim_people v1  contract enforced deprecated 2027-01-01",
        "    dim_people v2 (latest)  contract enforced",
        "ops  (domains/ops)",
        "  upstreams:   -",
        "  downstreams: -",
        "  public models: none",
        "sales  (domains/sales)  owner: Sales <sales@example.com>",
        "  upstreams:   core",
        "  downstreams: -",
        "  public models: none",
    ]


def test_ls_before_any_build_and_json(basic: Path) -> None:
    result = mesh_cli("ls", "--project-dir", str(basic), "--select", "core+", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [(d["name"], d["built"], d["upstreams"], d["downstreams"]) for d in data] == [
        ("core", False, [], ["sales"]), ("sales", False, ["core"], [])]
    assert data[0]["owner"] == {"team": "Core", "email": "core@example.com"}
    text = mesh_cli("ls", "--project-dir", str(basic), "-s", "ops").stdout
    assert "  public models: unknown until built (mesh build)" in text


def test_ls_json_lists_versions_and_contracts(built_basic: Path) -> None:
    data = json.loads(mesh_cli("ls", "--project-dir", str(built_basic), "--format", "json").stdout)
    core = data[0]["public_models"]
    assert [(m["name"], m["version"], m["contract_enforced"], m["deprecation_date"]) for m in core] == [
        ("dim_people", 1, True, "2027-01-01T00:00:00+00:00"), ("dim_people", 2, True, None)]


def test_graph_formats(basic: Path) -> None:
    text = mesh_cli("graph", "--project-dir", str(basic))
    assert text.exit_code == 0
    assert text.stdout.splitlines() == [
        "3 domains in build order: core, ops, sales",
        "core -> sales: dim_people, dim_people.v1",
    ]
    data = json.loads(mesh_cli("graph", "--project-dir", str(basic), "--format", "json").stdout)
    assert data == {"domains": ["core", "ops", "sales"], "external": [], "edges": [
        {"upstream": "core", "downstream": "sales", "models": ["dim_people", "dim_people.v1"],
         "kinds": ["declared", "ref"]}]}
    dot = mesh_cli("graph", "--project-dir", str(basic), "--format", "dot").stdout
    assert '  "core" -> "sales" [label="dim_people, dim_people.v1"];' in dot.splitlines()
    mermaid = mesh_cli("graph", "--project-dir", str(basic), "--format", "mermaid").stdout
    assert mermaid.splitlines() == ["graph LR", "  ops", '  core -->|"dim_people, dim_people.v1"| sales']
