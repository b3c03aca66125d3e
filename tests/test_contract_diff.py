"""The breaking-change rules as a truth table over contracts built in memory."""
from __future__ import annotations

import copy
from datetime import date
from typing import Callable, Optional

import pytest

from mesh_cli.contracts.model import ColumnContract, ModelContract
from mesh_cli.contracts.diff import Change, Reader, diff

TODAY = date(2026, 11, 23)


def product(version: Optional[str] = "1", latest: Optional[str] = "1", **over: object) -> ModelContract:
    c = ModelContract(
        domain="shop", model="fct_orders", version=version, latest_version=latest, access="public",
        materialized="table", contract_enforced=True, description="Orders.", owner_team="Shop",
        owner_email="shop@example.com", columns=[
            ColumnContract("order_id", "integer", "Id.", constraints=["not_null", "primary_key"], tests=["unique"]),
            ColumnContract("status", "varchar", "Status.", tests=["not_null"]),
            ColumnContract("discount", "decimal(10,2)", "Discount."),
        ])
    for key, value in over.items():
        setattr(c, key, value)
    return c


def keyed(*contracts: ModelContract) -> dict:
    return {c.key: c for c in contracts}


PINNED = Reader("finance", "revenue", "shop", "fct_orders", pinned="1", file="domains/finance/models/revenue.sql", line=1)
UNPINNED = Reader("ops", "status_board", "shop", "fct_orders", pinned=None, file="domains/ops/models/status_board.sql", line=2)


def col(c: ModelContract, name: str) -> ColumnContract:
    found = c.column(name)
    assert found is not None
    return found


def mutate(fn: Callable[[ModelContract], None]) -> ModelContract:
    c = product()
    fn(c)
    return c


def drop(name: str) -> Callable[[ModelContract], None]:
    return lambda c: setattr(c, "columns", [x for x in c.columns if x.name != name])


# (case, mutation of the current contract, expected (kind, breaking) pairs)
CASES: list[tuple[str, Callable[[ModelContract], None], list[tuple[str, bool]]]] = [
    ("unchanged", lambda c: None, []),
    ("contract no longer enforced", lambda c: setattr(c, "contract_enforced", False), [("contract_unenforced", True)]),
    ("column removed", drop("discount"), [("column_removed", True)]),
    ("base type changed", lambda c: setattr(col(c, "discount"), "data_type", "varchar"), [("type_changed", True)]),
    ("precision changed only", lambda c: setattr(col(c, "discount"), "data_type", "decimal(18, 4)"), [("type_size_changed", False)]),
    ("same type, other case and spacing", lambda c: setattr(col(c, "discount"), "data_type", "DECIMAL(10, 2)"), []),
    ("enforced constraint removed", lambda c: setattr(col(c, "order_id"), "constraints", ["primary_key"]), [("constraint_removed", True)]),
    ("not_null test removed", lambda c: setattr(col(c, "status"), "tests", []), [("nullability_loosened", True)]),
    ("not_null test swapped for a constraint", lambda c: (setattr(col(c, "status"), "tests", []), setattr(col(c, "status"), "constraints", ["not_null"])),
     [("constraint_added", False)]),
    ("column added", lambda c: c.columns.append(ColumnContract("channel", "varchar")), [("column_added", False)]),
    ("constraint added", lambda c: setattr(col(c, "discount"), "constraints", ["check(discount >= 0)"]), [("constraint_added", False)]),
    ("model constraint removed", None, [("constraint_removed", True)]),
    ("column description changed", lambda c: setattr(col(c, "status"), "description", "Fulfilment status."), [("description_changed", False)]),
    ("model description changed", lambda c: setattr(c, "description", "All orders."), [("description_changed", False)]),
    ("tags changed", lambda c: setattr(c, "tags", ["finance"]), [("tags_changed", False)]),
    ("column tagged pii", lambda c: setattr(col(c, "status"), "pii", True), [("tags_changed", False)]),
    ("table to view drops constraints", lambda c: setattr(c, "materialized", "view"), [("materialization_changed", True)]),
    ("table to incremental keeps them", lambda c: setattr(c, "materialized", "incremental"), [("materialization_changed", False)]),
    ("public to protected", lambda c: setattr(c, "access", "protected"), [("access_narrowed", True)]),
    ("public to private", lambda c: setattr(c, "access", "private"), [("access_narrowed", True)]),
    ("allow-list introduced, leaving a consumer out", lambda c: setattr(c, "allowed_consumers", ["finance"]), [("consumers_narrowed", True)]),
    ("deprecation date set", lambda c: setattr(c, "deprecation_date", "2027-06-30"), [("deprecation_changed", False)]),
    ("owner changed", lambda c: setattr(c, "owner_email", "orders@example.com"), [("owner_changed", False)]),
    ("contract becomes enforced", None, [("contract_enforced", False)]),
]


