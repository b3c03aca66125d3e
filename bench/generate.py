"""Seeded synthetic meshes for the benchmarks, and the same models as one monolithic dbt project.

A spec (`make_spec`) fixes every domain's models, the SQL they run, the cross-domain refs and the
seed data; `write_mesh` and `write_monolith` render that one spec two ways, so both builds run the
same SQL on the same rows. By hand:

    python bench/generate.py --domains 3 --models 4 --out /tmp/synthetic
    python bench/generate.py --shape wide --roots 3 --domains 50 --models 8 --out /tmp/wide

writes <out>/mesh (one dbt project per domain) and <out>/monolith, and prints the depth of the
domain graph (the most domains on one path: no build can finish sooner than that many domain
builds one after another, when whole domains are scheduled).

Shapes (the domain graph; both deterministic from the seed):
  deep  domain i reads one to three public models of earlier domains, any of them; the first domain
        is the only root
  wide  the first `roots` domains read nothing; every other domain reads one or two of the roots,
        and about one in seven also reads one earlier non-root domain (so the graph is not flat)

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
from typing import Optional

from templates import CATEGORIES, render_sql

REPO = Path(__file__).resolve().parent.parent
PROFILES = REPO / "profiles" / "profiles.yml"
SEED = "raw_events"
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
    shape: str = "deep"

    @property
    def depth(self) -> int:
        """Domains on the longest path of the domain graph (a lone domain: 1)."""
        longest: dict[str, int] = {}
        for d in self.domains:   # generated in topological order: upstreams come first
            longest[d.name] = 1 + max((longest[u] for u in d.upstreams), default=0)
        return max(longest.values(), default=0)

    @property
    def root_domain(self) -> str:
        return self.domains[0].name

    @property
    def leaf_domain(self) -> str:
        """A domain no other domain reads from (the last one never has consumers)."""
        return self.domains[-1].name


SHAPES = ("deep", "wide")


def _upstreams(rng: random.Random, shape: str, index: int, earlier: list[DomainSpec], roots: int,
               slots: int) -> list[str]:
    """The domains domain `index` reads; at most `slots` (each is read by its own model)."""
    if shape == "deep":   # the random calls of the first version: the deep spec stays the same mesh
        return rng.sample([d.name for d in earlier], min(len(earlier), rng.randint(1, 3), slots)) if earlier else []
    if index < roots:
        return []
    root_names = [d.name for d in earlier[:roots]]
    picked = rng.sample(root_names, min(len(root_names), rng.randint(1, 2), slots))
    others = [d.name for d in earlier[roots:]]
    # A few consumers of consumers, as real meshes have: depth 3 or 4 instead of a flat fan.
    if others and len(picked) < slots and rng.random() < 0.15:
        picked.append(rng.choice(others))
    return picked


def _domain(rng: random.Random, index: int, n_models: int, earlier: list[DomainSpec], shape: str = "deep",
            roots: int = 1) -> DomainSpec:
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
    upstreams = _upstreams(rng, shape, index, earlier, roots, slots)
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


def make_spec(domains: int, models: int, seed: int = 42, rows: int = 3000, shape: str = "deep",
              roots: int = 3) -> MeshSpec:
    """`roots` matters only for the wide shape (the deep one has a single root)."""
    if models < 4:
        raise ValueError("each domain needs at least 4 models (staging, intermediate, aggregate, mart)")
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose from {', '.join(SHAPES)}")
    if shape == "wide" and not 1 <= roots < domains:
        raise ValueError(f"a wide mesh needs at least one root and one consumer ({roots} roots of {domains} domains)")
    rng = random.Random(seed)
    specs: list[DomainSpec] = []
    for i in range(domains):
        specs.append(_domain(rng, i, models, specs, shape, roots))
    return MeshSpec(tuple(specs), rows, seed, shape)


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
    parser.add_argument("--shape", choices=SHAPES, default="deep", help="the domain graph (see above)")
    parser.add_argument("--roots", type=int, default=3, help="root domains of the wide shape")
    parser.add_argument("--out", type=Path, required=True, help="folder to write mesh/ and monolith/ into (must not exist)")
    args = parser.parse_args()
    if args.out.exists():
        parser.error(f"{args.out} exists; pass a new folder")
    spec = make_spec(args.domains, args.models, args.seed, args.rows, args.shape, args.roots)
    write_mesh(spec, args.out / "mesh")
    write_monolith(spec, args.out / "monolith")
    edges = sum(len(d.upstreams) for d in spec.domains)
    print(f"wrote {args.out}/mesh and {args.out}/monolith: {args.shape}, {args.domains} domains x {args.models} models, "
          f"{edges} cross-domain dependencies, depth {spec.depth} domains, {args.rows} rows per domain (seed {args.seed})")


if __name__ == "__main__":
    main()
