"""Seeds and snapshots across domains, and one-argument refs: truth tables, then real dbt runs."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Optional

import duckdb
import pytest

from conftest import copy_fixture, mesh_cli
from mesh_cli.governance.access import check_refs
from mesh_cli.core.config import MeshConfig
from mesh_cli.project.discovery import load_domain
from mesh_cli.core.errors import AccessViolationError, AmbiguousRefError, Violations
from mesh_cli.state.interface import extract_interface, node_access
from mesh_cli.project.links import link
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.project.refs import refable_nodes

# --- the pure rules ----------------------------------------------------------------------------

NODE_FILES = {
    "model": ("models/customers.sql", "select 1 as id\n"),
    "seed": ("seeds/customers.csv", "id\n1\n"),
    "snapshot": ("snapshots/snaps.sql", "{% snapshot customers %}select 1 as id{% endsnapshot %}\n"),
}


def _project(folder: Path, name: str, files: dict[str, str]):
    (folder / "dbt_project.yml").parent.mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(f"name: {name}\nprofile: mesh\n")
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return load_domain(folder, MeshConfig())


def _interface(kind: str, access: Optional[str]) -> dict[str, Any]:
    """A published interface holding `customers` of `kind`; without it when access is None."""
    node = {"name": "customers", "resource_type": kind, "access": access, "version": None, "latest_version": None,
            "group": None}
    return {"project": "x", "groups": {}, "models": [node] if access is not None else []}


def _outcome(tmp_path: Path, ref: str, kind: str, published: dict[str, Any]) -> str:
    """Where `ref` in marketing lands: `crm`, or `ambiguous: ...` / `refused: ...` (every error).

    `published`: domain -> access of its `customers` (None: never built, "new": built before it
    existed, "-": the domain does not define it at all)."""
    rel, text = NODE_FILES[kind]
    domains = [_project(tmp_path / "marketing", "marketing", {"models/x.sql": f"select * from {ref}\n"})]
    interfaces: dict[str, Optional[dict[str, Any]]] = {"marketing": None}
    for name, access in published.items():
        domains.append(_project(tmp_path / name, name, {rel: text} if access != "-" else {"models/other.sql": "select 1"}))
        interfaces[name] = None if access is None else _interface(kind, None if access in ("new", "-") else access)
    links = link(domains, interfaces=interfaces.get)
    errors = links.errors or check_refs(links.refs_of("marketing"), {k: v for k, v in interfaces.items() if v})
    if not errors:
        return ", ".join(c.producer + (f" (then {' '.join(c.pending)})" if c.pending else "")
                         for c in links.refs_of("marketing"))
    shown = []
    for e in errors:
        if isinstance(e, AmbiguousRefError):
            shown.append(f"ambiguous: {' '.join(e.producers)}")
        else:
            assert isinstance(e, AccessViolationError), e.message
            shown.append(f"refused: {e.resource_type} {e.producer} {e.access}")
    return "; ".join(shown)


ONE, TWO = "{{ ref('customers') }}", "{{ ref('crm', 'customers') }}"

# access of crm's node (sales, when there, has one of the same access) x ref form x who defines the name
TRUTH = [
    ("public", TWO, "unique", "crm"),
    ("public", TWO, "ambiguous", "crm"),
    ("public", ONE, "unique", "crm"),
    ("public", ONE, "ambiguous", "ambiguous: crm sales"),
    ("protected", TWO, "unique", "refused: {kind} crm protected"),
    ("protected", TWO, "ambiguous", "refused: {kind} crm protected"),
    ("protected", ONE, "unique", "refused: {kind} crm protected"),
    ("protected", ONE, "ambiguous", "refused: {kind} crm protected; refused: {kind} sales protected"),
    ("private", TWO, "unique", "refused: {kind} crm private"),
    ("private", TWO, "ambiguous", "refused: {kind} crm private"),
    ("private", ONE, "unique", "refused: {kind} crm private"),
    ("private", ONE, "ambiguous", "refused: {kind} crm private; refused: {kind} sales private"),
]


@pytest.mark.parametrize("kind", ["model", "seed", "snapshot"])
@pytest.mark.parametrize("access,ref,spread,expected", TRUTH)
def test_access_truth_table(tmp_path: Path, kind: str, access: str, ref: str, spread: str, expected: str) -> None:
    published = {"crm": access, **({"sales": access} if spread == "ambiguous" else {})}
    assert _outcome(tmp_path, ref, kind, published) == expected.format(kind=kind)


# A one-argument ref when the domains defining the name differ, or are not built yet.
MIXED = [
    ({"crm": "public", "sales": "protected"}, "crm"),
    ({"crm": "private", "sales": "public"}, "sales"),
    ({"crm": "public", "sales": "-"}, "crm"),                     # sales has no such name
    # sales never built, or its node newer than its build: judged once it is (see the next test)
    ({"crm": "public", "sales": None}, "crm (then sales)"),
    ({"crm": "public", "sales": "new"}, "crm (then sales)"),
    ({"crm": None, "sales": "private"}, "crm"),                   # resolves; judged once crm is built
    ({"crm": None, "sales": None}, "crm (then sales)"),
    ({"crm": "public", "sales": "public"}, "ambiguous: crm sales"),
    ({"crm": "private", "sales": "protected"}, "refused: model crm private; refused: model sales protected"),
]


@pytest.mark.parametrize("published,expected", MIXED)
def test_one_arg_ref_truth_table(tmp_path: Path, published: dict[str, Any], expected: str) -> None:
    assert _outcome(tmp_path, ONE, "model", published) == expected


def test_one_arg_ref_is_judged_again_against_fresh_interfaces(tmp_path: Path) -> None:
    """Resolved to crm while sales' node was protected; once sales publishes it, the ref is ambiguous."""
    domains = [_project(tmp_path / "marketing", "marketing", {"models/x.sql": f"select * from {ONE}\n"}),
               _project(tmp_path / "crm", "crm", {"models/customers.sql": "select 1"}),
               _project(tmp_path / "sales", "sales", {"seeds/customers.csv": "id\n1\n"})]
    then = {"crm": _interface("model", "public"), "sales": _interface("seed", "protected")}
    links = link(domains, interfaces=then.get)
    assert [(c.producer, c.others) for c in links.refs_of("marketing")] == [("crm", ("sales",))]
    assert check_refs(links.refs_of("marketing"), then) == []
    now = {**then, "sales": _interface("seed", "public")}
    [error] = check_refs(links.refs_of("marketing"), now)
    assert error.message == (
        f"{tmp_path}/marketing/models/x.sql:1: domain 'marketing' has an ambiguous ref('customers'): domains 'crm' "
        "and 'sales' both have a model or seed 'customers'; write {{ ref('crm', 'customers') }} or "
        "{{ ref('sales', 'customers') }}")


