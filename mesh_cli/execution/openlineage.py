"""OpenLineage run events for what dbt ran in each domain of `mesh build`, and the emitter that sends them.

Naming: job namespace = the mesh's name, job name = `<domain>.<model>` (`.v<n>` for a version); dataset
namespace = `duckdb://<mesh name>` (on PostgreSQL `postgres://<host>:<port>` of libpq's PGHOST and PGPORT, as
OpenLineage's naming spec has it), dataset name = `<database>.<schema>.<identifier>` of the relation. On
the mesh's profile each domain writes its own DuckDB file whose database is named after the domain, and
consumers see an upstream's public model under the producer's own relation (the dbt plugin injects it as
published), so `orders.main.fct_orders` is the same dataset as orders' output and as marketing's input.
Read from the JSON artifacts dbt writes; this module never imports dbt."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Optional
from urllib.parse import urlparse

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (documentation_job, error_message_run, job_type_job, parent_run,
                                         processing_engine_run, schema_dataset, sql_job, tags_job)
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.transport.transport import Transport
from openlineage.client.uuid import generate_new_uuid, generate_static_uuid

from mesh_cli import __version__
from mesh_cli.execution.scheduler import DomainResult
from mesh_cli.core.errors import LineageTargetError

# A package URL: names this producer and its version without claiming a web address.
PRODUCER = f"pkg:pypi/mesh-cli@{__version__}"
BUILD_JOB = "mesh.build"
_KINDS = {"model": "MODEL", "seed": "SEED", "snapshot": "SNAPSHOT"}   # what writes a relation
_ENDED = {"success": RunState.COMPLETE, "error": RunState.FAIL}        # skipped nodes did not run
# A lineage server that is down should not hold a build for long: few retries, short timeout.
_HTTP_RETRY = {"total": 2, "read": 2, "connect": 2, "backoff_factor": 0.2,
               "status_forcelist": [500, 502, 503, 504], "allowed_methods": ["HEAD", "POST"]}


@dataclass(frozen=True)
class ParentRun:
    """The `mesh build` run every model run belongs to."""

    run_id: str
    namespace: str
    name: str = BUILD_JOB


def dataset_namespace(mesh: str, adapter_type: Optional[str] = None) -> str:
    """Where datasets live, per OpenLineage's naming: one DuckDB mesh, or the PostgreSQL server."""
    if adapter_type == "postgres":
        host = os.environ.get("PGHOST") or "localhost"
        if host.startswith("/"):   # a socket folder: the server is on this machine
            host = "localhost"
        return f"postgres://{host}:{os.environ.get('PGPORT') or 5432}"
    return f"duckdb://{mesh}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def build_event(parent: ParentRun, state: RunState, time: Optional[str] = None) -> RunEvent:
    """START, COMPLETE or FAIL of the `mesh build` run itself."""
    job_type = job_type_job.JobTypeJobFacet(processingType="BATCH", integration="MESH", jobType="JOB",
                                            producer=PRODUCER)
    return RunEvent(eventType=state, eventTime=time or _now(), run=Run(runId=parent.run_id),
                    job=Job(namespace=parent.namespace, name=parent.name, facets={"jobType": job_type}),
                    producer=PRODUCER)


