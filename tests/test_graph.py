"""The domain graph: order, cycles and dbt's selection words, as pure functions."""
from __future__ import annotations

import pytest

from mesh_cli.core.errors import CycleError, UnknownDomainError
from mesh_cli.project.graph import MeshGraph


def diamond() -> MeshGraph:
    g = MeshGraph(["marketing", "payments", "orders", "customers", "ops"])
    g.link("customers", "orders", "ref", "dim_customers", "fct_orders")
    g.link("orders", "payments", "ref", "fct_orders", "fct_payments")
    g.link("customers", "marketing", "ref", "dim_customers", "campaigns")
    g.link("payments", "marketing", "declared")
    return g


def test_order_is_topological_with_ties_broken_by_name() -> None:
    assert diamond().order() == ["customers", "ops", "orders", "payments", "marketing"]


@pytest.mark.parametrize("select,exclude,expected", [
    ((), (), ["customers", "ops", "orders", "payments", "marketing"]),
    (("orders",), (), ["orders"]),
    (("+payments",), (), ["customers", "orders", "payments"]),
    (("orders+",), (), ["orders", "payments", "marketing"]),
    (("1+payments",), (), ["orders", "payments"]),
    (("customers+1",), (), ["customers", "orders", "marketing"]),
    (("+marketing",), ("customers",), ["orders", "payments", "marketing"]),
    (("orders ops",), (), ["ops", "orders"]),
    (("orders,ops",), (), ["ops", "orders"]),
])
def test_selection_words(select: tuple[str, ...], exclude: tuple[str, ...], expected: list[str]) -> None:
    assert diamond().select(select, exclude) == expected


def test_unknown_selector_names_the_known_domains() -> None:
    with pytest.raises(UnknownDomainError) as info:
        diamond().select(["+nope"])
    assert info.value.message == (
        "unknown domain 'nope'; known domains: customers, marketing, ops, orders, payments; check --select/--exclude"
    )


def test_cycle_names_its_path_starting_from_the_smallest_name() -> None:
    g = diamond()
    g.link("marketing", "customers", "ref", "campaigns", "dim_customers")
    with pytest.raises(CycleError) as info:
        g.order()
    assert info.value.path[0] == info.value.path[-1] == "customers"
    assert info.value.message.startswith("domains depend on each other in a cycle: customers -> ")
    assert info.value.message.endswith(" -> customers; break it by moving the shared models into one domain")


def test_edges_record_models_and_why() -> None:
    edges = {(u, d): (models, kinds) for u, d, models, kinds in diamond().edges()}
    assert edges[("customers", "orders")] == (["dim_customers"], ["ref"])
    assert edges[("payments", "marketing")] == ([], ["declared"])
    assert ("customers.dim_customers", "orders.fct_orders") in diamond().model_edges()