@pytest.mark.parametrize("node,expected", [
    ({"resource_type": "model", "access": "public"}, "public"),
    ({"resource_type": "model", "access": None}, "protected"),
    ({"resource_type": "seed", "config": {"access": "public"}}, "public"),
    ({"resource_type": "seed", "config": {"meta": {"access": "private"}}}, "private"),
    ({"resource_type": "seed", "meta": {"access": "public"}}, "public"),
    ({"resource_type": "seed", "config": {"access": "public", "meta": {"access": "private"}}}, "public"),
    ({"resource_type": "seed", "config": {}}, "protected"),
    ({"resource_type": "snapshot", "config": {"access": "private"}}, "private"),
    ({"resource_type": "snapshot"}, "protected"),
])
def test_access_of_a_node(node: dict[str, Any], expected: str) -> None:
    assert node_access(node) == expected


def test_interface_lists_seeds_and_snapshots_with_their_resource_type() -> None:
    def node(kind: str, name: str, package: str = "crm", **extra: Any) -> dict[str, Any]:
        return {"resource_type": kind, "name": name, "unique_id": f"{kind}.{package}.{name}",
                "package_name": package, "database": "crm", "schema": "main", **extra}

    manifest = {"nodes": {n["unique_id"]: n for n in [
        node("model", "customers", access="public", config={"materialized": "table"}),
        node("seed", "raw_orders", config={"materialized": "seed"}),
        node("snapshot", "orders_snapshot", config={"materialized": "snapshot", "access": "public"}),
        node("test", "not_null_customers_id"),
        node("seed", "theirs", package="other"),
    ]}}
    models = extract_interface(manifest, "crm")["models"]
    assert [(m["name"], m["resource_type"], m["access"], m["materialized"]) for m in models] == [
        ("customers", "model", "public", "table"),
        ("orders_snapshot", "snapshot", "public", "snapshot"),
        ("raw_orders", "seed", "protected", "seed"),
    ]
    # Every entry has the keys readers of "models" expect.
    assert {len(m) for m in models} == {len(models[0])}


