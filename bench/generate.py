"""Seeded synthetic meshes for the benchmarks, and the same models as one monolithic dbt project.

A spec (`make_spec`) fixes every domain's models, the SQL they run, the cross-domain refs and the
seed data; `write_mesh` and `write_monolith` render that one spec two ways, so both builds run the
same SQL on the same rows. By hand:

    python bench/generate.py --domains 3 --models 4 --out /tmp/synthetic

writes /tmp/synthetic/mesh (one dbt project per domain) and /tmp/synthetic/monolith.

Each domain: a seed of `rows` events; staging views (casts, de-duplication with row_number);
intermediate views (window functions, aggregates, joins, some reading public models of earlier
domains through `ref('<domain>', '<model>')`); public mart tables with a group, an owner and an
enforced contract, tested unique and not_null."""
from __future__ import annotations

import argparse
import csv
import random
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parent.parent
PROFILES = REPO / "profiles" / "profiles.yml"
SEED = "raw_events"
CATEGORIES = ("books", "games", "garden", "music", "sports", "tools")
CUSTOMERS = 500  # shared key space, so joins across domains match rows
# Column name -> contract type of every customer-level ("C") model; event-level ("E") models
# have event_id, customer_id, category, amount, event_date.
PUBLIC_COLUMNS = (("customer_id", "integer"), ("n_events", "bigint"), ("total_amount", "double"),
                  ("avg_amount", "double"), ("last_event_date", "date"), ("segment", "varchar"))


@dataclass(frozen=True)
class Input:
    name: str
    domain: Optional[str] = None   # None: a model of the same domain


@dataclass(frozen=True)
class Model:
    name: str
    layer: str                     # staging, intermediate, marts
    kind: str                      # which SQL template renders it
    shape: str                     # "E" (one row per event) or "C" (one row per customer)
    inputs: tuple[Input, ...]
    variant: int                   # makes models of the same kind differ

    @property
    def public(self) -> bool:
        return self.layer == "marts"


@dataclass(frozen=True)
class DomainSpec:
    name: str
    upstreams: tuple[str, ...]
    models: tuple[Model, ...]


@dataclass(frozen=True)
class MeshSpec:
    domains: tuple[DomainSpec, ...]
    rows: int
    seed: int

    @property
    def root_domain(self) -> str:
        return self.domains[0].name

    @property
    def leaf_domain(self) -> str:
        """A domain no other domain reads from (the last one never has consumers)."""
        return self.domains[-1].name


def _domain(rng: random.Random, index: int, n_models: int, earlier: list[DomainSpec]) -> DomainSpec:
    name = f"d{index:03d}"
    n_stg = max(1, round(n_models * 0.3))
    n_mart = max(1, round(n_models * 0.2))
    n_int = n_models - n_stg - n_mart
    models: list[Model] = []
    for i in range(n_stg):
        kind = "clean" if i == 0 or rng.random() < 0.5 else "dedup"
        models.append(Model(f"stg_events_{i + 1:02d}", "staging", kind, "E", (Input(SEED),), i))
    # The last intermediate model aggregates, so every domain has a customer-level model to publish;
    # each chosen upstream is read by at least one of the others, so no declared dependency is unused.
    slots = n_int - 1
    upstreams = rng.sample([d.name for d in earlier], min(len(earlier), rng.randint(1, 3), slots)) if earlier else []
    publics = {d.name: [m.name for m in d.models if m.public] for d in earlier}
    crosses = [Input(rng.choice(publics[u]), u) for u in upstreams]

    def pick(shape: str) -> Input:
        local = [m for m in models if m.shape == shape]
        if shape == "C" and upstreams and (not local or rng.random() < 0.3):
            u = rng.choice(upstreams)
            return Input(rng.choice(publics[u]), u)
        return Input(rng.choice(local[-4:]).name)   # recent models: deeper DAGs

    for i in range(n_int):
        if i < len(crosses):
            kind, inputs = "enrich", (pick("E"), crosses[i])
        elif i == n_int - 1:
            kind, inputs = "aggregate", (pick("E"),)
        else:
            has_c = bool(upstreams) or any(m.shape == "C" for m in models)
            kind = rng.choice(["window", "aggregate", "enrich", "combine"] if has_c else ["window", "aggregate"])
            inputs = {"window": lambda: (pick("E"),), "aggregate": lambda: (pick("E"),),
                      "enrich": lambda: (pick("E"), pick("C")), "combine": lambda: (pick("C"), pick("C"))}[kind]()
        shape = "E" if kind in ("window", "enrich") else "C"
        models.append(Model(f"int_{'events' if shape == 'E' else 'customers'}_{i + 1:02d}", "intermediate",
                            kind, shape, inputs, i))
    local_c = [m for m in models if m.shape == "C"]
    for i in range(n_mart):
        models.append(Model(f"fct_{name}_{i + 1:02d}", "marts", "publish", "C",
                            (Input(rng.choice(local_c[-3:]).name),), i))
    return DomainSpec(name, tuple(sorted(upstreams)), tuple(models))


