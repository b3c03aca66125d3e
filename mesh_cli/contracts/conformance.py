"""Does a built data product match its published contract? Columns and types as the warehouse
reports them (dbt's catalog) against the contract's. Extra columns are allowed: adding one breaks
no consumer."""
from __future__ import annotations

from typing import Iterable, Optional

from mesh_cli.contracts.model import ModelContract
from mesh_cli.contracts.odcs import base_type

# Spellings of one type across warehouses and dbt docs, reduced to one name.
_SAME = {
    "int": "integer", "int4": "integer", "signed": "integer", "int8": "bigint", "long": "bigint",
    "int2": "smallint", "short": "smallint", "int1": "tinyint", "text": "varchar", "string": "varchar",
    "char": "varchar", "bpchar": "varchar", "character varying": "varchar", "float8": "double",
    "double precision": "double", "float4": "float", "real": "float", "bool": "boolean", "logical": "boolean",
    "numeric": "decimal", "timestamp without time zone": "timestamp", "datetime": "timestamp",
    "timestamp with time zone": "timestamptz",
}


def same_type(declared: Optional[str], actual: Optional[str]) -> bool:
    """Equal base types (size and precision aside, as dbt's contract check does)."""
    a, b = base_type(declared), base_type(actual)
    if a is None or b is None:
        return True
    return _SAME.get(a, a) == _SAME.get(b, b)


def unique_id(c: ModelContract) -> str:
    return f"model.{c.domain}.{c.model}" + (f".v{c.version}" if c.version is not None else "")


def conform(c: ModelContract, columns: Optional[dict[str, str]]) -> list[str]:
    """What differs between the built relation's `columns` (name -> type) and the contract."""
    if columns is None:
        return [f"{c.label}: not found in the warehouse after the build"]
    built = {name.lower(): kind for name, kind in columns.items()}
    problems = []
    for col in c.columns:
        actual = built.get(col.name.lower())
        if actual is None:
            problems.append(f"{c.label}: column `{col.name}` is missing")
        elif not same_type(col.data_type, actual):
            problems.append(f"{c.label}: column `{col.name}` is {actual} in the warehouse, the contract says {col.data_type}")
    return problems


def conformance(contracts: Iterable[ModelContract], catalog: dict[str, dict[str, str]]) -> list[str]:
    return [p for c in sorted(contracts, key=lambda c: (c.model, str(c.version))) for p in conform(c, catalog.get(unique_id(c)))]
