"""`dbt deps` runs only when packages are missing or package-lock.yml no longer matches the spec.

The fixture `vendored` has `revenue`, with the hub package dbt-labs/dbt_utils (a stand-in copied
into dbt_packages/ by the tests, as a CI cache restores it) and its lock, and `ledger`, with a
local package. This machine cannot reach hub.getdbt.com, so any `dbt deps` in revenue fails."""
from __future__ import annotations

import copy
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from conftest import copy_fixture, edit, mesh_cli
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.project.packages import Spec, _package, blamed, deps_reason, read_spec, spec_hash

HUB = "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n"
HUB_HASH = "226ae69cdfbc9367e2aa2c472b01f99dbce11de0"   # what dbt 1.11 writes for HUB
LOCK = f"packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n    name: dbt_utils\nsha1_hash: {HUB_HASH}\n"


def _offline() -> bool:
    try:
        socket.getaddrinfo("hub.getdbt.com", 443)
    except OSError:
        return True
    return False


offline = pytest.mark.skipif(not _offline(), reason="needs a machine that cannot reach hub.getdbt.com")
REVENUE = BuildOptions(select=("revenue",), workers=1)


def _vendor(root: Path) -> None:
    shutil.copytree(root / "vendor/dbt_utils", root / "domains/revenue/dbt_packages/dbt_utils")


def _commands(log: Path) -> list[str]:
    """The dbt commands mesh's runner started in one domain's job (its `mesh: dbt ...` lines)."""
    return [line.split()[2] for line in log.read_text().splitlines() if line.startswith("mesh: dbt ")]


def _deps_error(root: Path, log: Optional[str]) -> str:
    """The whole message of revenue's failed deps, as a pattern: only dbt's reason (a DNS failure) varies."""
    see = f"; see the log: {root}/{log}" if log else ""
    return (re.escape("dbt deps failed in domain 'revenue' (exit 2): could not install package 'dbt-labs/dbt_utils': ")
            + r"External connection exception occurred: .*Failed to resolve 'hub\.getdbt\.com'.*"
            + re.escape("; check it in packages.yml and that its source can be reached, or vendor it with a "
                        "package-lock.yml that matches packages.yml (mesh then runs no dbt deps)" + see))


@pytest.fixture
def vendored(tmp_path: Path) -> Path:
    root = copy_fixture("vendored", tmp_path)
    _vendor(root)
    return root


# --- real dbt runs ------------------------------------------------------------------------------

@offline
def test_vendored_hub_package_checks_and_builds_without_deps(vendored: Path) -> None:
    with Mesh.load(vendored) as mesh:   # one session: the build runs on the check's parse
        assert mesh.domains["revenue"].packages_installed
        assert mesh.check(REVENUE).ok
        result = mesh.build(REVENUE)
    assert [(d.domain, d.status, d.message) for d in result.domains] == [("revenue", "success", "")]
    assert _commands(vendored / ".mesh/logs/check/revenue.log") == ["parse"]
    assert _commands(vendored / ".mesh/logs/revenue.log") == ["build"]
    assert (vendored / "domains/revenue/dbt_packages/dbt_utils/macros/double.sql").is_file()  # deps would wipe it


@offline
def test_vendored_hub_package_through_the_cli(vendored: Path) -> None:
    check = mesh_cli("check", "--project-dir", str(vendored), "--select", "revenue")
    assert (check.exit_code, check.stdout.splitlines()[-1]) == (0, "mesh check: 0 errors, 0 warnings in 1 domain")
    build = mesh_cli("build", "--project-dir", str(vendored), "--select", "revenue", "--workers", "1")
    assert build.exit_code == 0, build.output
    assert build.stdout.splitlines()[-1].startswith("Done in ")
    assert build.stdout.splitlines()[-1].endswith(": 1 succeeded, 0 failed, 0 skipped")
    assert _commands(vendored / ".mesh/logs/check/revenue.log") == ["parse"]
    assert _commands(vendored / ".mesh/logs/revenue.log") == ["build"]


