"""A mesh written for dbt Cloud and dbt Core alike: the consumer declares its upstream under
`projects:` (dbt Cloud) and installs it as a local package (dbt Core's fallback). dbt Cloud's
`projects:` wins: the upstream is a domain built once, on its own, and read through the ref."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import WORKERS, copy_fixture, mesh_cli
from mesh_cli.app import Mesh
from mesh_cli.execution.stubs import MARK

TIME = r"\[?\d+\.\d+s\]?"
DBT = str(Path(sys.executable).parent / "dbt")
OUTPUTS = {"target", "dbt_packages", "logs", ".mesh"}


def user_files(root: Path) -> dict[str, str]:
    """Every file the user wrote, with its hash: mesh must leave them exactly as they were."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not OUTPUTS & set(rel.parts) and not path.name.endswith((".duckdb", ".wal")):
            found[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def tables(database: Path) -> list[tuple[str, str, str]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("select table_catalog, table_schema, table_name from information_schema.tables "
                           "order by all").fetchall()


def clean_env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("MESH_", "DBT_"))},
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


@pytest.fixture
def fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.dbt/profiles.yml: the projects run on the mesh's profile
    return copy_fixture("fallback", tmp_path)


def test_a_project_declared_under_projects_is_a_domain_even_when_installed_as_a_package(fallback: Path) -> None:
    mesh = Mesh.load(fallback)
    assert sorted(mesh.domains) == ["gold_project", "silver_project"]    # shared_macros stays a package
    gold = mesh.domains["gold_project"]
    assert (gold.domain_packages, gold.packages) == (("silver_project",), ("shared_macros",))
    assert gold.local_packages == ((fallback / "shared_macros").resolve(),)
    assert mesh.graph.upstreams("gold_project") == ["silver_project"]
    result = mesh_cli("ls", "--project-dir", str(fallback), "--format", "json")
    assert result.exit_code == 0, result.output
    assert [(d["name"], d["upstreams"]) for d in json.loads(result.stdout)] == [
        ("silver_project", []), ("gold_project", ["silver_project"])]


def test_the_consumer_reads_its_upstream_through_the_ref_and_builds_only_its_own_models(fallback: Path) -> None:
    # A dbt Core user ran `dbt deps` already: the upstream is installed whole, as a symlink.
    deps = subprocess.run([DBT, "deps"], cwd=fallback / "gold_project", env=clean_env(), capture_output=True, text=True)
    assert deps.returncode == 0, deps.stdout
    before = user_files(fallback)    # package-lock.yml included, as `dbt deps` wrote it
    assert (fallback / "gold_project/dbt_packages/silver_project").is_symlink()

    result = mesh_cli("build", "--project-dir", str(fallback))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "mesh check: 0 errors, 1 warning in 2 domains"
    assert [re.sub(TIME, "[t]", line) for line in lines[1:]] == [
        f"Building 2 domains (silver_project, gold_project) with {WORKERS}",
        "START silver_project",
        "OK    silver_project 1 seed, 2 models  [t]",
        "START gold_project",
        "OK    gold_project 1 model  [t]",
        "Done in [t]: 2 succeeded, 0 failed, 0 skipped",
    ]

    warehouse = fallback / ".mesh/warehouse"
    # The consumer's file holds only its own relation; the upstream's live in the upstream's file.
    assert tables(warehouse / "gold_project.duckdb") == [("gold_project", "main", "gold_revenue")]
    assert tables(warehouse / "silver_project.duckdb") == [
        ("silver_project", "main", "raw_orders"), ("silver_project", "main", "silver_orders"),
        ("silver_project", "main", "stg_orders")]
    with duckdb.connect(str(warehouse / "gold_project.duckdb"), read_only=True) as con:
        assert con.execute("select revenue, doubled_revenue, orders from gold_revenue").fetchall() == [(35.0, 70.0, 3)]

    # dbt was told: the upstream's package folder is a stub, its public model an injected node.
    stub = fallback / "gold_project/dbt_packages/silver_project"
    assert not stub.is_symlink() and sorted(p.name for p in stub.iterdir()) == ["dbt_project.yml"]
    assert (stub / "dbt_project.yml").read_text().startswith(MARK)
    assert (fallback / "gold_project/dbt_packages/shared_macros").is_symlink()   # a plain package, as installed
    manifest = json.loads((fallback / "gold_project/target/manifest.json").read_text())
    assert sorted(k for k in manifest["nodes"] if ".silver_project." in k) == ["model.silver_project.silver_orders"]
    assert manifest["nodes"]["model.silver_project.silver_orders"]["relation_name"] == '"silver_project"."main"."silver_orders"'
    assert manifest["nodes"]["model.gold_project.gold_revenue"]["depends_on"]["nodes"] == [
        "model.silver_project.silver_orders"]
    assert user_files(fallback) == before


def test_plain_dbt_inside_the_consumer_keeps_working(fallback: Path) -> None:
    assert mesh_cli("build", "--project-dir", str(fallback)).exit_code == 0
    env = json.loads(mesh_cli("env", "gold_project", "--project-dir", str(fallback), "--format", "json").stdout)
    run = subprocess.run([DBT, "build"], cwd=fallback / "gold_project", env={**clean_env(), **env},
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]
    assert tables(fallback / ".mesh/warehouse/gold_project.duckdb") == [("gold_project", "main", "gold_revenue")]
    # The dbt Core fallback is one `dbt deps` away: it installs the full package again.
    deps = subprocess.run([DBT, "deps"], cwd=fallback / "gold_project", env=clean_env(), capture_output=True, text=True)
    assert deps.returncode == 0, deps.stdout
    assert (fallback / "gold_project/dbt_packages/silver_project").is_symlink()


def test_a_protected_model_of_the_upstream_is_refused(fallback: Path) -> None:
    (fallback / "gold_project/models/peek.sql").write_text("select * from {{ ref('silver_project', 'stg_orders') }}\n")
    assert mesh_cli("build", "--project-dir", str(fallback), "--select", "silver_project").exit_code == 0
    reason = "refs 'silver_project.stg_orders', which is protected to group 'silver_team' (owner: silver@example.com)"
    fix = ("Only public models can be used across domains: ask the owners of 'silver_project' to make it public "
           "(access: public) or use one of its public models.")
    result = mesh_cli("check", "--project-dir", str(fallback))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[4:] == [
        "gold_project",
        "  error  access.cross-domain  peek  gold_project/models/peek.sql:1",
        f"         {reason}",
        f"         fix: {fix}",
        "gold_project: not checked: its refs have errors, so dbt did not parse it; fix them first",
        "mesh check: 1 error, 1 warning in 2 domains",
    ]
    build = mesh_cli("build", "--project-dir", str(fallback))
    assert build.exit_code == 1
    assert build.stderr.splitlines() == [
        f"Error: gold_project/models/peek.sql:1: [access.cross-domain] domain 'gold_project': {reason}; fix: {fix}",
        "Error: mesh check found 1 error; nothing was built: fix it (mesh check lists them) or rerun with --skip-checks",
    ]
    assert not (fallback / ".mesh/warehouse/gold_project.duckdb").exists()
