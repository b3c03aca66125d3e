"""Time `mesh build` on a synthetic mesh: D domains of M view models each, every domain reading
the previous one's public model (a chain) or the first one's (a fan-out). Run by hand:

    python bench/build_mesh.py --domains 10 --models 20 --shape fan --workers 2

Prints cold and warm wall times and the peak memory of the worker processes."""
from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from mesh_cli.app import BuildOptions, Mesh

PROFILE = Path(__file__).resolve().parent.parent / "profiles" / "profiles.yml"


def write_mesh(root: Path, domains: int, models: int, shape: str) -> None:
    (root / "profiles").mkdir(parents=True)
    shutil.copy(PROFILE, root / "profiles" / "profiles.yml")
    (root / "mesh.yml").write_text("name: bench\ndomain_paths: ['domains/*']\n")
    for d in range(domains):
        name = f"d{d:02d}"
        folder = root / "domains" / name / "models"
        folder.mkdir(parents=True)
        (folder.parent / "dbt_project.yml").write_text(f"name: {name}\nprofile: mesh\nversion: '1.0'\nconfig-version: 2\n")
        upstream = None if d == 0 else (f"d{d - 1:02d}" if shape == "chain" else "d00")
        if upstream:
            (folder.parent / "dependencies.yml").write_text(f"projects:\n  - name: {upstream}\n")
        first = f"select * from {{{{ ref('{upstream}', 'public_{upstream}') }}}}" if upstream else "select 1 as id"
        (folder / f"m{name}_000.sql").write_text(first + "\n")
        for m in range(1, models - 1):
            (folder / f"m{name}_{m:03d}.sql").write_text(f"select * from {{{{ ref('m{name}_{m - 1:03d}') }}}}\n")
        (folder / f"public_{name}.sql").write_text(f"{{{{ config(materialized='table') }}}}\nselect * from {{{{ ref('m{name}_{models - 2:03d}') }}}}\n")
        (folder / "schema.yml").write_text(
            f"models:\n  - name: public_{name}\n    access: public\n    columns:\n      - name: id\n"
            f"        data_tests: [not_null]\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domains", type=int, default=10)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--shape", choices=["chain", "fan"], default="fan")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "mesh"
        write_mesh(root, args.domains, args.models, args.shape)
        for label in ("cold", "warm"):
            began = time.perf_counter()
            result = Mesh.load(root).build(BuildOptions(workers=args.workers))
            elapsed = time.perf_counter() - began
            assert result.success, result.to_dict()
            print(f"{label}: {elapsed:.1f} s for {args.domains} domains x {args.models} models "
                  f"({args.shape}, {args.workers} workers)")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak worker RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
