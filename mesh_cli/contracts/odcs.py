"""Contracts as Open Data Contract Standard (ODCS) v3 documents, and back.

What ODCS has a field for goes there; the dbt facts it has none for go under `customProperties`
with a `dbt` prefix, so a published file carries everything `mesh contracts diff` compares."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Optional

import yaml

from mesh_cli.contracts.model import ColumnContract, ModelContract

API_VERSION = "v3.1.0"
# ODCS logical types, from the base of a warehouse type.
_LOGICAL = [
    (re.compile(r"^(tinyint|smallint|int|integer|bigint|hugeint|int[248]|u?int\d*|long|short|byte)$"), "integer"),
    (re.compile(r"^(decimal|numeric|number|float|float[48]|double|real|double precision)$"), "number"),
    (re.compile(r"^(bool|boolean|logical)$"), "boolean"),
    (re.compile(r"^date$"), "date"),
    (re.compile(r"^(timestamp|datetime|timestamptz|timestamp with time zone|timestamp_ntz|timestamp_tz|timestamp_ltz)$"), "timestamp"),
    (re.compile(r"^time$"), "time"),
    (re.compile(r"^(struct|record|object|json)$"), "object"),
    (re.compile(r"^(array|list)$|\[\]$"), "array"),
    (re.compile(r"^map$"), "map"),
]


def base_type(data_type: Optional[str]) -> Optional[str]:
    """A type without its size or precision, lowercased: `DECIMAL(18, 2)` -> `decimal`."""
    if data_type is None:
        return None
    return re.sub(r"\s*\(.*\)\s*$", "", str(data_type).strip().lower()) or None


def logical_type(data_type: Optional[str]) -> str:
    base = base_type(data_type)
    if base is None:
        return "string"
    if base.endswith("[]"):
        return "array"
    return next((name for pattern, name in _LOGICAL if pattern.search(base)), "string")


def contract_id(c: ModelContract) -> str:
    return f"{c.domain}.{c.model}{f'.v{c.version}' if c.version is not None else ''}"


def _custom(pairs: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"property": k, "value": v} for k, v in pairs if v not in (None, [], "")]


def _property(col: ColumnContract, position: Optional[int]) -> dict[str, Any]:
    prop: dict[str, Any] = {"name": col.name, "physicalType": col.data_type, "logicalType": logical_type(col.data_type)}
    if col.description:
        prop["description"] = col.description
    prop["required"] = col.required
    prop["unique"] = col.unique
    if position is not None:
        prop["primaryKey"] = True
        prop["primaryKeyPosition"] = position
    if col.pii:
        prop["classification"] = "restricted"
    if col.tags or col.pii:
        prop["tags"] = sorted({*col.tags, *(["pii"] if col.pii else [])})
    custom = _custom([("dbtConstraints", col.constraints), ("dbtTests", col.tests), ("dbtPii", col.pii or None)])
    if custom:
        prop["customProperties"] = custom
    return {k: v for k, v in prop.items() if v is not None}


def to_odcs(c: ModelContract, mesh_name: str) -> dict[str, Any]:
    """The ODCS document of one contract; keys in a fixed order so published files diff cleanly."""
    doc: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": contract_id(c),
        "name": c.model,
        "version": f"{c.version}.0.0" if c.version is not None and str(c.version).isdigit() else str(c.version or "1.0.0"),
        "status": "deprecated" if c.deprecation_date else "active",
        "tenant": mesh_name,
        "domain": c.domain,
        "dataProduct": c.model,
    }
    if c.description:
        doc["description"] = {"purpose": c.description}
    if c.tags:
        doc["tags"] = list(c.tags)
    schema: dict[str, Any] = {
        "name": c.model, "physicalName": c.identifier or c.model, "physicalType": c.materialized or "table",
        "logicalType": "object",
    }
    keys = {name.lower(): i + 1 for i, name in enumerate(c.primary_key)}
    schema["properties"] = [_property(col, keys.get(col.name.lower())) for col in c.columns]
    doc["schema"] = [schema]
    if c.owner_team or c.owner_email:
        team: dict[str, Any] = {"name": c.owner_team or c.owner_email}
        if c.owner_email:
            team["members"] = [{"username": c.owner_email, "role": "owner"}]
        doc["team"] = team
    if c.sla_support:
        link = c.sla_support.startswith(("http://", "https://", "mailto:"))
        doc["support"] = [{"channel": c.sla_support, **({"url": c.sla_support} if link else {})}]
    if c.sla_freshness:
        value, unit = re.match(r"^([\d.]+)(\w+)$", c.sla_freshness).groups()  # type: ignore[union-attr]
        doc["slaProperties"] = [{
            "property": "latency", "value": float(value) if "." in value else int(value), "unit": unit,
            "description": "Maximum age of the data since its last successful build (meta.mesh.sla.freshness).",
        }]
    doc["customProperties"] = _custom([
        ("dbtProject", c.domain), ("dbtModel", c.model), ("dbtVersion", c.version),
        ("dbtLatestVersion", c.latest_version), ("dbtDeprecationDate", c.deprecation_date),
        ("dbtAccess", c.access), ("dbtGroup", c.group), ("dbtAllowedConsumers", c.allowed_consumers),
        ("dbtMaterialization", c.materialized), ("dbtContractEnforced", c.contract_enforced),
        ("dbtConstraints", c.constraints), ("dbtPrimaryKey", c.primary_key), ("dbtRelation", c.relation),
    ])
    return doc


def _props(items: Optional[list[dict[str, Any]]]) -> dict[str, Any]:
    return {p.get("property"): p.get("value") for p in items or []}


def from_odcs(doc: dict[str, Any]) -> ModelContract:
    """The contract a published document describes (the inverse of to_odcs)."""
    custom = _props(doc.get("customProperties"))
    schema = (doc.get("schema") or [{}])[0]
    columns = []
    for prop in schema.get("properties") or []:
        extra = _props(prop.get("customProperties"))
        columns.append(ColumnContract(
            name=prop["name"], data_type=prop.get("physicalType"), description=prop.get("description") or "",
            tags=sorted(t for t in prop.get("tags") or [] if not (t == "pii" and extra.get("dbtPii"))),
            constraints=list(extra.get("dbtConstraints") or []), tests=list(extra.get("dbtTests") or []),
            pii=bool(extra.get("dbtPii")),
        ))
    team = doc.get("team") or {}
    members = team.get("members") if isinstance(team, dict) else team
    email = next((m.get("username") for m in members or [] if m.get("role") == "owner"), None)
    sla = next((s for s in doc.get("slaProperties") or [] if s.get("property") == "latency"), None)
    support = next((s.get("channel") or s.get("url") for s in doc.get("support") or []), None)
    return ModelContract(
        domain=custom.get("dbtProject") or doc.get("domain"), model=custom.get("dbtModel") or doc.get("name"),
        version=custom.get("dbtVersion"), latest_version=custom.get("dbtLatestVersion"),
        deprecation_date=custom.get("dbtDeprecationDate"), access=custom.get("dbtAccess") or "public",
        group=custom.get("dbtGroup"),
        owner_team=team.get("name") if isinstance(team, dict) and team.get("name") != email else None,
        owner_email=email, allowed_consumers=custom.get("dbtAllowedConsumers"),
        materialized=custom.get("dbtMaterialization"), contract_enforced=bool(custom.get("dbtContractEnforced")),
        description=(doc.get("description") or {}).get("purpose") or "", tags=list(doc.get("tags") or []),
        columns=columns, constraints=list(custom.get("dbtConstraints") or []),
        primary_key=list(custom.get("dbtPrimaryKey") or []), relation=custom.get("dbtRelation"),
        identifier=schema.get("physicalName"),
        sla_freshness=f"{sla['value']:g}{sla['unit']}" if sla else None, sla_support=support,
    )


@lru_cache(maxsize=1)
def _json_schema() -> dict[str, Any]:
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate(doc: dict[str, Any]) -> list[str]:
    """Problems with `doc` against the ODCS package's model and its JSON schema; empty when valid."""
    import jsonschema
    from open_data_contract_standard.model import OpenDataContractStandard
    from pydantic import ValidationError

    problems = []
    try:
        OpenDataContractStandard(**doc)
    except ValidationError as exc:
        problems += [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    validator = jsonschema.Draft201909Validator(_json_schema())
    problems += [f"{'.'.join(map(str, e.absolute_path)) or '(document)'}: {e.message}"
                 for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]
    return problems


def dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
