"""The import contract: packages by layer, imports only point down, no cycles, dbt only where it runs.

Every import counts, including those inside functions and under TYPE_CHECKING: a back-import
hidden there still closes a circle for the next reader."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mesh_cli"
PLUGIN = PACKAGE.parent / "dbt_mesh_plugin.py"

# Lowest first: a module may import its own layer and the ones before it.
LAYERS = ["core", "project", "state", "execution", "governance", "contracts", "catalog", "warehouse", "app", "cli"]
# Third-party packages that only one place may import.
ONLY = {"dbt": {"execution"}, "click": {"cli"}, "rich": {"cli"}, "psycopg2": {"warehouse"}}
PLUGIN_MAY_IMPORT = {"mesh_cli.state.interface", "mesh_cli.core.layout"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    part = module.split(".")[1] if module.count(".") else "cli"   # mesh_cli itself: version only
    if part in ("__main__",):
        return "cli"
    return part if part in LAYERS else "core" if part == "__init__" else part


def imports(path: Path) -> set[str]:
    """Every module `path` imports, by absolute name."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            found.add(base)
            # `from mesh_cli.cli import render`: the submodule is what is imported
            found |= {f"{base}.{a.name}" for a in node.names if (PACKAGE.parent / f"{base}.{a.name}".replace(".", "/")).with_suffix(".py").is_file()}
    return found


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_lives_in_a_layer() -> None:
    assert {layer_of(m) for m in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module: str) -> None:
    mine = LAYERS.index(layer_of(module))
    upward = sorted(i for i in imports(MODULES[module]) if i.startswith("mesh_cli.")
                    and i.split(".")[1] in LAYERS and LAYERS.index(layer_of(i)) > mine)
    assert upward == [], f"{module} ({layer_of(module)}) imports higher layers"


@pytest.mark.parametrize("package,allowed", sorted(ONLY.items()))
def test_third_party_imports_stay_in_their_layer(package: str, allowed: set[str]) -> None:
    found = sorted(m for m, p in MODULES.items()
                   if any(i == package or i.startswith(package + ".") for i in imports(p)) and layer_of(m) not in allowed)
    assert found == [], f"{package} is imported outside {sorted(allowed)}"


def test_the_plugin_reads_state_only() -> None:
    ours = {i for i in imports(PLUGIN) if i.startswith("mesh_cli")}
    assert ours <= PLUGIN_MAY_IMPORT


def test_no_import_cycles() -> None:
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        for target in imports(path):
            if target in MODULES and target != module and not module.startswith(target + "."):
                graph.add_edge(module, target)
    cycles = sorted(sorted(c) for c in nx.simple_cycles(graph) if len(c) > 1)
    assert cycles == []
