"""OpenLineage events of `mesh build`: built from dbt's artifacts, written to a file or sent over HTTP.

openlineage-python ships no JSON schema of the spec, so every event is rebuilt with the client's own
classes (whose validators check run ids, times and event types) and must serialise back unchanged."""
from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from uuid import uuid4

import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (documentation_job, error_message_run, job_type_job, parent_run,
                                         processing_engine_run, schema_dataset, sql_job, tags_job, tags_run)
from openlineage.client.serde import Serde

from conftest import mesh_cli
from mesh_cli.execution.scheduler import DomainResult
from mesh_cli.core.errors import LineageTargetError
from mesh_cli.execution.openlineage import PRODUCER, LineageEmitter, ParentRun, domain_events

CORE_JOBS = ["core.dim_people.v1", "core.dim_people.v2", "core.raw_people", "core.secret"]
SALES_JOBS = ["sales.fct_sales", "sales.old_sales", "sales.one_arg"]


# --- validation with the client's own classes -----------------------------------------------------


def _facet(cls: type, data: dict[str, Any], **nested: Any) -> Any:
    plain = {k: v for k, v in data.items() if not k.startswith("_") and k not in nested}
    return cls(**plain, **nested, producer=data["_producer"])


def _parent(d: dict[str, Any]) -> Any:
    return _facet(parent_run.ParentRunFacet, d, run=parent_run.Run(runId=d["run"]["runId"]),
                  job=parent_run.Job(namespace=d["job"]["namespace"], name=d["job"]["name"]),
                  root=parent_run.Root(run=parent_run.RootRun(runId=d["root"]["run"]["runId"]),
                                       job=parent_run.RootJob(namespace=d["root"]["job"]["namespace"],
                                                              name=d["root"]["job"]["name"])))


RUN_FACETS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "parent": _parent,
    "processing_engine": lambda d: _facet(processing_engine_run.ProcessingEngineRunFacet, d),
    "errorMessage": lambda d: _facet(error_message_run.ErrorMessageRunFacet, d),
    "tags": lambda d: _facet(tags_run.TagsRunFacet, d, tags=[tags_run.TagsRunFacetFields(**t) for t in d["tags"]]),
}
JOB_FACETS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "jobType": lambda d: _facet(job_type_job.JobTypeJobFacet, d),
    "sql": lambda d: _facet(sql_job.SQLJobFacet, d),
    "documentation": lambda d: _facet(documentation_job.DocumentationJobFacet, d),
    "tags": lambda d: _facet(tags_job.TagsJobFacet, d, tags=[tags_job.TagsJobFacetFields(**t) for t in d["tags"]]),
}
DATASET_FACETS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "schema": lambda d: _facet(schema_dataset.SchemaDatasetFacet, d,
                               fields=[schema_dataset.SchemaDatasetFacetFields(**f) for f in d["fields"]]),
}