@offline
def test_changed_spec_runs_deps_and_names_domain_package_and_reason(vendored: Path) -> None:
    edit(vendored, "domains/revenue/packages.yml", "version: 1.3.0", "version: 1.2.0")
    assert deps_reason(vendored / "domains/revenue") == "package-lock.yml does not match packages.yml"
    build = mesh_cli("build", "--project-dir", str(vendored), "--select", "revenue", "--skip-checks")
    assert build.exit_code == 1
    assert _commands(vendored / ".mesh/logs/revenue.log") == ["deps"]
    error = build.stderr.splitlines()[-1]
    assert re.fullmatch("Error: " + _deps_error(vendored, ".mesh/logs/revenue.log"), error), error
    check = mesh_cli("check", "--project-dir", str(vendored), "--select", "revenue")
    assert check.exit_code == 1
    assert _commands(vendored / ".mesh/logs/check/revenue.log") == ["deps"]
    lines = check.stdout.splitlines()
    assert lines[:2] + lines[3:] == ["revenue", "  error  dbt.parse  -  .mesh/logs/check/revenue.log",
                                     f"         fix: Read {vendored}/.mesh/logs/check/revenue.log.",
                                     "mesh check: 1 error, 0 warnings in 1 domain"]
    assert re.fullmatch(" {9}" + _deps_error(vendored, None), lines[2]), lines[2]


@offline
def test_missing_package_runs_deps(vendored: Path) -> None:
    shutil.rmtree(vendored / "domains/revenue/dbt_packages/dbt_utils")
    mesh = Mesh.load(vendored)
    assert not mesh.domains["revenue"].packages_installed
    assert deps_reason(vendored / "domains/revenue") == "package 'dbt_utils' is not installed in dbt_packages/"
    result = mesh.build(REVENUE)
    [domain] = result.domains
    assert domain.status == "error" and _commands(vendored / ".mesh/logs/revenue.log") == ["deps"]
    assert re.fullmatch(_deps_error(vendored, ".mesh/logs/revenue.log"), domain.message), domain.message


def test_local_package_is_installed_once(tmp_path: Path) -> None:
    root = copy_fixture("vendored", tmp_path)
    ledger = root / "domains/ledger"
    for run in (1, 2):
        build = mesh_cli("build", "--project-dir", str(root), "--select", "ledger", "--workers", "1")
        assert build.exit_code == 0, build.output
        # The check before the first build installs it; nothing runs deps after that.
        assert _commands(root / ".mesh/logs/check/ledger.log") == (["deps", "parse"] if run == 1 else ["parse"])
        assert _commands(root / ".mesh/logs/ledger.log") == ["build"]
    assert (ledger / "dbt_packages/shared_macros").resolve() == (root / "macros").resolve()
    lock = (ledger / "package-lock.yml").read_text()
    assert lock.endswith(f"sha1_hash: {spec_hash(read_spec(ledger))}\n")   # what dbt deps wrote


