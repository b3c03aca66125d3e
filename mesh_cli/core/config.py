"""mesh.yml: loaded and validated once, at the boundary."""
from __future__ import annotations

from pathlib import Path
from types import UnionType
from typing import Any, Literal, Optional, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mesh_cli.core.errors import ConfigError
from mesh_cli.core.layout import STATE_DIR
from mesh_cli.core.yamlfile import read_yaml

CONFIG_FILE = "mesh.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Owner(_Strict):
    team: Optional[str] = None
    email: Optional[str] = None


class DomainSettings(_Strict):
    owner: Optional[Owner] = None
    description: Optional[str] = None


Severity = Literal["error", "warn", "off"]


class RuleException(_Strict):
    model: str = Field(description="<domain>.<model> the rule does not apply to")
    reason: str = Field(min_length=1)


class RuleSettings(_Strict):
    severity: Optional[Severity] = None
    domains: dict[str, Severity] = Field(default_factory=dict)    # per-domain overrides
    exceptions: list[RuleException] = Field(default_factory=list)
    patterns: Optional[dict[str, str]] = None                      # naming.layer: layer -> regex


class Governance(_Strict):
    rules: dict[str, RuleSettings] = Field(default_factory=dict)
    # <domain>.<model> -> the only domains allowed to ref it (also settable in the model's meta)
    allowed_consumers: dict[str, list[str]] = Field(default_factory=dict)


class ExternalDomain(_Strict):
    """A domain built in another repository, read from the state it published (`mesh publish`)."""

    state: str = Field(min_length=1, description="folder, file://, http(s):// or an fsspec URL (s3://, gs://, az://, memory://)")
    build: Optional[str] = None              # pin one publication; default: the latest
    duckdb_path: Optional[str] = None        # where this machine sees the producer's DuckDB file, when not where it was built
    description: Optional[str] = None

    @field_validator("build", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class MeshConfig(_Strict):
    name: Optional[str] = None
    # Globs (relative to the mesh root) of dbt project folders; None means: search the whole root.
    domain_paths: Optional[list[str]] = None
    profile: str = "mesh"
    target: Optional[str] = None
    warehouse_dir: str = f"{STATE_DIR}/warehouse"
    domains: dict[str, DomainSettings] = Field(default_factory=dict)
    governance: Governance = Field(default_factory=Governance)
    # Domains of other repositories this mesh reads from (or is read by): never built here.
    external_domains: dict[str, ExternalDomain] = Field(default_factory=dict)


def _location(path: Path, loc: tuple[Any, ...]) -> str:
    key = ".".join(str(p) for p in loc) if loc else "(top level)"
    return f"{path}: {key}"


def load_config(root: Path) -> tuple[MeshConfig, Optional[Path]]:
    """Read `root/mesh.yml` if present; without it every default applies."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return MeshConfig(name=root.resolve().name), None
    raw = read_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "must be a mapping of keys (name, domain_paths, domains, ...)")
    try:
        config = MeshConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _location(path, first["loc"])
        if first["type"] == "extra_forbidden":
            allowed = _allowed_keys(first["loc"][:-1])
            raise ConfigError(loc, "unknown key", f"allowed keys here: {', '.join(allowed)}" if allowed else "") from exc
        raise ConfigError(loc, first["msg"].lower(), "see the mesh.yml section of the README") from exc
    if config.name is None:
        config.name = root.resolve().name
    return config, path


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the mapping at `loc` accepts, so an unknown-key error can list them: the model
    found by walking MeshConfig's fields along `loc` (a dict key or list index steps into its values)."""
    kind: Any = MeshConfig
    for part in loc:
        kind = _inside(_unwrap(kind), part)
    kind = _unwrap(kind)
    return sorted(kind.model_fields) if isinstance(kind, type) and issubclass(kind, BaseModel) else []


def _unwrap(kind: Any) -> Any:
    """Optional[X] -> X (pydantic puts no step in `loc` for it)."""
    args = [a for a in get_args(kind) if a is not type(None)]
    return args[0] if get_origin(kind) in (Union, UnionType) and len(args) == 1 else kind


def _inside(kind: Any, part: Any) -> Any:
    """The type of the value at `part` (field name, dict key, list index) of a value of type `kind`."""
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        field = kind.model_fields.get(str(part))
        return field.annotation if field is not None else None
    if get_origin(kind) is dict:
        return get_args(kind)[1]
    if get_origin(kind) is list:
        return get_args(kind)[0]
    return None