@pytest.mark.parametrize("case, change, expected", CASES, ids=[c[0] for c in CASES])
def test_change_kinds(case: str, change: Optional[Callable[[ModelContract], None]], expected: list[tuple[str, bool]]) -> None:
    old, new = product(), product()
    if case == "model constraint removed":
        old.constraints = ["primary_key(order_id)"]
    elif case == "contract becomes enforced":
        old.contract_enforced = False
    else:
        assert change is not None
        change(new)
    changes = diff(keyed(old), keyed(new), [PINNED, UNPINNED], TODAY)
    assert [(c.kind, c.breaking) for c in changes] == expected


@pytest.mark.parametrize("kind, change", [
    ("column_removed", drop("discount")),
    ("type_changed", lambda c: setattr(col(c, "discount"), "data_type", "double")),
    ("constraint_removed", lambda c: setattr(col(c, "order_id"), "constraints", ["primary_key"])),
])
def test_an_unenforced_contract_promised_no_columns(kind: str, change: Callable[[ModelContract], None]) -> None:
    old, new = product(contract_enforced=False), product(contract_enforced=False)
    change(new)
    assert [(c.kind, c.breaking) for c in diff(keyed(old), keyed(new), [PINNED], TODAY)] == [(kind, False)]


def test_allow_list_widened_is_not_breaking() -> None:
    old, new = product(allowed_consumers=["finance"]), product(allowed_consumers=["finance", "ops"])
    assert [(c.kind, c.breaking) for c in diff(keyed(old), keyed(new), [PINNED], TODAY)] == [("consumers_widened", False)]


def test_allow_list_narrowed_names_the_consumers_left_out() -> None:
    old, new = product(allowed_consumers=["finance", "ops"]), product(allowed_consumers=["finance"])
    [change] = diff(keyed(old), keyed(new), [PINNED, UNPINNED], TODAY)
    assert (change.kind, change.breaking) == ("consumers_narrowed", True)
    assert [r.label for r in change.consumers] == ["ops.status_board"]
    assert change.message == "shop.fct_orders v1 narrowed its allowed consumers to: finance (no longer: ops)"
    assert change.fix == "keep ops in the allowed consumers until they no longer read it"


def test_new_version_added_is_not_breaking() -> None:
    old = keyed(product("1", "1"))
    new = keyed(product("1", "1"), product("2", "1"))
    assert [(c.kind, c.breaking, c.message) for c in diff(old, new, [PINNED, UNPINNED], TODAY)] == [
        ("version_added", False, "v2 of shop.fct_orders added")]


def test_new_data_product_is_not_breaking() -> None:
    other = product(None, None, model="dim_stores")
    assert [(c.kind, c.breaking) for c in diff({}, keyed(other), [], TODAY)] == [("model_added", False)]


