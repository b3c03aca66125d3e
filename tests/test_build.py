"""`mesh build` on real fixture meshes: real dbt, real DuckDB files."""
from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from conftest import WORKERS, mesh_cli
from mesh_cli.core.errors import AccessViolationError, CycleError, NotBuiltError, Violations
from mesh_cli.app import BuildOptions, Mesh, default_workers

TIME = r"\[\d+\.\d+s\]"


def test_build_writes_each_domain_into_its_own_file(built_basic: Path) -> None:
    warehouse = built_basic / ".mesh" / "warehouse"
    assert sorted(p.name for p in warehouse.glob("*.duckdb")) == ["core.duckdb", "ops.duckdb", "sales.duckdb"]
    with duckdb.connect(str(warehouse / "core.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from main.dim_people_v2").fetchall() == [(2,)]
    with duckdb.connect(str(warehouse / "sales.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert {"fct_sales", "old_sales", "one_arg"} <= tables
    assert "dim_people_v2" not in tables  # core's models live only in core's file


def test_build_publishes_interfaces_and_run_results(built_basic: Path) -> None:
    interface = json.loads((built_basic / ".mesh/state/core/interface.json").read_text())
    public = [(m["name"], m["version"], m["contract_enforced"]) for m in interface["models"] if m["access"] == "public"]
    assert public == [("dim_people", 1, True), ("dim_people", 2, True)]
    assert interface["groups"]["core_team"]["owner"]["email"] == "core@example.com"
    results = json.loads((built_basic / ".mesh/run_results.json").read_text())
    assert results["success"] is True
    assert [(d["domain"], d["status"]) for d in results["domains"]] == [
        ("core", "success"), ("ops", "success"), ("sales", "success")]
    core = results["domains"][0]["counts"]
    assert core == {"seed": {"ok": 1}, "model": {"ok": 3}, "test": {"ok": 3}}


def test_consumer_on_old_version_gets_dbt_deprecation_warning(built_basic: Path) -> None:
    log = (built_basic / ".mesh/logs/sales.log").read_text()
    assert "Found a reference to dim_people.v1, which is slated for deprecation on '2027-01-01" in log


def test_second_build_succeeds_with_one_line_per_domain(rebuilt_basic: Path) -> None:
    result = mesh_cli("build", "--project-dir", str(rebuilt_basic))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "mesh check: 0 errors, 3 warnings in 3 domains"
    assert lines[1] == f"Building 3 domains (core, ops, sales) with {WORKERS}"
    # Lines come as domains start and finish: each domain's START before its end, domains start in
    # the plan's order, sales only after core finished, and core and ops (independent) run at once
    # when there are workers for both: never more at once than the workers.
    events = [(l.split()[0], l.split()[1]) for l in lines[2:-1]]
    assert [d for e, d in events if e == "START"] == ["core", "ops", "sales"]
    assert sorted(d for e, d in events if e == "OK") == ["core", "ops", "sales"]
    assert all(events.index(("START", d)) < events.index(("OK", d)) for d in ("core", "ops", "sales"))
    assert events.index(("START", "sales")) > events.index(("OK", "core"))
    running = [sum(1 if e == "START" else -1 for e, _ in events[:i + 1]) for i in range(len(events))]
    assert max(running) == min(default_workers(), 2), lines
    lines = [l for l in lines if not l.startswith("START ")]
    assert any(re.fullmatch(rf"OK    core         1 seed, 3 models, 3 tests  {TIME}", l) for l in lines)
    assert any(re.fullmatch(rf"OK    ops          1 model  {TIME}", l) for l in lines)
    assert any(re.fullmatch(rf"OK    sales        3 models  {TIME}", l) for l in lines)
    assert re.fullmatch(r"Done in \d+\.\d+s: 3 succeeded, 0 failed, 0 skipped", lines[5])
    assert result.stderr == ""


def test_failed_domain_skips_downstream_but_not_independent(basic: Path) -> None:
    (basic / "domains/core/tests/always_fails.sql").write_text("select 1 as bad\n")
    result = mesh_cli("build", "--project-dir", str(basic))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(re.fullmatch(rf"ERROR core         1 seed, 3 models, 4 tests \(1 failed\)  {TIME}", l) for l in lines)
    assert "SKIP  sales        skipped because upstream domain 'core' did not build" in lines
    assert any(re.fullmatch(rf"OK    ops          1 model  {TIME}", l) for l in lines)
    assert result.stderr == (f"Error: dbt build failed in domain 'core' (exit 1): 1 failed: test.core.always_fails; "
                             f"see the log: {basic}/.mesh/logs/core.log\n")
    # A failed build publishes nothing: consumers keep reading the last good interface.
    assert not (basic / ".mesh/state/core").exists()


def test_build_json_format(rebuilt_basic: Path) -> None:
    result = mesh_cli("build", "--project-dir", str(rebuilt_basic), "--select", "ops", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["success"] is True
    assert [(d["domain"], d["status"], d["counts"]) for d in data["domains"]] == [
        ("ops", "success", {"model": {"ok": 1}})]


def test_upstream_files_are_attached_read_only(rebuilt_basic: Path) -> None:
    (rebuilt_basic / "domains/sales/models/writer.sql").write_text(
        "{{ config(post_hook=\"insert into core.main.raw_people values (3, 'Eve')\") }}\nselect 1 as x\n")
    result = Mesh.load(rebuilt_basic).build(BuildOptions(select=("sales",)))
    assert [(d.domain, d.status, d.failed_nodes) for d in result.domains] == [("sales", "error", ["model.sales.writer"])]
    log = (rebuilt_basic / ".mesh/logs/sales.log").read_text()
    assert 'Cannot execute statement of type "INSERT" on database "core" which is attached in read-only mode' in log
    with duckdb.connect(str(rebuilt_basic / ".mesh/warehouse/core.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from main.raw_people").fetchall() == [(2,)]


LEAK = "select * from {{ ref('core', 'secret') }}\n"


def test_ref_to_private_model_is_refused_before_anything_runs(rebuilt_basic: Path) -> None:
    (rebuilt_basic / "domains/sales/models/leak.sql").write_text(LEAK)
    expected = (f"{rebuilt_basic}/domains/sales/models/leak.sql:1: domain 'sales' refs 'core.secret', which is private "
                "to group 'core_team' (owner: core@example.com); only public models can be used across domains: "
                "ask the owners of 'core' to make it public (access: public) or use one of its public models")
    with pytest.raises(AccessViolationError) as info:
        Mesh.load(rebuilt_basic).plan(BuildOptions(select=("sales",)))
    assert (info.value.consumer, info.value.producer, info.value.model, info.value.access) == (
        "sales", "core", "secret", "private")
    result = mesh_cli("build", "--project-dir", str(rebuilt_basic), "--select", "sales", "--skip-checks")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "Warning: --skip-checks: access, contract and governance checks were NOT run", f"Error: {expected}"]
    checked = mesh_cli("build", "--project-dir", str(rebuilt_basic), "--select", "sales")
    assert (checked.exit_code, checked.stdout) == (1, "")
    assert checked.stderr.splitlines() == [
        "Error: domains/sales/models/leak.sql:1: [access.cross-domain] domain 'sales': refs 'core.secret', which "
        "is private to group 'core_team' (owner: core@example.com); fix: Only public models can be used across "
        "domains: ask the owners of 'core' to make it public (access: public) or use one of its public models.",
        "Error: mesh check found 1 error; nothing was built: fix it (mesh check lists them) or rerun with "
        "--skip-checks",
    ]


def test_ref_to_private_model_of_a_domain_built_in_the_same_run(basic: Path) -> None:
    (basic / "domains/sales/models/leak.sql").write_text(LEAK)
    result = Mesh.load(basic).build(BuildOptions(select=("core", "sales")))
    sales = result.domains[-1]
    assert (sales.domain, sales.status, sales.started_at) == ("sales", "error", None)
    assert sales.message.endswith("which is private to group 'core_team' (owner: core@example.com); only public "
                                  "models can be used across domains: ask the owners of 'core' to make it public "
                                  "(access: public) or use one of its public models")
    assert not (basic / ".mesh/warehouse/sales.duckdb").exists()


def test_unknown_domain_and_model_are_all_reported(basic: Path) -> None:
    (basic / "domains/sales/models/x.sql").write_text("select * from {{ ref('core', 'nope') }}\n")
    (basic / "domains/sales/models/y.sql").write_text("-- a comment\nselect * from {{ ref('nowhere', 'nope') }}\n")
    with pytest.raises(Violations) as info:
        Mesh.load(basic).plan(BuildOptions())
    assert len(info.value.errors) == 2
    result = mesh_cli("build", "--project-dir", str(basic), "--skip-checks")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        f"Error: {basic}/domains/sales/models/x.sql:1: domain 'sales' refs model 'nope' of domain 'core', which has "
        "no such model; check the name (`mesh ls --select core` lists its public models)",
        f"Error: {basic}/domains/sales/models/y.sql:2: unknown domain 'nowhere'; known domains: core, ops, sales; "
        "fix the first argument of ref('nowhere', 'nope'), or list 'nowhere' under external_domains: in mesh.yml "
        "when it is built in another repository",
    ]
    checked = mesh_cli("build", "--project-dir", str(basic))
    assert checked.stderr.splitlines() == [
        "Error: domains/sales/models/x.sql:1: [ref.unknown] domain 'sales': refs model 'nope' of domain 'core', "
        "which has no such model; fix: Check the name (`mesh ls --select core` lists its public models).",
        "Error: domains/sales/models/y.sql:2: [ref.unknown] domain 'sales': unknown domain 'nowhere'; known "
        "domains: core, ops, sales; fix: Fix the first argument of ref('nowhere', 'nope'), or list 'nowhere' under "
        "external_domains: in mesh.yml when it is built in another repository.",
        "Error: mesh check found 2 errors; nothing was built: fix them (mesh check lists them) or rerun with "
        "--skip-checks",
    ]
    assert not (basic / ".mesh/warehouse").exists()


def test_unknown_version_of_a_published_model(rebuilt_basic: Path) -> None:
    (rebuilt_basic / "domains/sales/models/v9.sql").write_text("select * from {{ ref('core', 'dim_people', v=9) }}\n")
    result = mesh_cli("build", "--project-dir", str(rebuilt_basic), "-s", "sales")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Error: domains/sales/models/v9.sql:1: [ref.unknown] domain 'sales': refs model 'dim_people' version 9 of "
        "domain 'core', which has no such version; fix: Check the name and version (`mesh ls --select core` lists "
        "its public models).")


def test_cycle_between_domains(basic: Path) -> None:
    (basic / "domains/core/models/loop.sql").write_text("select * from {{ ref('sales', 'fct_sales') }}\n")
    with pytest.raises(CycleError) as info:
        Mesh.load(basic).plan(BuildOptions())
    assert info.value.path == ["core", "sales", "core"]
    result = mesh_cli("build", "--project-dir", str(basic), "--skip-checks")
    assert result.stderr.splitlines()[1:] == ["Error: domains depend on each other in a cycle: core -> sales -> "
                                              "core; break it by moving the shared models into one domain"]
    checked = mesh_cli("build", "--project-dir", str(basic))
    assert (checked.exit_code, checked.stderr.splitlines()) == (1, [
        "Error: [graph.cycle] domain 'core': domains depend on each other in a cycle: core -> sales -> core; "
        "fix: Move the shared models into one domain.",
        "Error: mesh check found 1 error; nothing was built: fix it (mesh check lists them) or rerun with "
        "--skip-checks",
    ])


def test_upstream_never_built(basic: Path) -> None:
    with pytest.raises(NotBuiltError):
        Mesh.load(basic).plan(BuildOptions(select=("sales",)))
    result = mesh_cli("build", "--project-dir", str(basic), "--select", "sales")
    assert (result.exit_code, result.stderr) == (1, "Error: domain 'sales' needs domain 'core', which has never been "
                                                    "built; build it first: mesh build --select core (or mesh build "
                                                    "--select +sales)\n")


def test_unknown_selected_domain(basic: Path) -> None:
    result = mesh_cli("build", "--project-dir", str(basic), "--select", "+billing")
    assert (result.exit_code, result.stderr) == (
        2, "Error: unknown domain 'billing'; known domains: core, ops, sales; check --select/--exclude\n")


def test_dbt_deps_failure_names_domain_command_and_log(basic: Path) -> None:
    (basic / "domains/ops/packages.yml").write_text("packages:\n  - local: ../../missing_pkg\n")
    result = mesh_cli("build", "--project-dir", str(basic), "--select", "ops", "--skip-checks")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        f"Error: dbt deps failed in domain 'ops' (exit 2): could not install package '../../missing_pkg': "
        f"No dbt_project.yml found at expected path {basic}/missing_pkg/dbt_project.yml; check it in packages.yml "
        "and that its source can be reached, or vendor it with a package-lock.yml that matches packages.yml "
        f"(mesh then runs no dbt deps); see the log: {basic}/.mesh/logs/ops.log"]


def test_declared_dependency_on_unknown_domain(basic: Path) -> None:
    (basic / "domains/ops/dependencies.yml").write_text("projects:\n  - name: billing\n")
    result = mesh_cli("graph", "--project-dir", str(basic))
    assert (result.exit_code, result.stderr) == (
        1, f"Error: {basic}/domains/ops/dependencies.yml:2: unknown domain 'billing'; known domains: core, "
           "ops, sales; remove it, add that project to the mesh, or list it under external_domains: in mesh.yml when "
           "it is built in another repository\n")


def test_dependencies_yml_entry_without_name(basic: Path) -> None:
    (basic / "domains/ops/dependencies.yml").write_text("projects:\n  - core\n")
    result = mesh_cli("ls", "--project-dir", str(basic))
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {basic}/domains/ops/dependencies.yml: projects[0]: each project needs a name; "
           "write `- name: <project>`\n")


def test_a_worker_that_dies_fails_its_domain_only(basic: Path) -> None:
    (basic / "domains/ops/models/boom.py").write_text(
        "import os\n\n\ndef model(dbt, session):\n    dbt.config(materialized='table')\n    os._exit(3)\n"
        "    return session.sql('select 1 as x')\n")
    result = Mesh.load(basic).build(BuildOptions(workers=1))
    assert [(d.domain, d.status) for d in result.domains] == [("core", "success"), ("ops", "error"), ("sales", "success")]
    ops = result.domains[1]
    assert ops.message == (f"dbt build failed in domain 'ops' (exit 2): the worker process died; "
                           f"see the log: {basic}/.mesh/logs/ops.log")
