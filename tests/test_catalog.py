"""`mesh catalog` and `mesh show`: data products read from the manifests of real builds."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from conftest import mesh_cli
from mesh_cli.catalog.products import Consumer
from mesh_cli.core.errors import ConfigError, UnknownDomainError, UnknownProductError
from mesh_cli.app import Mesh

REPO = Path(__file__).parent.parent
_IGNORE = shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml", "*.duckdb*")
CONTRACT = {
    "apiVersion": "v3.1.0", "kind": "DataContract", "id": "orders.fct_orders.v2", "version": "1.0.0",
    "status": "active",
    "schema": [{"name": "fct_orders", "properties": [{"name": "order_id"}, {"name": "order_total"}]}],
}


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data["models"])
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _model(models: list[dict], name: str) -> dict:
    return next(m for m in models if m["name"] == name)


def build_example(dest: Path) -> Path:
    """The repository's example mesh copied and built once, with an SLA, a PII column, a tag and a
    published contract added, so the catalog has each of them to find."""
    root = dest / "acme"
    for folder in ("domains", "macros", "profiles"):
        shutil.copytree(REPO / folder, root / folder, ignore=_IGNORE)
    shutil.copy(REPO / "mesh.yml", root / "mesh.yml")
    _edit(root / "domains/orders/models/marts/_marts.yml",
          lambda ms: _model(ms, "fct_orders").setdefault("config", {}).update(meta={"mesh": {"sla": {"freshness": "24h"}}}))
    _edit(root / "domains/customers/models/marts/_marts.yml",
          lambda ms: _model(_model(ms, "dim_customers")["columns"], "email_domain").update(meta={"pii": True}))
    _edit(root / "domains/payments/models/marts/_marts.yml", lambda ms: _model(ms, "fct_payments").setdefault("config", {}).update(tags=["finance"]))
    result = Mesh.load(root).build()
    assert result.success, result.to_dict()
    # After the build: a build checks its models against published contracts, and this one is partial.
    (root / "contracts/orders").mkdir(parents=True)
    (root / "contracts/orders/fct_orders.v2.odcs.yaml").write_text(yaml.safe_dump(CONTRACT, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_example(tmp_path_factory.mktemp("example"))


# --- the basic mesh (core <- sales, ops alone), read only ---------------------------------------

def test_a_product_groups_its_versions_with_owner_columns_and_tests(built_basic: Path) -> None:
    found = Mesh.load(built_basic).products()
    assert [p.key for p in found] == ["core.dim_people"]
    p = found[0]
    assert (p.owner_team, p.owner_email, p.group, p.latest_version) == ("Core", "core@example.com", "core_team", "2")
    assert [(v.version, v.is_latest, v.deprecation_date, v.contract_enforced) for v in p.versions] == [
        ("1", False, "2027-01-01", True), ("2", True, None, True)]
    v1, v2 = p.versions
    assert [(c.name, c.data_type, c.constraints, c.tests, c.pii) for c in v2.columns] == [
        ("id", "integer", ["not_null"], ["unique"], False), ("name", "varchar", [], [], False)]
    assert [c.name for c in v1.columns] == ["id"]  # v1 excludes name
    assert v2.tests == ["test.core.assert_people_have_ids", "test.core.unique_dim_people_v2_id.e28860a8b4"]
    assert p.original_file_path == "domains/core/models/dim_people.sql"
    assert (p.source, p.sla_freshness, v2.contract_path) == ("build", None, None)
    assert p.last_build is not None and p.last_build.status == "success" and p.last_build.fresh is None
    assert 0 <= p.last_build.age_seconds < 3600


def test_consumers_are_other_domains_models_with_the_version_they_pin(built_basic: Path) -> None:
    v1, v2 = Mesh.load(built_basic).product("core.dim_people").versions
    assert v1.consumers == [Consumer("sales", "old_sales", "1")]
    # ref('core', 'dim_people') and ref('dim_people') follow the latest version: no pin
    assert v2.consumers == [Consumer("sales", "fct_sales", None), Consumer("sales", "one_arg", None)]


def test_query_domain_and_tag_filter_the_products(built_basic: Path) -> None:
    mesh = Mesh.load(built_basic)
    assert [p.key for p in mesh.products("NAME")] == ["core.dim_people"]          # a column name
    assert [p.key for p in mesh.products("core@EXAMPLE")] == ["core.dim_people"]  # the owner
    assert mesh.products("invoice") == []
    assert mesh.products(domain="ops") == []
    assert [p.key for p in mesh.products(domain="core")] == ["core.dim_people"]
    assert mesh.products(tag="finance") == []
    with pytest.raises(UnknownDomainError) as err:
        mesh.products(domain="opps")
    assert str(err.value) == "unknown domain 'opps'; known domains: core, ops, sales; check --domain"


def test_an_unknown_product_names_close_matches(built_basic: Path) -> None:
    expected = ("unknown data product 'core.dim_peple' (public models are read from "
                ".mesh/state/<domain>/manifest.json); did you mean core.dim_people? known products: "
                "core.dim_people; `mesh catalog` lists them")
    with pytest.raises(UnknownProductError) as err:
        Mesh.load(built_basic).product("core.dim_peple")
    assert str(err.value) == expected
    result = mesh_cli("show", "core.dim_peple", "--project-dir", str(built_basic))
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {expected}\n")


def test_catalog_text_is_a_table(built_basic: Path) -> None:
    result = mesh_cli("catalog", "--project-dir", str(built_basic))
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PRODUCT", "VERSIONS", "OWNER", "CONTRACT", "COLUMNS", "CONSUMERS", "LAST", "BUILD"]
    cells = [c.strip() for c in lines[1].split("  ") if c.strip()]
    assert cells[:6] == ["core.dim_people", "v1 (deprecated 2027-01-01), v2*", "Core <core@example.com>",
                         "enforced", "2", "3"]
    assert cells[6].startswith("success ") and cells[6].endswith(" ago")
    assert lines[2:] == ["", "1 data product (* latest version)"]


def test_catalog_json_and_no_match(built_basic: Path) -> None:
    result = mesh_cli("catalog", "people", "--format", "json", "--project-dir", str(built_basic))
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["version"], data["missing"], [p["key"] for p in data["products"]]) == (1, [], ["core.dim_people"])
    p = data["products"][0]
    assert [v["version"] for v in p["versions"]] == ["1", "2"]
    assert p["versions"][0]["consumers"] == [{"domain": "sales", "model": "old_sales", "version": "1"}]
    none = mesh_cli("catalog", "invoice", "--project-dir", str(built_basic))
    assert (none.exit_code, none.stdout) == (0, "No data product matches 'invoice'.\n")
    bad = mesh_cli("catalog", "--domain", "opps", "--project-dir", str(built_basic))
    assert (bad.exit_code, bad.stderr) == (2, "Error: unknown domain 'opps'; known domains: core, ops, sales; check --domain\n")


def test_show_text_and_json(built_basic: Path) -> None:
    result = mesh_cli("show", "core.dim_people", "--project-dir", str(built_basic))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "core.dim_people  (data product of domain core)"
    assert "  owner:        Core <core@example.com> (group core_team)" in lines
    v1 = lines.index("  version 1  contract enforced, deprecated 2027-01-01")
    v2 = lines.index("  version 2 (latest)  contract enforced")
    assert lines[v1 + 1:v2 - 1] == [
        "    contract: not published (contracts/ holds no file for this version)",
        "    columns (1):",
        "      id  integer; not null; tests: unique",
        "    tests (1):",
        "      test.core.unique_dim_people_v1_id.0a85d85cd5",
        "    consumers (1):",
        "      sales.old_sales  pinned to v1",
    ]
    assert lines[-3:] == ["    consumers (2):", "      sales.fct_sales  follows the latest",
                          "      sales.one_arg  follows the latest"]
    data = json.loads(mesh_cli("show", "core.dim_people", "--format", "json", "--project-dir", str(built_basic)).stdout)
    expected = Mesh.load(built_basic).product("core.dim_people").to_dict()
    for d in (data, expected):
        d["last_build"].pop("age_seconds")
    assert data == expected


def test_a_domain_never_built_falls_back_to_check_state_or_is_noted_missing(rebuilt_basic: Path) -> None:
    state = rebuilt_basic / ".mesh"
    shutil.rmtree(state / "state" / "ops")
    # core's manifest where `mesh check` keeps its parse: a domain checked but never built
    (state / "check").mkdir()
    shutil.move(state / "state" / "core", state / "check" / "core")
    (state / "run_results.json").unlink()
    loaded = Mesh.load(rebuilt_basic).catalog()
    assert loaded.missing == ["ops"]
    p = loaded.get("core.dim_people")
    assert (p.source, p.last_build) == ("check", None)
    assert p.versions[0].consumers == [Consumer("sales", "old_sales", "1")]
    result = mesh_cli("catalog", "--project-dir", str(rebuilt_basic))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1].endswith("never built (checked only)")
    assert result.stderr == ("Note: ops is neither built nor checked, so its data products are not listed; "
                             "run `mesh build` or `mesh check` first\n")
    assert json.loads(mesh_cli("catalog", "--format", "json", "--project-dir", str(rebuilt_basic)).stdout)["missing"] == ["ops"]


def test_a_malformed_sla_is_a_config_error_naming_the_file(rebuilt_basic: Path) -> None:
    # dbt accepts any meta, so the bad value is written where a build would have put it
    path = rebuilt_basic / ".mesh/state/core/manifest.json"
    manifest = json.loads(path.read_text())
    manifest["nodes"]["model.core.dim_people.v2"]["config"]["meta"] = {"mesh": {"sla": {"freshness": "daily"}}}
    path.write_text(json.dumps(manifest))
    expected = (f"{rebuilt_basic}/domains/core/models/schema.yml: model dim_people: meta.mesh.sla.freshness "
                f"'daily' is not a duration such as 30m, 24h or 7d; see Service levels (SLA) in the README")
    with pytest.raises(ConfigError) as err:
        Mesh.load(rebuilt_basic).products()
    assert str(err.value) == expected
    result = mesh_cli("catalog", "--project-dir", str(rebuilt_basic))
    assert (result.exit_code, result.stderr) == (2, f"Error: {expected}\n")


# --- the example mesh, built once for this module ------------------------------------------------

def test_example_consumers_across_domains(example: Path) -> None:
    mesh = Mesh.load(example)
    v1, v2 = mesh.product("orders.fct_orders").versions
    assert v1.consumers == [Consumer("marketing", "int_attributed_orders", "1")]
    assert v2.consumers == [Consumer("payments", "fct_order_reconciliation", None)]
    assert mesh.product("customers.dim_customers").versions[0].consumers == [
        Consumer("marketing", "dim_customer_segments", None), Consumer("orders", "int_orders_enriched", None)]
    assert [p.key for p in mesh.products()] == [
        "customers.dim_customers", "marketing.dim_campaigns", "marketing.dim_customer_segments",
        "marketing.fct_campaign_performance", "orders.dim_products", "orders.fct_orders",
        "payments.fct_order_reconciliation", "payments.fct_payments"]


def test_example_sla_fresh_then_stale(example: Path) -> None:
    p = Mesh.load(example).product("orders.fct_orders")
    assert (p.sla_freshness, p.last_build.fresh) == ("24h", True)
    # A product's last build is its node's in the build history: move the example's build two days back.
    history = sqlite3.connect(example / ".mesh/history.sqlite")
    shift = "UPDATE model_runs SET completed_at = completed_at + ? WHERE unique_id = 'model.orders.fct_orders.v2'"
    with history:
        history.execute(shift, (-2 * 86400,))
    try:
        stale = Mesh.load(example).product("orders.fct_orders")
        assert stale.last_build.fresh is False and stale.last_build.age_seconds >= 2 * 86400
        row = next(line for line in mesh_cli("catalog", "fct_orders", "--project-dir", str(example)).stdout.splitlines()
                   if line.startswith("orders.fct_orders"))
        assert row.endswith("success 2d ago, stale (SLA 24h)")
    finally:
        with history:
            history.execute(shift, (2 * 86400,))
        history.close()


def test_example_published_contract_pii_and_tag(example: Path) -> None:
    mesh = Mesh.load(example)
    v1, v2 = mesh.product("orders.fct_orders").versions
    assert (v1.contract_path, v2.contract_path) == (None, "contracts/orders/fct_orders.v2.odcs.yaml")
    assert v2.contract == {"path": "contracts/orders/fct_orders.v2.odcs.yaml", "apiVersion": "v3.1.0",
                           "kind": "DataContract", "id": "orders.fct_orders.v2", "version": "1.0.0",
                           "status": "active", "objects": 1, "properties": 2}
    shown = mesh_cli("show", "orders.fct_orders", "--project-dir", str(example)).stdout.splitlines()
    assert ("    contract: contracts/orders/fct_orders.v2.odcs.yaml (apiVersion v3.1.0, version 1.0.0, "
            "status active, 2 properties in 1 object(s))") in shown
    columns = {c.name: c.pii for c in mesh.product("customers.dim_customers").versions[0].columns}
    assert (columns["email_domain"], columns["customer_id"]) == (True, False)
    tagged = json.loads(mesh_cli("catalog", "--tag", "FINANCE", "--format", "json", "--project-dir", str(example)).stdout)
    assert [p["key"] for p in tagged["products"]] == ["payments.fct_payments"]
