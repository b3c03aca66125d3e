"""The build history (.mesh/history.sqlite), `mesh runs`, `mesh runs show` and `mesh status`."""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import mesh_cli
from mesh_cli.state import history, records
from mesh_cli.execution.scheduler import BuildResult
from mesh_cli.core.errors import HistoryError, UnknownBuildError
from mesh_cli.app import BuildOptions, Mesh

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
CORE_NODES = ["model.core.dim_people.v1", "model.core.dim_people.v2", "model.core.secret", "seed.core.raw_people",
              "test.core.assert_people_have_ids", "test.core.unique_dim_people_v1_id.0a85d85cd5",
              "test.core.unique_dim_people_v2_id.e28860a8b4"]
SALES_NODES = ["model.sales.fct_sales", "model.sales.old_sales", "model.sales.one_arg"]


NODE_LINE = re.compile(r"^ (success|pass|error|fail|warn|skipped) (model|seed|snapshot|test)\.")


def masked(text: str) -> str:
    """Times and durations vary from run to run; so does the padding of their columns."""
    text = re.sub(r"\b\d+\.\d+s\b", "<s>", TIME.sub("<time>", text))
    return "\n".join(re.sub(" +", " ", line).rstrip() for line in text.splitlines())


def db(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / ".mesh" / "history.sqlite")


