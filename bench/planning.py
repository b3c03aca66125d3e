"""Scenario (f): how long mesh takes to plan a large mesh, with no dbt run at all.

Writes a synthetic mesh (the dbt projects' files from `generate.py`) and, for every domain, the
state a successful build would have left: `.mesh/state/<d>/manifest.json` (models with their
compiled SQL, tests, the seed, the injected upstream public models, groups and a block of macros
about as large as dbt-duckdb's), `interface.json` (extracted from it by mesh's own code) and
`fingerprint.json`. Then times `Mesh.load` + `.graph` + `.plan(BuildOptions())` in this process,
and `mesh ls` as a subprocess. By hand:

    python bench/planning.py --domains 500 --models 50 --rounds 3
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from generate import PUBLIC_COLUMNS, SEED, DomainSpec, MeshSpec, Model, make_spec, write_mesh
from templates import render_sql
from measure import median

from mesh_cli.core.layout import Layout
from mesh_cli.state.fingerprint import Fingerprint, domain_files_hash, interface_hash
from mesh_cli.state.fingerprint import save as save_fingerprint
from mesh_cli.state.interface import extract_interface, interface_path, state_dir
from mesh_cli.app import BuildOptions, Mesh

DBT_VERSION = "1.11.16"


def _relation(domain: str, name: str) -> str:
    return f'"{domain}"."main"."{name}"'


def _model_node(domain: str, m: Model, upstream_public: bool = False) -> dict[str, Any]:
    uid = f"model.{domain}.{m.name}"
    columns = {c: {"name": c, "description": c.replace("_", " ") + ".", "data_type": t if m.public else None,
                   "constraints": [], "meta": {}, "tags": [], "quote": None} for c, t in PUBLIC_COLUMNS} \
        if m.shape == "C" else {}
    raw = render_sql(m, lambda i: f"{{{{ ref('{i.domain}', '{i.name}') }}}}" if i.domain else f"{{{{ ref('{i.name}') }}}}")
    compiled = render_sql(m, lambda i: _relation(i.domain or domain, i.name)).replace("{{ config(materialized='table') }}\n", "")
    parents = [f"{'seed' if i.name == SEED else 'model'}.{i.domain or domain}.{i.name}" for i in m.inputs]
    node: dict[str, Any] = {
        "database": domain, "schema": "main", "name": m.name, "resource_type": "model", "package_name": domain,
        "path": f"{m.layer}/{m.name}.sql", "original_file_path": f"models/{m.layer}/{m.name}.sql",
        "unique_id": uid, "fqn": [domain, m.layer, m.name], "alias": m.name,
        "checksum": {"name": "sha256", "checksum": hashlib.sha256(raw.encode()).hexdigest()},
        "config": {"enabled": True, "materialized": "table" if m.public else "view", "tags": [], "meta": {},
                   "group": f"{domain}_team" if m.public else None, "access": "public" if m.public else "protected",
                   "contract": {"enforced": m.public, "alias_types": True}, "on_schema_change": "ignore"},
        "tags": [], "description": f"{m.kind} model {m.name}.", "columns": columns, "meta": {},
        "group": f"{domain}_team" if m.public else None, "access": "public" if m.public else "protected",
        "contract": {"enforced": m.public, "alias_types": True, "checksum": None},
        "version": None, "latest_version": None, "deprecation_date": None,
        "relation_name": _relation(domain, m.name), "raw_code": raw, "compiled_code": compiled, "compiled": True,
        "language": "sql", "refs": [{"name": i.name, "package": i.domain, "version": None} for i in m.inputs],
        "sources": [], "depends_on": {"macros": [], "nodes": parents},
        "patch_path": f"{domain}://models/_models.yml", "unrendered_config": {},
    }
    if upstream_public:  # injected by the plugin: dbt knows its relation, never its SQL
        for key in ("raw_code", "compiled_code", "compiled", "refs", "depends_on", "columns", "description"):
            node.pop(key)
    return node


def _test_node(domain: str, model: str, column: str, kind: str) -> dict[str, Any]:
    name = f"{kind}_{model}_{column}"
    return {"name": name, "resource_type": "test", "package_name": domain, "unique_id": f"test.{domain}.{name}",
            "attached_node": f"model.{domain}.{model}", "column_name": column,
            "test_metadata": {"name": kind, "kwargs": {"column_name": column, "model": f"{{{{ get_where_subquery(ref('{model}')) }}}}"}},
            "depends_on": {"macros": [f"macro.dbt.test_{kind}"], "nodes": [f"model.{domain}.{model}"]},
            "config": {"enabled": True, "severity": "ERROR"}, "original_file_path": "models/_models.yml"}


def _macros(count: int) -> dict[str, Any]:
    body = "{% macro duckdb__example(relation, columns) %}\n" + "    {{ return(adapter.dispatch('x')(relation)) }}\n" * 12 + "{% endmacro %}\n"
    return {f"macro.dbt_duckdb.m{i}": {"name": f"m{i}", "resource_type": "macro", "package_name": "dbt_duckdb",
                                       "unique_id": f"macro.dbt_duckdb.m{i}", "macro_sql": body, "arguments": [],
                                       "depends_on": {"macros": []}, "path": f"macros/m{i}.sql"} for i in range(count)}


def manifest(spec: MeshSpec, d: DomainSpec, macros: dict[str, Any]) -> dict[str, Any]:
    by_name = {x.name: x for x in spec.domains}
    nodes: dict[str, Any] = {}
    for m in d.models:
        nodes[f"model.{d.name}.{m.name}"] = _model_node(d.name, m)
        tests = [("event_id", "unique"), ("event_id", "not_null")] if m.layer == "staging" else \
            [("customer_id", "unique"), ("customer_id", "not_null")] if m.public else []
        for column, kind in tests:
            node = _test_node(d.name, m.name, column, kind)
            nodes[node["unique_id"]] = node
    nodes[f"seed.{d.name}.{SEED}"] = {"name": SEED, "resource_type": "seed", "package_name": d.name,
                                      "unique_id": f"seed.{d.name}.{SEED}", "relation_name": _relation(d.name, SEED),
                                      "original_file_path": f"seeds/{SEED}.csv"}
    for u in d.upstreams:
        for m in (m for m in by_name[u].models if m.public):
            nodes[f"model.{u}.{m.name}"] = _model_node(u, m, upstream_public=True)
    groups = {f"group.{d.name}.{d.name}_team": {"name": f"{d.name}_team", "resource_type": "group", "package_name": d.name,
                                                 "unique_id": f"group.{d.name}.{d.name}_team",
                                                 "owner": {"name": f"Team {d.name}", "email": f"{d.name}@bench.example"}}}
    return {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",  # mesh checks it
                         "dbt_version": DBT_VERSION, "project_name": d.name, "adapter_type": "duckdb"},
            "nodes": nodes, "sources": {}, "macros": macros, "docs": {}, "exposures": {}, "metrics": {},
            "groups": groups, "selectors": {}, "disabled": {}, "parent_map": {}, "child_map": {}, "group_map": {},
            "saved_queries": {}, "semantic_models": {}, "unit_tests": {}}


def write_state(spec: MeshSpec, root: Path, macro_count: int = 500) -> None:
    """What `mesh build` would have published for every domain, without running dbt."""
    macros = _macros(macro_count)
    interfaces: dict[str, dict[str, Any]] = {}
    for d in spec.domains:
        folder = state_dir(root, d.name)
        folder.mkdir(parents=True, exist_ok=True)
        data = manifest(spec, d, macros)
        (folder / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
        interfaces[d.name] = extract_interface(data, d.name)
        interface_path(root, d.name).write_text(json.dumps(interfaces[d.name], indent=2, sort_keys=True), encoding="utf-8")
    mesh = Mesh.load(root)
    for d in spec.domains:  # as if nothing changed since: a `--changed` plan finds nothing to do
        files = domain_files_hash(mesh.domains[d.name], mesh.storage(d.name).profiles_dir)
        save_fingerprint(state_dir(root, d.name), Fingerprint(
            files, interface_hash(interfaces[d.name]), {u: interface_hash(interfaces[u]) for u in d.upstreams}))


def time_plan(root: Path) -> dict[str, float]:
    """One in-process planning, phase by phase (seconds)."""
    began = time.perf_counter()
    mesh = Mesh.load(root)
    loaded = time.perf_counter()
    mesh.graph.order()
    graphed = time.perf_counter()
    tasks = mesh.plan(BuildOptions())
    planned = time.perf_counter()
    assert len(tasks) == len(mesh.domains)
    return {"load_s": loaded - began, "graph_s": graphed - loaded, "plan_s": planned - graphed, "total_s": planned - began}


def time_ls(root: Path) -> float:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mesh_cli", "ls", "--project-dir", str(root), "--format", "json"],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"mesh ls failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return elapsed


def run(root: Path, domains: int, models: int, rounds: int, seed: int, macro_count: int = 500) -> dict[str, Any]:
    """Generate the mesh under `root`, then time planning `rounds` times (alternating the two ways)."""
    spec = make_spec(domains, models, seed, rows=100)   # planning hashes the seeds but never loads them
    began = time.perf_counter()
    write_mesh(spec, root)
    write_state(spec, root, macro_count)
    generated = time.perf_counter() - began
    runs = []
    for _ in range(rounds):
        phases = time_plan(root)
        runs.append({**phases, "ls_s": time_ls(root)})
    summary = {k: median([r[k] for r in runs]) for k in runs[0]}
    state_mb = sum(p.stat().st_size for p in Layout(root).base.rglob("*.json")) / 2**20
    return {"domains": domains, "models": models, "rounds": rounds, "generate_s": round(generated, 1),
            "state_mb": round(state_mb, 1), "runs": runs, "median": summary,
            "cross_domain_edges": sum(len(d.upstreams) for d in spec.domains)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=500)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--macros", type=int, default=500, help="macros per synthetic manifest (sets its size)")
    parser.add_argument("--keep", type=Path, help="write the mesh here (must not exist) and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mesh-planning-") as tmp:
        root = args.keep or Path(tmp) / "mesh"
        result = run(root, args.domains, args.models, args.rounds, args.seed, args.macros)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
