"""Statuses are enums whose words are the README's, and the code compares and sets them as members."""
from __future__ import annotations

import ast
import json
import re
import sqlite3
from pathlib import Path

import pytest

from mesh_cli.core.results import BuildResult, DomainResult
from mesh_cli.core.status import DONE, RETRIED, BuildStatus, DomainStatus
from mesh_cli.state import history, records

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mesh_cli"
WORDS = {s.value for s in DomainStatus} | {s.value for s in BuildStatus}


def _documented(table: str) -> list[str]:
    """The `status` words the README's history schema lists for `table`."""
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith(f"| `{table}` |"))
    listed = re.search(r"`status` \(([^)]*)\)", row)
    assert listed is not None, row
    return re.findall(r"`(\w+)`", listed.group(1))


def test_domain_statuses_are_the_documented_words() -> None:
    assert [s.value for s in DomainStatus] == _documented("domain_runs")


def test_build_statuses_are_the_documented_words() -> None:
    assert [s.value for s in BuildStatus] == _documented("builds")


def test_done_and_retried_split_the_domain_statuses() -> None:
    assert DONE | RETRIED == set(DomainStatus) and not DONE & RETRIED


def test_a_status_reads_and_writes_as_its_word() -> None:
    result = DomainResult("core", "skipped")   # given as its word (JSON, the history): a member all the same
    assert result.status is DomainStatus.SKIPPED
    assert f"{result.status}" == str(result.status) == "skipped"
    assert json.dumps(result.to_dict()["status"]) == '"skipped"'
    assert json.dumps({"status": DomainStatus.UNCHANGED}) == '{"status": "unchanged"}'
    with pytest.raises(ValueError):
        DomainResult("core", "done")


def test_the_history_stores_and_returns_the_words(tmp_path: Path) -> None:
    result = BuildResult([DomainResult("core", DomainStatus.SUCCESS), DomainResult("sales", DomainStatus.CANCELLED)], 0.1)
    build_id = history.record(tmp_path, result, "build", "", 1)
    with sqlite3.connect(tmp_path / ".mesh" / "history.sqlite") as conn:
        assert conn.execute("SELECT status, typeof(status) FROM builds").fetchall() == [("cancelled", "text")]
        assert conn.execute("SELECT domain, status FROM domain_runs ORDER BY rowid").fetchall() == [
            ("core", "success"), ("sales", "cancelled")]
    detail = records.build(tmp_path, build_id)
    assert detail.build.status is BuildStatus.CANCELLED
    assert [d.status for d in detail.domains] == [DomainStatus.SUCCESS, DomainStatus.CANCELLED]
    assert detail.build.domains == {"ok": 1, "failed": 0, "skipped": 0, "cancelled": 1}
    assert records.last_success(tmp_path, "core") is not None and records.last_success(tmp_path, "sales") is None


# --- every status the code compares or sets is a member, not its word spelled again ---------------

def _is_status(node: ast.AST) -> bool:
    """`x.status`, or `x.get("status")` (a status read back from JSON)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "status"
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value == "status")


def _words(node: ast.AST) -> list[str]:
    """The status words a literal spells: a string, or a tuple, list or set made only of them (dbt's
    node statuses share some words, but come with others: ("success", "pass") is dbt's)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if node.value in WORDS else []
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts:
        values = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        return values if len(values) == len(node.elts) and set(values) <= WORDS else []
    return []


def _spelled(path: Path) -> list[tuple[int, str]]:
    """(line, word) of each status word compared with a status, or given as one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_status(s) for s in sides):
                found += [(node.lineno, w) for s in sides for w in _words(s)]
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            given = [*(node.args[1:2] if name == "DomainResult" else []),
                     *(k.value for k in node.keywords if k.arg == "status")]
            found += [(node.lineno, w) for g in given for w in _words(g)]
    return sorted(found)


def test_statuses_are_compared_and_set_as_members() -> None:
    spelled = [f"{path.relative_to(ROOT)}:{line}: {word}" for path in sorted(PACKAGE.rglob("*.py"))
               for line, word in _spelled(path)]
    assert spelled == []


def test_the_scan_finds_a_spelled_status(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('ok = [d for d in ds if d.status in ("error", "skipped")]\n'
                      'DomainResult("core", "success")\n'
                      'again = [d for d in last if d.get("status") == "cancelled"]\n'
                      'dbt = [r for r in rs if r.status not in ("success", "pass")]\n')   # dbt's words: not ours
    assert _spelled(sample) == [(1, "error"), (1, "skipped"), (2, "success"), (3, "cancelled")]