def domain_events(manifest: dict[str, Any], run_results: dict[str, Any], *, mesh: str, domain: str,
                  parent: ParentRun) -> list[RunEvent]:
    """START and COMPLETE/FAIL events for every model, seed and snapshot dbt ran in `domain`."""
    nodes = manifest.get("nodes") or {}
    sources = manifest.get("sources") or {}
    metadata = run_results.get("metadata") or {}
    fallback = metadata.get("generated_at") or _now()
    adapter = (manifest.get("metadata") or {}).get("adapter_type")
    namespace = dataset_namespace(mesh, adapter)
    engine = processing_engine_run.ProcessingEngineRunFacet(
        version=str(metadata.get("dbt_version", "")), name="dbt", openlineageAdapterVersion=__version__,
        producer=PRODUCER)
    parent_facet = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent.run_id), job=parent_run.Job(namespace=parent.namespace, name=parent.name),
        root=parent_run.Root(run=parent_run.RootRun(runId=parent.run_id),
                             job=parent_run.RootJob(namespace=parent.namespace, name=parent.name)),
        producer=PRODUCER)
    events: list[RunEvent] = []
    for result in run_results.get("results") or []:
        unique_id = result.get("unique_id", "")
        node = nodes.get(unique_id)
        ended_as = _ENDED.get(result.get("status"))
        if node is None or ended_as is None or node.get("resource_type") not in _KINDS:
            continue
        started, ended = _times(result, fallback)
        # Stable for one dbt invocation and node: re-reading the same artifacts gives the same run.
        run_id = str(generate_static_uuid(_instant(started),
                                          f"{metadata.get('invocation_id')}:{unique_id}".encode()))
        job = Job(namespace=mesh, name=_job_name(domain, node), facets=_job_facets(node, result, domain, adapter))
        inputs = [InputDataset(namespace=namespace, name=name) for name in _inputs(node, nodes, sources)]
        outputs = [OutputDataset(namespace=namespace, name=_relation(node), facets=_schema(node))]
        facets: dict[str, Any] = {"parent": parent_facet, "processing_engine": engine}
        events.append(RunEvent(eventType=RunState.START, eventTime=started, run=Run(runId=run_id, facets=facets),
                               job=job, inputs=inputs, outputs=outputs, producer=PRODUCER))
        if ended_as is RunState.FAIL:
            facets = {**facets, "errorMessage": error_message_run.ErrorMessageRunFacet(
                message=str(result.get("message") or "dbt reported an error"), programmingLanguage="SQL",
                producer=PRODUCER)}
        events.append(RunEvent(eventType=ended_as, eventTime=ended, run=Run(runId=run_id, facets=facets),
                               job=job, inputs=inputs, outputs=outputs, producer=PRODUCER))
    return events


def _times(result: dict[str, Any], fallback: str) -> tuple[str, str]:
    """When the node's compile began and its execute ended, from dbt's timing entries."""
    timing = [t for t in result.get("timing") or [] if t.get("started_at") and t.get("completed_at")]
    if not timing:  # a node that failed before dbt timed anything
        return fallback, fallback
    return min(t["started_at"] for t in timing), max(t["completed_at"] for t in timing)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))  # Python 3.10 does not read "Z"


def _job_name(domain: str, node: dict[str, Any]) -> str:
    package = node.get("package_name")
    name = node["name"] if package in (None, domain) else f"{package}.{node['name']}"
    return f"{domain}.{name}" + (f".v{node['version']}" if node.get("version") is not None else "")


def _relation(node: dict[str, Any]) -> str:
    identifier = node.get("identifier") if node.get("resource_type") == "source" else node.get("alias")
    parts = (node.get("database"), node.get("schema"), identifier or node.get("name"))
    return ".".join(str(p) for p in parts if p)


def _inputs(node: dict[str, Any], nodes: dict[str, Any], sources: dict[str, Any]) -> list[str]:
    """Relations `node` reads; an ephemeral model is no relation, so what it reads counts instead."""
    found: dict[str, None] = {}
    pending = list((node.get("depends_on") or {}).get("nodes") or [])
    seen: set[str] = set()
    while pending:
        uid = pending.pop(0)
        if uid in seen:
            continue
        seen.add(uid)
        if uid in sources:
            found[_relation(sources[uid])] = None
            continue
        parent = nodes.get(uid)
        if parent is None or parent.get("resource_type") not in _KINDS:
            continue
        if (parent.get("config") or {}).get("materialized") == "ephemeral":
            pending += (parent.get("depends_on") or {}).get("nodes") or []
        else:
            found[_relation(parent)] = None
    return list(found)


