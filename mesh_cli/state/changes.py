"""Which domains are stale: changed files since their last successful build, or an upstream whose
public interface changed since. Shared by `mesh build --changed` and `mesh status`."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

from mesh_cli.state.fingerprint import Fingerprint, interface_hash, load, why_stale
from mesh_cli.state.interface import state_dir


def current_fingerprint(files: str, interface: Optional[dict[str, Any]],
                        upstreams: Mapping[str, Optional[dict[str, Any]]]) -> Fingerprint:
    """The domain as it is now (its files' hash) and as built (its interface, its upstreams')."""
    return Fingerprint(files, interface_hash(interface), {u: interface_hash(i) for u, i in upstreams.items()})


def staleness(root: Path, now: Mapping[str, Fingerprint]) -> dict[str, Optional[str]]:
    """For each domain of `now` (in its order), why it needs a build, or None when it is up to date."""
    return {name: why_stale(load(state_dir(root, name)), fp.files, fp.upstreams) for name, fp in now.items()}
