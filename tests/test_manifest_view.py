"""The typed view of dbt's manifest.json: truth tables over small hand-made manifests, one manifest
from a real `dbt parse`, and the error for a manifest another dbt wrote."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Optional

import pytest

from conftest import copy_fixture, mesh_cli
from mesh_cli.app import Mesh
from mesh_cli.core.errors import UnsupportedManifestError
from mesh_cli.state.interface import extract_interface
from mesh_cli.state.manifest import Manifest
from mesh_cli.state.nodes import REFABLE, Constraint

V12 = "https://schemas.getdbt.com/dbt/manifest/v12.json"
SUPPORTED = ("this mesh does not support (it reads v12, written by dbt-core 1.10 and 1.11); rebuild the domain "
             "with a supported dbt (see README: Supported versions)")


def node(name: str, kind: str = "model", package: str = "shop", **fields: Any) -> dict[str, Any]:
    version = fields.get("version")
    uid = f"{kind}.{package}.{name}" + (f".v{version}" if version is not None else "")
    return {"resource_type": kind, "name": name, "package_name": package, "unique_id": uid, **fields}


def view(*nodes: dict[str, Any], groups: Optional[dict[str, Any]] = None, **top: Any) -> Manifest:
    return Manifest.from_dict({
        "nodes": {n["unique_id"]: n for n in nodes if n["resource_type"] != "source"},
        "sources": {n["unique_id"]: n for n in nodes if n["resource_type"] == "source"},
        "groups": groups or {}, **top,
    })


def only(manifest: Manifest) -> Any:
    (found,) = manifest.nodes.values()
    return found


# --- contracts: dbt copies config.contract to the node's contract, which is what it checksums ------

@pytest.mark.parametrize("on_node, in_config, kind, enforced", [
    ({"enforced": True}, {"enforced": True}, "model", True),      # as dbt writes a contracted model
    ({"enforced": False}, {"enforced": False}, "model", False),
    ({"enforced": True}, None, "model", True),
    ({"enforced": True}, {"enforced": False}, "model", True),     # the node's wins
    ({"enforced": False}, {"enforced": True}, "model", False),
    (None, {"enforced": True}, "model", False),                   # config alone: not what dbt enforces
    (None, None, "model", False),
    (None, {"enforced": True}, "seed", False),                    # a seed has config.contract, never a contract
    ({"enforced": "yes"}, None, "model", False),                  # only true is true
])
def test_where_contract_enforced_is_read(on_node: Optional[dict], in_config: Optional[dict], kind: str,
                                         enforced: bool) -> None:
    fields: dict[str, Any] = {"config": {"contract": in_config} if in_config is not None else {}}
    if on_node is not None:
        fields["contract"] = on_node
    assert only(view(node("m", kind, **fields))).contract_enforced is enforced


# --- versions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, expected", [
    ({"version": 2, "latest_version": 2}, ("2", "2", "shop.m.v2", "'m' v2")),
    ({"version": "1", "latest_version": 2}, ("1", "2", "shop.m.v1", "'m' v1")),
    ({}, (None, None, "shop.m", "'m'")),
])
def test_versions_are_compared_as_text(fields: dict, expected: tuple) -> None:
    m = only(view(node("m", **fields)))
    assert (m.version_text, m.latest_version_text, m.key, m.label) == expected
    assert m.version == fields.get("version")   # as dbt wrote it: interface.json publishes it so


@pytest.mark.parametrize("written, day", [("2027-01-01", "2027-01-01"), ("2027-01-01T00:00:00Z", "2027-01-01"),
                                          (None, None), ("", None)])
def test_deprecation_date_as_a_day(written: Optional[str], day: Optional[str]) -> None:
    m = only(view(node("m", deprecation_date=written)))
    assert (m.deprecation_date, m.deprecation_day) == (written, day)


# --- constraints, model-level and column-level ---------------------------------------------------

@pytest.mark.parametrize("raw, label", [
    ({"type": "not_null"}, "not_null"),
    ({"type": "primary_key", "columns": ["order_id", "day"]}, "primary_key(order_id, day)"),
    ({"type": "check", "expression": "amount > 0"}, "check(amount > 0)"),
    ({"type": "check", "expression": "amount > 0", "columns": ["amount"]}, "check(amount > 0)"),
    ({"type": "check"}, "check"),
    ({"type": "unique", "columns": []}, "unique"),
])
def test_constraint_labels(raw: dict, label: str) -> None:
    assert Constraint.from_dict(raw).label == label


def test_constraints_at_model_and_column_level() -> None:
    m = only(view(node("m", constraints=[{"type": "primary_key", "columns": ["a", "b"]}], columns={
        "a": {"name": "a", "data_type": "integer", "constraints": [{"type": "not_null"}, {"type": "unique"}]},
        "b": {"name": "b", "constraints": []},
    })))
    assert [(c.type, c.columns) for c in m.constraints] == [("primary_key", ("a", "b"))]
    assert [(c.name, c.data_type, c.constraint_types) for c in m.columns] == [
        ("a", "integer", frozenset({"not_null", "unique"})), ("b", None, frozenset())]


# --- columns: meta and tags as dbt merges them ---------------------------------------------------

@pytest.mark.parametrize("column, meta, pii, masked", [
    ({"meta": {"pii": True}}, {"pii": True}, True, False),
    ({"meta": {"pii": True}, "config": {"meta": {"pii": False}}}, {"pii": False}, False, False),  # config wins
    ({"config": {"tags": ["pii"]}}, {}, True, False),
    ({"tags": ["pii"]}, {}, True, False),
    ({"meta": {"pii": "yes", "masked": True}}, {"pii": "yes", "masked": True}, False, True),
    ({}, {}, False, False),
])
def test_column_meta_tags_and_personal_data(column: dict, meta: dict, pii: bool, masked: bool) -> None:
    (col,) = only(view(node("m", columns={"email": {"name": "email", **column}}))).columns
    assert (dict(col.meta), col.pii, col.masked) == (meta, pii, masked)
    assert col.tags == tuple(column.get("tags") or ())   # its own tags, as contracts list them


def test_node_meta_is_merged_and_description_never_none() -> None:
    m = only(view(node("m", meta={"a": 1, "b": 1}, config={"meta": {"b": 2}, "materialized": "table"},
                       description=None, tags=["x"])))
    assert (dict(m.meta), m.materialized, m.description, m.tags) == ({"a": 1, "b": 2}, "table", "", ("x",))


# --- access and groups ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw, access, declared", [
    (node("m", access="public"), "public", "public"),
    (node("m"), "protected", None),
    (node("s", "seed", config={"access": "public"}), "public", None),
    (node("s", "seed", meta={"access": "private"}), "private", None),
    (node("s", "snapshot", config={"meta": {"access": "public"}}), "public", None),
    (node("s", "snapshot"), "protected", None),
])
def test_access_of_models_seeds_and_snapshots(raw: dict, access: str, declared: Optional[str]) -> None:
    n = only(view(raw))
    assert (n.access, n.is_public, n.declared_access) == (access, access == "public", declared)


def test_groups_by_package_and_by_unique_id() -> None:
    groups = {
        "group.shop.core": {"name": "core", "package_name": "shop", "unique_id": "group.shop.core",
                            "owner": {"name": "Core", "email": "core@shop.example", "slack": "#core"},
                            "original_file_path": "models/_groups.yml"},
        "group.other.core": {"name": "core", "package_name": "other", "owner": {"name": "Other"}},
        "group.shop.bare": {"owner": None},   # hand-made: the name comes from the unique id
    }
    manifest = view(groups=groups)
    assert {name: (g.owner_name, g.owner_email) for name, g in manifest.groups_of("shop").items()} == {
        "core": ("Core", "core@shop.example")}
    assert dict(manifest.groups_of("shop")["core"].owner) == groups["group.shop.core"]["owner"]
    assert manifest.groups_of("other")["core"].owner_email is None
    bare = manifest.group("shop", "bare")
    assert bare is not None and (bare.name, bare.package, dict(bare.owner)) == ("bare", None, {})
    assert manifest.group("shop", "missing") is None


# --- seeds, snapshots, sources and tests ---------------------------------------------------------

def test_own_nodes_by_kind_and_package() -> None:
    manifest = view(
        node("orders"), node("raw_orders", "seed"), node("orders_snapshot", "snapshot"),
        node("not_null_orders_id", "test", attached_node="model.shop.orders"), node("theirs", package="other"),
        node("raw", "source", source_name="erp", identifier="raw_table"),
    )
    assert [n.name for n in manifest.own("shop")] == ["orders"]
    assert [(n.name, n.resource_type) for n in manifest.own("shop", REFABLE)] == [
        ("orders", "model"), ("raw_orders", "seed"), ("orders_snapshot", "snapshot")]
    source = manifest.get("source.shop.raw")
    assert source is not None and (source.source_name, source.identifier) == ("erp", "raw_table")
    assert "test.shop.not_null_orders_id" not in manifest.nodes   # tests are manifest.tests


def test_tests_attached_to_a_model() -> None:
    def test(name: str, **fields: Any) -> dict[str, Any]:
        return node(name, "test", **fields)

    manifest = view(
        node("orders"),
        test("unique_orders_id", attached_node="model.shop.orders", column_name='"ID"',
             test_metadata={"name": "unique"}, depends_on={"nodes": ["model.shop.orders"]}),
        test("range_orders_total", attached_node="model.shop.orders", column_name="total",
             test_metadata={"name": "accepted_range", "namespace": "dbt_utils"}),
        test("assert_orders_positive", depends_on={"nodes": ["model.shop.orders"]}),   # singular
    )
    on = manifest.tests_on("model.shop.orders")
    assert [(t.column, t.generic, t.label) for t in on] == [
        ("id", "unique", "unique"), ("total", "accepted_range", "dbt_utils.accepted_range")]
    singular = next(t for t in manifest.tests if t.attached_node is None)
    assert (singular.label, singular.on("model.shop.orders"), singular.column) == (
        "assert_orders_positive", True, None)


def test_refs_and_parents() -> None:
    m = only(view(node("m", depends_on={"nodes": ["model.core.dim.v1"]},
                       refs=[{"name": "dim", "package": "core", "version": 1}, {"name": "x"}])))
    assert m.depends_on == ("model.core.dim.v1",)
    assert [(r.name, r.package, r.version) for r in m.refs] == [("dim", "core", "1"), ("x", None, None)]


# --- schema versions -----------------------------------------------------------------------------

def test_a_manifest_without_metadata_is_hand_made_and_read() -> None:
    assert Manifest.from_dict({"nodes": {}}).schema_version is None
    assert Manifest.from_dict({"metadata": {"dbt_schema_version": V12}}).schema_version == 12


@pytest.mark.parametrize("metadata, message", [
    ({"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v13.json"},
     f"manifest schema v13 was written by a dbt {SUPPORTED}"),
    ({"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v11.json", "dbt_version": "1.7.0"},
     f"manifest schema v11 was written by a dbt {SUPPORTED}"),
    ({"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"},
     f"manifest schema https://schemas.getdbt.com/dbt/run-results/v6.json was written by a dbt {SUPPORTED}"),
    ({}, f"manifest names no schema version (metadata.dbt_schema_version), so it was written by a dbt {SUPPORTED}"),
])
def test_other_schema_versions_are_refused(tmp_path: Path, metadata: dict, message: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"metadata": metadata, "nodes": {}}))
    with pytest.raises(UnsupportedManifestError) as err:
        Manifest.load(path)
    assert (err.value.message, err.value.detail, err.value.path, err.value.exit_code) == (
        f"{path}: {message}", message, path, 2)
    with pytest.raises(UnsupportedManifestError) as err:
        Manifest.from_dict(json.loads(path.read_text()))
    assert err.value.message == message


# --- a manifest dbt wrote ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The basic mesh parsed once: `mesh check` keeps each domain's manifest in .mesh/check/."""
    root = copy_fixture("basic", tmp_path_factory.mktemp("view"))
    Mesh.load(root).check()
    return root