def test_names_in_files_know_their_resource_type(tmp_path: Path) -> None:
    domain = _project(tmp_path / "crm", "crm", {
        "models/customers.sql": "select 1", "models/m.yml": "models:\n  - name: fct_orders\n",
        "seeds/raw_orders.csv": "id\n1\n", "seeds/s.yml": "seeds:\n  - name: raw_orders\n",
        "snapshots/snaps.sql": "{% snapshot orders_snapshot %}select 1{% endsnapshot %}",
        "snapshots/s.yml": "snapshots:\n  - name: yaml_snap\n    relation: ref('raw_orders')\n",
    })
    assert refable_nodes(domain) == {"customers": "model", "fct_orders": "model", "raw_orders": "seed",
                                     "orders_snapshot": "snapshot", "snaps": "snapshot", "yaml_snap": "snapshot"}


def test_messages() -> None:
    f = Path("/m/domains/marketing/models/x.sql")
    seed = AccessViolationError("marketing", "crm", "raw_orders", "protected", None, f, 2, resource_type="seed")
    assert seed.message == (
        "/m/domains/marketing/models/x.sql:2: domain 'marketing' refs seed 'crm.raw_orders', which is protected to "
        "domain 'crm' (no group); only public models, seeds and snapshots can be used across domains: ask the "
        "owners of 'crm' to make it public (config: {access: public}) or use one of its public models")
    model = AccessViolationError("marketing", "crm", "secret", "private", "crm_team", f, 2, "crm@example.com")
    assert (model.resource_type, model.detail) == ("model", (
        "domain 'marketing' refs 'crm.secret', which is private to group 'crm_team' (owner: crm@example.com); "
        "only public models can be used across domains: ask the owners of 'crm' to make it public "
        "(access: public) or use one of its public models"))
    three = AmbiguousRefError("marketing", "customers", ["sales", "crm", "web"], f, 3, version="2",
                              resource_type="model or seed")
    assert three.detail == (
        "domain 'marketing' has an ambiguous ref('customers', v=2): domains 'crm', 'sales' and 'web' all have a "
        "model or seed 'customers'; write {{ ref('crm', 'customers', v=2) }}, {{ ref('sales', 'customers', v=2) }} "
        "or {{ ref('web', 'customers', v=2) }}")
    assert (three.exit_code, three.producers, three.file, three.line) == (1, ["crm", "sales", "web"], f, 3)


# --- real dbt runs on the crossaccess mesh (crm publishes seeds and snapshots; sales has a
# protected `customers` of its own; marketing reads crm) -----------------------------------------

FIX = ("Only public models, seeds and snapshots can be used across domains: ask the owners of 'crm' to make it "
       "public (config: {access: public}) or use one of its public models.")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_fixture("crossaccess", tmp_path_factory.mktemp("built"))
    result = Mesh.load(root).build()
    assert result.success, result.to_dict()
    return root


@pytest.fixture
def rebuilt(built: Path, tmp_path: Path) -> Path:
    root = tmp_path / "crossaccess"
    shutil.copytree(built, root, ignore=shutil.ignore_patterns("*.duckdb.wal"))
    return root


def _rows(root: Path, domain: str, table: str) -> list[tuple]:
    with duckdb.connect(str(root / f".mesh/warehouse/{domain}.duckdb"), read_only=True) as con:
        return con.execute(f"select * from main.{table} order by 1").fetchall()


CUSTOMERS = [(1, "Ada"), (2, "Grace"), (3, "Linus")]


def test_public_seeds_and_snapshots_are_read_across_domains(built: Path) -> None:
    interface = json.loads((built / ".mesh/state/crm/interface.json").read_text())
    assert [(m["name"], m["resource_type"], m["access"], m["relation_name"]) for m in interface["models"]] == [
        ("customers", "model", "public", '"crm"."main"."customers"'),
        ("customers_snapshot", "snapshot", "public", '"crm"."main"."customers_snapshot"'),  # config(access=...)
        ("orders_snapshot", "snapshot", "protected", '"crm"."main"."orders_snapshot"'),     # the default
        ("raw_customers", "seed", "public", '"crm"."main"."raw_customers"'),                # config: {access:}
        ("raw_orders", "seed", "protected", '"crm"."main"."raw_orders"'),
        ("raw_regions", "seed", "public", '"crm"."main"."raw_regions"'),                    # meta: {access:}
    ]
    # The plugin injects them as models of crm; the one-argument ref resolves too.
    manifest = json.loads((built / "domains/marketing/target/manifest.json").read_text())
    depends = {n["name"]: n["depends_on"]["nodes"] for n in manifest["nodes"].values() if n["package_name"] == "marketing"}
    assert depends == {"customer_list": ["model.crm.raw_customers"], "customer_history": ["model.crm.customers_snapshot"],
                       "regions": ["model.crm.raw_regions"]}
    assert "model.crm.raw_orders" not in manifest["nodes"]
    assert _rows(built, "marketing", "customer_list") == CUSTOMERS
    assert _rows(built, "marketing", "customer_history") == CUSTOMERS
    assert _rows(built, "marketing", "regions") == [(1, "north"), (2, "south")]


