"""Meshes that span repositories (issue 14): a producer and a consumer as separate git repositories
made from the example's domains; the producer builds and publishes to a folder, over HTTP (a static
server on 127.0.0.1) and to fsspec's in-memory filesystem; the consumer builds, checks and diffs
against it, from fresh clones."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import edit, mesh_cli
from federation_repos import StaticServer, clone, make_repo, set_external
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.core.errors import ExternalClashError, ExternalStatesError, UnreachableStateError

PRODUCER = ["customers", "orders"]
CONSUMER = ["payments", "marketing"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The producer repository built once and published to `shared/`; the consumer repository
    (never built) names it under external_domains."""
    where = tmp_path_factory.mktemp("repos")
    shared = where / "shared"
    producer = make_repo(where, "producer", PRODUCER)
    with Mesh.load(producer) as mesh:
        assert mesh.build().success
        mesh.publish(str(shared))
    consumer = make_repo(where, "consumer", CONSUMER, {d: {"state": str(shared)} for d in PRODUCER})
    return {"where": where, "shared": shared, "producer": producer, "consumer": consumer}


@pytest.fixture(scope="module")
def built_consumer(world: dict[str, Path]) -> Path:
    """A fresh clone of the consumer, built against the folder and published beside the producer."""
    repo = clone(world["consumer"], world["where"] / "consumer-built")
    with Mesh.load(repo) as mesh:
        result = mesh.build()
        assert result.success, result.to_dict()
        mesh.publish(str(world["shared"]))
    return repo


def test_publish_writes_a_versioned_layout_under_the_build_id(world: dict[str, Path]) -> None:
    orders = world["shared"] / "orders"
    latest = json.loads((orders / "latest.json").read_text())
    assert latest["version"] == 1 and latest["domain"] == "orders"
    state = json.loads((orders / "builds" / latest["build_id"] / "state.json").read_text())
    assert (state["version"], state["kind"], state["domain"]) == (1, "mesh-domain-state", "orders")
    assert state["storage"] == {"adapter_type": "duckdb", "database": "orders", "schema": "main",
                                "path": str(world["producer"] / ".mesh" / "warehouse" / "orders.duckdb")}
    v1 = next(m for m in state["interface"]["models"] if m["name"] == "fct_orders" and m["version"] == 1)
    assert (v1["access"], v1["deprecation_date"], v1["relation_name"]) == (
        "public", "2027-06-30T00:00:00+00:00", '"orders"."main"."fct_orders_v1"')
    assert sorted(state["contracts"]) == ["dim_products.odcs.yaml", "fct_orders.v1.odcs.yaml", "fct_orders.v2.odcs.yaml"]
    assert (orders / "builds" / latest["build_id"] / "contracts" / "fct_orders.v1.odcs.yaml").is_file()
    # what orders itself reads from customers, with the columns
    assert {"producer": "customers", "name": "dim_customers", "version": None, "model": "int_orders_enriched",
            "columns": ["customer_id", "region", "segment"],
            "file": "domains/orders/models/intermediate/int_orders_enriched.sql", "line": 15} in state["reads"]
    builds = json.loads((orders / "builds.json").read_text())
    assert [b["build_id"] for b in builds["builds"]] == [latest["build_id"]]


def test_a_consumer_repository_builds_and_checks_against_a_folder(world: dict[str, Path], built_consumer: Path) -> None:
    assert sorted(p.name for p in (built_consumer / "domains").iterdir()) == sorted(CONSUMER)
    result = mesh_cli("check", "--project-dir", str(built_consumer))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "mesh check: 0 errors, 1 warning in 2 domains"
    assert "refs 'orders.fct_orders' v1, deprecated on 2027-06-30; v2 is the latest" in result.output
    resolved = json.loads((built_consumer / ".mesh" / "external" / "orders" / "resolved.json").read_text())
    assert resolved["location"] == str(world["shared"])
    graph = mesh_cli("graph", "--project-dir", str(built_consumer))
    assert "orders -> marketing: fct_orders.v1" in graph.output


