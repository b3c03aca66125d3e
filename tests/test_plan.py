"""The build plan is data: `mesh build --dry-run` prints it and runs nothing; the worker speaks a
versioned schema and refuses a job of another version."""
from __future__ import annotations

import io
import json
from pathlib import Path

from conftest import WORKERS, mesh_cli
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.execution.plan import DomainPlan, WorkerJob, WorkerReply
from mesh_cli.execution.runner import serve


def test_dry_run_prints_the_plan_and_runs_nothing(basic: Path) -> None:
    result = mesh_cli("build", "--project-dir", str(basic), "--dry-run")
    assert result.exit_code == 0, result.output
    core = ["MESH_DOMAIN=core", "MESH_DUCKDB_ATTACH=[]", f"MESH_DUCKDB_PATH={basic}/.mesh/warehouse/core.duckdb",
            f"MESH_ROOT={basic}", "MESH_UPSTREAMS="]
    assert result.stdout.splitlines()[:14] == [
        f"Plan: 3 domains (core, ops, sales) with {WORKERS}; nothing runs (--dry-run)",
        "core",
        "  waits for:   -",
        "  dbt:         dbt seed --project-dir domains/core --profiles-dir profiles  (if a source reads a seed)",
        "               dbt build --project-dir domains/core --profiles-dir profiles",
        "  storage:     builds .mesh/warehouse/core.duckdb in place; its changes reach the file only on success",
        f"  environment: {core[0]}", *(f"               {line}" for line in core[1:]),
        "  on success:  interface published to .mesh/state/core; fingerprint recorded",
        "  on failure:  its database stays as it was; downstream domains are skipped",
        "ops",
    ]
    sales = result.stdout.splitlines()[result.stdout.splitlines().index("sales"):]
    assert sales[1] == "  waits for:   core"
    attach = [{"path": f"{basic}/.mesh/warehouse/core.duckdb", "alias": "core", "read_only": True}]
    assert f"               MESH_DUCKDB_ATTACH={json.dumps(attach)}" in sales   # core is built before it starts
    assert not (basic / ".mesh/warehouse").exists() and not (basic / ".mesh/logs").exists()


def test_dry_run_json_is_what_the_scheduler_receives(basic: Path) -> None:
    result = mesh_cli("build", "--project-dir", str(basic), "--dry-run", "--select", "+sales", "--format", "json",
                      "--threads", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["version"], [d["domain"] for d in data["domains"]]) == (1, ["core", "sales"])
    sales = data["domains"][1]
    assert sales["dbt"]["invocations"] == [
        ["build", "--project-dir", f"{basic}/domains/sales", "--profiles-dir", f"{basic}/profiles", "--threads", "3"]]
    assert (sales["upstreams"], sales["fingerprint"], sales["only_if_stale"]) == (["core"], True, False)
    plans = Mesh.load(basic).plan(BuildOptions(select=("+sales",), threads=3))
    assert [p.to_dict() for p in plans] == data["domains"]
    assert DomainPlan.model_validate_json(plans[1].model_dump_json()) == plans[1]   # the plan survives JSON whole


def test_a_model_word_plans_a_partial_build_without_a_fingerprint(built_basic: Path) -> None:
    [core, sales] = Mesh.load(built_basic).plan(BuildOptions(select=("core.dim_people.v1+",)))
    assert (core.dbt.select, core.fingerprint, core.dbt.steps) == (("core.dim_people.v1",), False, ("build",))
    assert (sales.dbt.select, sales.upstreams) == (("sales.old_sales",), ("core",))


def test_the_worker_refuses_a_job_of_another_schema_version(basic: Path) -> None:
    [plan] = Mesh.load(basic).plan(BuildOptions(select=("ops",)))
    job = WorkerJob(domain="ops", dbt=plan.dbt, env=plan.env, packages=plan.packages, cwd=plan.project_dir,
                    log=basic / "ops.log", target_dir=plan.target_dir, result_file=basic / "ops.json")
    line = json.dumps({**job.model_dump(mode="json"), "schema_version": 3})
    replies = io.StringIO()
    serve(io.StringIO(line + "\n"), replies)
    reply = WorkerReply.model_validate_json(replies.getvalue())
    [step] = reply.steps
    assert (step.command, step.exit_code) == ("job", 2)
    assert step.exception.startswith("this worker reads job schema version 2: 1 validation error for WorkerJob\n"
                                     "schema_version\n  Input should be 2")
    assert not (basic / "ops.log").exists()   # nothing ran