def _job_facets(node: dict[str, Any], result: dict[str, Any], domain: str,
                adapter: Optional[str]) -> dict[str, Any]:
    kind = _KINDS[node["resource_type"]]
    facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DBT", jobType=kind,
                                                producer=PRODUCER),
        "tags": tags_job.TagsJobFacet(tags=[tags_job.TagsJobFacetFields(key="domain", value=domain, source="MESH")],
                                      producer=PRODUCER),
    }
    code = result.get("compiled_code") or node.get("compiled_code")
    if code:
        facets["sql"] = sql_job.SQLJobFacet(query=code, dialect=adapter or "duckdb", producer=PRODUCER)
    if node.get("description"):
        facets["documentation"] = documentation_job.DocumentationJobFacet(description=node["description"],
                                                                          producer=PRODUCER)
    return facets


def _schema(node: dict[str, Any]) -> dict[str, Any]:
    columns = list((node.get("columns") or {}).values())
    if not columns:
        return {}
    fields = [schema_dataset.SchemaDatasetFacetFields(name=c["name"], type=c.get("data_type") or None,
                                                       description=c.get("description") or None)
              for c in columns]
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER)}


class LineageEmitter:
    """Sends the events of one `mesh build` to a file (one JSON event per line) and/or an HTTP server.

    Lineage never fails a build: a destination that errors is dropped and named in `problems`."""

    def __init__(self, mesh: str, target_dirs: Mapping[str, Path], file: Optional[Path] = None,
                 url: Optional[str] = None) -> None:
        self.mesh, self.target_dirs = mesh, dict(target_dirs)
        self.parent = ParentRun(str(generate_new_uuid()), mesh)
        self.problems: list[str] = []
        self.sent = 0
        self._clients: dict[str, OpenLineageClient] = {}
        if file is not None:
            self._clients[str(file)] = OpenLineageClient(transport=_file_transport(file))
        if url is not None:
            self._clients[url] = OpenLineageClient(transport=_http_transport(url))

    def start(self) -> None:
        self._emit([build_event(self.parent, RunState.START)])

    def domain_done(self, result: DomainResult) -> None:
        """Events for what dbt ran in a finished domain, read from the artifacts of this run only."""
        target = self.target_dirs.get(result.domain)
        if result.started_at is None or target is None:
            return
        run_results, manifest = target / "run_results.json", target / "manifest.json"
        if not (run_results.is_file() and manifest.is_file()) or run_results.stat().st_mtime < result.started_at:
            return
        self._emit(domain_events(json.loads(manifest.read_text(encoding="utf-8")),
                                 json.loads(run_results.read_text(encoding="utf-8")),
                                 mesh=self.mesh, domain=result.domain, parent=self.parent))

    def finish(self, success: bool) -> None:
        self._emit([build_event(self.parent, RunState.COMPLETE if success else RunState.FAIL)])
        for client in self._clients.values():
            client.close()

    def _emit(self, events: list[RunEvent]) -> None:
        for event in events:
            delivered = False
            for where, client in list(self._clients.items()):
                try:
                    client.emit(event)
                    delivered = True
                except Exception as exc:  # noqa: BLE001 - any transport failure: report it, keep building
                    self.problems.append(f"could not send OpenLineage events to {where}: {exc}; "
                                         f"the build went on without sending more there")
                    del self._clients[where]
                    client.close()
            self.sent += delivered


def _file_transport(file: Path) -> Transport:
    path = file.resolve()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise LineageTargetError("--openlineage-file", str(file), f"cannot be opened for appending ({exc.strerror})",
                                 "give a file in an existing, writable folder") from exc
    return FileTransport(FileConfig(log_file_path=str(path), append=True))


def _http_transport(url: str) -> Transport:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise LineageTargetError("--openlineage-url", url, "is not an http(s) URL",
                                 "give the OpenLineage server's base URL, e.g. http://localhost:5000 "
                                 "(events are posted to <URL>/api/v1/lineage)")
    return HttpTransport(HttpConfig(url=url, timeout=5.0, retry=_HTTP_RETRY))