def test_a_fresh_clone_builds_and_checks_over_http(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    with StaticServer(world["shared"]) as server:
        set_external(repo, {d: {"state": server.url} for d in PRODUCER})
        check = mesh_cli("check", "--project-dir", str(repo), "--select", "payments")
        assert check.exit_code == 0, check.output
        assert check.output.splitlines()[-1] == "mesh check: 0 errors, 0 warnings in 1 domain"
        build = mesh_cli("build", "--project-dir", str(repo), "--select", "payments")
        assert build.exit_code == 0, build.output
        assert "OK    payments" in build.output
    resolved = json.loads((repo / ".mesh" / "external" / "orders" / "resolved.json").read_text())
    assert resolved["location"] == server.url


def test_a_ref_to_a_private_model_of_the_producer_is_refused(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    (repo / "domains" / "payments" / "models" / "leak.sql").write_text("select * from {{ ref('orders', 'stg_orders') }}\n")
    report = Mesh.load(repo).check()
    [finding] = report.errors
    assert (finding.rule, finding.domain, finding.model) == ("access.cross-domain", "payments", "leak")
    result = mesh_cli("check", "--project-dir", str(repo), "--select", "payments")
    assert result.exit_code == 1
    assert result.output.splitlines()[:3] == [
        "payments",
        "  error  access.cross-domain  leak  domains/payments/models/leak.sql:1",
        "         refs 'orders.stg_orders', which is private to group 'sales' (owner: sales@acme.example)",
    ]


def test_the_producers_breaking_change_names_the_consumer_in_another_repository(
        world: dict[str, Path], built_consumer: Path, tmp_path: Path) -> None:
    producer = clone(world["producer"], tmp_path / "producer")
    set_external(producer, {"marketing": {"state": str(world["shared"])}})
    edit(producer, "domains/orders/models/marts/fct_orders_v1.sql", "as double precision) as amount", "as varchar) as amount")
    edit(producer, "domains/orders/models/marts/_marts.yml", "            data_type: double precision", "            data_type: varchar")
    # the consumer's published reads make it a downstream of the producer's domains
    assert "orders -> marketing: fct_orders.v1" in mesh_cli("graph", "--project-dir", str(producer)).output.splitlines()
    result = mesh_cli("contracts", "diff", "--project-dir", str(producer), "--select", "orders")
    assert result.exit_code == 1, result.output
    assert ("            consumer: marketing.int_attributed_orders (pins v1, reads `amount`, in another repository) "
            "(consumer:domains/marketing/models/intermediate/int_attributed_orders.sql:8)") in result.output.splitlines()
    assert "            verdict: breaking, read by marketing.int_attributed_orders" in result.output.splitlines()
    report = Mesh.load(producer).diff_contracts()
    [change] = report.breaking
    [reader] = change.consumers
    assert (reader.domain, reader.pinned, reader.reads, reader.external) == ("marketing", "1", True, True)


# --- failure modes: exit 2 before any dbt runs, one line naming the file, the domain and the fix ---

def _refused(repo: Path, *args: str) -> str:
    result = mesh_cli("check", "--project-dir", str(repo), *args)
    assert result.exit_code == 2, result.output
    [line] = result.output.splitlines()
    return line


def test_an_unreachable_folder_is_named_with_its_domain(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {"customers": {"state": str(world["shared"])}, "orders": {"state": str(tmp_path / "gone")}})
    assert _refused(repo) == (
        f"Error: {repo / 'mesh.yml'}: external domain 'orders': cannot reach {tmp_path / 'gone'} (no such folder); "
        "check the location and your network (no state was resolved before, so --offline cannot help)")


def test_a_domain_never_published_there(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {"customers": {"state": str(world["shared"])}, "orders": {"state": str(world["shared"])},
                        "billing": {"state": str(world["shared"])}})
    assert _refused(repo) == (
        f"Error: {repo / 'mesh.yml'}: external domain 'billing': {world['shared']} holds no published state of it; "
        "run `mesh publish --select billing --to <location>` in the repository of 'billing' after a good build, "
        "or fix the location")


def test_a_pinned_build_that_does_not_exist(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    latest = json.loads((world["shared"] / "orders" / "latest.json").read_text())["build_id"]
    set_external(repo, {"customers": {"state": str(world["shared"])}, "orders": {"state": str(world["shared"]), "build": 999}})
    assert _refused(repo) == (
        f"Error: {repo / 'mesh.yml'}: external domain 'orders': {world['shared']} holds no build '999'; "
        f"pin one of the published builds ({latest}) or remove `build:` to follow the latest")
    set_external(repo, {"customers": {"state": str(world["shared"])}, "orders": {"state": str(world["shared"]), "build": latest}})
    assert Mesh.load(repo).external["orders"].build_id == latest


def test_a_state_written_by_a_newer_mesh(world: dict[str, Path], tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shutil.copytree(world["shared"], shared)
    build = json.loads((shared / "orders" / "latest.json").read_text())["build_id"]
    state_file = shared / "orders" / "builds" / build / "state.json"
    state_file.write_text(state_file.read_text().replace('"version": 1', '"version": 2'))
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {d: {"state": str(shared)} for d in PRODUCER})
    assert _refused(repo) == (
        f"Error: {repo / 'mesh.yml'}: external domain 'orders': {shared}/orders/builds/{build}/state.json was written "
        "by a newer mesh (state version 2; this mesh reads version 1); upgrade mesh-cli in this repository")


def test_an_external_domain_named_like_a_local_one(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {"customers": {"state": str(world["shared"])}, "payments": {"state": str(world["shared"])}})
    with pytest.raises(ExternalClashError):
        Mesh.load(repo)
    assert _refused(repo) == (
        f"Error: {repo / 'mesh.yml'}: external domain 'payments': its name is also the name of a domain of this mesh "
        f"({repo / 'domains' / 'payments' / 'dbt_project.yml'}); remove it from external_domains, or rename one of them")


def test_offline_keeps_the_state_last_resolved_and_says_so(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    with StaticServer(world["shared"]) as server:
        set_external(repo, {d: {"state": server.url} for d in PRODUCER})
        assert mesh_cli("ls", "--project-dir", str(repo)).exit_code == 0   # resolves both
    # the server is gone now: both are named, and the command stops
    with pytest.raises(ExternalStatesError) as gone:
        Mesh.load(repo)
    assert [type(e) for e in gone.value.errors] == [UnreachableStateError, UnreachableStateError]
    refused = mesh_cli("ls", "--project-dir", str(repo))
    assert refused.exit_code == 2
    lines = refused.output.splitlines()
    assert [line.split(": cannot reach")[0] for line in lines] == [
        f"Error: {repo / 'mesh.yml'}: external domain '{d}'" for d in PRODUCER]
    assert all(line.startswith(f"Error: {repo / 'mesh.yml'}: external domain '") and f"cannot reach {server.url} (" in line
               and line.endswith("check the location and your network, or rerun with --offline to use the state "
                                 "resolved last time") for line in lines)
    build = json.loads((world["shared"] / "orders" / "latest.json").read_text())["build_id"]
    result = mesh_cli("check", "--project-dir", str(repo), "--select", "payments", "--offline")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning: external domain 'orders'")]
    assert warnings and warnings[0].startswith(f"Warning: external domain 'orders': {server.url} cannot be reached; "
                                               f"using build {build} as resolved at ")
    assert warnings[0].endswith(" (--offline)")


def test_an_object_store_through_fsspec_memory(world: dict[str, Path], tmp_path: Path) -> None:
    """fsspec's in-memory filesystem stands in for S3 here (no S3-compatible server on this machine)."""
    pytest.importorskip("fsspec")
    url = f"memory://mesh-state-{tmp_path.name}"
    published = mesh_cli("publish", "--project-dir", str(world["producer"]), "--to", url, "--format", "json")
    assert published.exit_code == 0, published.output
    assert [p["domain"] for p in json.loads(published.output)["published"]] == PRODUCER
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {d: {"state": url} for d in PRODUCER})
    result = mesh_cli("check", "--project-dir", str(repo), "--select", "payments")
    assert result.exit_code == 0, result.output
    assert Mesh.load(repo).external["orders"].location == url


def test_dbt_loom_file_sources_are_external_domains(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {"customers": {"state": str(world["shared"])}})
    manifest = world["producer"] / ".mesh" / "state" / "orders" / "manifest.json"
    (repo / "domains" / "payments" / "dbt_loom.config.yml").write_text(
        f"manifests:\n  - name: orders\n    type: file\n    config:\n      path: {manifest}\n")
    mesh = Mesh.load(repo)
    assert mesh.external["orders"].state["source"] == "dbt_loom"
    assert "orders" in mesh.graph.upstreams("payments")
    result = mesh_cli("check", "--project-dir", str(repo), "--select", "payments")
    assert result.exit_code == 0, result.output


def test_publish_refuses_a_domain_never_built_and_a_read_only_location(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    result = mesh_cli("publish", "--project-dir", str(repo), "--select", "payments", "--to", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"Error: cannot publish domain 'payments' to {tmp_path / 'out'}: it has never built successfully here; "
        "run `mesh build --select payments` first"]
    assert not (tmp_path / "out").exists()
    served = mesh_cli("publish", "--project-dir", str(world["producer"]), "--select", "orders", "--to", "http://127.0.0.1:9")
    assert served.exit_code == 2
    assert served.output.splitlines() == [
        "Error: cannot publish domain 'orders' to http://127.0.0.1:9: this location can only be read (a web server); "
        "publish to the folder or object store the server serves"]


def test_catalog_show_lineage_ls_graph_and_docs_mark_external_domains(world: dict[str, Path], built_consumer: Path,
                                                                      tmp_path: Path) -> None:
    root = str(built_consumer)
    build = json.loads((world["shared"] / "orders" / "latest.json").read_text())["build_id"]
    catalog = mesh_cli("catalog", "--project-dir", root).output.splitlines()
    line = next(line for line in catalog if line.startswith("orders.fct_orders "))
    assert "Sales <sales@acme.example>" in line and "  external, built " in line
    assert [p.source for p in Mesh.load(built_consumer).products() if p.domain == "orders"] == ["external", "external"]
    show = mesh_cli("show", "orders.fct_orders", "--project-dir", root).output.splitlines()
    assert show[0] == f"orders.fct_orders  (data product of domain orders, external: published at {world['shared']})"
    assert "    contract: .mesh/external/orders/contracts/fct_orders.v1.odcs.yaml (apiVersion v3.1.0, version 1.0.0, " \
           "status deprecated, 4 properties in 1 object(s))" in show
    assert "      marketing.int_attributed_orders  pinned to v1" in show
    lineage = mesh_cli("lineage", "marketing.int_attributed_orders", "--upstream", "--depth", "1", "--project-dir", root)
    assert "    <- orders.fct_orders.v1  [external domain]" in lineage.output.splitlines()
    ls = mesh_cli("ls", "--project-dir", root).output.splitlines()
    assert f"orders  (external: {world['shared']} (build {build}))  owner: Sales <sales@acme.example>" in ls
    graph = mesh_cli("graph", "--project-dir", root).output.splitlines()
    assert graph[:2] == ["2 domains in build order: payments, marketing",
                         "external (built in other repositories): customers, orders"]
    docs = mesh_cli("docs", "generate", "--project-dir", root, "--out", str(tmp_path / "site"))
    assert docs.exit_code == 0, docs.output
    page = (tmp_path / "site" / "domains" / "orders.html").read_text()
    assert f"built in another repository; state published at {world['shared']}" in page


def test_older_publications_stay_pinnable_and_latest_follows_the_newest(world: dict[str, Path], tmp_path: Path) -> None:
    from mesh_cli.state.locations import FolderLocation
    from mesh_cli.state.remote import write_publication

    shared = tmp_path / "shared"
    shutil.copytree(world["shared"], shared)
    first = json.loads((shared / "orders" / "latest.json").read_text())["build_id"]
    state = json.loads((shared / "orders" / "builds" / first / "state.json").read_text())
    newer = {**state, "build_id": "next", "published_at": "2026-12-03T00:00:00Z"}
    newer["interface"] = {**state["interface"], "models": [m for m in state["interface"]["models"] if m["name"] != "dim_products"]}
    write_publication(FolderLocation(shared, str(shared)), newer, {})
    assert json.loads((shared / "orders" / "latest.json").read_text())["build_id"] == "next"
    assert [b["build_id"] for b in json.loads((shared / "orders" / "builds.json").read_text())["builds"]] == [first, "next"]
    assert not [p.name for p in (shared / "orders").rglob(".tmp-*")]
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {"customers": {"state": str(shared)}, "orders": {"state": str(shared)}})
    latest = Mesh.load(repo)
    assert latest.external["orders"].build_id == "next"
    assert "dim_products" not in {m["name"] for m in latest.interface("orders")["models"]}
    set_external(repo, {"customers": {"state": str(shared)}, "orders": {"state": str(shared), "build": first}})
    pinned = Mesh.load(repo)
    assert pinned.external["orders"].build_id == first
    assert "dim_products" in {m["name"] for m in pinned.interface("orders")["models"]}


def test_the_producers_allow_list_is_applied_in_the_consumers_repository(world: dict[str, Path], tmp_path: Path) -> None:
    producer = tmp_path / "producer"
    shutil.copytree(world["producer"], producer, ignore=shutil.ignore_patterns("*.duckdb*"))
    edit(producer, "mesh.yml", "domains:\n", "governance:\n  allowed_consumers:\n    orders.fct_orders: [marketing]\ndomains:\n")
    Mesh.load(producer).publish(str(tmp_path / "shared"), ["orders", "customers"])
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {d: {"state": str(tmp_path / "shared")} for d in PRODUCER})
    result = mesh_cli("check", "--project-dir", str(repo), "--select", "payments")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[1:4] == [
        "  error  access.allowed-consumers  fct_order_reconciliation  domains/payments/models/marts/fct_order_reconciliation.sql:4",
        "         refs 'orders.fct_orders', whose consumers are limited to: marketing",
        "         fix: Ask sales@acme.example to add 'payments' to its allowed consumers.",
    ]


def test_a_build_refuses_an_external_duckdb_file_it_cannot_see(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {"customers": {"state": str(world["shared"])},
                        "orders": {"state": str(world["shared"]), "duckdb_path": str(tmp_path / "nowhere.duckdb")}})
    result = mesh_cli("build", "--project-dir", str(repo), "--select", "payments", "--skip-checks")
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == (
        f"Error: {repo / 'mesh.yml'}: external domain 'orders': its DuckDB file {tmp_path / 'nowhere.duckdb'}, which "
        "'payments' reads, does not exist on this machine; set `duckdb_path:` under external_domains.orders in mesh.yml "
        "to where this machine sees it")


def test_a_changed_external_interface_makes_its_consumers_stale(world: dict[str, Path], built_consumer: Path,
                                                                tmp_path: Path) -> None:
    from mesh_cli.state.locations import FolderLocation
    from mesh_cli.state.remote import write_publication

    repo = tmp_path / "consumer"
    shutil.copytree(built_consumer, repo, ignore=shutil.ignore_patterns("*.duckdb.wal"))
    shared = tmp_path / "shared"
    shutil.copytree(world["shared"], shared)
    set_external(repo, {d: {"state": str(shared)} for d in PRODUCER})
    assert [s.stale for s in Mesh.load(repo).status(BuildOptions())] == [None, None]
    first = json.loads((shared / "orders" / "latest.json").read_text())["build_id"]
    state = json.loads((shared / "orders" / "builds" / first / "state.json").read_text())
    state["build_id"] = "next"
    for m in state["interface"]["models"]:
        if m["name"] == "fct_orders":
            m["deprecation_date"] = "2027-03-31T00:00:00+00:00"
    write_publication(FolderLocation(shared, str(shared)), state, {})
    result = mesh_cli("status", "--project-dir", str(repo))
    assert result.exit_code == 0, result.output
    assert "stale: upstream 'orders' changed its public interface" in result.output


def test_an_s3_compatible_server(world: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """s3:// through s3fs against moto's S3-compatible server on 127.0.0.1: runs where the `s3` extra
    and moto[server] are installed (not by the README's test install; fsspec's memory:// runs everywhere)."""
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    import boto3
    import fsspec

    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for key, value in {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "mesh",
                           "AWS_SECRET_ACCESS_KEY": "mesh", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(key, value)
        fsspec.filesystem("s3").clear_instance_cache()   # built before the endpoint was set
        boto3.client("s3").create_bucket(Bucket="mesh-state")
        published = mesh_cli("publish", "--project-dir", str(world["producer"]), "--to", "s3://mesh-state/acme")
        assert published.exit_code == 0, published.output
        repo = clone(world["consumer"], tmp_path / "consumer")
        set_external(repo, {d: {"state": "s3://mesh-state/acme"} for d in PRODUCER})
        result = mesh_cli("check", "--project-dir", str(repo), "--select", "payments")
        assert result.exit_code == 0, result.output
        set_external(repo, {"customers": {"state": "s3://mesh-state/acme"}, "orders": {"state": "s3://mesh-state/other"}})
        assert _refused(repo) == (
            f"Error: {repo / 'mesh.yml'}: external domain 'orders': s3://mesh-state/other holds no published state of it; "
            "run `mesh publish --select orders --to <location>` in the repository of 'orders' after a good build, "
            "or fix the location")
    finally:
        server.stop()


def test_env_deprecations_and_selection_treat_external_domains_as_upstreams_only(world: dict[str, Path],
                                                                                built_consumer: Path) -> None:
    root = str(built_consumer)
    env = json.loads(mesh_cli("env", "payments", "--project-dir", root, "--format", "json").output)
    assert env["MESH_UPSTREAMS"] == "orders"
    assert json.loads(env["MESH_DUCKDB_ATTACH"]) == [
        {"path": str(world["producer"] / ".mesh" / "warehouse" / "orders.duckdb"), "alias": "orders", "read_only": True}]
    deprecations = mesh_cli("contracts", "deprecations", "--project-dir", root)
    assert deprecations.output.splitlines()[0].startswith(
        "marketing.int_attributed_orders -> orders.fct_orders v1: 2027-06-30 (in ")
    refused = mesh_cli("build", "--project-dir", root, "--select", "orders", "--dry-run")
    assert refused.exit_code == 2
    assert refused.output.splitlines() == [
        "Error: unknown domain 'orders'; known domains: marketing, payments; 'orders' is external (built in another "
        "repository): select its consumers here"]


def test_file_urls_and_dbt_loom_http_sources(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {"customers": {"state": world["shared"].as_uri()}})
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    shutil.copy(world["producer"] / ".mesh" / "state" / "orders" / "manifest.json", manifests / "orders.json")
    with StaticServer(manifests) as server:
        (repo / "domains" / "payments" / "dbt_loom.config.yml").write_text(
            "manifests:\n  - name: orders\n    type: http\n    config:\n      url: \"{{ env_var('LOOM_URL', '"
            + server.url + "') }}/orders.json\"\n")
        mesh = Mesh.load(repo)
    assert mesh.external["customers"].location == world["shared"].as_uri()
    assert mesh.external["orders"].location == f"{server.url}/orders.json"
    assert {m["name"] for m in mesh.interface("orders")["models"] if m["access"] == "public"} == {"dim_products", "fct_orders"}
    assert mesh.graph.upstreams("payments") == ["orders"]


def test_without_external_domains_a_ref_elsewhere_says_how_to_name_it(world: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(world["consumer"], tmp_path / "consumer")
    set_external(repo, {})
    result = mesh_cli("check", "--project-dir", str(repo), "--select", "payments")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[4:7] == [
        "  error  ref.unknown  -  domains/payments/models/marts/fct_order_reconciliation.sql:4",
        "         unknown domain 'orders'; known domains: marketing, payments",
        "         fix: Fix the first argument of ref('orders', 'fct_orders'), or list 'orders' under external_domains: "
        "in mesh.yml when it is built in another repository.",
    ]


def test_plain_dbt_in_a_consumer_domain_reads_the_external_producer(world: dict[str, Path], built_consumer: Path,
                                                                      tmp_path: Path) -> None:
    """`mesh env` then plain `dbt build` inside a domain of the consumer's repository: the plugin
    injects the external producer's public models from `.mesh/external/`."""
    import os
    import subprocess
    import sys

    repo = tmp_path / "consumer"
    shutil.copytree(built_consumer, repo, ignore=shutil.ignore_patterns("*.duckdb.wal", "target"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", **Mesh.load(repo).env("payments"))
    run = subprocess.run([str(Path(sys.executable).parent / "dbt"), "build", "--profiles-dir", "../../profiles",
                          "--select", "fct_order_reconciliation"], cwd=repo / "domains" / "payments", env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]
    manifest = json.loads((repo / "domains" / "payments" / "target" / "manifest.json").read_text())
    assert manifest["nodes"]["model.orders.fct_orders.v2"]["relation_name"] == '"orders"."main"."fct_orders_v2"'