def make_spec(domains: int, models: int, seed: int = 42, rows: int = 3000) -> MeshSpec:
    if models < 4:
        raise ValueError("each domain needs at least 4 models (staging, intermediate, aggregate, mart)")
    rng = random.Random(seed)
    specs: list[DomainSpec] = []
    for i in range(domains):
        specs.append(_domain(rng, i, models, specs))
    return MeshSpec(tuple(specs), rows, seed)


# --- SQL -------------------------------------------------------------------------------------

Ref = Callable[[Input], str]


def render_sql(model: Model, ref: Ref) -> str:
    """The model's SQL; `ref` renders an input as `{{ ref(...) }}` for the mesh or the monolith."""
    v = model.variant
    src = [ref(i) for i in model.inputs]
    if model.kind == "clean":
        return (f"select\n    cast(id as integer) as event_id,\n    cast(customer_id as integer) as customer_id,\n"
                f"    lower(category) as category,\n    cast(amount as double) as amount,\n"
                f"    cast(created_at as date) as event_date\nfrom {src[0]}\n"
                f"where amount is not null and id % {v + 7} <> 0\n")
    if model.kind == "dedup":
        return (f"with ranked as (\n    select *, row_number() over (partition by customer_id, created_at "
                f"order by amount desc, id) as rn\n    from {src[0]}\n)\n"
                f"select\n    cast(id as integer) as event_id,\n    cast(customer_id as integer) as customer_id,\n"
                f"    lower(category) as category,\n    cast(amount as double) as amount,\n"
                f"    cast(created_at as date) as event_date\nfrom ranked\nwhere rn = 1\n")
    if model.kind == "window":
        return (f"with windowed as (\n    select\n        *,\n"
                f"        sum(amount) over (partition by customer_id order by event_date, event_id\n"
                f"            rows between unbounded preceding and current row) as running_amount,\n"
                f"        lag(amount) over (partition by customer_id order by event_date, event_id) as previous_amount,\n"
                f"        rank() over (partition by category order by amount desc) as category_rank\n"
                f"    from {src[0]}\n)\n"
                f"select event_id, customer_id, category,\n"
                f"    (amount + coalesce(previous_amount, amount)) / 2 as amount, event_date\n"
                f"from windowed\nwhere category_rank > {v % 5} or running_amount > {50 * (v + 1)}\n")
    if model.kind == "aggregate":
        return (f"select\n    customer_id,\n    count(*) as n_events,\n    sum(amount) as total_amount,\n"
                f"    avg(amount) as avg_amount,\n    max(event_date) as last_event_date,\n"
                f"    case when sum(amount) > {1000 + 100 * v} then 'high' else 'low' end as segment\n"
                f"from {src[0]}\nwhere category <> '{CATEGORIES[v % len(CATEGORIES)]}'\ngroup by customer_id\n")
    if model.kind == "enrich":
        return (f"select\n    e.event_id,\n    e.customer_id,\n    e.category,\n"
                f"    e.amount * case when c.segment in ('high', 'gold') then 1.05 else 1.0 end as amount,\n"
                f"    e.event_date\nfrom {src[0]} as e\nleft join {src[1]} as c on c.customer_id = e.customer_id\n")
    if model.kind == "combine":
        return (f"select\n    a.customer_id,\n    a.n_events + coalesce(b.n_events, 0) as n_events,\n"
                f"    a.total_amount + coalesce(b.total_amount, 0) as total_amount,\n"
                f"    (a.avg_amount + coalesce(b.avg_amount, a.avg_amount)) / 2 as avg_amount,\n"
                f"    greatest(a.last_event_date, coalesce(b.last_event_date, a.last_event_date)) as last_event_date,\n"
                f"    a.segment\nfrom {src[0]} as a\nleft join {src[1]} as b on b.customer_id = a.customer_id\n")
    if model.kind == "publish":
        return ("{{ config(materialized='table') }}\n"
                f"select\n    cast(customer_id as integer) as customer_id,\n    cast(n_events as bigint) as n_events,\n"
                f"    cast(total_amount as double) as total_amount,\n    cast(avg_amount as double) as avg_amount,\n"
                f"    cast(last_event_date as date) as last_event_date,\n"
                f"    cast(case ntile(4) over (order by total_amount desc, customer_id) when 1 then 'gold'\n"
                f"        when 2 then 'silver' else 'bronze' end as varchar) as segment\n"
                f"from {src[0]}\nwhere customer_id is not null\n")
    raise ValueError(f"unknown model kind {model.kind}")


def _seed_rows(spec: MeshSpec, domain: str) -> list[list[object]]:
    rng = random.Random(f"{spec.seed}:{domain}")
    start = date(2024, 1, 1)
    return [[i, rng.randint(1, CUSTOMERS), rng.choice(CATEGORIES), round(rng.uniform(1, 500), 2),
             (start + timedelta(days=rng.randint(0, 364))).isoformat()] for i in range(1, spec.rows + 1)]


def _write_seed(path: Path, rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "customer_id", "category", "amount", "created_at"])
        writer.writerows(rows)