def test_a_manifest_from_dbt_parse(checked: Path) -> None:
    path = checked / ".mesh/check/core/manifest.json"
    raw = json.loads(path.read_text())
    manifest = Manifest.load(path)
    assert (manifest.schema_version, manifest.path) == (12, path)
    v1, v2 = manifest.get("model.core.dim_people.v1"), manifest.get("model.core.dim_people.v2")
    assert v1 is not None and v2 is not None
    assert [(m.version_text, m.latest_version_text, m.deprecation_day, m.is_public, m.group) for m in (v1, v2)] == [
        ("1", "2", "2027-01-01", True, "core_team"), ("2", "2", None, True, "core_team")]
    # dbt writes the contract in both places, and they agree; the view reads the node's.
    for n in manifest.own("core"):
        written = raw["nodes"][n.unique_id]
        assert n.contract_enforced is written["contract"]["enforced"] is written["config"]["contract"]["enforced"]
    assert (v1.contract_enforced, manifest.get("model.core.secret").contract_enforced) == (True, False)
    assert [(c.name, c.data_type, [k.label for k in c.constraints]) for c in v2.columns] == [
        ("id", "integer", ["not_null"]), ("name", "varchar", [])]
    assert [c.name for c in v1.columns] == ["id"]   # include: all, exclude: [name]
    assert (v2.materialized, v2.relation_name, v2.original_file_path, v2.depends_on) == (
        "view", '"core"."main"."dim_people_v2"', "models/dim_people.sql", ("seed.core.raw_people",))
    assert "select" in v2.raw_code.lower() and v2.compiled_code is None   # parsed, never compiled
    assert [(t.column, t.generic) for t in manifest.tests_on(v2.unique_id)] == [("id", "unique")]
    assert [(n.name, n.resource_type) for n in manifest.own("core", REFABLE) if n.resource_type != "model"] == [
        ("raw_people", "seed")]
    core = manifest.groups_of("core")["core_team"]
    assert (core.owner_name, core.owner_email, core.original_file_path) == ("Core", "core@example.com",
                                                                           "models/schema.yml")
    # interface.json is the same whether it is extracted from the JSON or from the view
    assert extract_interface(raw, "core") == extract_interface(manifest, "core")


def test_a_manifest_of_another_dbt_is_an_error_on_the_command_line(checked: Path, tmp_path: Path) -> None:
    root = tmp_path / "basic"
    shutil.copytree(checked, root, ignore=shutil.ignore_patterns("*.duckdb.wal"))
    path = root / ".mesh/check/core/manifest.json"
    manifest = json.loads(path.read_text())
    manifest["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v99.json"
    path.write_text(json.dumps(manifest))
    result = mesh_cli("catalog", "--project-dir", str(root))
    assert (result.exit_code, result.stdout, result.stderr) == (
        2, "", f"Error: {path}: manifest schema v99 was written by a dbt {SUPPORTED}\n")