def _valid(event: dict[str, Any]) -> dict[str, Any]:
    """`event` rebuilt with openlineage-python's classes; fails on any field or facet they do not model."""
    def facets(table: dict[str, Callable[[dict[str, Any]], Any]], given: dict[str, Any]) -> dict[str, Any]:
        return {key: table[key](value) for key, value in given.items()}

    rebuilt = RunEvent(
        eventType=RunState(event["eventType"]), eventTime=event["eventTime"], producer=event["producer"],
        run=Run(runId=event["run"]["runId"], facets=facets(RUN_FACETS, event["run"]["facets"])),
        job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"],
                facets=facets(JOB_FACETS, event["job"]["facets"])),
        inputs=[InputDataset(namespace=d["namespace"], name=d["name"], facets=facets(DATASET_FACETS, d["facets"]))
                for d in event["inputs"]],
        outputs=[OutputDataset(namespace=d["namespace"], name=d["name"], facets=facets(DATASET_FACETS, d["facets"]))
                 for d in event["outputs"]],
    )
    assert Serde.to_dict(rebuilt) == event
    assert event["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    return event


def _lines(path: Path) -> list[dict[str, Any]]:
    return [_valid(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]


def _artifacts(root: Path, domain: str) -> tuple[dict[str, Any], dict[str, Any]]:
    target = root / "domains" / domain / "target"
    return (json.loads((target / "manifest.json").read_text()), json.loads((target / "run_results.json").read_text()))


def _by_job(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    jobs: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        jobs.setdefault(e["job"]["name"], []).append(e)
    return jobs


def _assert_runs(events: list[dict[str, Any]], parent_id: str) -> dict[str, list[dict[str, Any]]]:
    """The mesh build's START first and its end last; between them each job START then its end, one run."""
    assert [events[0]["job"]["name"], events[0]["eventType"], events[-1]["job"]["name"]] == ["mesh.build", "START", "mesh.build"]
    assert events[0]["run"]["runId"] == events[-1]["run"]["runId"] == parent_id
    jobs = _by_job(events[1:-1])
    for name, runs in jobs.items():
        assert [r["eventType"] for r in runs][0] == "START" and len(runs) == 2, name
        assert runs[0]["run"]["runId"] == runs[1]["run"]["runId"] != parent_id
        assert runs[1]["run"]["facets"]["parent"]["run"]["runId"] == parent_id
        assert runs[0]["eventTime"] <= runs[1]["eventTime"]
    return jobs


# --- pure: events from the artifacts of a build -----------------------------------------------------


def test_events_from_dbt_artifacts(built_basic: Path) -> None:
    parent = ParentRun(str(uuid4()), "basic")
    manifest, run_results = _artifacts(built_basic, "core")
    core = domain_events(manifest, run_results, mesh="basic", domain="core", parent=parent)
    assert sorted((e.job.name, e.eventType.value) for e in core) == sorted(
        (job, state) for job in CORE_JOBS for state in ("START", "COMPLETE"))
    timing = {r["unique_id"]: {t["name"]: t for t in r["timing"]} for r in run_results["results"]}
    v2 = [e for e in core if e.job.name == "core.dim_people.v2"]
    assert [e.eventTime for e in v2] == [timing["model.core.dim_people.v2"]["compile"]["started_at"],
                                         timing["model.core.dim_people.v2"]["execute"]["completed_at"]]
    assert [(d.namespace, d.name) for d in v2[0].inputs] == [("duckdb://basic", "core.main.raw_people")]
    assert [(d.namespace, d.name) for d in v2[0].outputs] == [("duckdb://basic", "core.main.dim_people_v2")]
    assert [(f.name, f.type) for f in v2[0].outputs[0].facets["schema"].fields] == [("id", "integer"), ("name", "varchar")]
    assert v2[0].job.facets["tags"].tags[0].value == "core"
    assert v2[0].job.facets["sql"].query.startswith("select id, name from")
    assert v2[0].run.facets["parent"].run.runId == parent.run_id
    # Re-reading the same artifacts describes the same runs.
    assert [e.run.runId for e in domain_events(manifest, run_results, mesh="basic", domain="core", parent=parent)] \
        == [e.run.runId for e in core]

    sales = domain_events(*_artifacts(built_basic, "sales"), mesh="basic", domain="sales", parent=parent)
    reads = {e.job.name: [(d.namespace, d.name) for d in e.inputs] for e in sales}
    assert reads == {"sales.fct_sales": [("duckdb://basic", "core.main.dim_people_v2")],
                     "sales.old_sales": [("duckdb://basic", "core.main.dim_people_v1")],
                     "sales.one_arg": [("duckdb://basic", "core.main.dim_people_v2")]}


def test_emitter_writes_one_event_per_line(built_basic: Path, tmp_path: Path) -> None:
    file = tmp_path / "lineage.jsonl"
    targets = {d: built_basic / "domains" / d / "target" for d in ("core", "sales", "ops")}
    emitter = LineageEmitter("basic", targets, file=file)
    emitter.start()
    emitter.domain_done(DomainResult("core", "success", started_at=0.0))
    emitter.domain_done(DomainResult("sales", "skipped"))                     # never ran: nothing to say
    emitter.domain_done(DomainResult("ops", "success", started_at=4e9))        # its artifacts predate the run
    emitter.finish(success=True)
    events = _lines(file)
    assert (emitter.sent, emitter.problems) == (10, [])
    jobs = _assert_runs(events, emitter.parent.run_id)
    assert sorted(jobs) == CORE_JOBS
    assert events[-1]["eventType"] == "COMPLETE"
    assert {e["producer"] for e in events} == {PRODUCER}


# --- mesh build --openlineage-file / --openlineage-url (real dbt runs) -----------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_build_appends_events_to_a_file(rebuilt_basic: Path, tmp_path: Path) -> None:
    file = tmp_path / "lineage.jsonl"
    file.write_text("")  # appended to, never replaced
    dead = f"http://127.0.0.1:{_closed_port()}"
    result = mesh_cli("build", "--project-dir", str(rebuilt_basic), "--openlineage-file", str(file),
                      "--openlineage-url", dead)
    assert result.exit_code == 0, result.stdout + result.stderr
    # An unreachable server is reported once and does not fail the build nor stop the file.
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and warnings[0].startswith(f"Warning: could not send OpenLineage events to {dead}: ")
    assert warnings[0].endswith("; the build went on without sending more there")

    events = _lines(file)
    jobs = _assert_runs(events, events[0]["run"]["runId"])
    assert sorted(jobs) == sorted([*CORE_JOBS, *SALES_JOBS, "ops.heartbeat"])
    assert all(runs[1]["eventType"] == "COMPLETE" for runs in jobs.values())
    assert {e["job"]["namespace"] for e in events} == {"basic"}
    # sales reads core's public model across domains: the very dataset core wrote.
    core_output = jobs["core.dim_people.v2"][1]["outputs"]
    assert core_output[0]["namespace"] == "duckdb://basic" and core_output[0]["name"] == "core.main.dim_people_v2"
    sales_inputs = jobs["sales.fct_sales"][0]["inputs"]
    assert [(d["namespace"], d["name"]) for d in sales_inputs] == [(core_output[0]["namespace"], core_output[0]["name"])]
    assert jobs["sales.fct_sales"][0]["job"]["facets"]["tags"]["tags"] == [
        {"key": "domain", "value": "sales", "source": "MESH"}]


class _Collector(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _lineage_server(limit: float = 300.0) -> Iterator[ThreadingHTTPServer]:
    """An OpenLineage endpoint on 127.0.0.1 that records what it is sent; shuts itself down after `limit` s."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    stop = threading.Timer(limit, server.shutdown)
    thread.start()
    stop.start()
    try:
        yield server
    finally:
        stop.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_build_sends_events_over_http_with_failures(rebuilt_basic: Path) -> None:
    (rebuilt_basic / "domains/sales/models/broken.sql").write_text(  # a table, so DuckDB runs the cast
        "{{ config(materialized='table') }}\nselect cast('not a number' as integer) as n\n")
    with _lineage_server() as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = mesh_cli("build", "--select", "sales", "--project-dir", str(rebuilt_basic), "--openlineage-url", url)
    assert result.exit_code == 1, result.stdout
    received = server.received  # type: ignore[attr-defined]
    assert {path for path, _ in received} == {"/api/v1/lineage"}
    events = [_valid(event) for _, event in received]
    jobs = _assert_runs(events, events[0]["run"]["runId"])
    assert events[-1]["eventType"] == "FAIL"
    assert {name: runs[1]["eventType"] for name, runs in jobs.items()} == {
        "sales.broken": "FAIL", "sales.fct_sales": "COMPLETE", "sales.old_sales": "COMPLETE", "sales.one_arg": "COMPLETE"}
    error = jobs["sales.broken"][1]["run"]["facets"]["errorMessage"]
    assert error["programmingLanguage"] == "SQL" and "Conversion Error" in error["message"]
    assert "errorMessage" not in jobs["sales.broken"][0]["run"]["facets"]


# --- refusals before anything builds (no dbt) -------------------------------------------------------


def test_unusable_destinations_are_refused_before_building(basic: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "lineage.jsonl"
    with pytest.raises(LineageTargetError):
        LineageEmitter("basic", {}, file=missing)
    result = mesh_cli("build", "--project-dir", str(basic), "--openlineage-file", str(missing))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"Error: --openlineage-file {missing}: cannot be opened for appending (No such file or "
                             f"directory); give a file in an existing, writable folder\n")
    result = mesh_cli("build", "--project-dir", str(basic), "--openlineage-url", "localhost:5000")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("Error: --openlineage-url localhost:5000: is not an http(s) URL; give the OpenLineage "
                             "server's base URL, e.g. http://localhost:5000 (events are posted to <URL>/api/v1/lineage)\n")
    assert not (basic / ".mesh" / "state").exists()
