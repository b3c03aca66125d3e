"""A real PostgreSQL server for the warehouse tests.

The server `.ci/run` starts (MESH_TEST_PGHOST, MESH_TEST_PGPORT, MESH_TEST_PGUSER), else a throwaway
cluster this test process starts in a temporary folder from the local binaries (`pg_config --bindir`,
else Debian's /usr/lib/postgresql/<version>/bin), stopped at the end of the session. Without binaries
the tests skip saying so, except under CI=true, where they fail. Each test gets a database and a role
prefix of its own (roles belong to the whole server), both dropped afterwards."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pytest


def bindir() -> Optional[Path]:
    found = []
    if shutil.which("pg_config"):
        done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        found.append(done.stdout.strip())
    found += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))[::-1]
    return next((Path(d) for d in found if d and (Path(d) / "initdb").is_file()), None)


@dataclass
class Server:
    host: str
    port: int
    admin: str

    def env(self, database: str, prefix: str) -> dict[str, str]:
        """libpq's variables for mesh (as the administrator) and for the profile's postgres target."""
        return {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.admin, "PGDATABASE": database,
                "MESH_PG_ROLE_PREFIX": prefix}

    def connect(self, database: str = "postgres", user: Optional[str] = None):
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=user or self.admin, dbname=database)
        conn.autocommit = True
        return conn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args   # initdb refuses root


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    if os.environ.get("MESH_TEST_PGHOST"):
        yield Server(os.environ["MESH_TEST_PGHOST"], int(os.environ.get("MESH_TEST_PGPORT") or 5432),
                     os.environ.get("MESH_TEST_PGUSER") or "postgres")
        return
    binaries = bindir()
    if binaries is None:
        reason = "no PostgreSQL binaries here (pg_config --bindir, /usr/lib/postgresql/*/bin): apt-get install postgresql"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true, and {reason}")
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="mesh-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([str(binaries / "initdb"), "-D", str(folder / "data"), "-U", "postgres",
                                 "--auth=trust"]), check=True, capture_output=True)
    subprocess.run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w",
                                 "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    try:
        yield Server("127.0.0.1", port, "postgres")
    finally:
        subprocess.run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Warehouse:
    """A database and a role prefix of one test, on the session's server; mesh's environment set."""

    server: Server
    database: str
    prefix: str

    def role(self, domain: str) -> str:
        return f"{self.prefix}{domain}"

    def connect(self, domain: Optional[str] = None):
        """As the administrator, or as `domain`'s role."""
        return self.server.connect(self.database, self.role(domain) if domain else None)

    def query(self, sql: str, domain: Optional[str] = None) -> list[tuple]:
        conn = self.connect(domain)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()


@pytest.fixture
def warehouse(pg_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    tag = uuid.uuid4().hex[:8]
    found = Warehouse(pg_server, f"mesh_test_{tag}", f"t{tag}_")
    admin = pg_server.connect()
    with admin.cursor() as cur:
        cur.execute(f"create database {found.database}")
    for key, value in pg_server.env(found.database, found.prefix).items():
        monkeypatch.setenv(key, value)
    try:
        yield found
    finally:
        with admin.cursor() as cur:
            cur.execute(f"drop database if exists {found.database} with (force)")
            cur.execute("select rolname from pg_roles where rolname like %s", (found.prefix.replace("_", r"\_") + "%",))
            for (role,) in cur.fetchall():
                cur.execute(f'drop role "{role}"')
        admin.close()
