"""A step that raises inside the runner is reported as itself, after the steps that succeeded."""
from __future__ import annotations

import json
from pathlib import Path

from mesh_cli.app import BuildOptions, Mesh


def test_the_step_that_raised_is_blamed_not_the_first(basic: Path) -> None:
    with Mesh.load(basic) as mesh:
        options = BuildOptions(select=("core",), workers=1)
        [task] = mesh.plan(options)
        assert task.spec["steps"] == ["seed", "build"]   # never built: dbt seed runs first
        # Not a list of selection words: the runner's own code raises while preparing `dbt build`,
        # after a real `dbt seed` succeeded.
        task.spec["select"] = 5
        result = mesh.run([task], options)
    [core] = result.domains
    log = basic / ".mesh/logs/core.log"
    assert (core.status, core.message) == ("error", (
        "dbt build failed in domain 'core' (exit 2): TypeError('Value after * must be an iterable, not int'); "
        f"see the log: {log}"))
    outcome = json.loads((basic / ".mesh/logs/core.result.json").read_text())
    assert outcome["steps"] == [
        {"command": "seed", "exit_code": 0, "exception": None},
        {"command": "build", "exit_code": 2, "exception": "TypeError('Value after * must be an iterable, not int')"},
    ]
    assert "mesh: dbt seed " in log.read_text()


def test_a_raise_after_every_step_is_blamed_on_the_catalog(basic: Path) -> None:
    with Mesh.load(basic) as mesh:
        options = BuildOptions(select=("ops",), workers=1)
        [task] = mesh.plan(options)
        assert task.spec["steps"] == ["build"]
        task.spec["catalog"] = 5   # read after dbt build succeeded, for `dbt docs generate`
        result = mesh.run([task], options)
    [ops] = result.domains
    assert (ops.status, ops.message) == ("error", (
        "dbt docs generate failed in domain 'ops' (exit 2): TypeError('Value after * must be an iterable, not int'); "
        f"see the log: {basic / '.mesh/logs/ops.log'}"))
    outcome = json.loads((basic / ".mesh/logs/ops.result.json").read_text())
    assert [(s["command"], s["exit_code"]) for s in outcome["steps"]] == [("build", 0), ("docs generate", 2)]
