"""A worker that has parsed nothing yet, with nothing to do while another worker parses a domain from
scratch, parses that domain too, into a scratch folder (execution/warmup.py): it touches nothing of
the domain, and it does not happen once dbt has parse state for the domain."""
from __future__ import annotations

import time
from pathlib import Path

from conftest import mesh_cli
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.core.layout import Layout
from mesh_cli.execution.warmup import SCRATCH

# sales reads core: with sales selected, core is parsed first and sales waits for it, while the
# second worker has nothing to do.
OPTIONS = BuildOptions(workers=2, select=("sales",))


def warm_up_folder(root: Path, domain: str) -> Path:
    return Layout(root).logs / "check" / SCRATCH / domain


def wait_for(path: Path, seconds: float = 120) -> None:
    """The warm-up may end after the check: the pool does not wait for its workers to exit."""
    deadline = time.monotonic() + seconds
    while not path.is_file():
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.2)


def dbt_invocations(root: Path, domain: str) -> int:
    return (root / "domains" / domain / "logs" / "dbt.log").read_text().count("Running with dbt=")


def test_an_idle_worker_parses_the_domain_being_parsed_from_scratch_into_a_scratch_folder(basic: Path) -> None:
    with Mesh.load(basic) as mesh:
        report = mesh.check(OPTIONS)
        assert report.ok, [f.summary for f in report.findings]
        mesh.pool(2).close(wait=True)   # the warm-up has ended once its worker has exited
    scratch = warm_up_folder(basic, "core")
    assert "mesh: dbt parse --project-dir" in (scratch / "output.log").read_text()
    assert (scratch / "target" / "partial_parse.msgpack").is_file()
    assert "Running with dbt=" in (scratch / "logs" / "dbt.log").read_text()
    assert not (scratch / "target" / "manifest.json").exists()
    # core's own target and log have the check's one parse, no more
    assert dbt_invocations(basic, "core") == 1
    assert sorted(p.name for p in (basic / "domains/core/target").iterdir()) == ["partial_parse.msgpack", "perf_info.json"]
    assert not warm_up_folder(basic, "sales").exists()


def test_no_warm_up_once_dbt_has_parse_state_for_the_domain(basic: Path) -> None:
    with Mesh.load(basic) as mesh:
        assert mesh.check(OPTIONS).ok
    scratch = warm_up_folder(basic, "core")
    wait_for(scratch / "result.json")
    scratch.rename(scratch.with_name("first"))
    # An edit: sales waits for core's parse again, but dbt parses core from its saved state.
    model = next((basic / "domains/core/models").rglob("*.sql"))
    model.write_text(model.read_text() + "\n-- edited\n")
    with Mesh.load(basic) as mesh:   # fresh workers
        assert mesh.check(OPTIONS).ok
        mesh.pool(2).close(wait=True)
    assert not scratch.exists()


def test_the_warm_up_from_the_cli(basic: Path) -> None:
    result = mesh_cli("build", "--select", "+sales", "--workers", "2", "--project-dir", str(basic))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == ["mesh check: 0 errors, 3 warnings in 2 domains",
                                              "Building 2 domains (core, sales) with 2 workers"]
    wait_for(warm_up_folder(basic, "core") / "result.json")
    assert dbt_invocations(basic, "core") == 2   # the check's parse and the build
    assert not (Layout(basic).logs / SCRATCH).exists()   # the build's workers had parsed already
