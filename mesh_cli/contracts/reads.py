"""What a domain reads from other domains, as it publishes it for producers in other repositories:
each ref, the version it pins and the columns it reads. A producer's `mesh contracts diff` turns
these back into consumers (Reader), so a breaking change names a team whose code is elsewhere."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from mesh_cli.contracts.diff import Reader
from mesh_cli.project.links import node_of

if TYPE_CHECKING:
    from mesh_cli.project.context import MeshContext
    from mesh_cli.project.links import Interfaces, Links


def published_reads(ctx: "MeshContext", links: "Links", domain: str, interface: "Interfaces") -> list[dict[str, Any]]:
    """Every ref of `domain` into another domain; `columns` is None when the SQL cannot tell."""
    from mesh_cli.contracts.columns import columns_read   # sqlglot: only when publishing
    from mesh_cli.contracts.operations import ColumnReads, readers

    reads = ColumnReads(ctx)
    found = []
    for reader in (r for r in readers(ctx, links) if r.domain == domain):
        producer = interface(reader.producer) or {}
        node = node_of(producer, reader.name, reader.pinned)
        known = [c["name"] for c in (node or {}).get("columns", [])]
        version = reader.pinned if reader.pinned is not None else (node or {}).get("version")
        columns: Optional[list[str]] = None
        sql = reads.sql(reader, None if version is None else str(version))
        field = reads.test_field(reader)
        if field is not None:
            columns = [field]
        elif sql is not None:
            read = columns_read(sql[0], sql[1], known)
            columns = None if read is None else sorted(read)
        found.append({"model": reader.model, "producer": reader.producer, "name": reader.name,
                      "version": reader.pinned, "file": reader.file, "line": reader.line, "columns": columns})
    return sorted(found, key=lambda r: (r["producer"], r["name"], str(r["version"]), r["model"], r["line"] or 0))


def external_readers(domain: str, reads: list[dict[str, Any]], local: set[str], repository: str) -> list[Reader]:
    """The published reads of external `domain` that land on domains of this mesh, as consumers;
    their files are named `<repository>:<path>` (the consumer's mesh name, as it published it)."""
    return [Reader(domain, r["model"], r["producer"], r["name"], None if r.get("version") is None else str(r["version"]),
                   f"{repository}:{r['file']}" if r.get("file") else None, r.get("line"),
                   columns=None if r.get("columns") is None else list(r["columns"]), external=True)
            for r in reads if r.get("producer") in local]
