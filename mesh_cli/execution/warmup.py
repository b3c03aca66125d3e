"""A worker's warm-up: one that has parsed nothing yet, with nothing to do while another worker
parses a domain from scratch, parses that domain too, into a scratch folder, and throws the result
away.

Most of a full parse is the macros of dbt and of the adapter, the same text in every domain, and a
worker keeps what it parsed of them for its later parses (runner.share_parsed_jinja). Without the
warm-up, a second worker's first parse is a full one exactly when the mesh needs it most: at the
start of a cold check, every consumer waits for the root's parse while that worker idles, then parses
its first consumer from scratch (2.4-3.0 s on the deep 20 x 20 benchmark mesh, against 0.3-0.6 s for
the parses after it). Warming up instead uses the core that would have idled."""
from __future__ import annotations

from pathlib import Path

from mesh_cli.execution.plan import DomainPlan, Packages, WorkerJob

SCRATCH = "warm-up"   # under the run's log folder: <logs>/<run>/warm-up/<domain>/
PARTIAL_PARSE_FILE = "partial_parse.msgpack"   # dbt's parse state in a project's target path


def parses_from_scratch(plan: DomainPlan) -> bool:
    """Whether `plan`'s job will parse its domain in full: dbt has no parse state to start from. A
    job that installs packages first is left alone: a parse beside it would read them half-written."""
    steps = plan.dbt.steps
    return ("deps" not in steps and any(s in steps for s in ("parse", "build", "seed"))
            and not (plan.target_dir / PARTIAL_PARSE_FILE).is_file())


def warm_up_job(plan: DomainPlan, work_dir: Path) -> WorkerJob:
    """A parse of `plan`'s domain that touches nothing of it: dbt's target and log paths point into
    the scratch folder, it writes no manifest.json, starts from no parse state, keeps no manifest
    (no manifest_key) and installs no package stubs."""
    scratch = work_dir / SCRATCH / plan.domain
    scratch.mkdir(parents=True, exist_ok=True)
    env = {**plan.env, "DBT_TARGET_PATH": str(scratch / "target"), "DBT_LOG_PATH": str(scratch / "logs"),
           "DBT_PARTIAL_PARSE": "false", "DBT_WRITE_JSON": "false"}
    return WorkerJob(domain=plan.domain, dbt=plan.dbt.model_copy(update={"steps": ("parse",), "manifest_out": None}),
                     env=env, packages=Packages(install_dir=plan.packages.install_dir), cwd=plan.project_dir,
                     log=scratch / "output.log", target_dir=scratch / "target", result_file=scratch / "result.json")