@pytest.mark.parametrize("spec_file, text", [
    ("packages.yml", "packages:\n  - local: ../shared\n"),
    ("dependencies.yml", "projects:\n  - name: core\npackages:\n  - local: ../shared\n    name: shared\n"),
    ("packages.yml", "packages:\n  - local: ../shared\n  - local: ../other/\n"),
])
def test_hash_matches_what_dbt_deps_lock_writes(tmp_path: Path, spec_file: str, text: str) -> None:
    for name in ("shared", "other"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "dbt_project.yml").write_text(f"name: {name}\n")
    project = tmp_path / "shop"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: shop\n")
    (project / spec_file).write_text(text)
    dbt = Path(sys.executable).parent / "dbt"
    done = subprocess.run([str(dbt), "deps", "--lock", "--project-dir", str(project)], cwd=project,
                          capture_output=True, text=True, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    assert done.returncode == 0, done.stdout + done.stderr
    lock = (project / "package-lock.yml").read_text()
    assert lock.endswith(f"sha1_hash: {spec_hash(read_spec(project))}\n"), lock


# --- the decision, without dbt ------------------------------------------------------------------

def _project(tmp_path: Path, spec: Optional[str], lock: Optional[str], installed: bool) -> Path:
    (tmp_path / "dbt_project.yml").write_text("name: shop\n")
    if spec is not None:
        (tmp_path / "packages.yml").write_text(spec)
    if lock is not None:
        (tmp_path / "package-lock.yml").write_text(lock)
    if installed:
        (tmp_path / "dbt_packages/dbt_utils").mkdir(parents=True)
        (tmp_path / "dbt_packages/dbt_utils/dbt_project.yml").write_text("name: dbt_utils\n")
    return tmp_path


STALE = "package-lock.yml does not match packages.yml"
MISSING = "package 'dbt_utils' is not installed in dbt_packages/"


@pytest.mark.parametrize("spec, lock, installed, reason", [
    (None, None, False, None),                     # no packages: nothing to install
    (None, LOCK, False, None),
    (HUB, None, True, None),                       # installed without a lock: dbt builds as it is
    (HUB, None, False, MISSING),
    (HUB, LOCK, True, None),                       # vendored or restored: installed and current
    (HUB, LOCK, False, MISSING),
    (HUB, LOCK.replace(HUB_HASH, "0" * 40), True, STALE),
    (HUB, LOCK.replace(HUB_HASH, "0" * 40), False, STALE),
    (HUB, "packages: []\n", True, STALE),          # a lock without a hash: dbt locks again
    (HUB, "{: nope", True, STALE),                 # an unreadable lock too
    (HUB.replace("1.3.0", "1.2.0"), LOCK, True, STALE),   # the spec changed since the lock
])
def test_deps_decision(tmp_path: Path, spec: Optional[str], lock: Optional[str], installed: bool,
                       reason: Optional[str]) -> None:
    assert deps_reason(_project(tmp_path, spec, lock, installed)) == reason


def test_lock_names_the_packages_to_find_transitive_ones_included(tmp_path: Path) -> None:
    lock = LOCK.replace("sha1_hash", "  - package: dbt-labs/dbt_date\n    version: 0.10.0\n    name: dbt_date\nsha1_hash")
    assert deps_reason(_project(tmp_path, HUB, lock, True)) == "package 'dbt_date' is not installed in dbt_packages/"


def test_templated_packages_yml_is_judged_by_what_is_installed(tmp_path: Path) -> None:
    spec = "packages:\n  - git: \"https://{{ env_var('TOKEN') }}@example.com/utils.git\"\n    revision: 1.0.0\n"
    assert spec_hash(read_spec(_project(tmp_path, spec, "packages: []\n", False))) is None
    assert deps_reason(tmp_path) == "packages.yml lists 1 package, but dbt_packages/ holds 0"
    (tmp_path / "dbt_packages/utils").mkdir(parents=True)   # git: only dbt's own count can be checked
    assert deps_reason(tmp_path) is None


def test_dependencies_yml_packages_win_over_packages_yml(tmp_path: Path) -> None:
    (tmp_path / "dependencies.yml").write_text("projects:\n  - name: core\n")
    assert read_spec(_project(tmp_path, HUB, None, False)).file == tmp_path / "packages.yml"
    (tmp_path / "dependencies.yml").write_text("packages:\n  - package: dbt-labs/codegen\n    version: 0.12.1\n")
    assert deps_reason(tmp_path) == "package 'codegen' is not installed in dbt_packages/"


def test_local_package_folder_is_named_after_its_project(tmp_path: Path) -> None:
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils/dbt_project.yml").write_text("name: shared_utils\n")
    (tmp_path / "shop").mkdir()
    project = _project(tmp_path / "shop", "packages:\n  - local: ../utils\n", None, False)
    assert deps_reason(project) == "package 'shared_utils' is not installed in dbt_packages/"
    (project / "dbt_packages").mkdir()
    (project / "dbt_packages/shared_utils").symlink_to(tmp_path / "utils")   # as dbt deps installs it
    assert deps_reason(project) is None


ENTRIES = [
    [{"package": "dbt-labs/dbt_utils", "version": "1.3.0"}],
    [{"package": "dbt-labs/codegen", "version": [">=0.12.0", "<0.13.0"], "install_prerelease": True}],
    [{"git": "https://github.com/dbt-labs/dbt-audit-helper.git", "revision": "0.12.0", "warn-unpinned": False},
     {"local": "../macros", "name": "macros"}],
    [{"git": "https://example.com/x.git", "subdirectory": "sub"}, {"tarball": "https://example.com/y.tgz", "name": "y"}],
    [{"private": "org/repo", "provider": "github", "revision": 1.2}, {"package": "a/b", "version": 1.0}],
]


@pytest.mark.parametrize("entries", ENTRIES)
def test_hash_matches_dbts_own_function_for_every_kind_of_package(entries: list[dict]) -> None:
    # Hub, git, tarball and private packages cannot be locked offline: compare with dbt's code itself.
    from dbt.config.project import package_config_from_data
    from dbt.task.deps import _create_sha1_hash

    raw = {"packages": entries}
    theirs = _create_sha1_hash(package_config_from_data(copy.deepcopy(raw), raw).packages)
    assert spec_hash(Spec(None, tuple(_package(e) for e in entries), rendered=True)) == theirs


def test_blamed_packages(tmp_path: Path) -> None:
    (tmp_path / "packages.yml").write_text(HUB + "  - local: ../macros\n")
    assert blamed(tmp_path, "Failed to resolve 'hub.getdbt.com'") == ("packages.yml", ["dbt-labs/dbt_utils"])
    missing = f"No dbt_project.yml found at expected path {(tmp_path / '../macros').resolve()}/dbt_project.yml"
    assert blamed(tmp_path, missing) == ("packages.yml", ["../macros"])
