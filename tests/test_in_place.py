"""A domain builds its DuckDB file in place, and nothing of a build reaches the file before it
succeeded: not a large table (DuckDB writes large appends into the file before commit unless told
not to), not a killed build's log. Each test measures the file itself, byte for byte."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from conftest import mesh_cli
from mesh_cli.app import BuildOptions, Mesh

# Large enough for DuckDB's optimistic writes (several row groups of 122,880 rows).
BIG = "select range as id, md5(range::varchar) as label from range(600000)\n"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_failed_build_that_wrote_a_large_table_leaves_the_file_as_it_was(rebuilt_basic: Path) -> None:
    database = rebuilt_basic / ".mesh/warehouse/core.duckdb"
    before = digest(database)
    models = rebuilt_basic / "domains/core/models"
    (models / "big.sql").write_text("{{ config(materialized='table') }}\n" + BIG)
    (models / "zz_broken.sql").write_text("select * from {{ ref('big') }} join no_such_table using (id)\n")
    result = mesh_cli("build", "--skip-checks", "--select", "core", "--project-dir", str(rebuilt_basic))
    assert result.exit_code == 1
    assert digest(database) == before
    assert not database.with_name("core.duckdb.wal").exists()
    assert list((rebuilt_basic / ".mesh/warehouse/.building").iterdir()) == []
    # once fixed, the same build writes the table into the file
    (models / "zz_broken.sql").unlink()
    assert mesh_cli("build", "--skip-checks", "--select", "core", "--project-dir", str(rebuilt_basic)).exit_code == 0
    assert not database.with_name("core.duckdb.wal").exists()
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*) from main.big").fetchall() == [(600000,)]


def test_the_log_of_a_killed_build_is_dropped_by_the_next_build(rebuilt_basic: Path) -> None:
    database = rebuilt_basic / ".mesh/warehouse/core.duckdb"
    before = digest(database)
    # What a build killed with the orchestrator leaves: its marker, and a log DuckDB would replay.
    with duckdb.connect(str(database)) as con:
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("create table half_built as select 1 as x")
    assert database.with_name("core.duckdb.wal").is_file() and digest(database) == before
    marker = rebuilt_basic / ".mesh/warehouse/.building/core.duckdb.building"
    marker.write_text(json.dumps({"pid": 0, "existed": True}))
    (rebuilt_basic / "domains/core/models/broken.sql").write_text("select * from no_such_table\n")
    result = Mesh.load(rebuilt_basic).build(BuildOptions(select=("core",)))
    assert [d.status for d in result.domains] == ["error"]
    assert digest(database) == before and not database.with_name("core.duckdb.wal").exists()
    assert not marker.exists()
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_tables() where table_name = 'half_built'").fetchall() == [(0,)]


def test_a_log_left_by_dbt_run_by_hand_is_kept(rebuilt_basic: Path) -> None:
    database = rebuilt_basic / ".mesh/warehouse/core.duckdb"
    # No marker: a dbt run by hand (or any DuckDB client) stopped before its checkpoint.
    with duckdb.connect(str(database)) as con:
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("create table by_hand as select 1 as x")
    (rebuilt_basic / "domains/core/models/broken.sql").write_text("select * from no_such_table\n")
    result = mesh_cli("build", "--skip-checks", "--select", "core", "--project-dir", str(rebuilt_basic))
    assert result.exit_code == 1
    with duckdb.connect(str(database), read_only=True) as con:   # part of the last good state
        assert con.execute("select count(*) from main.by_hand").fetchall() == [(1,)]


def test_a_first_build_that_fails_leaves_no_database(basic: Path) -> None:
    (basic / "domains/ops/models/broken.sql").write_text("select * from no_such_table\n")
    result = mesh_cli("build", "--skip-checks", "--select", "ops", "--project-dir", str(basic))
    assert result.exit_code == 1
    assert sorted(p.name for p in (basic / ".mesh/warehouse").iterdir()) == [".building"]


CONFIG_OPTIONS = """      config_options:
        preserve_insertion_order: false
        threads: 2
"""


def test_a_profile_with_config_options_builds_on_the_file_the_worker_opens_first(basic: Path) -> None:
    """The worker opens the file before dbt, with the profile's config_options: DuckDB refuses a
    second connection to an open file with other options (or the same ones, typed differently)."""
    profiles = basic / "profiles/profiles.yml"
    profiles.write_text(profiles.read_text() + CONFIG_OPTIONS)
    result = Mesh.load(basic).build()
    assert result.success, result.to_dict()
    again = mesh_cli("build", "--project-dir", str(basic))
    assert again.exit_code == 0, again.output
    assert "3 succeeded, 0 failed, 0 skipped" in again.output


def test_config_options_mesh_cannot_pass_on_are_refused_with_the_file_and_key(basic: Path) -> None:
    profiles = basic / "profiles/profiles.yml"
    profiles.write_text(profiles.read_text() + "      config_options:\n        threads: \"{{ env_var('N') }}\"\n")
    result = mesh_cli("build", "--project-dir", str(basic))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {profiles}: mesh.outputs ... config_options: 'threads' is not a plain value (a Jinja expression, "
        "or a list or mapping), which mesh cannot pass on: it opens each domain's DuckDB file with these options "
        "before dbt does; write the value itself (DuckDB refuses a second connection with other options)\n")