def _schema_yml(domain: DomainSpec, prefix: str = "") -> str:
    """Tests on staging keys; contract, group, access and tests on public models."""
    lines = ["version: 2", "models:"]
    for m in domain.models:
        if m.layer == "staging":
            lines += [f"  - name: {prefix}{m.name}", "    columns:", "      - name: event_id",
                      "        data_tests: [unique, not_null]"]
        elif m.public:
            lines += [f"  - name: {prefix}{m.name}", f"    description: Customer metrics {m.variant + 1} of {domain.name}.",
                      "    access: public", f"    group: {domain.name}_team",
                      "    config:", "      contract: {enforced: true}", "    columns:"]
            for col, kind in PUBLIC_COLUMNS:
                lines += [f"      - name: {col}", f"        data_type: {kind}", f"        description: {col.replace('_', ' ')}."]
                if col == "customer_id":
                    lines += ["        data_tests: [unique, not_null]"]
    return "\n".join(lines) + "\n"


def _groups(domains: tuple[DomainSpec, ...]) -> str:
    lines = ["groups:"]
    for d in domains:
        lines += [f"  - name: {d.name}_team", "    owner:", f"      name: Team {d.name}",
                  f"      email: {d.name}@bench.example"]
    return "\n".join(lines) + "\n"


def write_mesh(spec: MeshSpec, root: Path) -> Path:
    """One dbt project per domain under `root/domains/`, on the repo's `mesh` profile."""
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROFILES, root / "profiles" / "profiles.yml")
    owners = "".join(f"  {d.name}:\n    owner: {{team: Team {d.name}, email: {d.name}@bench.example}}\n"
                     for d in spec.domains)
    (root / "mesh.yml").write_text(f"name: bench\ndomain_paths: ['domains/*']\nprofile: mesh\ndomains:\n{owners}",
                                   encoding="utf-8")
    for d in spec.domains:
        folder = root / "domains" / d.name
        (folder / "models").mkdir(parents=True, exist_ok=True)
        (folder / "dbt_project.yml").write_text(
            f"name: {d.name}\nprofile: mesh\nversion: '1.0'\nconfig-version: 2\n", encoding="utf-8")
        if d.upstreams:
            (folder / "dependencies.yml").write_text(
                "projects:\n" + "".join(f"  - name: {u}\n" for u in d.upstreams), encoding="utf-8")
        _write_seed(folder / "seeds" / f"{SEED}.csv", _seed_rows(spec, d.name))
        (folder / "models" / "_groups.yml").write_text(_groups((d,)), encoding="utf-8")
        (folder / "models" / "_models.yml").write_text(_schema_yml(d), encoding="utf-8")

        def ref(i: Input) -> str:
            return f"{{{{ ref('{i.domain}', '{i.name}') }}}}" if i.domain else f"{{{{ ref('{i.name}') }}}}"

        for m in d.models:
            path = folder / "models" / m.layer / f"{m.name}.sql"
            path.parent.mkdir(exist_ok=True)
            path.write_text(render_sql(m, ref), encoding="utf-8")
    return root


def monolith_name(domain: str, name: str) -> str:
    return f"{domain}__{name}"


def write_monolith(spec: MeshSpec, root: Path) -> Path:
    """The same models in one dbt project: cross-domain refs become local refs, names prefixed."""
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROFILES, root / "profiles" / "profiles.yml")
    (root / "dbt_project.yml").write_text("name: monolith\nprofile: mesh\nversion: '1.0'\nconfig-version: 2\n",
                                          encoding="utf-8")
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "models" / "_groups.yml").write_text(_groups(spec.domains), encoding="utf-8")
    for d in spec.domains:
        _write_seed(root / "seeds" / f"{monolith_name(d.name, SEED)}.csv", _seed_rows(spec, d.name))
        folder = root / "models" / d.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "_models.yml").write_text(_schema_yml(d, prefix=f"{d.name}__"), encoding="utf-8")

        def ref(i: Input, d: DomainSpec = d) -> str:
            return f"{{{{ ref('{monolith_name(i.domain or d.name, i.name)}') }}}}"

        for m in d.models:
            path = folder / m.layer / f"{monolith_name(d.name, m.name)}.sql"
            path.parent.mkdir(exist_ok=True)
            path.write_text(render_sql(m, ref), encoding="utf-8")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=3)
    parser.add_argument("--models", type=int, default=4, help="models per domain (at least 4)")
    parser.add_argument("--rows", type=int, default=3000, help="rows of each domain's seed")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True, help="folder to write mesh/ and monolith/ into (must not exist)")
    args = parser.parse_args()
    if args.out.exists():
        parser.error(f"{args.out} exists; pass a new folder")
    spec = make_spec(args.domains, args.models, args.seed, args.rows)
    write_mesh(spec, args.out / "mesh")
    write_monolith(spec, args.out / "monolith")
    edges = sum(len(d.upstreams) for d in spec.domains)
    print(f"wrote {args.out}/mesh and {args.out}/monolith: {args.domains} domains x {args.models} models, "
          f"{edges} cross-domain dependencies, {args.rows} rows per domain (seed {args.seed})")


if __name__ == "__main__":
    main()
