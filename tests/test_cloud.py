"""A mesh written for dbt Cloud: no mesh.yml, no profiles.yml anywhere, project-specific profile
names. It runs unchanged on the mesh's own profile."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import copy_fixture, mesh_cli
from mesh_cli.app import Mesh


def test_projects_without_a_profile_run_on_the_mesh_profile(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.dbt/profiles.yml to fall back on
    root = copy_fixture("cloud", tmp_path)
    result = mesh_cli("build", "--project-dir", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].endswith("2 succeeded, 0 failed, 0 skipped")
    assert sorted(p.name for p in (root / ".mesh/warehouse").glob("*.duckdb*")) == ["finance.duckdb", "platform.duckdb"]
    assert list((root / ".mesh/warehouse/.building").iterdir()) == []   # every staged copy swapped in
    assert (root / ".mesh/profiles/profiles.yml").read_text().startswith("mesh:\n")
    storage = Mesh.load(root).storage("finance")
    assert (storage.managed, storage.profile, storage.profiles_dir) == (True, "mesh", root / ".mesh/profiles")

    # Plain dbt inside the project works with what `mesh env` prints, no flags needed.
    env = mesh_cli("env", "finance", "--project-dir", str(root), "--format", "json")
    values = json.loads(env.stdout)
    assert (values["DBT_PROFILE"], values["DBT_PROFILES_DIR"]) == ("mesh", str(root / ".mesh/profiles"))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MESH_", "DBT_"))}
    run = subprocess.run([str(Path(sys.executable).parent / "dbt"), "build"], cwd=root / "finance",
                         env={**clean, **values, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]
