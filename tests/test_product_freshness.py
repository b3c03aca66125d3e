"""A data product's last build and freshness are when that product itself last built successfully
(dbt's run results of its node, in the build history), not when its domain last published.

Time is controlled through the history itself: the first build's rows are moved two days back,
so a second build today that does not build the product must leave it two days old."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from conftest import edit, mesh_cli
from mesh_cli.state import records
from mesh_cli.catalog.freshness import LastBuild
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.catalog.site import render
from mesh_cli.catalog.site.data import collect

TWO_DAYS = 2 * 86400
PEOPLE = "model.core.dim_people.v2"   # the latest version: the product's head
SLA = "    config:\n      contract: {enforced: true}\n"
TEAMS = """  - name: dim_teams
    access: public
    group: core_team
    config:
      meta: {mesh: {sla: {freshness: 1h}}}
"""


def move_build_back(root: Path, build_id: int, seconds: float) -> None:
    """Shift every time of one recorded build, as if it had run `seconds` earlier."""
    with sqlite3.connect(root / ".mesh/history.sqlite") as conn:
        conn.execute("UPDATE builds SET started_at = started_at - ?, ended_at = ended_at - ? WHERE id = ?",
                     (seconds, seconds, build_id))
        conn.execute("UPDATE domain_runs SET started_at = started_at - ? WHERE build_id = ?", (seconds, build_id))
        conn.execute("UPDATE model_runs SET started_at = started_at - ?, completed_at = completed_at - ? "
                     "WHERE build_id = ?", (seconds, seconds, build_id))
    conn.close()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def partial_build_two_days_later(root: Path) -> str:
    """Build 1 (the session's full build) moved two days back; then, today, a build of core's
    private `secret` alone, after dim_people got a 24h SLA and core a new public model, dim_teams.
    Returns when dim_people last built: build 1's completion of its node."""
    move_build_back(root, 1, TWO_DAYS)
    edit(root, "domains/core/models/schema.yml", SLA, SLA + "      meta: {mesh: {sla: {freshness: 24h}}}\n")
    edit(root, "domains/core/models/schema.yml", "  - name: secret\n", TEAMS + "  - name: secret\n")
    (root / "domains/core/models/dim_teams.sql").write_text("select 1 as id\n")
    result = Mesh.load(root).build(BuildOptions(select=("core.secret",)))
    assert [(d.domain, d.status) for d in result.domains] == [("core", "success")], result.to_dict()
    second = records.build(root, 2)
    assert [m.unique_id for m in second.models] == ["model.core.secret"]
    first = next(m for m in records.build(root, 1).models if m.unique_id == PEOPLE)
    assert first.completed_at is not None
    return iso(first.completed_at)


def test_last_node_success_reads_the_history(rebuilt_basic: Path) -> None:
    at = partial_build_two_days_later(rebuilt_basic)
    found = records.last_node_success(rebuilt_basic, [PEOPLE, "model.core.secret", "model.core.dim_teams"])
    assert sorted(found) == [PEOPLE, "model.core.secret"]
    assert found[PEOPLE].isoformat(timespec="seconds") == at
    assert found["model.core.secret"] > found[PEOPLE]   # built again today


def test_a_partial_build_leaves_other_products_as_old_as_they_are(rebuilt_basic: Path) -> None:
    at = partial_build_two_days_later(rebuilt_basic)
    mesh = Mesh.load(rebuilt_basic)
    people = mesh.product("core.dim_people")
    assert people.sla_freshness == "24h"
    assert (people.last_build.status, people.last_build.at, people.last_build.fresh) == ("success", at, False)
    assert TWO_DAYS <= people.last_build.age_seconds < TWO_DAYS + 3600
    teams = mesh.product("core.dim_teams")
    assert teams.last_build == LastBuild("never built", None, None, False)

    shown = mesh_cli("show", "core.dim_people", "--project-dir", str(rebuilt_basic))
    assert (shown.exit_code, shown.stderr) == (0, "")
    assert f"  last build:   success 2d ago, stale (SLA 24h) (at {at})" in shown.stdout.splitlines()
    shown = mesh_cli("show", "core.dim_teams", "--project-dir", str(rebuilt_basic))
    assert "  last build:   never built, stale (SLA 1h)" in shown.stdout.splitlines()

    listed = mesh_cli("catalog", "--project-dir", str(rebuilt_basic))
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:3]}
    assert rows["core.dim_people"].endswith("  success 2d ago, stale (SLA 24h)")
    assert rows["core.dim_teams"].endswith("  never built, stale (SLA 1h)")

    data = json.loads(mesh_cli("catalog", "--format", "json", "--project-dir", str(rebuilt_basic)).stdout)
    builds = {p["key"]: p["last_build"] for p in data["products"]}
    assert TWO_DAYS <= builds["core.dim_people"].pop("age_seconds") < TWO_DAYS + 3600
    assert builds == {"core.dim_people": {"status": "success", "at": at, "fresh": False},
                      "core.dim_teams": {"status": "never built", "at": None, "age_seconds": None, "fresh": False}}

    site = collect(Mesh.load(rebuilt_basic).context, Mesh.load(rebuilt_basic).graph)
    pages = {p.key: render.product(site, p) for p in site.products}
    assert f"<dt>Last build</dt><dd>success at {at} · stale</dd>" in pages["core.dim_people"]
    assert "<dt>Last build</dt><dd>never built · stale</dd>" in pages["core.dim_teams"]
