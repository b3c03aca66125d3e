"""An unknown key in mesh.yml is named with the keys allowed at that very place."""
from __future__ import annotations

import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from conftest import mesh_cli
from mesh_cli.core import config as config_module
from mesh_cli.core.config import MeshConfig, load_config
from mesh_cli.core.errors import ConfigError

TOP = "domain_paths, domains, external_domains, governance, name, profile, target, warehouse_dir"
EXTERNAL = "build, description, duckdb_path, state"
DOMAIN = "description, owner"
OWNER = "email, team"
GOVERNANCE = "allowed_consumers, rules"
RULE = "domains, exceptions, patterns, severity"
EXCEPTION = "model, reason"

# mesh.yml, the key in the message, the keys it allows there (the model that holds them).
UNKNOWN = {
    "top level": ("colour: blue\n", "colour", TOP, MeshConfig),
    "domains.<d>": ("domains:\n  orders:\n    colour: blue\n", "domains.orders.colour", DOMAIN,
                    config_module.DomainSettings),
    "domains.<d>.owner": ("domains:\n  orders:\n    owner: {team: Orders, phone: 123}\n",
                          "domains.orders.owner.phone", OWNER, config_module.Owner),
    "governance": ("governance:\n  rule:\n    naming.layer: {severity: warn}\n", "governance.rule", GOVERNANCE,
                   config_module.Governance),
    "governance.rules.<r>": ("governance:\n  rules:\n    naming.layer: {sevrity: warn}\n",
                             "governance.rules.naming.layer.sevrity", RULE, config_module.RuleSettings),
    "governance.rules.<r>.exceptions[i]": (
        "governance:\n  rules:\n    contract.enforced:\n      exceptions:\n"
        "        - {model: orders.stg_orders, reason: staging}\n"
        "        - {model: orders.fct_orders, reason: legacy, until: 2027-01-01}\n",
        "governance.rules.contract.enforced.exceptions.1.until", EXCEPTION, config_module.RuleException),
    "external_domains.<d>": ("external_domains:\n  orders: {state: /shared, pin: 3}\n",
                             "external_domains.orders.pin", EXTERNAL, config_module.ExternalDomain),
    "after a valid sibling": ("name: acme\ndomains:\n  orders: {description: Orders}\n  sales: {owner: {team: S}, tier: 1}\n",
                              "domains.sales.tier", DOMAIN, config_module.DomainSettings),
}


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "mesh.yml").write_text(text)
    return tmp_path / "mesh.yml"


@pytest.mark.parametrize("text, key, allowed, model", UNKNOWN.values(), ids=UNKNOWN.keys())
def test_an_unknown_key_lists_the_keys_allowed_at_its_place(tmp_path: Path, text: str, key: str, allowed: str,
                                                           model: type[BaseModel]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert error.value.message == f"{path}: {key}: unknown key; allowed keys here: {allowed}"
    assert allowed == ", ".join(sorted(model.model_fields))


def _models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """Every model reachable from `model` through its fields (Optional, dicts and lists included)."""
    found = {model}
    for field in model.model_fields.values():
        pending = [field.annotation]
        while pending:
            kind = pending.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                found |= _models(kind)
            pending.extend(typing.get_args(kind))
    return found


def test_the_table_covers_every_model_of_mesh_yml() -> None:
    assert {row[3] for row in UNKNOWN.values()} == _models(MeshConfig)


def test_a_key_that_is_free_text_is_not_an_unknown_key(tmp_path: Path) -> None:
    # Under a rule, `domains:` maps any domain name to a severity: a wrong value, not a wrong key.
    path = write(tmp_path, "governance:\n  rules:\n    naming.layer:\n      domains: {orders: loud}\n")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert error.value.message == (f"{path}: governance.rules.naming.layer.domains.orders: input should be 'error', "
                                   "'warn' or 'off'; see the mesh.yml section of the README")


def test_mesh_ls_names_the_unknown_key_and_the_keys_allowed_there(basic: Path) -> None:
    path = basic / "mesh.yml"
    path.write_text(path.read_text() + "governance:\n  rules:\n    naming.layer: {sevrity: warn}\n")
    result = mesh_cli("ls", "--project-dir", str(basic))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path}: governance.rules.naming.layer.sevrity: unknown key; "
                             f"allowed keys here: {RULE}\n")
