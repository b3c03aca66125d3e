"""Model-level selection across domains: the word parser and resolver as pure functions on a
hand-made model graph, then `mesh ls` and `mesh build` on the basic mesh (core <- sales)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import networkx as nx
import pytest

from conftest import mesh_cli
from mesh_cli.core.errors import (InvalidSelectorError, SelectionNotParsedError, UnknownDomainError,
                             UnknownSelectedModelError)
from mesh_cli.project.graph import MeshGraph
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.project.selection import Word, dbt_selector, parse_word, resolve


def domains() -> MeshGraph:
    g = MeshGraph(["core", "sales", "mkt", "ops"])
    g.link("core", "sales", "ref", "dim", "a")
    g.link("sales", "mkt", "ref", "c", "x")
    return g


def models() -> nx.DiGraph:
    """core: raw (seed), src.t (source) -> stg, dim v1 and v2, secret; sales: a (v1), b (v2) -> c; mkt: x; ops: h."""
    g = nx.DiGraph()
    for key, kind in [("core.raw", "seed"), ("core.src.t", "source"), ("core.stg", "model"), ("core.secret", "model"),
                      ("core.dim.v1", "model"), ("core.dim.v2", "model"), ("sales.a", "model"), ("sales.b", "model"),
                      ("sales.c", "model"), ("mkt.x", "model"), ("ops.h", "model")]:
        g.add_node(key, domain=key.split(".")[0], kind=kind, version=key[-1] if ".v" in key else None)
    g.add_edges_from([("core.src.t", "core.stg"), ("core.raw", "core.dim.v1"), ("core.raw", "core.dim.v2"),
                      ("core.stg", "core.dim.v2"), ("core.dim.v1", "sales.a"), ("core.dim.v2", "sales.b"),
                      ("sales.b", "sales.c"), ("sales.c", "mkt.x")])
    return g


@pytest.mark.parametrize("text,word", [
    ("orders", Word("orders", "orders")),
    ("+orders", Word("+orders", "orders", up=None)),
    ("orders+", Word("orders+", "orders", down=None)),
    ("2+orders.fct", Word("2+orders.fct", "orders.fct", up=2)),
    ("orders.fct.v2+1", Word("orders.fct.v2+1", "orders.fct.v2", down=1)),
    ("@orders.fct", Word("@orders.fct", "orders.fct", at=True)),
])
def test_parse_word(text: str, word: Word) -> None:
    assert parse_word(text) == word


def test_word_domain_and_model_parts() -> None:
    assert (parse_word("+orders").domain, parse_word("+orders").is_model) == ("orders", False)
    assert (parse_word("orders.fct.v2+").domain, parse_word("orders.fct.v2+").is_model) == ("orders", True)


@pytest.mark.parametrize("text", ["@+orders", "@orders+", "orders.", ".fct", "core..dim", "+", "a+b+c"])
def test_invalid_words(text: str) -> None:
    with pytest.raises(InvalidSelectorError) as info:
        parse_word(text)
    assert info.value.message == (
        f"'{text}' is not a selection word; use name, +name, name+, 2+name, name+1 or @name, where name is a "
        "domain, <domain>.<model> or <domain>.<model>.v<N> (check --select/--exclude)")
    assert info.value.exit_code == 2


ALL = None  # the whole domain: dbt runs without --select


@pytest.mark.parametrize("select,exclude,expected", [
    (("core.dim.v1+",), (), {"core": ["core.dim.v1"], "sales": ["sales.a"]}),
    (("+sales.c",), (), {"core": ["core.raw", "core.src.t", "core.stg", "core.dim.v2"], "sales": ["sales.b", "sales.c"]}),
    (("core.dim",), (), {"core": ["core.dim.v1", "core.dim.v2"]}),                  # a model without version: all of them
    (("core.dim.v2+1",), (), {"core": ["core.dim.v2"], "sales": ["sales.b"]}),
    (("1+sales.b",), (), {"core": ["core.dim.v2"], "sales": ["sales.b"]}),
    (("@sales.b",), (), {"core": ["core.raw", "core.src.t", "core.stg", "core.dim.v2"],
                         "sales": ["sales.b", "sales.c"], "mkt": ["mkt.x"]}),
    (("ops core.dim.v1+",), (), {"core": ["core.dim.v1"], "ops": ALL, "sales": ["sales.a"]}),
    (("ops,core.dim.v1",), (), {"core": ["core.dim.v1"], "ops": ALL}),
    ((), ("core.secret",), {"core": ["core.raw", "core.dim.v1", "core.src.t", "core.stg", "core.dim.v2"],
                            "ops": ALL, "sales": ALL, "mkt": ALL}),
    (("core.dim+",), ("sales.b+",), {"core": ["core.dim.v1", "core.dim.v2"], "sales": ["sales.a"]}),
    (("core.dim.v1+",), ("sales",), {"core": ["core.dim.v1"]}),
    (("sales+",), ("sales.c+",), {"sales": ["sales.a", "sales.b"]}),
    (("+mkt",), ("core.src.t+",), {"core": ["core.raw", "core.dim.v1", "core.secret"], "sales": ["sales.a"]}),
])
def test_resolve_model_words(select: tuple[str, ...], exclude: tuple[str, ...],
                             expected: dict[str, Optional[list[str]]]) -> None:
    found = resolve(domains(), models(), [], select, exclude)
    assert found.nodes == expected
    assert found.domains == list(expected)  # in build order


def test_domain_words_resolve_as_before_without_the_model_graph() -> None:
    found = resolve(domains(), None, [], ["sales+"], ["mkt"])
    assert (found.domains, found.nodes, found.builds) == (["sales"], {"sales": None}, None)
    assert resolve(domains(), None, [], ["@sales"]).domains == ["core", "sales", "mkt"]


def test_builds_lists_what_dbt_builds_sources_aside() -> None:
    found = resolve(domains(), models(), ["mkt"], ["+sales.b mkt"])
    assert found.builds == {"core": ["core.raw", "core.stg", "core.dim.v2"], "sales": ["sales.b"], "mkt": None}
    assert found.nodes["mkt"] is ALL


def test_unknown_model_lists_close_matches() -> None:
    with pytest.raises(UnknownSelectedModelError) as info:
        resolve(domains(), models(), [], ["sales.c", "core.dimm+"])
    assert info.value.message == (
        "--select core.dimm+: domain 'core' has no model 'dimm' (its models are read from the newer of "
        ".mesh/check/core/manifest.json and .mesh/state/core/manifest.json); did you mean core.dim, core.dim.v2, "
        "core.dim.v1? name a model <domain>.<model> or <domain>.<model>.v<N>, and run `mesh check` first if it is new")
    assert info.value.exit_code == 2
    with pytest.raises(UnknownSelectedModelError, match="^--exclude sales.zzz: domain 'sales' has no model 'zzz'"):
        resolve(domains(), models(), [], [], ["sales.zzz"])


def test_unknown_domain_in_a_model_word() -> None:
    with pytest.raises(UnknownDomainError) as info:
        resolve(domains(), models(), [], ["+nope.fct"])
    assert info.value.message == "unknown domain 'nope'; known domains: core, mkt, ops, sales; check --select/--exclude"


def test_a_word_reaching_an_unparsed_domain_is_refused() -> None:
    # Without mkt's manifest, the walk downstream of sales.b could not see mkt.x: refused, not guessed.
    with pytest.raises(SelectionNotParsedError) as info:
        resolve(domains(), models(), ["mkt"], ["sales.b+"])
    assert info.value.message == (
        "--select sales.b+ needs the models of domain 'mkt', which has never been parsed or built (no "
        ".mesh/check/<domain>/manifest.json or .mesh/state/<domain>/manifest.json); run `mesh check` first "
        "(`mesh build` does, unless --skip-checks)")
    assert resolve(domains(), models(), ["mkt"], ["sales.b"]).nodes == {"sales": ["sales.b"]}  # upstream only: fine


def test_domain_graph_reads_model_words_as_their_domain() -> None:
    """What `mesh check` (per domain) makes of model words: a superset of the domains they reach."""
    assert domains().select(["core.dim.v1+"]) == ["core", "sales", "mkt"]
    assert domains().select(["+sales.a"]) == ["core", "sales"]
    assert domains().select([], ["core.secret"]) == ["core", "ops", "sales", "mkt"]
    with pytest.raises(UnknownDomainError):
        domains().select([], ["nope.x"])


def test_dbt_selector_is_the_full_fqn_or_the_source() -> None:
    assert dbt_selector({"resource_type": "model", "fqn": ["core", "marts", "dim_people", "v1"]}) == "core.marts.dim_people.v1"
    assert dbt_selector({"resource_type": "seed", "fqn": ["core", "raw_people"]}) == "core.raw_people"
    assert dbt_selector({"resource_type": "source", "package_name": "orders", "source_name": "raw",
                         "name": "orders"}) == "source:orders.raw.orders"


# --- on the basic mesh -----------------------------------------------------------------------

def test_plan_gives_each_domain_the_dbt_selection_of_its_models(built_basic: Path) -> None:
    mesh = Mesh.load(built_basic)

    def specs(select: tuple[str, ...], exclude: tuple[str, ...] = ()) -> list[tuple[str, Optional[list[str]]]]:
        return [(p.domain, list(p.dbt.select) or None) for p in mesh.plan(BuildOptions(select, exclude))]

    assert specs(("core.dim_people.v1+",)) == [("core", ["core.dim_people.v1"]), ("sales", ["sales.old_sales"])]
    assert specs(("ops", "+sales.fct_sales")) == [
        ("core", ["core.raw_people", "core.dim_people.v2"]), ("ops", None), ("sales", ["sales.fct_sales"])]
    assert specs((), ("core.secret", "sales")) == [
        ("core", ["core.raw_people", "core.dim_people.v1", "core.dim_people.v2"]), ("ops", None)]
    assert specs(("core+",)) == [("core", None), ("sales", None)]


def test_ls_shows_what_a_model_selection_builds(built_basic: Path) -> None:
    result = mesh_cli("ls", "--project-dir", str(built_basic), "--select", "ops core.dim_people.v1+")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "core  (domains/core)  owner: Core <core@example.com>",
        "  upstreams:   -",
        "  downstreams: sales",
        "  public models:",
        "    dim_people v1  contract enforced deprecated 2027-01-01",
        "    dim_people v2 (latest)  contract enforced",
        "  builds: dim_people.v1",
        "ops  (domains/ops)",
        "  upstreams:   -",
        "  downstreams: -",
        "  public models: none",
        "  builds: all (heartbeat)",
        "sales  (domains/sales)  owner: Sales <sales@example.com>",
        "  upstreams:   core",
        "  downstreams: -",
        "  public models: none",
        "  builds: old_sales",
    ]
    data = json.loads(mesh_cli("ls", "--project-dir", str(built_basic), "-s", "+sales.one_arg",
                               "--exclude", "core.raw_people", "--format", "json").stdout)
    assert [(d["name"], d["builds"]) for d in data] == [
        ("core", {"all": False, "models": ["dim_people.v2"]}), ("sales", {"all": False, "models": ["one_arg"]})]
    plain = json.loads(mesh_cli("ls", "--project-dir", str(built_basic), "-s", "core", "--format", "json").stdout)
    assert [d["builds"] for d in plain] == [None]
    infos = Mesh.load(built_basic).describe(["core.dim_people"], ["sales"])
    assert [(i.name, i.builds) for i in infos] == [("core", {"all": False, "models": ["dim_people.v1", "dim_people.v2"]})]


UNKNOWN = ("--select core.dim_peple+: domain 'core' has no model 'dim_peple' (its models are read from the newer of "
           ".mesh/check/core/manifest.json and .mesh/state/core/manifest.json); did you mean core.dim_people, "
           "core.dim_people.v2, core.dim_people.v1? name a model <domain>.<model> or <domain>.<model>.v<N>, and run "
           "`mesh check` first if it is new")


def test_unknown_model_word_is_a_usage_error(built_basic: Path) -> None:
    listed = mesh_cli("ls", "--project-dir", str(built_basic), "--select", "core.dim_peple+")
    assert (listed.exit_code, listed.stdout, listed.stderr) == (2, "", f"Error: {UNKNOWN}\n")
    built = mesh_cli("build", "--project-dir", str(built_basic), "--select", "core.dim_peple+", "--skip-checks")
    assert (built.exit_code, built.stderr.splitlines()[-1]) == (2, f"Error: {UNKNOWN}")
    with pytest.raises(UnknownSelectedModelError) as info:
        Mesh.load(built_basic).plan(BuildOptions(select=("core.dim_peple+",)))
    assert info.value.message == UNKNOWN


def test_model_words_need_parsed_domains(basic: Path) -> None:
    message = ("Error: --select core.dim_people+ needs the models of domains 'core', 'sales', which have never been "
               "parsed or built (no .mesh/check/<domain>/manifest.json or .mesh/state/<domain>/manifest.json); run "
               "`mesh check` first (`mesh build` does, unless --skip-checks)\n")
    listed = mesh_cli("ls", "--project-dir", str(basic), "-s", "core.dim_people+")
    assert (listed.exit_code, listed.stderr) == (2, message)
    built = mesh_cli("build", "--project-dir", str(basic), "-s", "core.dim_people+", "--skip-checks")
    assert (built.exit_code, built.stderr.splitlines()[-1]) == (2, message.rstrip("\n"))
    with pytest.raises(SelectionNotParsedError):
        Mesh.load(basic).describe(["core.dim_people+"])


def _ran(root: Path, domain: str) -> list[str]:
    results = json.loads((root / "domains" / domain / "target" / "run_results.json").read_text())["results"]
    return sorted(r["unique_id"] for r in results)


def test_build_runs_only_the_selected_models_across_domains(rebuilt_basic: Path) -> None:
    result = mesh_cli("build", "--project-dir", str(rebuilt_basic), "--select", "core.dim_people.v1+", "--skip-checks")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert _ran(rebuilt_basic, "core") == ["model.core.dim_people.v1", "test.core.unique_dim_people_v1_id.0a85d85cd5"]
    assert _ran(rebuilt_basic, "sales") == ["model.sales.old_sales"]
    summary = json.loads((rebuilt_basic / ".mesh" / "run_results.json").read_text())
    assert [(d["domain"], d["status"]) for d in summary["domains"]] == [("core", "success"), ("sales", "success")]


def test_build_checks_first_so_a_new_model_can_be_selected(rebuilt_basic: Path) -> None:
    (rebuilt_basic / "domains" / "core" / "models" / "headcount.sql").write_text("select id from {{ ref('raw_people') }}\n")
    # The last build's manifest does not know it yet; without the check, nothing parses it.
    stale = mesh_cli("build", "--project-dir", str(rebuilt_basic), "--select", "core.headcount", "--skip-checks")
    assert (stale.exit_code, stale.stderr.splitlines()[-1]) == (2, (
        "Error: --select core.headcount: domain 'core' has no model 'headcount' (its models are read from the newer of "
        ".mesh/check/core/manifest.json and .mesh/state/core/manifest.json); name a model <domain>.<model> or "
        "<domain>.<model>.v<N>, and run `mesh check` first if it is new"))
    result = mesh_cli("build", "--project-dir", str(rebuilt_basic), "--select", "core.headcount")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert _ran(rebuilt_basic, "core") == ["model.core.headcount"]
