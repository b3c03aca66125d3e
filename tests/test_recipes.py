"""The README's Architecture part stays true: every rule of the catalogue is documented and raised
where the README says rules are raised, and every module the README points to exists."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mesh_cli.governance.rules import RULES

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
ARCHITECTURE = README[README.index("### Architecture"):]
GOVERNANCE = REPO / "mesh_cli" / "governance"


def _raised_ids() -> set[str]:
    """Rule ids passed as the first argument of `finding(...)` anywhere in governance/."""
    found = set()
    for path in GOVERNANCE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "finding"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_catalogued_rule_is_in_the_readme_table(rule: str) -> None:
    assert f"| `{rule}` |" in README


def test_every_rule_raised_is_catalogued() -> None:
    assert _raised_ids() - set(RULES) == set()


def test_every_catalogued_rule_is_raised_somewhere() -> None:
    # Ids also reach findings through variables (the ref rules), so read the governance sources too.
    sources = "".join(p.read_text() for p in GOVERNANCE.glob("*.py") if p.name != "rules.py")
    assert [r for r in RULES if f'"{r}"' not in sources] == []


def test_every_module_the_architecture_names_exists() -> None:
    named = set(re.findall(r"`((?:cli|app|catalog|contracts|governance|execution|state|project|core)[\w/]*\.py)`",
                           ARCHITECTURE))
    assert named, "the Architecture part names no module"
    missing = sorted(n for n in named if not (REPO / "mesh_cli" / n).is_file() and "<" not in n)
    assert missing == []
