"""A shared PostgreSQL: `mesh warehouse provision`, grants compiled from access, and what the
database itself refuses to a domain's role (raw SQL, PostgreSQL's own permission errors)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from conftest import copy_fixture, edit, mesh_cli
from postgres import Server, Warehouse, pg_server, warehouse  # noqa: F401 (fixtures)

from mesh_cli.app import BuildOptions, Mesh

PG = BuildOptions(target="postgres")


def refused(wh: Warehouse, domain: str, sql: str) -> str:
    """PostgreSQL's error (its first line) for `sql` run as `domain`'s role; fails when it runs."""
    import psycopg2

    with pytest.raises(psycopg2.Error) as caught:
        wh.query(sql, domain)
    assert caught.value.pgcode == "42501", caught.value   # insufficient_privilege
    return str(caught.value).splitlines()[0]


def build(root: Path, *args: str) -> None:
    result = mesh_cli("build", "--project-dir", str(root), "--target", "postgres", *args)
    assert result.exit_code == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def shop(pg_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Warehouse]]:
    """The shop mesh provisioned and built once on its own database; tests only read it."""
    import uuid

    tag = uuid.uuid4().hex[:8]
    wh = Warehouse(pg_server, f"mesh_test_{tag}", f"t{tag}_")
    admin = pg_server.connect()
    with admin.cursor() as cur:
        cur.execute(f"create database {wh.database}")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in pg_server.env(wh.database, wh.prefix).items():
            mp.setenv(key, value)
        root = copy_fixture("warehouse", tmp_path_factory.mktemp("shop"))
        Mesh.load(root).provision(PG)
        build(root)
        yield root, wh
    with admin.cursor() as cur:
        cur.execute(f"drop database {wh.database} with (force)")
        for domain in ("sales", "finance", "ops"):
            cur.execute(f"drop role if exists {wh.role(domain)}")
    admin.close()


# --- provision --------------------------------------------------------------------------------------

def test_provision_dry_run_prints_the_sql_and_runs_nothing(warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    result = mesh_cli("warehouse", "provision", "--project-dir", str(root), "--target", "postgres", "--dry-run")
    assert result.exit_code == 0, result.stdout + result.stderr
    p = warehouse.prefix
    assert result.stdout.splitlines() == [
        f"-- would run on 127.0.0.1:{warehouse.server.port}/{warehouse.database} (dry run: nothing was run)"
        if warehouse.server.host == "127.0.0.1" else result.stdout.splitlines()[0],
        *(line for d in ("finance", "ops", "sales") for line in (
            f"CREATE ROLE {p}{d} LOGIN;", f"CREATE SCHEMA {d} AUTHORIZATION {p}{d};",
            # where the domain builds, and where its replaced relations wait for the views to be rebound
            f"CREATE SCHEMA {d}__mesh_build AUTHORIZATION {p}{d};", f"CREATE SCHEMA {d}__mesh_old AUTHORIZATION {p}{d};")),
    ]
    assert warehouse.query(f"select rolname from pg_roles where rolname like '{p}%'") == []
    as_json = mesh_cli("warehouse", "provision", "--project-dir", str(root), "--target", "postgres", "--dry-run",
                       "--format", "json")
    assert json.loads(as_json.stdout) == {"version": 1, "adapter": "postgres", "ran": False,
                                          "server": result.stdout.splitlines()[0].split()[4],
                                          "statements": result.stdout.splitlines()[1:]}


def test_provision_creates_roles_owning_their_schemas_and_a_second_run_changes_nothing(
        warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    first = Mesh.load(root).provision(PG)
    assert first.ran and len(first.statements) == 12
    owners = warehouse.query("select nspname, pg_get_userbyid(nspowner) from pg_namespace "
                             "where nspname ~ '^(sales|finance|ops)' order by 1")
    assert owners == [(f"{d}{suffix}", warehouse.role(d)) for d in ("finance", "ops", "sales")
                      for suffix in ("", "__mesh_build", "__mesh_old")]
    again = mesh_cli("warehouse", "provision", "--project-dir", str(root), "--target", "postgres")
    assert (again.exit_code, again.stdout) == (0, "Nothing to do: every domain's role and schemas are in place on "
                                                  f"{first.server}.\n")
    # Nothing else: a domain's role may not create a schema of its own in the database.
    assert refused(warehouse, "ops", "create schema ops_extra") == f"permission denied for database {warehouse.database}"


def test_provision_hands_a_schema_made_by_someone_else_to_its_domain(warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    warehouse.query("create schema sales")   # owned by the administrator
    result = Mesh.load(root).provision(PG, dry_run=True)
    assert f"ALTER SCHEMA sales OWNER TO {warehouse.role('sales')};" in result.statements
    assert f"CREATE SCHEMA sales AUTHORIZATION {warehouse.role('sales')};" not in result.statements


def test_provision_creates_the_custom_schemas_dbt_will_build_into(warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    edit(root, "domains/sales/models/fct_margins.sql", "select", "{{ config(schema='restricted') }}\nselect")
    result = Mesh.load(root).provision(PG)   # parses first: dbt names the schema sales_restricted
    assert f"CREATE SCHEMA sales_restricted AUTHORIZATION {warehouse.role('sales')};" in result.statements
    assert f"CREATE SCHEMA sales__mesh_build_restricted AUTHORIZATION {warehouse.role('sales')};" in result.statements
    assert f"CREATE SCHEMA sales__mesh_old_restricted AUTHORIZATION {warehouse.role('sales')};" in result.statements
    build(root)
    assert warehouse.query("select count(*) from sales_restricted.fct_margins", "finance") == [(3,)]
    assert refused(warehouse, "ops", "select * from sales_restricted.fct_margins") == \
        "permission denied for schema sales_restricted"
    assert mesh_cli("warehouse", "grants", "--project-dir", str(root), "--target", "postgres").exit_code == 0


def test_a_password_is_set_but_never_shown_or_written(warehouse: Warehouse, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_fixture("warehouse", tmp_path)
    secret = "s3cret-never-on-disk"
    monkeypatch.setenv("MESH_PG_PASSWORD_SALES", secret)
    result = mesh_cli("warehouse", "provision", "--project-dir", str(root), "--target", "postgres")
    assert result.exit_code == 0, result.stderr
    assert f"CREATE ROLE {warehouse.role('sales')} LOGIN PASSWORD '********';  -- from $MESH_PG_PASSWORD_SALES" \
        in result.stdout.splitlines()
    assert secret not in result.stdout
    assert warehouse.query(f"select rolpassword is not null from pg_authid where rolname = '{warehouse.role('sales')}'") \
        == [(True,)]
    build(root, "--select", "sales")
    written = [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert written == []


def test_warehouse_commands_refuse_a_target_that_is_not_postgres(tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    result = mesh_cli("warehouse", "grants", "--project-dir", str(root))
    assert result.exit_code == 2
    assert result.stderr == ("Error: the default target is on adapter 'duckdb', which mesh warehouse cannot run: it "
                             "runs on postgres, and prints SQL for bigquery, databricks and snowflake with --dry-run "
                             "--adapter\n")


def test_a_server_that_cannot_be_reached_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]   # free, so nothing listens there
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(port))
    monkeypatch.setenv("PGUSER", "admin")
    monkeypatch.setenv("PGDATABASE", "shop")
    root = copy_fixture("warehouse", tmp_path)
    result = mesh_cli("warehouse", "provision", "--project-dir", str(root), "--target", "postgres", "--dry-run")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: could not connect to PostgreSQL at 127.0.0.1:{port}/shop as role "
                                    f"'admin': connection to server at \"127.0.0.1\", port {port} failed")


# --- what the database refuses, and allows ---------------------------------------------------------

def test_a_consumer_cannot_read_another_domains_private_relation(shop: tuple[Path, Warehouse]) -> None:
    _, wh = shop
    assert refused(wh, "ops", "select * from sales.stg_sales") == "permission denied for view stg_sales"
    assert refused(wh, "finance", "select * from sales.stg_sales") == "permission denied for view stg_sales"


def test_a_public_model_whose_allow_list_leaves_a_domain_out_is_refused_to_it(shop: tuple[Path, Warehouse]) -> None:
    _, wh = shop
    assert refused(wh, "ops", "select * from sales.fct_margins") == "permission denied for table fct_margins"
    assert wh.query("select count(*) from sales.fct_margins", "finance") == [(3,)]


def test_an_allowed_public_model_is_readable(shop: tuple[Path, Warehouse]) -> None:
    _, wh = shop
    assert wh.query("select sum(amount_cents) from sales.fct_sales", "ops") == [(3900,)]
    assert wh.query("select sales from ops.ops_volume", "ops") == [(3,)]


def test_a_domain_cannot_create_or_drop_anything_in_another_domains_schema(shop: tuple[Path, Warehouse]) -> None:
    _, wh = shop
    assert refused(wh, "ops", "create table sales.intruder (id integer)") == "permission denied for schema sales"
    assert refused(wh, "ops", "create view sales.intruder as select 1 as id") == "permission denied for schema sales"
    assert refused(wh, "ops", "drop table sales.fct_sales") == "must be owner of table fct_sales"
    assert refused(wh, "finance", "drop schema sales cascade") == "must be owner of schema sales"
    # finance publishes nothing: other domains may not even look into its schema.
    assert refused(wh, "ops", "select * from finance.finance_margins") == "permission denied for schema finance"


# --- grants from the catalog, next to the access rules ---------------------------------------------

def test_grants_are_in_step_after_a_build(shop: tuple[Path, Warehouse]) -> None:
    root, wh = shop
    result = mesh_cli("warehouse", "grants", "--project-dir", str(root), "--target", "postgres")
    assert result.exit_code == 0, result.stdout + result.stderr
    rows = [line.split()[:5] for line in result.stdout.splitlines()[1:-1]]
    f, o = wh.role("finance"), wh.role("ops")
    assert rows == [
        ["ok", "schema", "sales", f, "USAGE"], ["ok", "schema", "sales", o, "USAGE"],
        ["ok", "table", "sales.fct_margins", f, "SELECT"],
        ["ok", "table", "sales.fct_sales", f, "SELECT"], ["ok", "table", "sales.fct_sales", o, "SELECT"],
    ]
    assert result.stdout.splitlines()[-1].endswith(": in step with the access rules")
    report = Mesh.load(root).grants(PG).to_dict()
    assert (report["in_step"], report["missing"], report["extra"]) == (True, 0, 0)
    assert {"object": "table sales.fct_margins", "kind": "table", "schema": "sales", "relation": "fct_margins",
            "grantee": f, "privilege": "SELECT", "expected": True, "granted": True, "state": "ok",
            "why": "public, allowed consumers: finance"} in report["grants"]


def test_a_grant_the_access_rules_do_not_allow_is_reported_and_revoked(warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    Mesh.load(root).provision(PG)
    build(root, "--select", "sales")
    warehouse.query(f"grant select on sales.stg_sales to {warehouse.role('ops')}", "sales")
    warehouse.query("grant select on sales.fct_sales to public", "sales")
    result = mesh_cli("warehouse", "grants", "--project-dir", str(root), "--target", "postgres")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [l.split()[:5] for l in lines if l.startswith("extra")] == [
        ["extra", "table", "sales.fct_sales", "PUBLIC", "SELECT"],
        ["extra", "view", "sales.stg_sales", warehouse.role("ops"), "SELECT"]]
    assert lines[-1] == (f"Grants on {Mesh.load(root).grants(PG).server}: 0 missing, 2 not allowed by the access rules; "
                         "`mesh warehouse grants --apply` fixes them")
    assert "private: nobody outside sales" in next(l for l in lines if "stg_sales" in l)
    # The next build of sales takes them back.
    build(root, "--select", "sales")
    assert refused(warehouse, "ops", "select * from sales.stg_sales") == "permission denied for view stg_sales"
    assert mesh_cli("warehouse", "grants", "--project-dir", str(root), "--target", "postgres").exit_code == 0


def test_a_narrowed_allow_list_revokes(warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    Mesh.load(root).provision(PG)
    build(root, "--select", "sales")
    assert warehouse.query("select count(*) from sales.fct_margins", "finance") == [(3,)]
    edit(root, "mesh.yml", "sales.fct_margins: [finance]", "sales.fct_margins: [ops]")
    report = Mesh.load(root).grants(PG)
    assert sorted((r.state, r.grant.text()) for r in report.differ) == [
        ("extra", f"SELECT on table sales.fct_margins to {warehouse.role('finance')}"),
        ("missing", f"SELECT on table sales.fct_margins to {warehouse.role('ops')}")]
    applied = mesh_cli("warehouse", "grants", "--project-dir", str(root), "--target", "postgres", "--apply")
    assert applied.exit_code == 0, applied.stdout
    assert applied.stdout.splitlines()[:3] == [
        "Applied 2 statements:",
        f"  GRANT SELECT ON sales.fct_margins TO {warehouse.role('ops')};",
        f"  REVOKE SELECT ON sales.fct_margins FROM {warehouse.role('finance')};"]
    assert refused(warehouse, "finance", "select * from sales.fct_margins") == "permission denied for table fct_margins"
    assert warehouse.query("select count(*) from sales.fct_margins", "ops") == [(3,)]


# --- other warehouses, on paper --------------------------------------------------------------------

@pytest.fixture(scope="module")
def shop_on_duckdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_fixture("warehouse", tmp_path_factory.mktemp("paper"))
    assert Mesh.load(root).build().success
    return root


@pytest.mark.parametrize("adapter", ["snowflake", "bigquery", "databricks", "postgres"])
def test_provision_dry_run_prints_each_warehouses_sql_from_the_same_model(
        shop_on_duckdb: Path, adapter: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESH_PG_ROLE_PREFIX", raising=False)
    result = mesh_cli("warehouse", "provision", "--project-dir", str(shop_on_duckdb), "--dry-run", "--adapter", adapter)
    assert result.exit_code == 0, result.stderr
    expected = (Path(__file__).parent / "fixtures" / "warehouse_sql" / f"{adapter}.sql").read_text()
    assert result.stdout == expected


def test_the_paper_script_of_a_mesh_never_built_grants_nothing_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESH_PG_ROLE_PREFIX", raising=False)
    root = copy_fixture("warehouse", tmp_path)
    result = Mesh.load(root).provision(adapter="snowflake", dry_run=True)
    assert result.statements[-2:] == ["-- grants compiled from access: public relations to the domains allowed to read them",
                                      "-- (none: no domain has published a public relation yet)"]
    assert mesh_cli("warehouse", "provision", "--project-dir", str(root), "--adapter", "snowflake").exit_code == 2


# --- consumers' views over a rebuilt upstream (dbt-postgres drops them with CASCADE) ----------------

OIDS = ("select c.relname, c.oid::int from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname in ('sales', 'finance', 'ops') order by 1")


def test_consumers_views_survive_their_upstreams_rebuild(warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    Mesh.load(root).provision(PG)
    build(root)
    views = {name: oid for name, oid in warehouse.query(OIDS) if name in ("finance_margins", "ops_volume")}
    tables = {name: oid for name, oid in warehouse.query(OIDS) if name in ("fct_sales", "fct_margins")}
    result = mesh_cli("build", "--project-dir", str(root), "--target", "postgres", "--select", "sales")
    assert result.exit_code == 0, result.stdout + result.stderr
    # Built in staging and swapped in: the consumers' views were never dropped (the same objects,
    # rebound in place to the new tables), so nothing had to be created again and nothing is said.
    assert "Warning" not in result.stdout + result.stderr
    after = dict(warehouse.query(OIDS))
    assert {name: after[name] for name in views} == views
    assert all(after[name] != oid for name, oid in tables.items())   # new tables
    assert warehouse.query("select sales from ops.ops_volume", "ops") == [(3,)]
    assert warehouse.query("select count(*) from finance.finance_margins", "finance") == [(3,)]
    assert mesh_cli("warehouse", "grants", "--project-dir", str(root), "--target", "postgres").exit_code == 0
    # The staging and old schemas are empty once it succeeded.
    assert warehouse.query("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                           "where n.nspname like '%%__mesh_%%'") == [(0,)]


def test_a_failed_upstream_build_leaves_its_consumers_views_and_grants_in_place(warehouse: Warehouse,
                                                                                tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    Mesh.load(root).provision(PG)
    build(root)
    before = warehouse.query(OIDS)
    # New data, and a test that fails once fct_sales was rebuilt with it.
    edit(root, "domains/sales/seeds/raw_sales.csv", "3,400,100\n", "3,400,100\n4,100000,1\n")
    (root / "domains/sales/tests").mkdir()
    (root / "domains/sales/tests/assert_fails.sql").write_text("select 1 as failure from {{ ref('fct_sales') }}\n")
    result = mesh_cli("build", "--project-dir", str(root), "--target", "postgres", "--select", "sales")
    assert result.exit_code == 1
    assert "ERROR sales" in result.stdout
    # dbt rebuilt fct_sales in the staging schema before the test failed: the live schemas were never
    # touched (the very same relations), so the last good data, its grants and the views over it stay.
    assert warehouse.query(OIDS) == before
    assert warehouse.query("select sum(amount_cents) from sales.fct_sales", "ops") == [(3900,)]
    assert warehouse.query("select count(*) from sales.fct_margins", "finance") == [(3,)]
    assert warehouse.query("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                           "where n.nspname like '%%__mesh_%%'") == [(0,)]
    assert warehouse.query("select sales from ops.ops_volume", "ops") == [(3,)]
    assert warehouse.query("select count(*) from finance.finance_margins", "finance") == [(3,)]


def test_a_domain_whose_role_cannot_log_in_is_refused_before_dbt_runs(warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    Mesh.load(root).provision(PG)
    warehouse.query(f"alter role {warehouse.role('sales')} nologin")
    result = mesh_cli("build", "--project-dir", str(root), "--target", "postgres", "--select", "sales")
    assert result.exit_code == 1
    assert (f"domain 'sales' was not built: could not connect to PostgreSQL at {warehouse.server.host}:"
            f"{warehouse.server.port}/{warehouse.database} as role '{warehouse.role('sales')}': connection to server "
            in result.stdout + result.stderr)
    assert "START sales" not in result.stdout
