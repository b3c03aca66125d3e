"""Where mesh keeps what it writes (the `.mesh/` folder) and the environment variables it sets for
dbt. Every path and variable name is spelled here once; everything else asks this module.

Read by the dbt plugin too, so it imports nothing but the standard library."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

STATE_DIR = ".mesh"
# The mesh's own profiles folder, beside mesh.yml (not under .mesh/): written by `mesh init`.
PROFILES_DIR = "profiles"

# Set for every dbt process mesh runs, and printed by `mesh env` for a hand-run dbt.
ROOT_ENV = "MESH_ROOT"              # the mesh a dbt process belongs to
DOMAIN_ENV = "MESH_DOMAIN"          # the domain it runs
UPSTREAMS_ENV = "MESH_UPSTREAMS"    # the domains whose public nodes the plugin injects
STATE_ENV = "MESH_STATE_DIR"        # `mesh check` parses into a state of its own
WORKER_STANDBY_ENV = "MESH_WORKER_STANDBY"   # a worker started early that imports dbt only when adopted
PARSED_MANIFEST = "parsed.json"     # in .mesh/check/<domain>/: the check's parse as dbt named things
PATH_ENV = "MESH_DUCKDB_PATH"       # the DuckDB file the domain writes
ATTACH_ENV = "MESH_DUCKDB_ATTACH"   # its upstreams' files, attached read-only
# Read by mesh itself.
WORKERS_ENV = "MESH_WORKERS"        # default of --workers
# A shared PostgreSQL: read by mesh and by the profile's postgres target alike. Roles belong to the
# whole server, so meshes sharing one server (dev and prod, two teams) take different prefixes.
ROLE_PREFIX_ENV = "MESH_PG_ROLE_PREFIX"   # a domain's role is <prefix><domain>; default mesh_
PASSWORD_ENV = "MESH_PG_PASSWORD_"        # + the domain in upper case: that role's password
OFFLINE_ENV = "MESH_OFFLINE"        # default of --offline: external domains' last resolved state when unreachable

# The mesh's profile, for domains whose own profile is defined nowhere (a mesh written for dbt Cloud
# ships no profiles.yml): written to .mesh/profiles/ when the mesh has no profiles/ folder of its own.
DEFAULT_PROFILES = """\
{name}:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{{{ env_var('MESH_DUCKDB_PATH') }}}}"
      attach: "{{{{ fromjson(env_var('MESH_DUCKDB_ATTACH', '[]')) }}}}"
      threads: 4
"""


@dataclass(frozen=True)
class Layout:
    """The `.mesh/` folder of the mesh at `root`."""

    root: Path

    @property
    def base(self) -> Path:
        return self.root / STATE_DIR

    @property
    def state(self) -> Path:
        """Each domain's last good build: manifest.json, interface.json, fingerprint.json."""
        return self.base / "state"

    @property
    def external(self) -> Path:
        """The last resolved state of each external domain (another repository's `mesh publish`):
        interface.json where the plugin reads it, and what came with it."""
        return self.base / "external"

    @property
    def check(self) -> Path:
        """`mesh check`'s parses, kept apart so a check never replaces a build's state."""
        return self.base / "check"

    @property
    def logs(self) -> Path:
        return self.base / "logs"

    @property
    def cache(self) -> Path:
        return self.base / "cache"

    @property
    def profiles(self) -> Path:
        """The mesh's profile, written when the mesh ships none of its own."""
        return self.base / "profiles"

    @property
    def docs(self) -> Path:
        return self.base / "docs"

    @property
    def history(self) -> Path:
        return self.base / "history.sqlite"

    @property
    def noop_memo(self) -> Path:
        """The last `mesh build --changed` that found nothing to build: what it read, what it said."""
        return self.base / "noop.json"

    @property
    def run_results(self) -> Path:
        """The last `mesh build`'s results, which `mesh retry` reads."""
        return self.base / "run_results.json"

    def domain_state(self, domain: str, check: bool = False) -> Path:
        return (self.check if check else self.state) / domain


def state_root(root: Path) -> Path:
    """The state dbt processes read: $MESH_STATE_DIR (a check's), else the last good build's."""
    return Path(os.environ[STATE_ENV]) if os.environ.get(STATE_ENV) else Layout(root).state


def find_mesh_root(start: Path) -> Optional[Path]:
    """The mesh a dbt process belongs to: $MESH_ROOT, else the nearest folder above `start`
    that holds published state. None outside a mesh, which keeps the plugin inert."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV])
    for folder in (start, *start.parents):
        if Layout(folder).state.is_dir():
            return folder
    return None
