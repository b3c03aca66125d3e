"""A private model referenced from outside its group: dbt refuses the parse with a DbtReferenceError,
whose fields the worker sends back; `mesh check` reports the rule from those fields, not dbt's wording."""
from __future__ import annotations

import json
from pathlib import Path

from mesh_cli.app import Mesh
from mesh_cli.core.results import DomainResult
from mesh_cli.core.status import DomainStatus
from mesh_cli.governance.check import _parse_finding

REFERENCE = {"node": "model.core.report", "target": "model.core.secret", "access": "private", "scope": "core_team"}


def _report_outside_the_group(basic: Path) -> None:
    schema = basic / "domains/core/models/schema.yml"
    text = schema.read_text().replace(
        "groups:\n", "groups:\n  - name: analysts\n    owner: {name: Analysts, email: analysts@example.com}\n")
    schema.write_text(text + "  - name: report\n    group: analysts\n")
    (basic / "domains/core/models/report.sql").write_text("select 1 as id\nfrom {{ ref('secret') }}\n")


def test_the_worker_sends_dbts_fields_for_a_refused_ref(basic: Path) -> None:
    _report_outside_the_group(basic)
    report = Mesh.load(basic).check()
    outcome = json.loads((basic / ".mesh/logs/check/core.result.json").read_text())
    [parse] = outcome["steps"]
    assert (parse["command"], parse["exit_code"], parse["reference"]) == ("parse", 2, REFERENCE)
    [finding] = [f for f in report.findings if f.domain == "core"]
    assert (finding.rule, finding.model, finding.file, finding.line) == (
        "access.group", "report", basic / "domains/core/models/report.sql", 2)


def _parse_failed(log: Path, reference: dict[str, str]) -> DomainResult:
    # dbt's text is not what the finding is read from: this message says nothing of groups
    return DomainResult("core", DomainStatus.ERROR, 1.0, 0.0, message=f"dbt parse failed: (reworded); see the log: {log}",
                        log=log, outcome={"steps": [{"command": "parse", "exit_code": 2, "exception": "(reworded)",
                                                     "reference": reference}], "invocations": []})


def test_the_finding_is_built_from_the_fields(basic: Path) -> None:
    _report_outside_the_group(basic)
    mesh = Mesh.load(basic)
    log = basic / "core.log"
    finding = _parse_finding(mesh.context, mesh.policy, _parse_failed(log, REFERENCE))
    assert finding is not None
    assert (finding.rule, finding.model, finding.file, finding.line, finding.message, finding.fix) == (
        "access.group", "report", basic / "domains/core/models/report.sql", 2,
        "model 'report' refs 'secret', which is private to group 'core_team'",
        "Put 'report' in group 'core_team', or make 'secret' protected.")
    # dbt refuses a protected ref too (from another package): that is no group rule, just dbt's parse error
    protected = _parse_finding(mesh.context, mesh.policy, _parse_failed(log, {**REFERENCE, "access": "protected",
                                                                              "scope": "core"}))
    assert protected is not None and (protected.rule, protected.message) == ("dbt.parse", "dbt parse failed: (reworded)")