LEAKS = {
    "leak_seed.sql": "select * from {{ ref('crm', 'raw_orders') }}\n",
    "leak_snapshot.sql": "select * from {{ ref('crm', 'orders_snapshot') }}\n",
    "leak_one_arg.sql": "select * from {{ ref('raw_orders') }}\n",   # only crm has it: refused the same way
}
SEED_REFUSED = "refs seed 'crm.raw_orders', which is protected to domain 'crm' (no group)"
SNAPSHOT_REFUSED = "refs snapshot 'crm.orders_snapshot', which is protected to group 'crm_team' (owner: crm@example.com)"


def test_protected_seed_and_snapshot_are_refused(rebuilt: Path) -> None:
    models = rebuilt / "domains/marketing/models"
    for name, text in LEAKS.items():
        (models / name).write_text(text)
    result = mesh_cli("check", "--project-dir", str(rebuilt), "--select", "marketing")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "marketing",
        "  error  access.cross-domain  leak_one_arg  domains/marketing/models/leak_one_arg.sql:1",
        f"         {SEED_REFUSED}",
        f"         fix: {FIX}",
        "  error  access.cross-domain  leak_seed  domains/marketing/models/leak_seed.sql:1",
        f"         {SEED_REFUSED}",
        f"         fix: {FIX}",
        "  error  access.cross-domain  leak_snapshot  domains/marketing/models/leak_snapshot.sql:1",
        f"         {SNAPSHOT_REFUSED}",
        f"         fix: {FIX}",
        "marketing: not checked: its refs have errors, so dbt did not parse it; fix them first",
        "mesh check: 3 errors, 0 warnings in 1 domain",
    ]
    build = mesh_cli("build", "--project-dir", str(rebuilt), "--select", "marketing")
    assert (build.exit_code, build.stdout) == (1, "")
    assert build.stderr.splitlines() == [
        f"Error: domains/marketing/models/leak_one_arg.sql:1: [access.cross-domain] domain 'marketing': "
        f"{SEED_REFUSED}; fix: {FIX}",
        f"Error: domains/marketing/models/leak_seed.sql:1: [access.cross-domain] domain 'marketing': "
        f"{SEED_REFUSED}; fix: {FIX}",
        f"Error: domains/marketing/models/leak_snapshot.sql:1: [access.cross-domain] domain 'marketing': "
        f"{SNAPSHOT_REFUSED}; fix: {FIX}",
        "Error: mesh check found 3 errors; nothing was built: fix them (mesh check lists them) or rerun with "
        "--skip-checks",
    ]
    # The Python API: the check's findings, and a build that skips it is refused before dbt starts.
    report = Mesh.load(rebuilt).check(BuildOptions(select=("marketing",)))
    assert [(f.rule, f.model, f.message) for f in report.sorted()] == [
        ("access.cross-domain", "leak_one_arg", SEED_REFUSED),
        ("access.cross-domain", "leak_seed", SEED_REFUSED),
        ("access.cross-domain", "leak_snapshot", SNAPSHOT_REFUSED),
    ]
    with pytest.raises(Violations) as info:
        Mesh.load(rebuilt).build(BuildOptions(select=("marketing",)))
    assert [(type(e), e.resource_type, e.file.name) for e in info.value.errors] == [
        (AccessViolationError, "seed", "leak_one_arg.sql"), (AccessViolationError, "seed", "leak_seed.sql"),
        (AccessViolationError, "snapshot", "leak_snapshot.sql")]


def test_a_protected_seed_built_in_the_same_run_is_refused_before_its_consumer(tmp_path: Path) -> None:
    root = copy_fixture("crossaccess", tmp_path)
    (root / "domains/marketing/models/leak_seed.sql").write_text(LEAKS["leak_seed.sql"])
    result = Mesh.load(root).build()
    by_domain = {r.domain: r for r in result.domains}
    assert (by_domain["crm"].status, by_domain["sales"].status, by_domain["marketing"].status) == (
        "success", "success", "error")
    assert by_domain["marketing"].message == (
        f"{root}/domains/marketing/models/leak_seed.sql:1: domain 'marketing' {SEED_REFUSED}; "
        f"{FIX[0].lower()}{FIX[1:-1]}")


