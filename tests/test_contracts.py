"""`mesh contracts`: ODCS publishing, the diff with its consumer verdicts, deprecations, and the
conformance of built data products, on the `contracts` fixture mesh (shop <- finance, ops)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from conftest import copy_fixture, edit, mesh_cli
from mesh_cli.contracts.diff import Reader
from mesh_cli.contracts.operations import ColumnReads
from mesh_cli.core.errors import ContractFileError, GitRefError
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.contracts.odcs import validate

SCHEMA = "domains/shop/models/schema.yml"
V2 = "    versions:\n      - v: 2\n"
# v2 loses `status` (ops reads it), `discount` (nobody reads it) and `amount` becomes a double (finance reads it)
V2_BROKEN = V2 + ("        columns:\n          - include: all\n            exclude: [status, discount, amount]\n"
                  "          - name: amount\n            data_type: double\n")
V3_ADDED = V2 + "      - v: 3\n        columns:\n          - include: all\n            exclude: [discount]\n"
FIX_V3 = ("fix: keep v2 unchanged and add the change as v3 (`- v: 3` under versions:), with a deprecation_date on v2 "
          "so its consumers can migrate")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return copy_fixture("contracts", tmp_path)


@pytest.fixture(scope="module")
def built_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_fixture("contracts", tmp_path_factory.mktemp("built"))
    assert Mesh.load(root).build().success
    return root


# --- publish -------------------------------------------------------------------------------------

def test_the_fixture_contracts_are_current(shop: Path) -> None:
    result = mesh_cli("contracts", "publish", "--check", "--project-dir", str(shop))
    assert (result.exit_code, result.stdout) == (0, "0 contracts to write, 0 to remove, 3 unchanged\n")


def test_publish_writes_one_valid_odcs_document_per_public_version(shop: Path) -> None:
    shutil.rmtree(shop / "contracts")
    with Mesh.load(shop) as mesh:
        result = mesh.publish_contracts(BuildOptions())
    names = sorted(str(p.relative_to(shop)) for p in result.written)
    assert names == ["contracts/shop/dim_stores.odcs.yaml", "contracts/shop/fct_orders.v1.odcs.yaml",
                     "contracts/shop/fct_orders.v2.odcs.yaml"]
    for path in result.written:
        doc = yaml.safe_load(path.read_text())
        assert validate(doc) == []
        assert OpenDataContractStandard.from_file(str(path)).kind == "DataContract"
        assert path.read_text() == (Path(__file__).parent / "fixtures" / "contracts" / path.relative_to(shop)).read_text()
    v2 = yaml.safe_load((shop / "contracts/shop/fct_orders.v2.odcs.yaml").read_text())
    assert {k: v2[k] for k in ("apiVersion", "kind", "id", "name", "version", "status", "tenant", "domain", "dataProduct")} == {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "shop.fct_orders.v2", "name": "fct_orders",
        "version": "2.0.0", "status": "active", "tenant": "contracts_mesh", "domain": "shop", "dataProduct": "fct_orders"}
    assert v2["team"] == {"name": "Shop", "members": [{"username": "shop@example.com", "role": "owner"}]}
    assert v2["slaProperties"][0] | {"description": None} == {"property": "latency", "value": 24, "unit": "h", "description": None}
    order_id = v2["schema"][0]["properties"][0]
    assert {k: order_id[k] for k in ("name", "physicalType", "logicalType", "required", "unique", "primaryKey")} == {
        "name": "order_id", "physicalType": "integer", "logicalType": "integer", "required": True, "unique": True,
        "primaryKey": True}
    custom = {p["property"]: p["value"] for p in v2["customProperties"]}
    assert custom["dbtLatestVersion"] == "2" and custom["dbtAccess"] == "public" and custom["dbtContractEnforced"] is True
    v1 = yaml.safe_load((shop / "contracts/shop/fct_orders.v1.odcs.yaml").read_text())
    assert v1["status"] == "deprecated"
    assert {p["property"]: p["value"] for p in v1["customProperties"]}["dbtDeprecationDate"] == "2099-01-01"


def test_publish_removes_what_is_no_longer_public_and_check_says_stale(shop: Path) -> None:
    edit(shop, SCHEMA, "  - name: dim_stores\n    description: One row per store.\n    access: public",
         "  - name: dim_stores\n    description: One row per store.\n    access: protected")
    check = mesh_cli("contracts", "publish", "--check", "--project-dir", str(shop))
    assert (check.exit_code, check.stdout) == (1, (
        "would remove contracts/shop/dim_stores.odcs.yaml\n"
        "0 contracts to write, 1 to remove, 2 unchanged\n"
        "note: domain 'ops' was left as it was: dbt could not parse it (its refs have errors, so dbt did not parse "
        "it; fix them first)\n"
        "The published contracts are stale: run `mesh contracts publish` and commit contracts/.\n"))
    assert (shop / "contracts/shop/dim_stores.odcs.yaml").is_file()
    done = mesh_cli("contracts", "publish", "--project-dir", str(shop), "--format", "json")
    assert done.exit_code == 0
    assert json.loads(done.stdout) == {"written": [], "removed": ["contracts/shop/dim_stores.odcs.yaml"],
                                       "unchanged": ["contracts/shop/fct_orders.v1.odcs.yaml",
                                                     "contracts/shop/fct_orders.v2.odcs.yaml"],
                                       "skipped": {"ops": "its refs have errors, so dbt did not parse it; fix them first"}}
    assert not (shop / "contracts/shop/dim_stores.odcs.yaml").exists()


# --- diff ---------------------------------------------------------------------------------------

def test_diff_names_who_reads_each_broken_column(shop: Path) -> None:
    edit(shop, SCHEMA, V2, V2_BROKEN)
    result = mesh_cli("contracts", "diff", "--project-dir", str(shop))
    assert result.exit_code == 1
    assert result.stdout == "\n".join([
        f"Compared with contracts in {shop / 'contracts'}",
        "",
        "shop.fct_orders v2",
        "  BREAKING  column `amount` of shop.fct_orders v2 changed type from decimal(18,2) to double",
        "            verdict: breaking, read by finance.revenue",
        "            consumer: finance.revenue (pins v2, reads `amount`) (domains/finance/models/revenue.sql:2)",
        "            consumer: ops.store_board (follows the latest version, does not read `amount`) (domains/ops/models/store_board.sql:2)",
        f"            {FIX_V3}",
        "  BREAKING  column `discount` removed from shop.fct_orders v2",
        "            verdict: breaking, no consumer reads `discount`",
        "            consumer: finance.revenue (pins v2, does not read `discount`) (domains/finance/models/revenue.sql:2)",
        "            consumer: ops.store_board (follows the latest version, does not read `discount`) (domains/ops/models/store_board.sql:2)",
        f"            {FIX_V3}",
        "  BREAKING  column `status` removed from shop.fct_orders v2",
        "            verdict: breaking, read by ops.store_board",
        "            consumer: finance.revenue (pins v2, does not read `status`) (domains/finance/models/revenue.sql:2)",
        "            consumer: ops.store_board (follows the latest version, reads `status`) (domains/ops/models/store_board.sql:2)",
        f"            {FIX_V3}",
        "",
        "3 changes: 3 breaking, 0 non-breaking",
        ""])


def test_diff_api_and_json_report_the_same_verdicts(shop: Path) -> None:
    edit(shop, SCHEMA, V2, V2_BROKEN)
    with Mesh.load(shop) as mesh:
        report = mesh.diff_contracts(BuildOptions())
    assert not report.ok
    assert [(c.kind, c.column, c.verdict) for c in report.changes] == [
        ("type_changed", "amount", "breaking, read by finance.revenue"),
        ("column_removed", "discount", "breaking, no consumer reads `discount`"),
        ("column_removed", "status", "breaking, read by ops.store_board")]
    data = report.to_dict()
    assert (data["version"], data["breaking"], data["non_breaking"]) == (1, 3, 0)
    assert data["changes"][2]["consumers"][1] == {
        "domain": "ops", "model": "store_board", "pinned_version": None, "file": "domains/ops/models/store_board.sql",
        "line": 2, "reads_column": True, "external": False}


def test_a_new_version_is_not_breaking(shop: Path) -> None:
    edit(shop, SCHEMA, V2, V3_ADDED)
    shutil.copy(shop / "domains/shop/models/fct_orders_v2.sql", shop / "domains/shop/models/fct_orders_v3.sql")
    result = mesh_cli("contracts", "diff", "--project-dir", str(shop), "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout == "\n".join([
        "### :white_check_mark: mesh contracts: no breaking change",
        "",
        f"Compared with contracts in {shop / 'contracts'}. 1 change: 0 breaking, 1 non-breaking.",
        "",
        "| | Data product | Change | Verdict | Consumers |",
        "|---|---|---|---|---|",
        "| non-breaking | `shop.fct_orders v3` | v3 of shop.fct_orders added | non-breaking |  |",
        ""]) + "\n"


def test_markdown_comment_for_a_breaking_change(shop: Path) -> None:
    edit(shop, SCHEMA, "      - name: status\n        data_type: varchar\n        data_tests: [not_null]",
         "      - name: status\n        data_type: varchar")
    result = mesh_cli("contracts", "diff", "--project-dir", str(shop), "--format", "markdown")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "### :x: mesh contracts: 1 breaking change"
    assert ("| :x: breaking | `shop.fct_orders v2` | column `status` of shop.fct_orders v2 may now be null (its not_null "
            "test was removed) | breaking, read by ops.store_board | finance.revenue (pins v2, does not read `status`) "
            "(domains/finance/models/revenue.sql:2)<br>ops.store_board (follows the latest version, reads `status`) "
            "(domains/ops/models/store_board.sql:2) |") in result.stdout.splitlines()
    assert "**How to fix**" in result.stdout


def test_moving_latest_version_breaks_consumers_that_do_not_pin(shop: Path) -> None:
    edit(shop, SCHEMA, "    latest_version: 2", "    latest_version: 1")
    with Mesh.load(shop) as mesh:
        report = mesh.diff_contracts(BuildOptions())
    moved = [c for c in report.changes if c.kind == "latest_moved"]
    assert [(c.breaking, c.message, [r.label for r in c.consumers]) for c in moved] == [
        (True, "latest_version of shop.fct_orders moved from 2 to 1, under consumers that do not pin a version",
         ["ops.store_board"])]


def test_diff_against_a_git_revision(shop: Path) -> None:
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", str(shop)], check=True)
    subprocess.run([*git, "-C", str(shop), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(shop), "commit", "-qm", "published"], check=True)
    shutil.rmtree(shop / "contracts")          # the work tree's contracts play no part with --base
    edit(shop, SCHEMA, "      - name: city\n        data_type: varchar\n", "")
    result = mesh_cli("contracts", "diff", "--project-dir", str(shop), "--base", "HEAD", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["base"] == "contracts at git revision HEAD"
    assert [(c["kind"], c["column"], c["verdict"]) for c in data["changes"]] == [
        ("column_removed", "city", "breaking, read by ops.store_board")]
    bad = mesh_cli("contracts", "diff", "--project-dir", str(shop), "--base", "no-such-branch")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("Error: cannot read contracts at git revision 'no-such-branch': ")
    assert bad.stderr.rstrip().endswith("pass a branch, tag or commit of this repository (e.g. --base origin/main)")
    with pytest.raises(GitRefError):
        with Mesh.load(shop) as mesh:
            mesh.diff_contracts(BuildOptions(), base="no-such-branch")


def test_diff_against_a_folder_and_a_broken_contract_file(shop: Path, tmp_path: Path) -> None:
    released = tmp_path / "released"
    shutil.copytree(shop / "contracts", released)
    same = mesh_cli("contracts", "diff", "--project-dir", str(shop), "--against", str(released))
    assert (same.exit_code, same.stdout.splitlines()[-1]) == (0, "No changes: the current definitions match the published contracts.")
    (released / "shop" / "dim_stores.odcs.yaml").write_text("kind: [unclosed\n")
    broken = mesh_cli("contracts", "diff", "--project-dir", str(shop), "--against", str(released))
    assert broken.exit_code == 2
    assert broken.stderr.startswith(f"Error: {released / 'shop' / 'dim_stores.odcs.yaml'}: not valid YAML (")
    assert broken.stderr.count("\n") == 1
    assert broken.stderr.rstrip().endswith("fix the file or run `mesh contracts publish` to write it again")
    with pytest.raises(ContractFileError):
        with Mesh.load(shop) as mesh:
            mesh.diff_contracts(BuildOptions(), against=released)


def test_column_reads_use_compiled_sql_while_the_file_is_what_was_built(built_shop: Path, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(built_shop, root, ignore=shutil.ignore_patterns("*.duckdb.wal"))
    reads = ColumnReads(Mesh.load(root).context)
    board = Reader("ops", "store_board", "shop", "fct_orders", None, "domains/ops/models/store_board.sql", 2)
    sql, relation = reads.sql(board, "2") or ("", "")
    assert relation == '"shop"."main"."fct_orders_v2"'
    assert 'from "shop"."main"."fct_orders_v2"' in sql
    edit(root, "domains/ops/models/store_board.sql", "select store_id, status", "select store_id")
    sql, relation = reads.sql(board, "2") or ("", "")
    assert relation == '"__mesh_ref__"."shop"."fct_orders"'
    assert 'select store_id from "__mesh_ref__"."shop"."fct_orders"' in sql


# --- deprecations -------------------------------------------------------------------------------

def test_deprecations_lists_consumers_and_whom_to_notify(built_shop: Path) -> None:
    result = mesh_cli("contracts", "deprecations", "--project-dir", str(built_shop))
    days = (__import__("datetime").date(2099, 1, 1) - __import__("datetime").date.today()).days
    assert (result.exit_code, result.stdout) == (0, (
        f"finance.legacy_discounts -> shop.fct_orders v1: 2099-01-01 (in {days} days); notify Finance "
        "<finance@example.com>; move to ref('shop', 'fct_orders', v=2) (domains/finance/models/legacy_discounts.sql:1)\n"
        "1 consumer ref on deprecated versions (0 past the date)\n"))
    soon = mesh_cli("contracts", "deprecations", "--project-dir", str(built_shop), "--within", "90")
    assert (soon.exit_code, soon.stdout) == (0, "No consumer is on a deprecated version.\n")


def test_a_passed_deprecation_date_fails(built_shop: Path, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(built_shop, root, ignore=shutil.ignore_patterns("*.duckdb.wal"))
    state = root / ".mesh/state/shop/interface.json"
    state.write_text(state.read_text().replace("2099-01-01", "2020-01-01"))
    uses, unknown = Mesh.load(root).deprecations()
    assert ([(u.use.consumer, u.use.model, u.use.passed, u.notify_email) for u in uses], unknown) == (
        [("finance", "legacy_discounts", True, "finance@example.com")], [])
    result = mesh_cli("contracts", "deprecations", "--project-dir", str(root), "--format", "json")
    assert result.exit_code == 1
    [use] = json.loads(result.stdout)["uses"]
    assert (use["passed"], use["deprecation_date"], use["notify"]) == (
        True, "2020-01-01", {"team": "Finance", "email": "finance@example.com"})


# --- conformance after build ----------------------------------------------------------------------

def test_a_built_product_that_does_not_match_its_contract_fails_its_domain(built_shop: Path, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(built_shop, root, ignore=shutil.ignore_patterns("*.duckdb.wal"))
    interface = (root / ".mesh/state/shop/interface.json").read_text()
    edit(root, "contracts/shop/dim_stores.odcs.yaml", "  - name: city\n    physicalType: varchar",
         "  - name: city\n    physicalType: integer")
    edit(root, "contracts/shop/dim_stores.odcs.yaml", "  properties:\n",
         "  properties:\n  - name: region\n    physicalType: varchar\n")
    result = mesh_cli("build", "--project-dir", str(root), "--skip-checks", "--select", "shop+")
    assert result.exit_code == 1
    assert ("Error: domain 'shop' built, but its data products do not match their published contracts: "
            "shop.dim_stores: column `region` is missing; shop.dim_stores: column `city` is VARCHAR in the warehouse, "
            "the contract says integer; its interface was not handed to downstream domains: fix the model, or review "
            "the change with `mesh contracts diff` and publish it with `mesh contracts publish`\n") in result.stderr
    assert "SKIP  finance      skipped because upstream domain 'shop' did not build" in result.stdout
    assert (root / ".mesh/state/shop/interface.json").read_text() == interface
    ok = Mesh.load(root)
    shutil.copy(built_shop / "contracts/shop/dim_stores.odcs.yaml", root / "contracts/shop/dim_stores.odcs.yaml")
    assert ok.build(BuildOptions(select=("shop",))).success
