"""Separate git repositories made from the example mesh's domains, and a static web server, for the
tests of meshes that span repositories (issue 14)."""
from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator, Optional

import yaml

EXAMPLE = Path(__file__).resolve().parent.parent
_IGNORE = shutil.ignore_patterns("target", "logs", "dbt_packages", ".mesh", ".user.yml", "*.duckdb*")
OWNERS = {"customers": ("CRM", "crm@acme.example"), "orders": ("Sales", "sales@acme.example"),
          "payments": ("Finance", "finance@acme.example"), "marketing": ("Marketing", "marketing@acme.example")}


def git(repo: Path, *args: str) -> str:
    run = subprocess.run(["git", "-C", str(repo), "-c", "user.name=mesh", "-c", "user.email=mesh@example.com", *args],
                         capture_output=True, text=True, check=True)
    return run.stdout


def make_repo(where: Path, name: str, domains: list[str], external: Optional[dict[str, dict]] = None) -> Path:
    """A git repository holding only `domains` of the example (with its macros, profile and their
    published contracts), and a mesh.yml naming `external` domains."""
    repo = where / name
    (repo / "domains").mkdir(parents=True)
    for d in domains:
        shutil.copytree(EXAMPLE / "domains" / d, repo / "domains" / d, ignore=_IGNORE)
        shutil.copytree(EXAMPLE / "contracts" / d, repo / "contracts" / d)
    shutil.copytree(EXAMPLE / "macros", repo / "macros", ignore=_IGNORE)
    shutil.copytree(EXAMPLE / "profiles", repo / "profiles")
    config = {"name": name, "domain_paths": ["domains/*"], "profile": "mesh",
              "domains": {d: {"owner": {"team": OWNERS[d][0], "email": OWNERS[d][1]}} for d in domains}}
    if external:
        config["external_domains"] = external
    write_config(repo, config)
    (repo / ".gitignore").write_text(".mesh/\ntarget/\ndbt_packages/\nlogs/\n*.duckdb*\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"{name}: {', '.join(domains)}")
    return repo


def write_config(repo: Path, config: dict) -> None:
    (repo / "mesh.yml").write_text(yaml.safe_dump(config, sort_keys=False))


def set_external(repo: Path, external: dict[str, dict]) -> None:
    config = yaml.safe_load((repo / "mesh.yml").read_text())
    config["external_domains"] = external
    write_config(repo, config)


def clone(repo: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(repo), str(dest)], check=True, capture_output=True)
    return dest


class StaticServer:
    """A plain static web server on 127.0.0.1 over a folder (http.server in a thread)."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "StaticServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


def served(folder: Path) -> Iterator[StaticServer]:
    with StaticServer(folder) as server:
        yield server