@pytest.mark.parametrize("deprecation, readers, breaking, message", [
    (None, [], True, "v1 of shop.fct_orders was removed"),
    ("2027-01-01", [], True, "v1 of shop.fct_orders was removed before its deprecation date (2027-01-01)"),
    ("2026-01-01", [], False, "v1 of shop.fct_orders was removed after its deprecation date (2026-01-01)"),
    ("2026-01-01", [PINNED], True,
     "v1 of shop.fct_orders was removed after its deprecation date (2026-01-01), but consumers still ref it"),
])
def test_version_removed(deprecation: Optional[str], readers: list[Reader], breaking: bool, message: str) -> None:
    old = keyed(product("1", "2", deprecation_date=deprecation), product("2", "2"))
    new = keyed(product("2", "2"))
    [change] = diff(old, new, readers, TODAY)
    assert (change.kind, change.breaking, change.message) == ("version_removed", breaking, message)
    assert [r.label for r in change.consumers] == [r.label for r in readers]


def test_unversioned_model_removed_is_breaking_for_every_consumer() -> None:
    old = product(None, None)
    reader = Reader("ops", "board", "shop", "fct_orders")
    [change] = diff(keyed(old), {}, [reader], TODAY)
    assert (change.kind, change.breaking, change.verdict) == ("model_removed", True, "breaking for ops.board")
    assert change.fix == "restore shop.fct_orders until its consumers have moved off it, and give it a deprecation_date first"


@pytest.mark.parametrize("readers, breaking", [([UNPINNED, PINNED], True), ([PINNED], False)])
def test_latest_version_moved(readers: list[Reader], breaking: bool) -> None:
    old = keyed(product("1", "1"), product("2", "1"))
    new = keyed(product("1", "2"), product("2", "2"))
    [change] = diff(old, new, readers, TODAY)
    assert (change.kind, change.breaking) == ("latest_moved", breaking)
    assert [r.label for r in change.consumers] == (["ops.status_board"] if breaking else [])
    if breaking:
        assert change.fix == ("pin those consumers to v1 (ref('shop', 'fct_orders', v=1)) before moving latest_version, "
                              "or keep latest_version: 1")


def test_consumers_are_those_landing_on_the_changed_version() -> None:
    old = keyed(product("1", "2"), product("2", "2"))
    new = keyed(product("1", "2"), product("2", "2", columns=product().columns[:2]))
    [change] = diff(old, new, [PINNED, UNPINNED], TODAY)
    assert (change.kind, change.version) == ("column_removed", "2")
    assert [r.label for r in change.consumers] == ["ops.status_board"]   # unpinned lands on latest v2; PINNED is on v1


@pytest.mark.parametrize("reads, verdict", [
    ([True, False], "breaking, read by finance.revenue"),
    ([False, False], "breaking, no consumer reads `discount`"),
    ([None, False], "breaking, read by finance.revenue"),
])
def test_verdict_depends_on_who_reads_the_column(reads: list[Optional[bool]], verdict: str) -> None:
    change = Change("column_removed", True, "shop", "fct_orders", "1", "column `discount` removed", "discount",
                    consumers=[Reader(**{**PINNED.__dict__, "reads": reads[0]}), Reader(**{**UNPINNED.__dict__, "reads": reads[1]})])
    assert change.verdict == verdict


def test_fix_suggests_the_next_version() -> None:
    old, new = product("3", "3"), mutate(drop("discount"))
    new.version = new.latest_version = "3"
    [change] = diff(keyed(old), keyed(new), [], TODAY)
    assert change.fix == ("keep v3 unchanged and add the change as v4 (`- v: 4` under versions:), with a deprecation_date "
                          "on v3 so its consumers can migrate")
    assert change.verdict == "breaking, no consumer in the mesh refs it"


def test_unversioned_fix_explains_how_to_start_versioning() -> None:
    old = product(None, None)
    new = copy.deepcopy(old)
    new.columns = new.columns[:2]
    [change] = diff(keyed(old), keyed(new), [], TODAY)
    assert change.fix == ("leave 'fct_orders' as it is and add the change as a new version: `versions: [{v: 1}, {v: 2}]` "
                          "with `latest_version: 1`, then set a deprecation_date on v1 once consumers have moved")
