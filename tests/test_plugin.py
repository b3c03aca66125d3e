"""The dbt plugin: discovered by dbt, resolves cross-domain refs, inert outside a mesh."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import mesh_cli
from mesh_cli.app import Mesh

DBT = str(Path(sys.executable).parent / "dbt")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")}
    return {**env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **extra}


def test_dbt_can_discover_the_plugin_from_the_installed_package(tmp_path: Path) -> None:
    code = "import pkgutil; print(sorted(m.name for m in pkgutil.iter_modules() if m.name.startswith('dbt_mesh')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['dbt_mesh_plugin']"


def test_both_ref_forms_resolve_to_the_upstream_versions(built_basic: Path) -> None:
    manifest = json.loads((built_basic / "domains/sales/target/manifest.json").read_text())
    depends = {n["name"]: n["depends_on"]["nodes"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert depends["fct_sales"] == ["model.core.dim_people.v2"]
    assert depends["one_arg"] == ["model.core.dim_people.v2"]
    assert depends["old_sales"] == ["model.core.dim_people.v1"]
    # Only public models cross the boundary, as in dbt Mesh.
    assert "model.core.secret" not in manifest["nodes"]


def test_env_command(built_basic: Path) -> None:
    wh = built_basic / ".mesh/warehouse"
    result = mesh_cli("env", "sales", "--project-dir", str(built_basic), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "MESH_DOMAIN": "sales",
        "MESH_DUCKDB_ATTACH": json.dumps([{"path": str(wh / "core.duckdb"), "alias": "core", "read_only": True}]),
        "MESH_DUCKDB_PATH": str(wh / "sales.duckdb"),
        "MESH_ROOT": str(built_basic),
        "MESH_UPSTREAMS": "core",
    }
    shell = mesh_cli("env", "ops", "--project-dir", str(built_basic))
    assert shell.stdout.splitlines() == [
        "export MESH_DOMAIN=ops", "export MESH_DUCKDB_ATTACH='[]'", f"export MESH_DUCKDB_PATH={wh}/ops.duckdb",
        f"export MESH_ROOT={built_basic}", "export MESH_UPSTREAMS=''",
    ]
    unknown = mesh_cli("env", "nope", "--project-dir", str(built_basic))
    assert (unknown.exit_code, unknown.stderr) == (
        2, "Error: unknown domain 'nope'; known domains: core, ops, sales; check --select/--exclude\n")


def test_plain_dbt_inside_a_domain_works_after_mesh_build(rebuilt_basic: Path) -> None:
    env = _clean_env(**Mesh.load(rebuilt_basic).env("sales"))
    run = subprocess.run([DBT, "build", "--profiles-dir", "../../profiles"], cwd=rebuilt_basic / "domains/sales",
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "PASS=3" in run.stdout


def test_plugin_is_inert_outside_a_mesh(tmp_path: Path) -> None:
    project = tmp_path / "alone"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: alone\nprofile: alone\nversion: '1.0'\nconfig-version: 2\n")
    (project / "profiles.yml").write_text(
        "alone:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: alone.duckdb\n")
    (project / "models/m.sql").write_text("select 1 as x\n")
    run = subprocess.run([DBT, "parse", "--profiles-dir", "."], cwd=project, env=_clean_env(),
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]
    manifest = json.loads((project / "target/manifest.json").read_text())
    assert sorted(manifest["nodes"]) == ["model.alone.m"]
