"""The static docs site: `generate` writes it, `serve` returns an HTTP server over it.

The site works from file:// (no CDN, no fetch()): its data is a script, its assets are copied
from `static/` beside this module. Output is deterministic, so a site can be diffed or committed."""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mesh_cli.core.errors import DocsOutputError, PortInUseError
from mesh_cli.project.context import MeshContext
from mesh_cli.project.graph import MeshGraph
from mesh_cli.catalog.site import render
from mesh_cli.catalog.site.data import SiteData, collect

STATIC = Path(__file__).parent / "static"
# Written into every generated site: only a folder holding it is ever emptied before writing.
MARKER = ".mesh-docs"
_OURS = ("index.html", "lineage.html", "products", "domains", "assets", MARKER)
log = logging.getLogger(__name__)


@dataclass
class SiteResult:
    out: Path
    pages: int
    domains: int
    products: int
    models: int

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "index": str(self.index), "pages": self.pages, "domains": self.domains,
                "products": self.products, "models": self.models}


def generate(ctx: MeshContext, graph: MeshGraph, out: Path | None = None) -> SiteResult:
    """Write the site of the mesh into `out` (default: .mesh/docs under the mesh root)."""
    return write(collect(ctx, graph), (out or ctx.layout.docs).resolve())


def write(site: SiteData, out: Path) -> SiteResult:
    """Write the pages of `site`; split from generate() so tests can feed it data of their own."""
    _prepare(out)
    pages = {Path("index.html"): render.index(site), Path("lineage.html"): render.lineage(site)}
    pages.update({Path(render.domain_href(d.name)): render.domain(site, d) for d in site.domains})
    pages.update({Path(render.product_href(p.domain, p.name)): render.product(site, p) for p in site.products})
    for path, text in sorted(pages.items()):
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text, encoding="utf-8")
    assets = out / "assets"
    assets.mkdir(exist_ok=True)
    for asset in sorted(STATIC.iterdir()):
        shutil.copyfile(asset, assets / asset.name)
    (assets / "data.js").write_text(render.data_js(site), encoding="utf-8")
    (out / MARKER).write_text("Written by `mesh docs generate`; the folder is replaced on the next run.\n",
                              encoding="utf-8")
    return SiteResult(out, len(pages), len(site.domains), len(site.products), site.lineage.number_of_nodes())


def _prepare(out: Path) -> None:
    """Empty a previous site (so no page of a removed product lingers); never touch other files."""
    if out.exists() and not out.is_dir():
        raise DocsOutputError(out, "is a file, not a folder", "choose a folder with --out")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise DocsOutputError(out, "is not empty and holds no site written by mesh",
                                  "choose an empty or new folder with --out, so none of its files is overwritten")
        for name in _OURS:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        log.debug("%s " + format, self.address_string(), *args)


def serve(out: Path, port: int = 8080, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server over a generated site, bound but not yet serving: call serve_forever()."""
    if not (out / "index.html").is_file():
        raise DocsOutputError(out, "holds no generated site (no index.html)",
                              "run `mesh docs generate` first, or drop --no-generate")
    try:
        return ThreadingHTTPServer((host, port), partial(_QuietHandler, directory=os.fspath(out)))
    except OSError as exc:
        raise PortInUseError(host, port, exc.strerror or str(exc)) from exc