AMBIGUOUS = ("has an ambiguous ref('customers'): domains 'crm' and 'sales' both have a model 'customers'")
AMBIGUOUS_FIX = "Write {{ ref('crm', 'customers') }} or {{ ref('sales', 'customers') }}."


def test_one_arg_ref_resolves_to_the_only_public_node_else_is_ambiguous(rebuilt: Path) -> None:
    (rebuilt / "domains/marketing/models/pick.sql").write_text("select * from {{ ref('customers') }}\n")
    # crm's customers is public, sales' protected: crm's, which dbt reads too.
    assert [(c.producer, c.others) for c in Mesh.load(rebuilt).linked.refs_of("marketing")
            if c.ref.name == "customers"] == [("crm", ("sales",))]
    result = Mesh.load(rebuilt).build(BuildOptions(select=("marketing",)))
    assert result.success, result.to_dict()
    assert _rows(rebuilt, "marketing", "pick") == CUSTOMERS
    # Once sales publishes its customers too, nothing says which one marketing means.
    (rebuilt / "domains/sales/models/_sales.yml").write_text("models:\n  - name: customers\n    access: public\n")
    assert Mesh.load(rebuilt).build(BuildOptions(select=("sales",))).success
    check = mesh_cli("check", "--project-dir", str(rebuilt), "--select", "marketing")
    assert check.exit_code == 1
    assert check.stdout.splitlines() == [
        "marketing",
        "  error  ref.ambiguous  pick  domains/marketing/models/pick.sql:1",
        f"         {AMBIGUOUS}",
        f"         fix: {AMBIGUOUS_FIX}",
        "marketing: not checked: its refs have errors, so dbt did not parse it; fix them first",
        "mesh check: 1 error, 0 warnings in 1 domain",
    ]
    build = mesh_cli("build", "--project-dir", str(rebuilt), "--select", "marketing")
    assert (build.exit_code, build.stdout) == (1, "")
    assert build.stderr.splitlines() == [
        f"Error: domains/marketing/models/pick.sql:1: [ref.ambiguous] domain 'marketing': {AMBIGUOUS}; "
        f"fix: {AMBIGUOUS_FIX}",
        "Error: mesh check found 1 error; nothing was built: fix it (mesh check lists them) or rerun with --skip-checks",
    ]
    skipped = mesh_cli("build", "--project-dir", str(rebuilt), "--select", "marketing", "--skip-checks")
    assert skipped.exit_code == 1
    assert skipped.stderr.splitlines()[-1] == (
        f"Error: {rebuilt}/domains/marketing/models/pick.sql:1: domain 'marketing' {AMBIGUOUS}; "
        "write {{ ref('crm', 'customers') }} or {{ ref('sales', 'customers') }}")


def test_one_arg_ref_on_a_never_built_mesh_is_judged_once_its_upstreams_are(tmp_path: Path) -> None:
    """Whether sales' customers is public is unknown until it is built: marketing waits for both
    crm and sales, and the ref lands on the one public node (crm's) once their interfaces are known."""
    root = copy_fixture("crossaccess", tmp_path)
    (root / "domains/marketing/models/pick.sql").write_text("select * from {{ ref('customers') }}\n")
    mesh = Mesh.load(root)
    assert [(c.producer, c.others, c.pending) for c in mesh.linked.refs_of("marketing") if c.ref.name == "customers"] \
        == [("crm", ("sales",), ("sales",))]
    assert mesh.graph.upstreams("marketing") == ["crm", "sales"]
    report = mesh.check(BuildOptions(select=("marketing",)))
    assert [f for f in report.findings if f.rule.startswith(("ref.", "access."))] == []
    result = Mesh.load(root).build()
    assert result.success, result.to_dict()
    assert _rows(root, "marketing", "pick") == CUSTOMERS
    # Had sales published its customers too, marketing would be refused just before it builds.
    fresh = copy_fixture("crossaccess", tmp_path / "again")
    (fresh / "domains/marketing/models/pick.sql").write_text("select * from {{ ref('customers') }}\n")
    (fresh / "domains/sales/models/_sales.yml").write_text("models:\n  - name: customers\n    access: public\n")
    result = Mesh.load(fresh).build()
    assert [(d.domain, d.status) for d in result.domains if d.domain == "marketing"] == [("marketing", "error")]
    assert [d.message for d in result.domains if d.domain == "marketing"] == [
        f"{fresh}/domains/marketing/models/pick.sql:1: domain 'marketing' {AMBIGUOUS}; "
        "write {{ ref('crm', 'customers') }} or {{ ref('sales', 'customers') }}"]