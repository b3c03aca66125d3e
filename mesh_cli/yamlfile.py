"""Reading YAML files of a mesh, with errors that name the file and line."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mesh_cli.errors import ConfigError


def read_yaml(path: Path) -> Any:
    """Load a YAML file, turning syntax errors into a ConfigError naming the file and line."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(where, "is not valid YAML", f"fix the syntax ({getattr(exc, 'problem', exc)})") from exc
