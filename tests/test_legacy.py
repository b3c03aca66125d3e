"""An existing mesh written without mesh: no mesh.yml, own profiles, one shared DuckDB file,
dbt-loom config instead of dependencies.yml, and a project installed by another as a package."""
from __future__ import annotations

from pathlib import Path

import duckdb

from conftest import copy_fixture, mesh_cli
from mesh_cli.app import BuildOptions, Mesh


def test_existing_mesh_runs_as_it_is(tmp_path: Path) -> None:
    root = copy_fixture("legacy", tmp_path)
    mesh = Mesh.load(root)
    core, marts = mesh.storage("jaffle_core"), mesh.storage("jaffle_marts")
    # Each project keeps its own profile; both point at ../warehouse.duckdb, resolved from their folders.
    assert (core.managed, core.profiles_dir, core.database) == (False, root / "jaffle_core", root / "warehouse.duckdb")
    assert core.key == marts.key
    assert mesh.graph.edges() == [("jaffle_core", "jaffle_marts", ["base_orders"], ["dbt_loom", "ref"])]

    result = mesh_cli("build", "--project-dir", str(root), "--workers", "2")
    assert result.exit_code == 0, result.output + result.stderr
    runs = {d.domain: d for d in Mesh.load(root).build().domains}
    assert not (root / ".mesh/warehouse").exists()  # nothing written outside the projects' own storage
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select order_id, doubled from main.order_totals order by 1").fetchall()
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert rows == [(1, 21.0), (2, 40.0)]
    assert {"base_orders", "order_totals", "util_model"} <= tables
    # The package's model is built by its installer only: there is no shared_utils domain.
    assert [d for d in runs] == ["jaffle_core", "jaffle_marts"]
    # One writer per DuckDB file: the two runs never overlap.
    core_run, marts_run = runs["jaffle_core"], runs["jaffle_marts"]
    assert core_run.started_at + core_run.elapsed <= marts_run.started_at


def test_independent_projects_sharing_a_file_are_serialised(tmp_path: Path) -> None:
    root = copy_fixture("legacy", tmp_path)
    (root / "jaffle_marts/models/order_totals.sql").write_text("select 1 as doubled, 1 as order_id\n")
    (root / "jaffle_marts/dbt_loom.config.yml").unlink()
    mesh = Mesh.load(root)
    assert mesh.graph.edges() == []
    # Two workers, so the two could run at once but for their shared file.
    runs = {d.domain: d for d in mesh.build(BuildOptions(workers=2)).domains}
    assert all(d.status == "success" for d in runs.values())
    first, second = sorted(runs.values(), key=lambda d: d.started_at)
    assert first.started_at + first.elapsed <= second.started_at


def test_profiles_dir_option_and_env_are_honoured_as_dbt_does(tmp_path: Path, monkeypatch) -> None:
    from mesh_cli.app import BuildOptions

    root = copy_fixture("legacy", tmp_path)
    elsewhere = tmp_path / "profiles_elsewhere"
    elsewhere.mkdir()
    (elsewhere / "profiles.yml").write_text(
        "legacy:\n  target: ci\n  outputs:\n    ci:\n      type: duckdb\n      path: ci.duckdb\n")
    mesh = Mesh.load(root)
    # --profiles-dir beats the project's own profiles.yml; the path still starts in the project folder.
    option = mesh.storage("jaffle_core", BuildOptions(profiles_dir=elsewhere))
    assert (option.profiles_dir, option.database) == (elsewhere, root / "jaffle_core" / "ci.duckdb")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(elsewhere))
    assert mesh.storage("jaffle_marts").database == root / "jaffle_marts" / "ci.duckdb"
    monkeypatch.delenv("DBT_PROFILES_DIR")
    assert mesh.storage("jaffle_marts").database == root / "warehouse.duckdb"
