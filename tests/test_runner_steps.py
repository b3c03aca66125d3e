"""A step that raises inside the runner is reported as itself, after the steps that succeeded.

The worker validates every job it reads, so a bad value cannot reach it through the pool: these
tests run the worker's own entry, run_job, in this process, on a job built without validation
(pydantic's model_construct), with real dbt underneath."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb

from conftest import mesh_cli
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.execution.plan import WorkerJob
from mesh_cli.execution.runner import run_job

RAISED = "TypeError('Value after * must be an iterable, not int')"
# A model of core that reads its seed through source(): dbt build does not run the seed first.
SOURCES = """version: 2
sources:
  - name: landed
    schema: main
    tables:
      - name: raw_people
"""


def read_seed_through_source(root: Path) -> None:
    (root / "domains/core/models/sources.yml").write_text(SOURCES)
    (root / "domains/core/models/people_landed.sql").write_text("select * from {{ source('landed', 'raw_people') }}\n")


def _job(mesh: Mesh, domain: str, **dbt: object) -> WorkerJob:
    [plan] = mesh.plan(BuildOptions(select=(domain,), workers=1))
    logs = mesh.context.layout.logs
    logs.mkdir(parents=True, exist_ok=True)
    mesh.storage(domain).database.parent.mkdir(parents=True, exist_ok=True)
    return WorkerJob.model_construct(
        schema_version=2, domain=domain, dbt=plan.dbt.model_construct(**{**dict(plan.dbt), **dbt}),
        env={**plan.env, "MESH_DUCKDB_PATH": str(mesh.storage(domain).database)}, packages=plan.packages,
        cwd=plan.project_dir, log=logs / f"{domain}.log", target_dir=plan.target_dir,
        result_file=logs / f"{domain}.result.json")


def test_the_step_that_raised_is_blamed_not_the_first(basic: Path) -> None:
    read_seed_through_source(basic)
    mesh = Mesh.load(basic)
    [plan] = mesh.plan(BuildOptions(select=("core",), workers=1))
    assert plan.dbt.steps == ("seed", "build")   # never built: dbt seed runs first
    # Not a list of selection words: the runner's own code raises while preparing `dbt build`,
    # after a real `dbt parse` and `dbt seed` succeeded.
    reply, held = run_job(_job(mesh, "core", select=5))
    assert held is None
    assert [s.model_dump() for s in reply.steps] == [
        {"command": "parse", "exit_code": 0, "exception": None, "reference": None},
        {"command": "seed", "exit_code": 0, "exception": None, "reference": None},
        {"command": "build", "exit_code": 2, "exception": RAISED, "reference": None},
    ]
    written = json.loads((basic / ".mesh/logs/core.result.json").read_text())
    assert [(s["command"], s["exit_code"]) for s in written["steps"]] == [("parse", 0), ("seed", 0), ("build", 2)]
    with duckdb.connect(str(mesh.storage("core").database), read_only=True) as con:   # the seed did run
        assert con.execute("select count(*) from main.raw_people").fetchall() == [(2,)]


def test_a_raise_after_every_step_is_blamed_on_the_catalog(basic: Path) -> None:
    mesh = Mesh.load(basic)
    [plan] = mesh.plan(BuildOptions(select=("ops",), workers=1))
    assert plan.dbt.steps == ("build",)
    reply, _ = run_job(_job(mesh, "ops", catalog=5))   # read after dbt build succeeded, for `dbt docs generate`
    assert [(s.command, s.exit_code, s.exception) for s in reply.steps] == [
        ("parse", 0, None), ("build", 0, None), ("docs generate", 2, RAISED)]


def _dbt_lines(log: Path) -> list[str]:
    return [line.split(" --", 1)[0] for line in log.read_text().splitlines() if line.startswith("mesh: dbt ")]


def test_a_first_build_seeds_first_only_when_a_source_reads_a_seed(basic: Path) -> None:
    result = mesh_cli("build", "--skip-checks", "--select", "core", "--project-dir", str(basic))
    assert result.exit_code == 0, result.output
    # dbt build orders core's seed before the models that ref it: one invocation after the parse
    assert _dbt_lines(basic / ".mesh/logs/core.log") == ["mesh: dbt parse", "mesh: dbt build"]
    read_seed_through_source(basic)
    (basic / ".mesh").rename(basic / "first")   # never built again: an empty warehouse
    result = mesh_cli("build", "--skip-checks", "--select", "core", "--project-dir", str(basic))
    assert result.exit_code == 0, result.output
    assert _dbt_lines(basic / ".mesh/logs/core.log") == ["mesh: dbt parse", "mesh: dbt seed", "mesh: dbt build"]
    with duckdb.connect(str(basic / ".mesh/warehouse/core.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from main.people_landed").fetchall() == [(2,)]
