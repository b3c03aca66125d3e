"""dbt's partial parsing holds across mesh: the check's parse, the build and a dbt run by hand after
`mesh env` give dbt the same profile and environment, so once a domain has been parsed, nothing
unchanged is parsed again; and the build runs on the check's parse instead of parsing again.

dbt tells: `target/perf_info.json` (every `dbt parse` writes it) counts the files a parse read
(`parsed_path_count`: 0 when nothing changed), and dbt logs `Unable to do partial parsing because
...` whenever it starts a full parse."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import edit, mesh_cli
from mesh_cli.app import BuildOptions, Mesh

DOMAINS = ("core", "ops", "sales")
FULL_PARSE = "Unable to do partial parsing because"


def parsed_paths(root: Path, domain: str) -> int:
    return json.loads((root / "domains" / domain / "target/perf_info.json").read_text())["parsed_path_count"]


def logs(root: Path, folder: str = "") -> dict[str, str]:
    return {d: (root / ".mesh/logs" / folder / f"{d}.log").read_text() for d in DOMAINS}


def test_a_second_build_parses_nothing_and_builds_on_the_checks_parse(basic: Path) -> None:
    first = Mesh.load(basic).build()   # with no check: each domain parses in its build
    assert first.success, first.to_dict()
    with Mesh.load(basic) as mesh:
        mesh.gate(BuildOptions())
        second = mesh.build()
    assert second.success, second.to_dict()
    for domain, log in logs(basic, "check").items():
        assert FULL_PARSE not in log, (domain, log)
        assert parsed_paths(basic, domain) == 0, domain
    for domain, log in logs(basic).items():
        assert FULL_PARSE not in log, (domain, log)
        assert f"mesh: dbt build --project-dir {basic}/domains/{domain} --profiles-dir {basic}/profiles " \
               "(on the parsed manifest)" in log.splitlines(), (domain, log)
        assert "mesh: dbt parse" not in log, (domain, log)   # the check's parse was the only one
    assert [d.outcome["reused_parse"] for d in second.domains] == [True, True, True]


def test_mesh_build_then_check_from_the_cli_parse_nothing_again(basic: Path) -> None:
    assert mesh_cli("build", "--project-dir", str(basic)).exit_code == 0
    assert mesh_cli("build", "--project-dir", str(basic)).exit_code == 0
    for domain, log in {**logs(basic, "check"), **logs(basic)}.items():
        assert FULL_PARSE not in log, (domain, log)
    check = mesh_cli("check", "--project-dir", str(basic))
    assert check.exit_code == 0, check.output
    for domain, log in logs(basic, "check").items():
        assert FULL_PARSE not in log, (domain, log)
        assert parsed_paths(basic, domain) == 0, domain


def test_dbt_by_hand_after_mesh_env_keeps_the_parse_state(basic: Path) -> None:
    assert mesh_cli("build", "--project-dir", str(basic)).exit_code == 0
    env = json.loads(mesh_cli("env", "sales", "--format", "json", "--project-dir", str(basic)).stdout)
    dbt = Path(sys.executable).with_name("dbt")
    by_hand = subprocess.run([str(dbt), "parse", "--profiles-dir", str(basic / "profiles")],
                             cwd=basic / "domains/sales", env={**os.environ, **env}, capture_output=True, text=True)
    assert by_hand.returncode == 0, by_hand.stdout + by_hand.stderr
    assert FULL_PARSE not in by_hand.stdout, by_hand.stdout
    assert parsed_paths(basic, "sales") == 0
    check = mesh_cli("check", "--project-dir", str(basic), "--select", "sales")
    assert check.exit_code == 0, check.output
    assert FULL_PARSE not in logs(basic, "check")["sales"]


def test_a_changed_file_is_parsed_again_and_the_build_does_not_reuse_a_stale_parse(basic: Path) -> None:
    assert mesh_cli("build", "--project-dir", str(basic)).exit_code == 0
    with Mesh.load(basic) as mesh:
        mesh.gate(BuildOptions())
        # changed between the check and the build: the build must see the new column
        edit(basic, "domains/ops/models/heartbeat.sql", "select 42 as answer", "select 42 as answer, 1 as beat")
        result = mesh.build()
    assert result.success, result.to_dict()
    assert {d.domain: d.outcome["reused_parse"] for d in result.domains} == {"core": True, "ops": False, "sales": True}
    assert "mesh: dbt parse" in logs(basic)["ops"]
    assert parsed_paths(basic, "ops") == 1   # the one file that changed


def test_the_check_leaves_target_manifest_as_the_build_wrote_it_and_keeps_its_own_without_macros(basic: Path) -> None:
    assert mesh_cli("build", "--project-dir", str(basic)).exit_code == 0
    built = {d: (basic / "domains" / d / "target/manifest.json").read_bytes() for d in DOMAINS}
    assert all(json.loads(b)["macros"] for b in built.values())   # dbt's own, as dbt writes it
    report = Mesh.load(basic).check()
    assert report.ok, report.sorted()
    result = mesh_cli("check", "--project-dir", str(basic))
    assert result.exit_code == 0, result.output
    for domain in DOMAINS:
        assert (basic / "domains" / domain / "target/manifest.json").read_bytes() == built[domain], domain
        checked = json.loads((basic / ".mesh/check" / domain / "manifest.json").read_text())
        assert checked["macros"] == {}, domain
        assert sorted(k for k in checked["nodes"] if k.startswith("model.")) == \
            sorted(k for k in json.loads(built[domain])["nodes"] if k.startswith("model.")), domain
