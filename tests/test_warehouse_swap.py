"""Nothing half-published on PostgreSQL: a domain builds into its staging schema and is swapped into
its live one in one transaction, so its consumers read the last good data (tables and views, data and
columns) while it builds and after it fails, the new data once it succeeded, and their views over it
are never missing. Real server, real dbt runs (tests/postgres.py)."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import copy_fixture, edit, mesh_cli
from postgres import Server, Warehouse, pg_server, warehouse  # noqa: F401 (fixtures)

from mesh_cli.app import BuildOptions, Mesh

PG = BuildOptions(target="postgres")
FULL_PARSE = "Unable to do partial parsing because"
OIDS = ("select c.relname, c.oid::int from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname in ('sales', 'finance', 'ops') order by 1")
LEFT = ("select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname like '%%\\_\\_mesh\\_%%' order by 1")
# What ops reads of sales: a public table, a public view, and its own view over the table.
READS = {"table": "select * from sales.fct_sales order by sale_id",
         "view": "select * from sales.big_sales order by sale_id",
         "consumer view": "select * from ops.ops_volume"}


def build(root: Path, *args: str) -> Any:
    return mesh_cli("build", "--project-dir", str(root), "--target", "postgres", *args)


def shop(tmp_path: Path, wh: Warehouse) -> Path:
    """The warehouse mesh with a public view in sales, provisioned and built once."""
    root = copy_fixture("warehouse", tmp_path)
    (root / "domains/sales/models/big_sales.sql").write_text(
        "{{ config(materialized='view', access='public', group='sales_team') }}\n"
        "select sale_id, amount_cents from {{ ref('fct_sales') }} where amount_cents >= 1000\n")
    Mesh.load(root).provision(PG)
    first = build(root)
    assert first.exit_code == 0, first.stdout + first.stderr
    return root


def read(wh: Warehouse) -> dict[str, tuple[list[str], list[tuple]]]:
    """What ops reads, columns and rows, in one connection."""
    conn = wh.connect("ops")
    try:
        out = {}
        with conn.cursor() as cur:
            for label, sql in READS.items():
                cur.execute(sql)
                out[label] = ([d.name for d in cur.description], cur.fetchall())
        return out
    finally:
        conn.close()


class Poller(threading.Thread):
    """Reads what ops reads, over and over, while a build runs; keeps every answer and every error."""

    def __init__(self, wh: Warehouse) -> None:
        super().__init__(daemon=True)
        self.wh, self.seen, self.errors, self.stop = wh, [], [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.seen.append(read(self.wh))
            except Exception as exc:   # noqa: BLE001 (any error is the finding)
                self.errors.append(str(exc).splitlines()[0])
            time.sleep(0.05)


def while_building(wh: Warehouse, run: Callable[[], Any]) -> tuple[Any, Poller]:
    poller = Poller(wh)
    poller.start()
    try:
        result = run()
    finally:
        poller.stop.set()
        poller.join()
    return result, poller


def change_sales(root: Path) -> None:
    """New data, a new column in the public view, and a pause after fct_sales is built (a post-hook),
    so that readers run while the domain is half-built."""
    edit(root, "domains/sales/seeds/raw_sales.csv", "3,400,100\n", "3,400,100\n4,5000,1\n")
    edit(root, "domains/sales/models/big_sales.sql", "select sale_id, amount_cents", "select sale_id, amount_cents, 1 as big")
    edit(root, "domains/sales/models/fct_sales.sql", "select", "{{ config(post_hook='select pg_sleep(3)') }}\nselect")


def test_a_failing_test_leaves_consumers_reading_the_last_good_data_and_columns(warehouse: Warehouse,
                                                                                 tmp_path: Path) -> None:
    root = shop(tmp_path, warehouse)
    good, oids = read(warehouse), warehouse.query(OIDS)
    change_sales(root)
    (root / "domains/sales/tests").mkdir()
    (root / "domains/sales/tests/assert_no_big_sale.sql").write_text(
        "select * from {{ ref('fct_sales') }} where amount_cents > 4000\n")
    result, poller = while_building(warehouse, lambda: build(root, "--select", "sales"))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "ERROR sales" in result.stdout
    assert "Warning" not in result.stdout + result.stderr
    # During the build and after it, every read saw exactly the last good build.
    assert poller.errors == []
    assert len(poller.seen) > 10 and all(seen == good for seen in poller.seen)
    assert read(warehouse) == good
    assert warehouse.query(OIDS) == oids          # the very same relations: nothing in sales was touched
    assert warehouse.query(LEFT) == []            # staging emptied
    interface = json.loads((root / ".mesh/state/sales/interface.json").read_text())
    assert {m["name"]: m["schema"] for m in interface["models"]}["big_sales"] == "sales"
    # The same from the Python API.
    api = Mesh.load(root).build(BuildOptions(target="postgres", select=("sales",)))
    assert [(d.domain, d.status.value) for d in api.domains] == [("sales", "error")]
    assert api.domains[0].message.startswith("dbt build failed in domain 'sales'"), api.domains[0].message
    assert api.warnings == []
    assert read(warehouse) == good and warehouse.query(OIDS) == oids and warehouse.query(LEFT) == []


def test_a_success_shows_the_new_data_at_once_and_consumers_views_are_never_missing(warehouse: Warehouse,
                                                                                   tmp_path: Path) -> None:
    root = shop(tmp_path, warehouse)
    good = read(warehouse)
    views = {n: o for n, o in warehouse.query(OIDS) if n == "ops_volume"}
    change_sales(root)
    result, poller = while_building(warehouse, lambda: build(root, "--select", "sales"))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr
    new = read(warehouse)
    assert new == {"table": (["sale_id", "amount_cents"], [(1, 1000), (2, 2500), (3, 400), (4, 5000)]),
                   "view": (["sale_id", "amount_cents", "big"], [(1, 1000, 1), (2, 2500, 1), (4, 5000, 1)]),
                   "consumer view": (["sales"], [(4,)])}
    # Never a missing relation, never a half-built state: the last good build until the swap, the new
    # one after it (the consumer's view may lag the swap by the moment it takes to rebind it).
    assert poller.errors == []
    assert poller.seen[0] == good and len(poller.seen) > 10
    assert all(s["table"] in (good["table"], new["table"]) and s["view"] in (good["view"], new["view"])
               and s["consumer view"] in (good["consumer view"], new["consumer view"]) for s in poller.seen)
    assert sum(s == good for s in poller.seen) > 10   # read while sales built (the 3 s post-hook)
    assert {n: o for n, o in warehouse.query(OIDS) if n == "ops_volume"} == views   # rebound, not recreated
    assert warehouse.query(LEFT) == []
    assert mesh_cli("warehouse", "grants", "--project-dir", str(root), "--target", "postgres").exit_code == 0


def test_an_incremental_model_keeps_its_rows_across_builds(warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    (root / "domains/sales/models/sales_log.sql").write_text(
        "{{ config(materialized='incremental', group='sales_team') }}\n"
        "select '{{ invocation_id }}' as run, count(*) as sales from {{ ref('stg_sales') }}\n")
    Mesh.load(root).provision(PG)
    for _ in range(2):
        assert Mesh.load(root).build(PG).success
    rows = warehouse.query("select count(distinct run), sum(sales) from sales.sales_log")
    assert rows == [(2, 6)]
    assert build(root, "--select", "sales").exit_code == 0
    assert warehouse.query("select count(distinct run), sum(sales) from sales.sales_log") == [(3, 9)]
    assert warehouse.query(LEFT) == []


def test_a_selection_of_one_model_reads_the_live_relations_it_does_not_build(warehouse: Warehouse,
                                                                            tmp_path: Path) -> None:
    root = shop(tmp_path, warehouse)
    oids = dict(warehouse.query(OIDS))
    edit(root, "domains/sales/seeds/raw_sales.csv", "3,400,100\n", "3,400,100\n4,5000,1\n")   # not seeded: not selected
    edit(root, "domains/sales/models/big_sales.sql", ">= 1000", ">= 2000")
    result = build(root, "--select", "sales.big_sales")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr
    # big_sales was built over the live fct_sales (unselected, so left as it was) and swapped in.
    after = dict(warehouse.query(OIDS))
    assert after["big_sales"] != oids["big_sales"]
    assert {n: after[n] for n in ("fct_sales", "fct_margins", "stg_sales", "ops_volume")} == \
        {n: oids[n] for n in ("fct_sales", "fct_margins", "stg_sales", "ops_volume")}
    assert warehouse.query("select * from sales.big_sales", "ops") == [(2, 2500)]
    assert warehouse.query(LEFT) == []
    # Its definition names the live table, not the staging view it was built over.
    assert warehouse.query("select pg_get_viewdef('sales.big_sales'::regclass)")[0][0].count("sales.fct_sales") == 1
    assert mesh_cli("warehouse", "grants", "--project-dir", str(root), "--target", "postgres").exit_code == 0


def test_a_second_build_parses_nothing_on_postgres(warehouse: Warehouse, tmp_path: Path) -> None:
    root = shop(tmp_path, warehouse)
    second = build(root)
    assert second.exit_code == 0, second.stdout + second.stderr
    for domain in ("sales", "finance", "ops"):
        for log in (root / f".mesh/logs/check/{domain}.log", root / f".mesh/logs/{domain}.log"):
            assert FULL_PARSE not in log.read_text(), (domain, log)
        assert json.loads((root / f"domains/{domain}/target/perf_info.json").read_text())["parsed_path_count"] == 0
        assert "(on the parsed manifest)" in (root / f".mesh/logs/{domain}.log").read_text()
        # What consumers and the mesh's tools read names the live schemas, never the staging ones.
        for name in ("manifest.json", "interface.json"):
            assert "__mesh_" not in (root / f".mesh/state/{domain}/{name}").read_text(), (domain, name)
    ops = json.loads((root / ".mesh/state/ops/manifest.json").read_text())
    assert '"sales"."fct_sales"' in ops["nodes"]["model.ops.ops_volume"]["compiled_code"]


def test_a_view_whose_columns_changed_type_is_created_again_and_one_that_no_longer_fits_is_named(
        warehouse: Warehouse, tmp_path: Path) -> None:
    root = shop(tmp_path, warehouse)
    warehouse.query("create view ops.ops_amounts as select sale_id, amount_cents from sales.big_sales", "ops")
    before = dict(warehouse.query(OIDS))
    # big_sales' amount changes type (CREATE OR REPLACE VIEW refuses that), and margin_cents, which
    # finance's view reads, is renamed.
    edit(root, "domains/sales/models/big_sales.sql", "select sale_id, amount_cents",
         "select sale_id, cast(amount_cents as numeric) as amount_cents")
    edit(root, "domains/sales/models/fct_margins.sql", "as margin_cents", "as margin")
    edit(root, "domains/sales/models/schema.yml", "{name: margin_cents, data_type: bigint}", "{name: margin, data_type: bigint}")
    result = build(root, "--select", "sales", "--skip-checks")
    assert result.exit_code == 0, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert ("Warning: view finance.finance_margins of domain 'finance' could not be rebound to the relations 'sales' "
            "rebuilt (column m.margin_cents does not exist), and was dropped with the old ones: rebuild it with "
            "`mesh build --select finance`") in said
    after = dict(warehouse.query(OIDS))
    assert "finance_margins" not in after
    assert after["ops_amounts"] != before["ops_amounts"]   # dropped and created again, in one transaction
    assert warehouse.query("select pg_typeof(amount_cents)::text from ops.ops_amounts limit 1", "ops") == [("numeric",)]
    edit(root, "domains/finance/models/finance_margins.sql", "m.margin_cents", "m.margin as margin_cents")
    assert build(root, "--select", "finance").exit_code == 0
    assert warehouse.query("select count(*) from finance.finance_margins", "finance") == [(3,)]


def test_a_missing_staging_schema_is_refused_before_dbt_runs(warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    Mesh.load(root).provision(PG)
    warehouse.query("drop schema sales__mesh_build")
    expected = (f"domain 'sales' was not built: the schemas sales__mesh_build that domain 'sales' builds into and "
                f"swaps out of do not exist on {warehouse.server.host}:{warehouse.server.port}/{warehouse.database} "
                "(its role may not create schemas): run `mesh warehouse provision --target postgres` as the "
                "administrator (PGUSER) first")
    result = build(root, "--select", "sales")
    assert result.exit_code == 1
    assert expected in result.stdout + result.stderr
    assert "START sales" not in result.stdout
    api = Mesh.load(root).build(BuildOptions(target="postgres", select=("sales",)))
    assert not api.success
    assert [d.message for d in api.domains if d.domain == "sales"] == [expected]
    assert Mesh.load(root).provision(PG).statements == [f"CREATE SCHEMA sales__mesh_build AUTHORIZATION "
                                                        f"{warehouse.role('sales')};"]
    assert build(root, "--select", "sales").exit_code == 0


def test_a_domain_with_its_own_generate_schema_name_builds_those_relations_in_place_and_says_so(
        warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    (root / "domains/sales/macros").mkdir()
    (root / "domains/sales/macros/schemas.sql").write_text(
        "{% macro generate_schema_name(custom_schema_name, node) -%}\n"
        "{%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}sales_{{ custom_schema_name | trim }}"
        "{%- endif -%}\n{%- endmacro %}\n")
    edit(root, "domains/sales/models/fct_margins.sql", "select", "{{ config(schema='restricted') }}\nselect")
    Mesh.load(root).provision(PG)
    assert build(root).exit_code == 0
    assert warehouse.query("select count(*) from finance.finance_margins", "finance") == [(3,)]
    result = build(root, "--select", "sales")
    assert result.exit_code == 0, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert ("Warning: 'sales' built sales_restricted.fct_margins outside its staging schemas (its profile or "
            "generate_schema_name puts them there): dbt replaced them in place, so its consumers may have read them "
            "half-built; build into sales__mesh_build (the mesh profile's schema) to have them swapped in at once") in said
    assert ("Warning: building 'sales' in place dropped 1 view(s) of domain 'finance' over it (dbt-postgres replaces a "
            "table with DROP ... CASCADE): created again from their definitions: finance.finance_margins") in said
    assert warehouse.query("select count(*) from finance.finance_margins", "finance") == [(3,)]
    assert warehouse.query("select count(*) from sales_restricted.fct_margins", "finance") == [(3,)]
    # A failed build gets the in-place table back, and the consumer's view over it.
    edit(root, "domains/sales/seeds/raw_sales.csv", "3,400,100\n", "3,400,100\n4,5000,1\n")
    (root / "domains/sales/tests").mkdir()
    (root / "domains/sales/tests/assert_fails.sql").write_text("select 1 as failure from {{ ref('fct_margins') }}\n")
    failed = build(root, "--select", "sales")
    assert failed.exit_code == 1
    assert ("Warning: 'sales' did not build: its public tables built in place are back as its last good build left "
            "them: sales_restricted.fct_margins") in failed.stdout + failed.stderr
    assert warehouse.query("select count(*) from sales_restricted.fct_margins", "finance") == [(3,)]
    assert warehouse.query("select count(*) from finance.finance_margins", "finance") == [(3,)]
    assert warehouse.query("select sum(amount_cents) from sales.fct_sales", "ops") == [(3900,)]
    assert warehouse.query(LEFT) == []
    assert warehouse.query("select count(*) from pg_class where relname like '%%__mesh_good'") == [(0,)]


def test_a_snapshot_keeps_its_history_across_builds(warehouse: Warehouse, tmp_path: Path) -> None:
    root = copy_fixture("warehouse", tmp_path)
    (root / "domains/sales/snapshots").mkdir()
    (root / "domains/sales/snapshots/sales_history.sql").write_text(
        "{% snapshot sales_history %}\n"
        "{{ config(unique_key='id', strategy='check', check_cols=['amount_cents']) }}\n"
        "select * from {{ ref('raw_sales') }}\n{% endsnapshot %}\n")
    Mesh.load(root).provision(PG)
    assert build(root, "--select", "sales").exit_code == 0
    edit(root, "domains/sales/seeds/raw_sales.csv", "3,400,100\n", "3,450,100\n")
    result = build(root, "--select", "sales")
    assert result.exit_code == 0, result.stdout + result.stderr
    # The first build's rows are kept (copied into staging before the second), the change recorded.
    assert warehouse.query("select id, amount_cents, dbt_valid_to is null from sales.sales_history "
                           "order by id, dbt_valid_from") == [(1, 1000, True), (2, 2500, True), (3, 400, False),
                                                              (3, 450, True)]
    assert warehouse.query(LEFT) == []
