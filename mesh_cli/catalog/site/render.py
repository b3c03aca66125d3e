"""The pages of the docs site, from the Jinja templates in templates/.

Descriptions, names and owners are user input: the templates escape every value they print
(autoescaping), and only their own macros' output counts as markup. Python gathers what a page
shows; the templates decide how it looks."""
from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path
from typing import Any, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from mesh_cli import __version__
from mesh_cli.catalog.products import Product, ProductVersion
from mesh_cli.core.status import DomainStatus
from mesh_cli.catalog.site.data import DomainPage, SiteData
from mesh_cli.catalog.site.layout import NODE_H, PALETTE, Node, domain_colours, layout, node_width, short_label


def slug(name: str) -> str:
    """A file name from a dbt name: dbt names are identifiers, but the site never trusts that."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def product_href(domain: str, name: str) -> str:
    return f"products/{slug(domain)}.{slug(name)}.html"


def domain_href(domain: str) -> str:
    return f"domains/{slug(domain)}.html"


def _node_href(n: Node) -> str:
    if n.access == "public":
        return product_href(n.domain, n.name) + (f"#v{n.version}" if n.version is not None else "")
    return domain_href(n.domain)


def _version_label(v: Optional[str]) -> str:
    return "unversioned" if v is None else f"v{v}"


def _test_label(unique_id: str) -> str:
    """`test.orders.unique_fct_orders_order_id.5acc9ab160` -> `unique_fct_orders_order_id`."""
    parts = unique_id.split(".")
    return parts[2] if len(parts) >= 3 and parts[0] == "test" else unique_id


def _page(template: str, site: SiteData, title: str, depth: int, active: str = "", wide: bool = False,
          **values: Any) -> str:
    return _ENV.get_template(template).render(site=site, title=title, up="../" * depth, active=active, wide=wide,
                                              mesh_version=__version__, **values)


def _latest(product: Product) -> Optional[ProductVersion]:
    latest = [v for v in product.versions if v.is_latest]
    return (latest or product.versions or [None])[0]


def _product_badges(p: Product) -> list[tuple[str, str]]:
    """(text, kind) of each badge of a product: its version, contract, deprecations, last build."""
    latest = _latest(p)
    badges = [(_version_label(p.latest_version), "version")] if p.latest_version else []
    if latest is not None:
        badges.append(("contract enforced", "ok") if latest.contract_enforced else ("no contract", "warn"))
    badges += [(f"v{v.version} deprecated {v.deprecation_date}", "warn") for v in p.versions if v.deprecation_date]
    if p.source == "check":
        badges.append(("never built: from mesh check", "warn"))
    elif p.last_build is not None:
        badges.append((f"build {p.last_build.status}", "ok" if p.last_build.status == DomainStatus.SUCCESS else "bad"))
    return badges


def _printed(value: Any) -> Any:
    """What `{{ value }}` prints: None as nothing, and text escaped as html.escape does, as the
    site always has (Jinja's own escape writes quotes as &#34; and &#39;)."""
    if hasattr(value, "__html__"):  # a macro's output: markup already
        return value
    return Markup(escape("" if value is None else str(value)))


_ENV = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True,
                   keep_trailing_newline=True, undefined=StrictUndefined, finalize=_printed)
_ENV.filters.update(g=lambda x: format(x, "g"), short_label=short_label)
_ENV.globals.update(product_href=product_href, domain_href=domain_href, node_href=_node_href,
                    version_label=_version_label, test_label=_test_label,
                    product_badges=_product_badges)


def index(site: SiteData) -> str:
    return _page("index.html", site, "Data products", 0, "index")


def domain(site: SiteData, d: DomainPage) -> str:
    internal = sorted(n.label for _, data in site.lineage.nodes(data=True)
                      if (n := data["node"]).domain == d.name and n.access != "public")
    return _page("domain.html", site, d.name, 1, "domains", d=d, products=site.products_of(d.name), internal=internal)


def _neighbours(site: SiteData, p: Product, upstream: bool) -> list[Node]:
    """The models other than `p`'s own versions that `p` reads (upstream) or that read it."""
    g, found = site.lineage, set()
    mine = [n for n, data in g.nodes(data=True) if data["node"].domain == p.domain and data["node"].name == p.name]
    for n in mine:
        found |= {m for m in (g.predecessors(n) if upstream else g.successors(n)) if m not in mine}
    return sorted((g.nodes[m]["node"] for m in found), key=lambda n: n.id)


def product(site: SiteData, p: Product) -> str:
    consumers = sorted({(c.domain, c.model, c.version, v.version) for v in p.versions for c in v.consumers},
                       key=lambda c: tuple(str(x) for x in c))
    return _page("product.html", site, p.name, 1, p=p, latest=_latest(p), build=p.last_build, consumers=consumers,
                 upstreams=_neighbours(site, p, True), downstreams=_neighbours(site, p, False))


def lineage(site: SiteData) -> str:
    g = site.lineage
    colours = domain_colours([d.name for d in site.domains] + [data["node"].domain for _, data in g.nodes(data=True)])
    drawing = None
    if g.number_of_nodes():
        nodes, width, height = layout(g)
        drawing = {"nodes": sorted(nodes, key=lambda n: n.id), "edges": sorted(g.edges), "where": {n.id: n for n in nodes},
                   "width": width, "height": height, "box": node_width(g), "node_h": NODE_H,
                   "default_colour": PALETTE[0]}
    return _page("lineage.html", site, "Lineage", 0, "lineage", wide=True, colours=colours, drawing=drawing)


def data_js(site: SiteData) -> str:
    """The search index as a script: a file:// page may not fetch() a JSON file next to it."""
    products = [{"key": p.key, "name": p.name, "domain": p.domain, "description": p.description,
                 "owner": " ".join(x for x in (p.owner_team, p.owner_email) if x),
                 "columns": sorted({c.name for v in p.versions for c in v.columns}), "tags": sorted(p.tags),
                 "url": product_href(p.domain, p.name)} for p in site.products]
    text = json.dumps({"name": site.name, "products": products}, indent=1, sort_keys=True)
    return "window.MESH_DATA = " + text.replace("</", "<\\/") + ";\n"
