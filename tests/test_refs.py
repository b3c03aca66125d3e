"""Reading refs out of files before dbt parses anything."""
from __future__ import annotations

from pathlib import Path

from mesh_cli.core.config import MeshConfig
from mesh_cli.project.discovery import load_domain
from mesh_cli.project.refs import model_names, scan_refs


def _domain(tmp_path: Path, files: dict[str, str]):
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: mesh\n")
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return load_domain(tmp_path, MeshConfig())


def test_every_ref_form_with_file_and_line(tmp_path: Path) -> None:
    domain = _domain(tmp_path, {"models/a.sql": (
        "select * from {{ ref('orders', 'fct_orders') }}\n"
        "join {{ ref(\"fct_orders\") }}\n"
        "join {{ ref('orders', 'fct_orders', v=1) }} join {{ ref('fct_orders', version='2') }}\n"
    ), "models/py_model.py": "def model(dbt, session):\n    return dbt.ref('customers', 'dim_customers')\n"})
    refs = [(r.package, r.name, r.version, r.file.name, r.line) for r in scan_refs(domain)]
    assert refs == [
        ("orders", "fct_orders", None, "a.sql", 1),
        (None, "fct_orders", None, "a.sql", 2),
        ("orders", "fct_orders", "1", "a.sql", 3),
        (None, "fct_orders", "2", "a.sql", 3),
        ("customers", "dim_customers", None, "py_model.py", 2),
    ]


def test_comments_and_descriptions_are_not_refs(tmp_path: Path) -> None:
    domain = _domain(tmp_path, {
        "models/a.sql": ("-- once read {{ ref('legacy', 'old') }}\n/* and {{ ref('legacy', 'older') }}\n*/\n"
                         "{# ref('legacy', 'oldest') #}\nselect '--' as dashes, * from {{ ref('orders', 'x') }}\n"),
        "models/a.yml": ("models:\n  - name: a\n    description: \"Built from ref('legacy', 'old')\"\n"
                         "    columns:\n      - name: id\n        data_tests:\n"
                         "          - relationships:\n              to: ref('customers', 'dim_customers')\n"
                         "              field: id\n"),
    })
    refs = [(r.package, r.name, r.file.name, r.line) for r in scan_refs(domain)]
    assert refs == [("orders", "x", "a.sql", 5), ("customers", "dim_customers", "a.yml", 8)]


def test_model_names_include_versions_seeds_and_snapshots(tmp_path: Path) -> None:
    domain = _domain(tmp_path, {
        "models/fct_orders_v1.sql": "select 1", "models/stg.sql": "select 1",
        "models/s.yml": "models:\n  - name: fct_orders\n    versions: [{v: 1}]\n",
        "seeds/raw.csv": "a\n1\n",
        "snapshots/snap.sql": "{% snapshot orders_snapshot %}select 1{% endsnapshot %}",
    })
    assert model_names(domain) == {"fct_orders_v1", "stg", "fct_orders", "raw", "snap", "orders_snapshot"}
