"""`mesh init` and `mesh new-domain`: what they write, what they refuse, and that the result builds."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import mesh_cli
from mesh_cli.core.config import load_config
from mesh_cli.core.errors import (DomainExistsError, FilesExistError, InvalidDomainNameError, InvalidEmailError,
                             MeshError, NoDomainFolderError, NotAMeshError, UnknownDomainError)
from mesh_cli.app import Mesh
from mesh_cli.project.scaffold import init_mesh, new_domain

MESH_FILES = [".gitignore", "README.md", "domains/.gitkeep", "macros/dbt_project.yml", "macros/macros/money.sql",
              "macros/macros/pii.sql", "macros/macros/tests.sql", "mesh.yml", "profiles/profiles.yml"]


def _tree(root: Path) -> dict[str, str]:
    """Every file below root with its text: compared before and after a refusal."""
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


def _relative(paths: list[Path], root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in paths)


def _tiny_mesh(root: Path, mesh_yml: str) -> Path:
    """A mesh with one domain, `core`, that is never built: enough to scaffold into without dbt."""
    (root / "domains" / "core").mkdir(parents=True)
    (root / "domains" / "core" / "dbt_project.yml").write_text("name: core\nprofile: mesh\n")
    (root / "mesh.yml").write_text(mesh_yml)
    return root


# --- mesh init ---------------------------------------------------------------------------------


def test_init_writes_a_mesh(tmp_path: Path) -> None:
    result = init_mesh(tmp_path / "acme")
    root = tmp_path / "acme"
    assert result.root == root
    assert _relative(result.created, root) == MESH_FILES
    config, _ = load_config(root)
    assert (config.name, config.domain_paths, config.profile) == ("acme", ["domains/*"], "mesh")
    profile = yaml.safe_load((root / "profiles/profiles.yml").read_text())["mesh"]["outputs"]["dev"]
    assert profile["path"] == "{{ env_var('MESH_DUCKDB_PATH') }}"
    assert profile["attach"] == "{{ fromjson(env_var('MESH_DUCKDB_ATTACH', '[]')) }}"
    assert yaml.safe_load((root / "macros/dbt_project.yml").read_text())["name"] == "mesh_macros"
    assert "{% macro mask_email(column) -%}" in (root / "macros/macros/pii.sql").read_text()
    assert "{% macro cents_to_dollars(column, scale=2) -%}" in (root / "macros/macros/money.sql").read_text()
    assert (root / ".gitignore").read_text().split() == [".mesh/", "target/", "dbt_packages/", "logs/", "*.duckdb*"]
    assert (root / "README.md").read_text().startswith("# acme\n")


def test_init_cli_prints_what_it_wrote_and_what_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the CLI shows paths relative to where the user is
    result = mesh_cli("init", "acme")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Created mesh 'acme' in acme",
        *[f"  created acme/{f}" for f in ["mesh.yml", "profiles/profiles.yml", "macros/dbt_project.yml",
                                           "macros/macros/pii.sql", "macros/macros/money.sql",
                                           "macros/macros/tests.sql", "README.md", ".gitignore", "domains/.gitkeep"]],
        "Next steps:",
        "  cd acme",
        "  mesh new-domain <name> --owner <team> --email <address> [--depends-on <domain>]",
    ]


def test_init_defaults_to_project_dir_and_speaks_json(tmp_path: Path) -> None:
    result = mesh_cli("init", "--project-dir", str(tmp_path / "m"), "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["root"] == str(tmp_path / "m")
    assert _relative([Path(p) for p in data["created"]], tmp_path / "m") == MESH_FILES
    assert (data["updated"], data["notes"]) == ([], [])


def test_init_refuses_any_file_it_would_write_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("mine\n")
    (tmp_path / "macros").write_text("a file where a folder goes\n")
    with pytest.raises(FilesExistError) as caught:
        init_mesh(tmp_path)
    assert [str(p) for p in caught.value.existing] == ["macros", "README.md"]
    result = mesh_cli("init", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {tmp_path}: already holds macros, README.md; mesh never overwrites files, so "
                             f"nothing was written: run `mesh init` in an empty folder, or move these away first\n")
    assert _tree(tmp_path) == {"README.md": "mine\n", "macros": "a file where a folder goes\n"}


def test_init_twice_refuses_naming_mesh_yml(tmp_path: Path) -> None:
    init_mesh(tmp_path)
    before = _tree(tmp_path)
    result = mesh_cli("init", "--project-dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {tmp_path}: already holds mesh.yml, profiles/profiles.yml, ")
    assert _tree(tmp_path) == before


# --- mesh new-domain: refusals (no dbt) --------------------------------------------------------------


REFUSALS = [
    (["sales-eu", "--owner", "S", "--email", "s@x.io"], InvalidDomainNameError,
     "'sales-eu' is not a valid domain name: a domain is a dbt project, and dbt project names must match "
     "^[a-zA-Z_][a-zA-Z0-9_]*$ (letters, digits and underscores, not starting with a digit); use 'sales_eu' instead"),
    (["2nd", "--owner", "S", "--email", "s@x.io"], InvalidDomainNameError,
     "'2nd' is not a valid domain name: a domain is a dbt project, and dbt project names must match "
     "^[a-zA-Z_][a-zA-Z0-9_]*$ (letters, digits and underscores, not starting with a digit); use '_2nd' instead"),
    (["mesh_macros", "--owner", "S", "--email", "s@x.io"], InvalidDomainNameError,
     "'mesh_macros' is not a valid domain name: it is the name of the mesh's shared macros package; "
     "use 'mesh_macros_domain' instead"),
    (["no", "--owner", "S", "--email", "s@x.io"], InvalidDomainNameError,
     "'no' is not a valid domain name: YAML reads it as true, false or null, not as a name; use 'no_domain' instead"),
    (["CORE", "--owner", "S", "--email", "s@x.io"], DomainExistsError,
     "a domain named 'core' already exists ({root}/domains/core/dbt_project.yml); choose another name, "
     "domain names are unique in a mesh (and DuckDB ignores their case)"),
    (["finance", "--owner", "S", "--email", "s@x.io", "--depends-on", "core", "--depends-on", "billing"],
     UnknownDomainError,
     "unknown domain 'billing'; known domains: core, ops, sales; --depends-on takes the name of an existing domain"),
    (["finance", "--owner", "S", "--email", "finance.example.com"], InvalidEmailError,
     "'finance.example.com' is not an email address (--email); give the owning team's address, "
     "e.g. --email sales@example.com"),
]


@pytest.mark.parametrize("args, error, message", REFUSALS, ids=[r[0][0] + "-" + r[1].__name__ for r in REFUSALS])
def test_new_domain_refuses_and_writes_nothing(basic: Path, args: list[str], error: type[MeshError],
                                               message: str) -> None:
    before = _tree(basic)
    name, team, email = args[0], args[2], args[4]
    with pytest.raises(error) as caught:
        new_domain(basic, name, team, email, args[6::2])
    assert caught.value.message == message.format(root=basic)
    result = mesh_cli("new-domain", *args, "--project-dir", str(basic))
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message.format(root=basic)}\n")
    assert _tree(basic) == before


def test_new_domain_refuses_an_existing_folder(basic: Path) -> None:
    # The folder holds a domain of another name: the name is free, the folder is not.
    (basic / "domains" / "finance").mkdir()
    (basic / "domains" / "finance" / "dbt_project.yml").write_text("name: accounting\nprofile: mesh\n")
    before = _tree(basic)
    result = mesh_cli("new-domain", "finance", "--owner", "F", "--email", "f@x.io", "--project-dir", str(basic))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {basic}/domains: already holds finance; mesh never overwrites files, so nothing "
                             f"was written: choose another domain name, or move that away first\n")
    assert _tree(basic) == before


def test_new_domain_outside_a_mesh(tmp_path: Path) -> None:
    with pytest.raises(NotAMeshError):
        new_domain(tmp_path, "sales", "Sales", "s@x.io")
    result = mesh_cli("new-domain", "sales", "--owner", "Sales", "--email", "s@x.io", "--project-dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {tmp_path}: not a mesh (no mesh.yml and no dbt projects); create one with "
                             f"`mesh init {tmp_path}` or point --project-dir at the mesh\n")
    assert list(tmp_path.iterdir()) == []


def test_new_domain_needs_a_folder_pattern_in_domain_paths(tmp_path: Path) -> None:
    _tiny_mesh(tmp_path, 'domain_paths: ["domains/core"]\n')
    with pytest.raises(NoDomainFolderError) as caught:
        new_domain(tmp_path, "sales", "Sales", "s@x.io")
    assert caught.value.message == (f"{tmp_path}/mesh.yml: domain_paths (domains/core) has no folder pattern such as "
                                    f"\"domains/*\" where a new domain could go; add one to domain_paths")


# --- mesh new-domain: mesh.yml is extended as text ---------------------------------------------------


def test_owner_is_appended_under_an_existing_domains_block(tmp_path: Path) -> None:
    original = ("# my mesh\nname: m\ndomain_paths: [\"teams/*\"]  # where domains live\ndomains:\n"
                "    core:   # the first one\n        owner: {team: Core, email: core@x.io}\n"
                "        description: >\n          Core data.\n\n# rules below\ngovernance: {}\n")
    (tmp_path / "teams" / "core").mkdir(parents=True)
    (tmp_path / "teams" / "core" / "dbt_project.yml").write_text("name: core\nprofile: mesh\n")
    (tmp_path / "mesh.yml").write_text(original)
    result = new_domain(tmp_path, "sales", "Sales Ops", "ops@x.io", ["core"])
    assert result.updated == [tmp_path / "mesh.yml"]
    assert (tmp_path / "mesh.yml").read_text() == original.replace(
        "          Core data.\n", "          Core data.\n    sales:\n        owner: {team: \"Sales Ops\", email: ops@x.io}\n")
    assert result.created[0] == tmp_path / "teams" / "sales" / "dbt_project.yml"
    assert Mesh.load(tmp_path).describe(["sales"])[0].owner == {"team": "Sales Ops", "email": "ops@x.io"}


@pytest.mark.parametrize("original, expected", [
    ("name: m\ndomain_paths: [\"domains/*\"]", "name: m\ndomain_paths: [\"domains/*\"]\ndomains:\n  sales:\n"
     "    owner: {team: Sales, email: s@x.io}\n"),
    ("name: m\ndomains: {}  # none yet\ndomain_paths: [\"domains/*\"]\n", "name: m\ndomains:\n  sales:\n"
     "    owner: {team: Sales, email: s@x.io}\ndomain_paths: [\"domains/*\"]\n"),
])
def test_owner_is_added_when_domains_is_absent_or_empty(tmp_path: Path, original: str, expected: str) -> None:
    _tiny_mesh(tmp_path, original)
    new_domain(tmp_path, "sales", "Sales", "s@x.io")
    assert (tmp_path / "mesh.yml").read_text() == expected


def test_a_flow_style_domains_mapping_is_left_alone_with_a_note(tmp_path: Path) -> None:
    original = "domain_paths: [\"domains/*\"]\ndomains: {core: {owner: {team: Core}}}\n"
    _tiny_mesh(tmp_path, original)
    result = mesh_cli("new-domain", "sales", "--owner", "Sales", "--email", "s@x.io", "--project-dir", str(tmp_path))
    assert result.exit_code == 0
    assert (tmp_path / "mesh.yml").read_text() == original
    assert result.stderr == (
        f"Note: {tmp_path}/mesh.yml was left as it is (its domains: section is not a block mapping mesh can extend "
        f"safely); add the owner by hand under domains: sales: {{owner: {{team: Sales, email: s@x.io}}}}\n"
        f"Note: no shared macros package (mesh_macros) at {tmp_path}/macros: the domain installs no packages.yml\n")


def test_a_commented_oddly_indented_mesh_yml_keeps_every_other_byte(tmp_path: Path) -> None:
    # Three-space mappings, a sequence indented under its key, flow-style entries (one over two
    # lines), comments at odd columns and after the block: the entry goes after the last domain.
    original = ("# acme: written by hand\n"
                "name:   acme        # shown in the docs\n"
                "domain_paths:\n"
                "   - \"domains/*\"   # three spaces, on purpose\n"
                "domains:   # who owns what\n"
                "   core: {owner: {team: Core, email: core@x.io}}   # flow style\n"
                "   ops:  {owner: {team: Ops},\n"
                "          description: 'Runs: things'}\n"
                "        # a comment deeper than the domains\n"
                "\n"
                "# governance follows\n"
                "governance: {}\n")
    _tiny_mesh(tmp_path, original)
    (tmp_path / "domains" / "ops").mkdir()
    (tmp_path / "domains" / "ops" / "dbt_project.yml").write_text("name: ops\nprofile: mesh\n")
    result = new_domain(tmp_path, "sales", "Sales & Co", "sales@x.io")
    assert (result.updated, result.notes) == ([tmp_path / "mesh.yml"], [
        f"no shared macros package (mesh_macros) at {tmp_path}/macros: the domain installs no packages.yml"])
    assert (tmp_path / "mesh.yml").read_text() == (
        "# acme: written by hand\n"
        "name:   acme        # shown in the docs\n"
        "domain_paths:\n"
        "   - \"domains/*\"   # three spaces, on purpose\n"
        "domains:   # who owns what\n"
        "   core: {owner: {team: Core, email: core@x.io}}   # flow style\n"
        "   ops:  {owner: {team: Ops},\n"
        "          description: 'Runs: things'}\n"
        "   sales:\n"
        "      owner: {team: \"Sales & Co\", email: sales@x.io}\n"
        "        # a comment deeper than the domains\n"
        "\n"
        "# governance follows\n"
        "governance: {}\n")
    config = load_config(tmp_path)[0]
    assert (config.domains["sales"].owner.team, config.domains["ops"].description) == (  # type: ignore[union-attr]
        "Sales & Co", "Runs: things")


def test_a_flow_style_domains_mapping_over_several_lines_is_left_byte_for_byte(tmp_path: Path) -> None:
    original = ("domain_paths: [\"domains/*\"]\n"
                "domains: {   # flow style, over lines\n"
                "     core: {owner: {team: Core}},   # odd indentation\n"
                "  }\n"
                "# the end\n")
    _tiny_mesh(tmp_path, original)
    result = new_domain(tmp_path, "sales", "Sales", "s@x.io")
    assert (tmp_path / "mesh.yml").read_text() == original
    assert result.updated == [] and result.notes[0].startswith(f"{tmp_path}/mesh.yml was left as it is")


# --- the scaffolded domains pass mesh check and build (real dbt runs) ------------------------------


def test_a_new_mesh_with_two_new_domains_checks_and_builds(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    assert mesh_cli("init", str(root)).exit_code == 0
    sales = mesh_cli("new-domain", "sales", "--owner", "Sales", "--email", "sales@acme.example", "--project-dir", str(root))
    assert sales.exit_code == 0, sales.stderr
    assert sales.stderr == ""
    assert sales.stdout.splitlines()[-3:] == ["Next steps:", f"  mesh check --select sales --project-dir {root}",
                                              f"  mesh build --select sales --project-dir {root}"]
    marketing = mesh_cli("new-domain", "marketing", "--owner", "Marketing", "--email", "mkt@acme.example",
                         "--depends-on", "sales", "--project-dir", str(root), "--format", "json")
    assert marketing.exit_code == 0, marketing.stderr
    written = json.loads(marketing.stdout)
    assert _relative([Path(p) for p in written["created"]], root / "domains" / "marketing") == [
        "dbt_project.yml", "dependencies.yml", "models/_groups.yml", "models/marts/_marts.yml",
        "models/marts/fct_marketing_examples.sql", "models/staging/_staging.yml", "models/staging/stg_examples.sql",
        "packages.yml", "seeds/_seeds.yml", "seeds/raw_examples.csv"]
    assert written["notes"] == ["until a model of marketing refs sales (see dependencies.yml), mesh check warns deps.unused"]
    assert yaml.safe_load((root / "domains/marketing/packages.yml").read_text()) == {"packages": [{"local": "../../macros"}]}
    assert yaml.safe_load((root / "domains/marketing/dependencies.yml").read_text()) == {"projects": [{"name": "sales"}]}
    assert (root / "mesh.yml").read_text().startswith("# The acme data mesh")  # comments kept
    assert load_config(root)[0].domains["marketing"].owner.email == "mkt@acme.example"  # type: ignore[union-attr]

    check = mesh_cli("check", "--project-dir", str(root))
    assert check.exit_code == 0, check.stdout
    assert check.stdout.splitlines()[-1] == "mesh check: 0 errors, 1 warning in 2 domains"  # deps.unused, as noted
    build = mesh_cli("build", "--project-dir", str(root))
    assert build.exit_code == 0, build.stdout + build.stderr
    assert "Done in" in build.stdout and "2 succeeded, 0 failed, 0 skipped" in build.stdout
    public = Mesh.load(root).describe(["sales"])[0].public_models
    assert [(m["name"], m["contract_enforced"], m["group"]) for m in public] == [("fct_sales_examples", True, "sales_team")]


def test_a_new_domain_in_a_mesh_it_did_not_create_checks_and_builds(rebuilt_basic: Path) -> None:
    root = rebuilt_basic
    mesh_yml = (root / "mesh.yml").read_text()
    result = new_domain(root, "finance", "Finance", "finance@example.com", ["core"])
    assert result.notes == [
        f"no shared macros package (mesh_macros) at {root}/macros: the domain installs no packages.yml",
        "until a model of finance refs core (see dependencies.yml), mesh check warns deps.unused"]
    assert not (root / "domains/finance/packages.yml").exists()
    assert (root / "mesh.yml").read_text() == mesh_yml + "  finance:\n    owner: {team: Finance, email: finance@example.com}\n"

    # mesh build runs mesh check over the selection first, and builds nothing if it finds an error.
    build = mesh_cli("build", "--select", "finance", "--project-dir", str(root))
    assert build.exit_code == 0, build.stdout + build.stderr
    assert build.stdout.splitlines()[0].startswith("mesh check: 0 errors, ")
    assert Mesh.load(root).interface("finance") is not None
