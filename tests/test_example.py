"""The example mesh the README points newcomers to builds, checks clean and keeps its promises."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import WORKERS, mesh_cli
from postgres import pg_server, warehouse  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parent.parent
_IGNORE = shutil.ignore_patterns("target", "logs", "dbt_packages", "package-lock.yml", ".user.yml")


def test_example_mesh_builds_from_a_clean_copy(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    for part in ("domains", "macros", "profiles", "contracts"):
        shutil.copytree(REPO / part, root / part, ignore=_IGNORE)
    shutil.copy(REPO / "mesh.yml", root / "mesh.yml")
    result = mesh_cli("build", "--project-dir", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # The one warning is on purpose: marketing still reads fct_orders v1, deprecated on 2027-06-30.
    assert lines[0] == "mesh check: 0 errors, 1 warning in 4 domains"
    assert lines[1] == f"Building 4 domains (customers, orders, payments, marketing) with {WORKERS}"
    assert [l.split()[:2] for l in lines if l.startswith(("OK", "ERROR", "SKIP"))] == [
        ["OK", "customers"], ["OK", "orders"], ["OK", "payments"], ["OK", "marketing"]]
    with duckdb.connect(str(root / ".mesh/warehouse/customers.duckdb"), read_only=True) as con:
        emails = con.execute("select email_masked from main.dim_customers").fetchall()
    assert emails and all("@" in e and len(e.split("@")[0]) == 32 for (e,) in emails)  # md5 of the local part
    graph = mesh_cli("graph", "--project-dir", str(root)).stdout.splitlines()
    assert "orders -> marketing: fct_orders.v1" in graph


def test_published_contracts_of_the_example_are_current(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    for part in ("domains", "macros", "profiles", "contracts"):
        shutil.copytree(REPO / part, root / part, ignore=_IGNORE)
    shutil.copy(REPO / "mesh.yml", root / "mesh.yml")
    result = mesh_cli("contracts", "publish", "--check", "--project-dir", str(root))
    # Stale contracts/: run `mesh contracts publish` at the repository root and commit the files.
    assert (result.exit_code, result.stdout) == (0, "0 contracts to write, 0 to remove, 9 unchanged\n"), result.stdout


def test_example_mesh_builds_unchanged_on_postgres(warehouse, tmp_path: Path) -> None:
    """The same example on a shared PostgreSQL: provisioned, built as each domain's role, grants in step,
    and a domain's private data refused to the others by the database itself."""
    import psycopg2

    root = tmp_path / "acme"
    for part in ("domains", "macros", "profiles", "contracts"):
        shutil.copytree(REPO / part, root / part, ignore=_IGNORE)
    shutil.copy(REPO / "mesh.yml", root / "mesh.yml")
    assert mesh_cli("warehouse", "provision", "--project-dir", str(root), "--target", "postgres").exit_code == 0
    result = mesh_cli("build", "--project-dir", str(root), "--target", "postgres")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert [l.split()[:2] for l in result.stdout.splitlines() if l.startswith(("OK", "ERROR", "SKIP"))] == [
        ["OK", "customers"], ["OK", "orders"], ["OK", "payments"], ["OK", "marketing"]]
    emails = warehouse.query("select email_masked from customers.dim_customers", "marketing")
    assert emails and all("@" in e and len(e.split("@")[0]) == 32 for (e,) in emails)
    with pytest.raises(psycopg2.Error) as caught:
        warehouse.query("select email from customers.stg_customers", "marketing")
    assert str(caught.value).splitlines()[0] == "permission denied for view stg_customers"
    assert mesh_cli("warehouse", "grants", "--project-dir", str(root), "--target", "postgres").exit_code == 0
    assert mesh_cli("contracts", "diff", "--project-dir", str(root), "--target", "postgres").exit_code == 0
    lineage = mesh_cli("lineage", "orders.fct_orders.v1", "--column", "amount", "--project-dir", str(root))
    assert "-> marketing.int_attributed_orders.amount  [other domain]" in lineage.stdout
