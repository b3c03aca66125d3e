"""`mesh lineage`: models and columns across domains, from the manifests of real builds."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import mesh_cli
from mesh_cli.core.errors import UnknownColumnError, UnknownNodeError
from mesh_cli.app import Mesh
from test_catalog import build_example


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_example(tmp_path_factory.mktemp("example"))


# --- the basic mesh (core <- sales, ops alone), read only ---------------------------------------

def test_model_lineage_joins_domains_down_to_seeds(built_basic: Path) -> None:
    result = Mesh.load(built_basic).lineage("core.dim_people")
    assert result.roots == ["core.dim_people.v1", "core.dim_people.v2"]  # no version: every version
    assert set(result.edges) == {
        ("core.raw_people", "core.dim_people.v1"), ("core.raw_people", "core.dim_people.v2"),
        ("core.dim_people.v1", "sales.old_sales"), ("core.dim_people.v2", "sales.fct_sales"),
        ("core.dim_people.v2", "sales.one_arg"),
    }
    assert result.nodes["core.raw_people"]["kind"] == "seed"
    assert result.nodes["core.dim_people.v1"]["version"] == "1"


def test_direction_and_depth_limit_the_walk(built_basic: Path) -> None:
    mesh = Mesh.load(built_basic)
    assert mesh.lineage("sales.fct_sales", "up", depth=1).edges == [("core.dim_people.v2", "sales.fct_sales")]
    assert set(mesh.lineage("sales.fct_sales", "up").edges) == {
        ("core.dim_people.v2", "sales.fct_sales"), ("core.raw_people", "core.dim_people.v2")}
    assert mesh.lineage("sales.fct_sales", "down").edges == []
    assert set(mesh.lineage("core.raw_people", "down", depth=1).edges) == {
        ("core.raw_people", "core.dim_people.v1"), ("core.raw_people", "core.dim_people.v2")}


def test_lineage_text_dot_mermaid_and_json(built_basic: Path) -> None:
    where = ("--project-dir", str(built_basic))
    text = mesh_cli("lineage", "core.dim_people.v2", *where)
    assert (text.exit_code, text.stderr) == (0, "")
    assert text.stdout == (
        "core.dim_people.v2\n"
        "  upstream:\n"
        "    <- core.raw_people (seed)\n"
        "  downstream:\n"
        "    -> sales.fct_sales  [other domain]\n"
        "    -> sales.one_arg  [other domain]\n"
    )
    mermaid = mesh_cli("lineage", "sales.old_sales", "--upstream", "--format", "mermaid", *where)
    assert mermaid.stdout == (
        "graph LR\n"
        "  subgraph core\n"
        '    n0["core.dim_people.v1"]\n'
        '    n1["core.raw_people (seed)"]\n'
        "  end\n"
        "  subgraph sales\n"
        '    n2["sales.old_sales"]\n'
        "  end\n"
        "  n0 --> n2\n"
        "  n1 --> n0\n"
    )
    dot = mesh_cli("lineage", "sales.old_sales", "--upstream", "--depth", "1", "--format", "dot", *where).stdout
    assert '  "core.dim_people.v1" -> "sales.old_sales";' in dot.splitlines()
    assert "raw_people" not in dot
    data = json.loads(mesh_cli("lineage", "core.dim_people.v1", "--downstream", "--format", "json", *where).stdout)
    assert data["edges"] == [{"from": "core.dim_people.v1", "to": "sales.old_sales", "cross_domain": True}]
    assert [n["id"] for n in data["nodes"]] == ["core.dim_people.v1", "sales.old_sales"]


def test_unknown_model_and_column_are_errors(built_basic: Path) -> None:
    mesh = Mesh.load(built_basic)
    model = ("no model, seed or source 'core.dim_peopel' in the mesh's manifests "
             "(.mesh/state/<domain>/manifest.json); did you mean core.dim_people, core.dim_people.v2, "
             "core.dim_people.v1? name it as <domain>.<model> or <domain>.<model>.v<N>, and run `mesh build` if it is new")
    with pytest.raises(UnknownNodeError) as err:
        mesh.lineage("core.dim_peopel")
    assert str(err.value) == model
    result = mesh_cli("lineage", "core.dim_peopel", "--project-dir", str(built_basic))
    assert (result.exit_code, result.stderr) == (1, f"Error: {model}\n")
    column = ("'core.dim_people.v1' (domains/core/models/dim_people_v1.sql) has no column 'name'; known columns: "
              "id; check the spelling (`mesh show` lists a data product's columns)")
    with pytest.raises(UnknownColumnError) as err:
        mesh.lineage("core.dim_people.v1", column="name")
    assert str(err.value) == column
    result = mesh_cli("lineage", "core.dim_people.v1", "--column", "name", "--project-dir", str(built_basic))
    assert (result.exit_code, result.stderr) == (1, f"Error: {column}\n")


def test_column_lineage_in_basic(built_basic: Path) -> None:
    result = Mesh.load(built_basic).lineage("core.dim_people.v2", column="id")
    # the seed's columns come from its CSV header; one_arg counts rows and reads no column
    assert result.edges == [("core.raw_people.id", "core.dim_people.v2.id"),
                            ("core.dim_people.v2.id", "sales.fct_sales.id")]
    assert result.unresolved == {}


# --- the example mesh, built once for this module ------------------------------------------------

def test_column_downstream_names_the_consumer_and_its_columns(example: Path) -> None:
    mesh = Mesh.load(example)
    result = mesh.lineage("orders.fct_orders.v1", "down", column="amount")
    assert result.edges == [
        ("orders.fct_orders.v1.amount", "marketing.int_attributed_orders.amount"),
        ("marketing.int_attributed_orders.amount", "marketing.fct_campaign_performance.attributed_revenue"),
        ("marketing.int_attributed_orders.amount", "marketing.fct_campaign_performance.return_on_ad_spend"),
    ]
    direct = mesh.lineage("orders.fct_orders.v1", "down", depth=1, column="order_date")
    assert direct.edges == [
        ("orders.fct_orders.v1.order_date", "marketing.int_attributed_orders.days_to_order"),
        ("orders.fct_orders.v1.order_date", "marketing.int_attributed_orders.order_date"),
    ]
    assert mesh.lineage("orders.fct_orders.v2", "down", depth=1, column="order_total").edges == [
        ("orders.fct_orders.v2.order_total", f"payments.fct_order_reconciliation.{c}")
        for c in ("balance_due", "is_fully_paid", "order_total", "payment_status")]


def test_a_column_read_only_in_a_join_is_shown_as_read(example: Path) -> None:
    result = Mesh.load(example).lineage("customers.dim_customers", "down", depth=1, column="customer_id")
    assert result.edges == [("customers.dim_customers.customer_id", "marketing.dim_customer_segments.customer_id"),
                            ("customers.dim_customers.customer_id", "orders.int_orders_enriched")]
    assert result.nodes["orders.int_orders_enriched"]["reads_only"] is True


def test_column_upstream_reaches_the_seed_columns(example: Path) -> None:
    result = Mesh.load(example).lineage("orders.fct_orders.v1", "up", column="amount")
    assert result.edges[0] == ("orders.int_orders_enriched.order_total_cents", "orders.fct_orders.v1.amount")
    leaves = {a for a, _ in result.edges} - {b for _, b in result.edges}
    assert leaves == {"orders.raw_order_items.quantity", "orders.raw_order_items.unit_price_cents"}
    assert {result.nodes[leaf]["kind"] for leaf in leaves} == {"seed"}


def test_column_lineage_cli_text(example: Path) -> None:
    result = mesh_cli("lineage", "orders.fct_orders.v1", "--column", "amount", "--downstream",
                      "--project-dir", str(example))
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "orders.fct_orders.v1.amount\n"
        "  downstream:\n"
        "    -> marketing.int_attributed_orders.amount  [other domain]\n"
        "      -> marketing.fct_campaign_performance.attributed_revenue\n"
        "      -> marketing.fct_campaign_performance.return_on_ad_spend\n"
    )
    data = json.loads(mesh_cli("lineage", "orders.fct_orders", "--downstream", "--depth", "1", "--format", "json",
                               "--project-dir", str(example)).stdout)
    assert data["roots"] == ["orders.fct_orders.v1", "orders.fct_orders.v2"]
    assert data["edges"] == [
        {"from": "orders.fct_orders.v1", "to": "marketing.int_attributed_orders", "cross_domain": True},
        {"from": "orders.fct_orders.v2", "to": "payments.fct_order_reconciliation", "cross_domain": True},
    ]
