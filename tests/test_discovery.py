"""Finding domains: mesh.yml, discovery without it, and the errors for bad folders and config."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import copy_fixture, mesh_cli
from mesh_cli.core.errors import ConfigError, DiscoveryError, DuplicateDomainError
from mesh_cli.app import Mesh


def test_mesh_yml_domains_and_owners(basic: Path) -> None:
    mesh = Mesh.load(basic)
    assert list(mesh.domains) == ["core", "ops", "sales"]
    assert mesh.config.name == "basic"
    assert mesh.domains["core"].owner.email == "core@example.com"
    assert mesh.domains["sales"].declared == ("core",)


def test_unknown_key_in_mesh_yml(basic: Path) -> None:
    (basic / "mesh.yml").write_text((basic / "mesh.yml").read_text() + "colour: blue\n")
    expected = (f"{basic}/mesh.yml: colour: unknown key; allowed keys here: "
                "domain_paths, domains, external_domains, governance, name, profile, target, warehouse_dir")
    with pytest.raises(ConfigError) as info:
        Mesh.load(basic)
    assert info.value.message == expected
    result = mesh_cli("ls", "--project-dir", str(basic))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {expected}\n"


def test_unknown_nested_key_names_its_path(basic: Path) -> None:
    text = (basic / "mesh.yml").read_text().replace("team: Core", "tem: Core")
    (basic / "mesh.yml").write_text(text)
    result = mesh_cli("graph", "--project-dir", str(basic))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {basic}/mesh.yml: domains.core.owner.tem: unknown key; allowed keys here: email, team\n"


def test_wrong_type_in_mesh_yml(basic: Path) -> None:
    (basic / "mesh.yml").write_text("name: basic\ndomain_paths: domains/*\n")
    result = mesh_cli("ls", "--project-dir", str(basic))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {basic}/mesh.yml: domain_paths: input should be a valid list; "
                             "see the mesh.yml section of the README\n")


def test_invalid_yaml(basic: Path) -> None:
    (basic / "mesh.yml").write_text("name: [basic\n")
    result = mesh_cli("ls", "--project-dir", str(basic))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {basic}/mesh.yml:2: is not valid YAML; fix the syntax (")


def test_owner_for_unknown_domain(basic: Path) -> None:
    (basic / "mesh.yml").write_text("name: basic\ndomains:\n  billing:\n    owner: {team: X}\n")
    result = mesh_cli("ls", "--project-dir", str(basic))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {basic}/mesh.yml: domains.billing: names no domain of this mesh; known domains: core, ops, sales\n"


def test_folder_without_dbt_project(basic: Path) -> None:
    (basic / "domains" / "notes").mkdir()
    expected = (f"{basic}/domains/notes: no dbt_project.yml in this folder; a domain is a dbt project: "
                "add one (dbt init) or move the folder out of the mesh's domain_paths")
    with pytest.raises(DiscoveryError) as info:
        Mesh.load(basic)
    assert info.value.message == expected
    result = mesh_cli("build", "--project-dir", str(basic))
    assert (result.exit_code, result.stderr) == (2, f"Error: {expected}\n")


def test_two_domains_with_one_name(basic: Path) -> None:
    shutil.copytree(basic / "domains" / "ops", basic / "domains" / "ops2")
    expected = (f"two domains are both named 'ops' ({basic}/domains/ops/dbt_project.yml and "
                f"{basic}/domains/ops2/dbt_project.yml); rename one in its dbt_project.yml (name:), "
                "project names must be unique in a mesh")
    with pytest.raises(DuplicateDomainError):
        Mesh.load(basic)
    result = mesh_cli("ls", "--project-dir", str(basic))
    assert (result.exit_code, result.stderr) == (2, f"Error: {expected}\n")


def test_empty_folder(tmp_path: Path) -> None:
    result = mesh_cli("ls", "--project-dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {tmp_path}: no dbt projects found in any folder below it; add a domain "
                             "(a folder with dbt_project.yml) or point --project-dir at the mesh\n")


def test_discovery_without_mesh_yml_skips_build_folders_and_packages(tmp_path: Path) -> None:
    root = copy_fixture("legacy", tmp_path)
    # dbt's own output folders may hold copies of projects: never domains.
    for junk in ("jaffle_core/target/x", "jaffle_marts/dbt_packages/shared_utils", "logs/y"):
        (root / junk).mkdir(parents=True)
        (root / junk / "dbt_project.yml").write_text("name: junk\n")
    mesh = Mesh.load(root)
    # shared_utils is installed by jaffle_marts as a local package: built inside it, not on its own.
    assert list(mesh.domains) == ["jaffle_core", "jaffle_marts"]
    assert mesh.domains["jaffle_marts"].packages == ("shared_utils",)
    assert mesh.domains["jaffle_marts"].loom == ("jaffle_core",)
    assert mesh.config.name == "legacy"



def test_deps_rerun_when_the_package_list_changes(tmp_path: Path) -> None:
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils/dbt_project.yml").write_text("name: utils\n")
    project = tmp_path / "shop"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: shop\n")
    (project / "packages.yml").write_text("packages:\n  - local: ../utils\n")
    domain = Mesh.load(tmp_path).domains["shop"]
    assert (domain.has_packages, domain.packages, domain.packages_installed) == (True, ("utils",), False)
    (project / "dbt_packages/other").mkdir(parents=True)
    assert not Mesh.load(tmp_path).domains["shop"].packages_installed  # utils itself is missing
    (project / "dbt_packages/utils").symlink_to(tmp_path / "utils")    # as dbt deps installs it
    assert Mesh.load(tmp_path).domains["shop"].packages_installed      # installed, no lock: dbt builds as it is
    (project / "package-lock.yml").write_text("packages: []\nsha1_hash: stale\n")
    assert not Mesh.load(tmp_path).domains["shop"].packages_installed  # a lock of another package list