@pytest.fixture(scope="module")
def failed_build(built_basic: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A copy of the built mesh where core's `secret` model fails; `mesh build --select core+`
    run through the CLI: core fails, sales is skipped. Build 2 of its history."""
    import shutil

    root = tmp_path_factory.mktemp("failed") / "basic"
    shutil.copytree(built_basic, root, ignore=shutil.ignore_patterns("*.duckdb.wal"))
    (root / "domains/core/models/secret.sql").write_text("select x from no_such_table\n")
    result = mesh_cli("build", "--project-dir", str(root), "--select", "core+", "--skip-checks")
    return root, result


# --- recording a build ------------------------------------------------------------------------------


def test_a_successful_build_is_recorded_with_its_domains_and_nodes(built_basic: Path) -> None:
    [build] = records.builds(built_basic)
    assert (build.id, build.status, build.command, build.selection, build.success) == (1, "success", "build", "", True)
    assert build.domains == {"ok": 3, "failed": 0, "skipped": 0, "cancelled": 0}
    assert build.ended_at - build.started_at == pytest.approx(build.elapsed)
    detail = records.build(built_basic, 1)
    assert [(d.domain, d.status, d.message) for d in detail.domains] == [("core", "success", ""), ("ops", "success", ""),
                                                                         ("sales", "success", "")]
    assert detail.domains[0].counts == {"model": {"ok": 3}, "seed": {"ok": 1}, "test": {"ok": 3}}
    assert [m.unique_id for m in detail.models] == CORE_NODES + ["model.ops.heartbeat"] + SALES_NODES
    by_id = {m.unique_id: m for m in detail.models}
    assert {m.status for m in detail.models if m.resource_type == "test"} == {"pass"}
    assert {m.status for m in detail.models if m.resource_type != "test"} == {"success"}
    # DuckDB reports the rows a seed inserted, not those of a model it creates
    assert (by_id["seed.core.raw_people"].rows_affected, by_id["seed.core.raw_people"].message) == (2, "INSERT 2")
    assert by_id["model.core.dim_people.v2"].rows_affected is None
    m = by_id["model.sales.fct_sales"]
    assert m.execution_time > 0 and m.started_at <= m.completed_at
    assert detail.domains[2].started_at <= m.started_at


def test_schema_version_and_stored_artifacts(built_basic: Path) -> None:
    with db(built_basic) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        stored = conn.execute("SELECT run_results_json FROM domain_runs WHERE build_id = 1 AND domain = 'core'").fetchone()[0]
    results = json.loads(stored)["results"]
    assert sorted(r["unique_id"] for r in results) == CORE_NODES
    assert all("compiled_code" not in r for r in results)


def test_a_failed_build_run_through_the_cli_is_recorded(failed_build: tuple[Path, object]) -> None:
    root, result = failed_build
    assert result.exit_code == 1
    assert [(b.id, b.status, b.selection, b.success) for b in records.builds(root)] == [
        (2, "error", "core+", False), (1, "success", "", True)]
    detail = records.build(root, 2)
    assert detail.build.domains == {"ok": 0, "failed": 1, "skipped": 1, "cancelled": 0}
    core, sales = detail.domains
    assert (core.domain, core.status) == ("core", "error")
    assert core.message.startswith("dbt build failed in domain 'core' (exit 1): 1 failed: model.core.secret; ")
    assert (sales.domain, sales.status, sales.started_at, sales.message) == (
        "sales", "skipped", None, "skipped because upstream domain 'core' did not build")
    assert [(m.unique_id, m.status) for m in detail.models][0] == ("model.core.secret", "error")
    assert "no_such_table" in detail.models[0].message
    assert sorted(m.unique_id for m in detail.models) == CORE_NODES
    # sales' target/run_results.json is the one of build 1: a skipped domain has no nodes
    assert (root / "domains/sales/target/run_results.json").is_file()
    with db(root) as conn:
        assert conn.execute("SELECT COUNT(*), MAX(run_results_json) FROM domain_runs d JOIN model_runs m "
                            "USING (build_id, domain) WHERE build_id = 2 AND domain = 'sales'").fetchone() == (0, None)


def test_a_history_that_cannot_be_written_is_a_warning_not_a_failed_build(basic: Path) -> None:
    (basic / ".mesh" / "history.sqlite").mkdir(parents=True)
    mesh = Mesh.load(basic)
    result = mesh.run([], BuildOptions())
    assert result.success
    assert result.warnings == [f"this build was not recorded in the build history: "
                               f"{basic}/.mesh/history.sqlite: cannot use the build history: unable to open database "
                               "file; move the file away to start a new history (builds and their state are not affected)"]


def test_record_creates_the_history_on_first_use(basic: Path) -> None:
    assert records.builds(basic) == []
    assert not (basic / ".mesh").exists()   # reading never creates it
    assert history.record(basic, BuildResult([], 0.5), "build", "core+ --exclude ops", 2) == 1
    assert history.record(basic, BuildResult([], 0.5, cancelled=True), "build", "", 1) == 2
    assert [(b.id, b.status, b.selection) for b in records.builds(basic)] == [(2, "cancelled", ""), (1, "success", "core+ --exclude ops")]
    assert [b.id for b in records.builds(basic, limit=1)] == [2]
    assert history.selection_text(("+sales", "core,ops"), ("ops",)) == "+sales core ops --exclude ops"


def test_a_reader_does_not_block_a_build_being_recorded(basic: Path) -> None:
    history.record(basic, BuildResult([], 0.1), "build", "", 1)
    reader = db(basic)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM builds").fetchone() == (1,)
    began = time.monotonic()
    assert history.record(basic, BuildResult([], 0.1), "build", "", 1) == 2   # WAL: no wait for the reader
    assert time.monotonic() - began < 5
    assert reader.execute("SELECT COUNT(*) FROM builds").fetchone() == (1,)   # the reader's snapshot
    reader.rollback()
    assert reader.execute("SELECT COUNT(*) FROM builds").fetchone() == (2,)
    reader.close()


def test_an_unreadable_history_is_an_error_naming_the_file(basic: Path) -> None:
    path = basic / ".mesh" / "history.sqlite"
    path.parent.mkdir()
    path.write_text("not a database, " * 100)
    result = mesh_cli("runs", "--project-dir", str(basic))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"Error: {path}: cannot use the build history: file is not a database; move the file away "
                             "to start a new history (builds and their state are not affected)\n")
    path.unlink()
    history.record(basic, BuildResult([], 0.1), "build", "", 1)
    with db(basic) as conn:
        conn.execute("UPDATE schema_version SET version = 2")
    with pytest.raises(HistoryError) as raised:
        records.builds(basic)
    assert raised.value.message == (f"{path}: cannot use the build history: its schema is version 2, this mesh reads "
                                    "version 1; upgrade mesh, or move the file away to start a new history")


# --- mesh runs ----------------------------------------------------------------------------------------


def test_runs_lists_builds_newest_first(failed_build: tuple[Path, object]) -> None:
    root, _ = failed_build
    result = mesh_cli("runs", "--project-dir", str(root))
    assert result.exit_code == 0
    assert masked(result.stdout) == (
        "ID STARTED ELAPSED STATUS DOMAINS SELECTION\n"
        "2 <time> <s> error 0 ok, 1 failed, 1 skipped, 0 cancelled core+\n"
        "1 <time> <s> success 3 ok, 0 failed, 0 skipped, 0 cancelled (all)")
    limited = mesh_cli("runs", "--project-dir", str(root), "--limit", "1", "--format", "json")
    [build] = json.loads(limited.stdout)
    assert TIME.fullmatch(build.pop("started_at")) and TIME.fullmatch(build.pop("ended_at"))
    assert build.pop("elapsed") > 0
    assert build == {"id": 2, "status": "error", "command": "build", "selection": "core+", "workers": BuildOptions().workers,
                     "success": False, "domains": {"ok": 0, "failed": 1, "skipped": 1, "cancelled": 0}}


def test_runs_without_history(basic: Path) -> None:
    text = mesh_cli("runs", "--project-dir", str(basic))
    assert (text.exit_code, text.stdout) == (0, f"No build recorded yet in {basic}/.mesh/history.sqlite: run `mesh build`.\n")
    assert mesh_cli("runs", "--project-dir", str(basic), "--format", "json").stdout == "[]\n"
    shown = mesh_cli("runs", "show", "1", "--project-dir", str(basic))
    assert (shown.exit_code, shown.stdout) == (1, "")
    assert shown.stderr == (f"Error: no build 1 in the build history ({basic}/.mesh/history.sqlite); "
                            "no build has been recorded yet: run `mesh build`\n")
    assert not (basic / ".mesh").exists()


# --- mesh runs show -----------------------------------------------------------------------------------


def test_runs_show_a_successful_build(built_basic: Path) -> None:
    result = mesh_cli("runs", "show", "1", "--project-dir", str(built_basic))
    assert result.exit_code == 0
    assert masked(result.stdout) == "\n".join([
        "Build 1: success",
        f" command: mesh build ({BuildOptions().workers} worker{'s' if BuildOptions().workers != 1 else ''})",
        " started: <time>",
        " ended: <time> (<s>)",
        " domains: 3 ok, 0 failed, 0 skipped, 0 cancelled",
        "",
        "Domains:",
        " OK core <time> <s> 1 seed, 3 models, 3 tests",
        " OK ops <time> <s> 1 model",
        " OK sales <time> <s> 3 models",
        "",
        "Nodes (failures first):",
        " success model.core.dim_people.v1 <s> -",
        " success model.core.dim_people.v2 <s> -",
        " success model.core.secret <s> -",
        " success seed.core.raw_people <s> 2 rows",
        " pass test.core.assert_people_have_ids <s> -",
        " pass test.core.unique_dim_people_v1_id.0a85d85cd5 <s> -",
        " pass test.core.unique_dim_people_v2_id.e28860a8b4 <s> -",
        " success model.ops.heartbeat <s> -",
        " success model.sales.fct_sales <s> -",
        " success model.sales.old_sales <s> -",
        " success model.sales.one_arg <s> -",
    ])


def test_runs_show_a_failed_build_failures_first(failed_build: tuple[Path, object]) -> None:
    root, _ = failed_build
    lines = masked(mesh_cli("runs", "show", "2", "--project-dir", str(root)).stdout).splitlines()
    assert lines[0] == "Build 2: error"
    assert lines[1].startswith(" command: mesh build --select core+ (")
    assert lines[6:8] == ["Domains:", " ERROR core <time> <s> 1 seed, 3 models (1 failed), 3 tests"]
    assert lines[8].startswith(" dbt build failed in domain 'core' (exit 1): 1 failed: model.core.secret; ")
    assert lines[9:11] == [" SKIP sales - - not run", " skipped because upstream domain 'core' did not build"]
    assert lines[12] == "Nodes (failures first):"
    assert lines[13:16] == [" error model.core.secret <s> -", " Runtime Error in model secret (models/secret.sql)",
                            " Catalog Error: Table with name no_such_table does not exist!"]
    # What follows the database error's first line is the database's own wording (DuckDB 2.0.1 added a
    # `LINE 5:` line): the failed node's message runs until the next node line.
    nodes = [line for line in lines[13:] if NODE_LINE.match(line)]
    assert nodes == [" error model.core.secret <s> -", " success model.core.dim_people.v1 <s> -",
                     " success model.core.dim_people.v2 <s> -", " success seed.core.raw_people <s> 2 rows",
                     " pass test.core.assert_people_have_ids <s> -",
                     " pass test.core.unique_dim_people_v1_id.0a85d85cd5 <s> -",
                     " pass test.core.unique_dim_people_v2_id.e28860a8b4 <s> -"]


def test_runs_show_json(failed_build: tuple[Path, object]) -> None:
    root, _ = failed_build
    data = json.loads(mesh_cli("runs", "show", "2", "--project-dir", str(root), "--format", "json").stdout)
    assert data["build"]["id"] == 2 and data["build"]["status"] == "error"
    assert [(d["domain"], d["status"]) for d in data["domains"]] == [("core", "error"), ("sales", "skipped")]
    assert data["domains"][1]["started_at"] is None and TIME.fullmatch(data["domains"][0]["started_at"])
    assert data["domains"][0]["counts"] == {"model": {"failed": 1, "ok": 2}, "seed": {"ok": 1}, "test": {"ok": 3}}
    first, seed = data["models"][0], next(m for m in data["models"] if m["resource_type"] == "seed")
    assert (first["unique_id"], first["resource_type"], first["status"], first["rows_affected"]) == (
        "model.core.secret", "model", "error", None)
    assert (seed["unique_id"], seed["status"], seed["rows_affected"], seed["message"]) == (
        "seed.core.raw_people", "success", 2, "INSERT 2")
    assert set(seed) == {"domain", "unique_id", "resource_type", "status", "execution_time", "started_at",
                         "completed_at", "rows_affected", "message"}


def test_runs_show_unknown_id(built_basic: Path) -> None:
    with pytest.raises(UnknownBuildError) as raised:
        records.build(built_basic, 99)
    assert (raised.value.build_id, raised.value.last) == (99, 1)
    result = mesh_cli("runs", "show", "99", "--project-dir", str(built_basic))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"Error: no build 99 in the build history ({built_basic}/.mesh/history.sqlite); "
                             "the last build is 1; `mesh runs` lists the recent ones\n")


# --- mesh status --------------------------------------------------------------------------------------


def test_status_of_a_never_built_mesh(basic: Path) -> None:
    mesh = Mesh.load(basic)
    found = mesh.status(BuildOptions())
    assert [(s.domain, s.last_success, s.stale) for s in found] == [
        ("core", None, "never built"), ("ops", None, "never built"), ("sales", None, "never built")]
    assert mesh._pool is None   # no dbt worker was started
    result = mesh_cli("status", "--project-dir", str(basic))
    assert (result.exit_code, result.stdout) == (0, (
        "DOMAIN  LAST SUCCESS  STATE\n"
        "core    -             stale: never built\n"
        "ops     -             stale: never built\n"
        "sales   -             stale: never built\n"))


def test_status_before_and_after_a_model_file_changes(rebuilt_basic: Path) -> None:
    found = Mesh.load(rebuilt_basic).status(BuildOptions())
    assert [(s.domain, s.last_success.build_id if s.last_success else None, s.stale) for s in found] == [
        ("core", 1, None), ("ops", 1, None), ("sales", 1, None)]
    before = mesh_cli("status", "--project-dir", str(rebuilt_basic))
    assert (before.exit_code, masked(before.stdout)) == (0, (
        "DOMAIN LAST SUCCESS STATE\n"
        "core <time> (build 1) up to date\n"
        "ops <time> (build 1) up to date\n"
        "sales <time> (build 1) up to date"))
    (rebuilt_basic / "domains/core/models/secret.sql").write_text("select 2 as x\n")
    after = mesh_cli("status", "--project-dir", str(rebuilt_basic), "--select", "core+", "--format", "json")
    assert after.exit_code == 0
    data = json.loads(after.stdout)
    assert [(d["domain"], d["up_to_date"], d["reason"], d["last_success"]["build_id"]) for d in data] == [
        ("core", False, "its files changed", 1), ("sales", True, None, 1)]
    assert TIME.fullmatch(data[0]["last_success"]["started_at"])
    text = mesh_cli("status", "--project-dir", str(rebuilt_basic), "--select", "core")
    assert masked(text.stdout) == "DOMAIN LAST SUCCESS STATE\ncore <time> (build 1) stale: its files changed"


def test_last_success_skips_failed_builds(failed_build: tuple[Path, object]) -> None:
    root, _ = failed_build
    last = records.last_success(root, "core")
    assert last is not None and (last.build_id, last.status) == (1, "success")
    assert records.last_success(root, "nobody") is None
    found = {s.domain: s.stale for s in Mesh.load(root).status(BuildOptions())}
    assert found == {"core": "its files changed", "ops": None, "sales": None}


def test_status_imports_no_dbt(built_basic: Path) -> None:
    code = ("import sys; from click.testing import CliRunner; from mesh_cli.cli.main import cli; "
            f"r = CliRunner().invoke(cli, ['status', '--project-dir', {str(built_basic)!r}]); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in sys.modules if m == 'dbt' or m.startswith('dbt.')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (run.returncode, run.stdout, run.stderr) == (0, "[]\n", "")
