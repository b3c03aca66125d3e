"""A worker shares what dbt parsed from Jinja text between the domains it parses (most of a parse is
the macros of dbt and of the adapter, the same text in every domain), and that sharing never mixes
up two domains: a macro is one domain's own even when another domain has one of the same name, or
the very same text."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from conftest import mesh_cli
from mesh_cli.app import BuildOptions, Mesh

# The same text in both domains: it renders each domain's own name.
WHO = "{% macro who() %}{{ return(project_name) }}{% endmacro %}\n"


def greeting(domain: str) -> str:   # one name, another text in each domain
    return f"{{% macro greeting() %}}{{{{ return('hello from {domain}') }}}}{{% endmacro %}}\n"


def two_domains_with_look_alike_macros(root: Path) -> None:
    for domain in ("core", "ops"):
        folder = root / "domains" / domain
        (folder / "macros").mkdir(exist_ok=True)
        (folder / "macros/who.sql").write_text(WHO)
        (folder / "macros/greeting.sql").write_text(greeting(domain))
        (folder / f"models/{domain}_words.sql").write_text("select '{{ greeting() }}' as greeting, '{{ who() }}' as who\n")


def words(root: Path, domain: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(Mesh.load(root).storage(domain).database), read_only=True) as db:
        return db.execute(f"select greeting, who from {domain}_words").fetchall()


def test_the_workers_switch_is_there_in_the_installed_dbt() -> None:
    done = subprocess.run([sys.executable, "-c", "from mesh_cli.execution.runner import share_parsed_jinja; "
                           "from dbt_common.tests import test_caching_enabled; "
                           "print(test_caching_enabled(), share_parsed_jinja(), test_caching_enabled())"],
                          capture_output=True, text=True, check=True)
    assert done.stdout == "False True True\n"


def test_one_worker_keeps_each_domains_macros_its_own(basic: Path) -> None:
    two_domains_with_look_alike_macros(basic)
    with Mesh.load(basic) as mesh:   # one worker parses every domain, then builds them
        mesh.gate(BuildOptions(workers=1))
        result = mesh.build(BuildOptions(workers=1))
    assert result.success, result.to_dict()
    assert words(basic, "core") == [("hello from core", "core")]
    assert words(basic, "ops") == [("hello from ops", "ops")]


def test_one_worker_keeps_each_domains_macros_its_own_from_the_cli(basic: Path) -> None:
    two_domains_with_look_alike_macros(basic)
    result = mesh_cli("build", "--workers", "1", "--project-dir", str(basic))
    assert result.exit_code == 0, result.output
    assert words(basic, "core") == [("hello from core", "core")]
    assert words(basic, "ops") == [("hello from ops", "ops")]
