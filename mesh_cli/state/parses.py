"""What a domain's dbt parse depends on, as keys: so that a parse is reused only while its inputs
are the same, and correctness never depends on the reuse.

- The *own key*: the domain's files, the dbt arguments that select its profile and target, and
  the environment its dbt process gets (the database path and attach list included: dbt hashes
  them into its partial-parse state). A domain's own interface (its nodes, relations, access,
  versions, contracts) follows from these alone.
- The *manifest key*: the own key and what the plugin injects for each upstream (the public
  models of the interface it reads). A worker that parsed a domain under one manifest key builds
  it with that manifest when the build's key is the same.

A check records each domain's own key next to the interface its parse published, so the next
check knows that interface will not change while the files stay the same, and parses the
domain's consumers without waiting for it."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from mesh_cli.core.layout import STATE_ENV, UPSTREAMS_ENV
from mesh_cli.state.interface import load_interface, public_models

INPUTS = "inputs.json"


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def own_key(files_hash: str, dbt_args: Iterable[str], env: Mapping[str, str]) -> str:
    """`env` as the domain's dbt process gets it; which state the plugin reads is not an input of
    the domain's own interface, so MESH_STATE_DIR is left out."""
    return _digest({"files": files_hash, "dbt": list(dbt_args),
                    "env": {k: v for k, v in env.items() if k != STATE_ENV}})


def manifest_key(root: Path, own: str, env: Mapping[str, str]) -> str:
    """`own` and the nodes the plugin injects for the upstreams listed in `env`, read from the
    state it names (a check's) or else the last good build's, as the plugin reads them."""
    state = Path(env[STATE_ENV]) if env.get(STATE_ENV) else None
    upstreams = [u for u in env.get(UPSTREAMS_ENV, "").split(",") if u]
    injected = {u: public_models(_interface(root, u, state)) for u in upstreams}
    return _digest({"own": own, "injected": injected})


def _interface(root: Path, domain: str, state: Optional[Path]) -> Optional[dict[str, Any]]:
    if state is not None:
        found = load_interface(root, domain, state)
        if found is not None:
            return found
    return load_interface(root, domain)


def record_inputs(state: Path, domain: str, own: str) -> None:
    """After a check parsed `domain` into `state` and published its interface there."""
    folder = state / domain
    tmp = folder / f"{INPUTS}.tmp"
    tmp.write_text(json.dumps({"own_key": own}), encoding="utf-8")
    tmp.replace(folder / INPUTS)


def interface_unchanged(state: Path, domain: str, own: str) -> bool:
    """Whether the interface `domain`'s last check parse published in `state` is what a parse of
    the same inputs would publish now."""
    folder = state / domain
    try:
        recorded = json.loads((folder / INPUTS).read_text(encoding="utf-8")).get("own_key")
    except (OSError, ValueError):
        return False
    return recorded == own and (folder / "interface.json").is_file()
