"""`mesh docs generate` and `mesh docs serve`: the static site, checked in a real headless Chromium."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import networkx as nx
import pytest

from conftest import ctrl_c_reaches_it, mesh_cli
from mesh_cli.catalog import site
from mesh_cli.catalog.products import Column, Consumer, Product, ProductVersion
from mesh_cli.core.errors import DocsOutputError
from mesh_cli.app import Mesh
from mesh_cli.catalog.site.data import DomainPage, SiteData
from mesh_cli.catalog.site.layout import layout, model_graph, node_width

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
BASIC_MODELS = ["core.dim_people.v1", "core.dim_people.v2", "core.secret", "ops.heartbeat",
                "sales.fct_sales", "sales.old_sales", "sales.one_arg"]


def sample_site(extra: bool = True) -> SiteData:
    """A site from data made here: three products whose texts differ in one field each."""
    lineage = nx.DiGraph()
    for key, access in (("customers.dim_customers", "public"), ("orders.fct_orders.v2", "public"),
                        ("orders.int_orders", "protected"), ("payments.fct_payments", "public")):
        domain, name, *version = key.split(".")
        lineage.add_node(key, kind="model", domain=domain, name=name, access=access,
                         version=version[0][1:] if version else None)
    lineage.add_node("orders.raw_orders", kind="seed", domain="orders", name="raw_orders")
    lineage.add_edges_from([("orders.raw_orders", "orders.int_orders"), ("customers.dim_customers", "orders.int_orders"),
                            ("orders.int_orders", "orders.fct_orders.v2"), ("orders.fct_orders.v2", "payments.fct_payments")])
    products = [
        Product("customers", "dim_customers", "One row per customer.", "CRM", "crm@acme.example",
                versions=[ProductVersion(None, columns=[Column("email_masked", "varchar", pii=True)])]),
        Product("orders", "fct_orders", "One row per order <script>alert('x')</script>", "Sales", "sales@acme.example",
                latest_version="2",
                versions=[ProductVersion("1", False, "2027-06-30", [Column("amount", "double")]),
                          ProductVersion("2", True, None, [Column("order_total", "decimal(18,2)", "Total, <b>in dollars</b>",
                                                                  ["not_null"], ["unique"])],
                                         True, "contracts/orders/fct_orders.v2.odcs.yaml",
                                         [Consumer("payments", "fct_payments")])]),
    ]
    if extra:
        products.append(Product("payments", "fct_payments", "Payment attempts.", "Finance", "finance@acme.example",
                                versions=[ProductVersion(None, columns=[Column("refunded", "boolean")])]))
    domains = [DomainPage("customers", "Customers <img src=x onerror=alert(1)>", "CRM", "crm@acme.example", [], ["orders"]),
               DomainPage("orders", "Orders.", "Sales", None, ["customers"], ["payments"]),
               DomainPage("payments", "", None, None, ["orders"], [])]
    return SiteData("acme", domains, products, model_graph(lineage))


# --- generating ---------------------------------------------------------------------------------

def test_generate_writes_a_page_per_domain_and_product(built_basic: Path, tmp_path: Path) -> None:
    result = Mesh.load(built_basic).docs(tmp_path / "site")
    assert result.to_dict() == {"out": str(tmp_path / "site"), "index": str(tmp_path / "site" / "index.html"),
                                "pages": 6, "domains": 3, "products": 1, "models": 7}
    files = sorted(str(p.relative_to(result.out)) for p in result.out.rglob("*") if p.is_file())
    assert files == [".mesh-docs", "assets/data.js", "assets/site.css", "assets/site.js", "domains/core.html",
                     "domains/ops.html", "domains/sales.html", "index.html", "lineage.html", "products/core.dim_people.html"]
    page = (result.out / "products" / "core.dim_people.html").read_text()
    assert "<h1>dim_people</h1>" in page
    assert '<tr id="v1"><td>v1</td><td>2027-01-01</td>' in page  # the deprecated version and its date
    assert "<code>id</code>" in page and "<code>name</code>" in page
    assert '<td><a href="../domains/sales.html">sales</a></td><td><code>old_sales</code></td><td>v1</td>' in page
    assert "unique_dim_people_v2_id" in page
    lineage = (result.out / "lineage.html").read_text()
    assert re.findall(r'class="node \w+" data-id="([^"]+)"', lineage) == BASIC_MODELS
    assert 'href="products/core.dim_people.html#v1" class="node product" data-id="core.dim_people.v1"' in lineage
    assert 'href="domains/core.html" class="node internal" data-id="core.secret"' in lineage


def test_generate_from_the_cli_defaults_to_dot_mesh_docs(rebuilt_basic: Path) -> None:
    result = mesh_cli("docs", "generate", "--project-dir", str(rebuilt_basic))
    out = rebuilt_basic.resolve() / ".mesh" / "docs"
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (f"Wrote 6 pages (3 domains, 1 data product, 7 models in the lineage) to {out}\n"
                             f"Open {(out / 'index.html').as_uri()}\n")
    assert (out / "products" / "core.dim_people.html").is_file()


def test_generate_before_any_build(basic: Path, tmp_path: Path) -> None:
    result = mesh_cli("docs", "generate", "--project-dir", str(basic), "--out", str(tmp_path / "site"))
    assert result.stdout.splitlines()[0] == \
        f"Wrote 5 pages (3 domains, 0 data products, 0 models in the lineage) to {tmp_path / 'site'}"
    assert "No data product yet: public models appear here once their domain is built" in \
        (tmp_path / "site" / "index.html").read_text()
    assert "Nothing has been built yet" in (tmp_path / "site" / "lineage.html").read_text()
    assert "<dt>Last good build</dt><dd><span class=\"muted\">never built</span>" in \
        (tmp_path / "site" / "domains" / "core.html").read_text()


def test_generate_json_and_out(built_basic: Path, tmp_path: Path) -> None:
    result = mesh_cli("docs", "generate", "--project-dir", str(built_basic), "--out", str(tmp_path / "s"),
                      "--format", "json")
    assert result.exit_code == 0
    assert '"products": 1,' in result.stdout and f'"out": "{tmp_path / "s"}"' in result.stdout


def test_output_is_deterministic_and_a_rerun_drops_stale_pages(built_basic: Path, tmp_path: Path) -> None:
    mesh = Mesh.load(built_basic)
    first, second = mesh.docs(tmp_path / "a").out, mesh.docs(tmp_path / "b").out
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert [f for f in files if (first / f).read_bytes() != (second / f).read_bytes()] == []

    site.write(sample_site(), tmp_path / "c")
    assert (tmp_path / "c" / "products" / "payments.fct_payments.html").is_file()
    site.write(sample_site(extra=False), tmp_path / "c")
    assert not (tmp_path / "c" / "products" / "payments.fct_payments.html").exists()


def test_user_text_is_escaped(tmp_path: Path) -> None:
    out = site.write(sample_site(), tmp_path / "site").out
    product = (out / "products" / "orders.fct_orders.html").read_text()
    assert "<script>alert" not in product
    assert "One row per order &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in product
    assert "Total, &lt;b&gt;in dollars&lt;/b&gt;" in product
    assert "<code>contracts/orders/fct_orders.v2.odcs.yaml</code>" in product
    assert "Customers &lt;img src=x onerror=alert(1)&gt;" in (out / "domains" / "customers.html").read_text()
    data = (out / "assets" / "data.js").read_text()
    assert data.startswith("window.MESH_DATA = {") and "</script>" not in data and "<\\/script>" in data


def test_refuses_to_overwrite_a_folder_it_did_not_write(built_basic: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    message = (f"{tmp_path}: is not empty and holds no site written by mesh; choose an empty or new folder "
               f"with --out, so none of its files is overwritten")
    with pytest.raises(DocsOutputError) as raised:
        site.write(sample_site(), tmp_path)
    assert str(raised.value) == message
    result = mesh_cli("docs", "generate", "--project-dir", str(built_basic), "--out", str(tmp_path))
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")
    assert (tmp_path / "notes.txt").read_text() == "mine" and not (tmp_path / "index.html").exists()


def test_layout_is_layered_without_overlaps() -> None:
    graph = sample_site().lineage
    nodes, width, height = layout(graph)
    where = {n.id: n for n in nodes}
    assert sorted(where) == ["customers.dim_customers", "orders.fct_orders.v2", "orders.int_orders", "payments.fct_payments"]
    assert all(where[a].x < where[b].x for a, b in graph.edges)
    boxes = {(n.x, n.y) for n in nodes}
    assert len(boxes) == len(nodes)
    assert max(n.x for n in nodes) + node_width(graph) <= width and max(n.y for n in nodes) < height


# --- serving ------------------------------------------------------------------------------------

def test_serve_returns_a_server_over_the_site(tmp_path: Path) -> None:
    out = site.write(sample_site(), tmp_path / "site").out
    server = site.serve(out, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/products/orders.fct_orders.html"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert "<h1>fct_orders</h1>" in response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_serve_cli_prints_the_url_and_stops_cleanly_on_ctrl_c(built_basic: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "mesh_cli", "docs", "serve", "--project-dir", str(built_basic),
               "--out", str(tmp_path / "site"), "--port", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=ctrl_c_reaches_it)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"Wrote 6 pages to {tmp_path / 'site'}\n"
        serving = proc.stdout.readline()
        match = re.fullmatch(rf"Serving {re.escape(str(tmp_path / 'site'))} at (http://127\.0\.0\.1:\d+/) \(Ctrl-C to stop\)\n",
                             serving)
        assert match, serving
        with urllib.request.urlopen(match.group(1) + "index.html", timeout=10) as response:
            assert "dim_people" in response.read().decode()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill() if proc.poll() is None else None
    assert (proc.returncode, stdout, stderr) == (0, "Stopped.\n", "")


def test_serve_errors(basic: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = mesh_cli("docs", "serve", "--project-dir", str(basic),
                      "--out", str(empty), "--no-generate")
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {empty}: holds no generated site (no index.html); run `mesh docs generate` first, "
           f"or drop --no-generate\n")
    out = site.write(sample_site(), tmp_path / "site").out
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = mesh_cli("docs", "serve", "--project-dir", str(basic),
                          "--out", str(out), "--no-generate", "--port", str(port))
    assert (result.exit_code, result.stderr) == (
        2, f"Error: cannot serve on 127.0.0.1:{port} (Address already in use); pick another port with --port, "
           f"or --port 0 for any free one\n")


# --- in a real browser --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package")
    if missing:
        reason = (f"no headless browser: {', '.join(missing)} missing (apt-get install chromium chromium-driver; "
                  f"pip install -e '.[test]')")
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser test")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def _errors(driver: Any) -> list[str]:
    """Console errors and uncaught exceptions since the last call (reading the log empties it)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _visible_products(driver: Any) -> list[str]:
    return [row.get_attribute("data-key") for row in driver.find_elements("css selector", "tr.product-row")
            if row.is_displayed()]


def test_console_errors_are_seen(browser: Any, tmp_path: Path) -> None:
    """The check the other browser tests rely on can fail: a page that logs an error is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><title>x</title><link rel=icon href='data:,'><script>undefinedCall()</script>")
    browser.get(page.as_uri())
    assert any("undefinedCall is not defined" in m for m in _errors(browser))


def test_site_of_a_built_mesh_in_the_browser(browser: Any, built_basic: Path, tmp_path: Path) -> None:
    out = Mesh.load(built_basic).docs(tmp_path / "site").out
    _errors(browser)
    browser.get((out / "index.html").as_uri())
    assert browser.title == "Data products · basic"
    assert _visible_products(browser) == ["core.dim_people"]
    box = browser.find_element("id", "search")
    box.send_keys("no such product")
    assert _visible_products(browser) == []
    assert browser.find_element("id", "no-match").is_displayed()
    assert browser.find_element("id", "search-count").text == "0 of 1"
    assert _errors(browser) == []

    browser.get((out / "products" / "core.dim_people.html").as_uri())
    columns = [c.text for c in browser.find_elements("css selector", "table.columns")[0].find_elements("css selector", "tbody tr td:first-child")]
    assert columns == ["id", "name"]
    assert _errors(browser) == []

    browser.get((out / "lineage.html").as_uri())
    nodes = browser.find_elements("css selector", "svg#lineage a.node")
    assert sorted(n.get_attribute("data-id") for n in nodes) == BASIC_MODELS
    assert sorted(n.text for n in browser.find_elements("css selector", "svg#lineage a.node text")) == \
        ["dim_people.v1", "dim_people.v2", "fct_sales", "heartbeat", "old_sales", "one_arg", "secret"]
    assert len(browser.find_elements("css selector", "svg#lineage path.edge.cross")) == 3
    from selenium.webdriver import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
    ActionChains(browser).move_to_element(browser.find_element("css selector", 'a.node[data-id="core.dim_people.v2"]')).perform()
    lit = sorted(n.get_attribute("data-id") for n in browser.find_elements("css selector", "svg#lineage.focus a.node.lit"))
    assert lit == ["core.dim_people.v2", "sales.fct_sales", "sales.one_arg"]
    graph = browser.find_element("id", "lineage")
    initial = graph.get_dom_attribute("viewBox")
    ActionChains(browser).scroll_from_origin(ScrollOrigin.from_element(graph), 0, -300).perform()  # zoom in
    zoomed = [float(x) for x in graph.get_dom_attribute("viewBox").split()]
    assert zoomed[2] < float(initial.split()[2])
    browser.find_element("id", "reset-view").click()
    assert graph.get_dom_attribute("viewBox") == initial
    assert _errors(browser) == []


def test_search_filters_products_live(browser: Any, tmp_path: Path) -> None:
    out = site.write(sample_site(), tmp_path / "site").out
    _errors(browser)
    browser.get((out / "index.html").as_uri())
    box = browser.find_element("id", "search")
    for query, expected in (("order_total", ["orders.fct_orders"]),       # a column
                            ("FINANCE", ["payments.fct_payments"]),       # an owner, any case
                            ("row per", ["customers.dim_customers", "orders.fct_orders"]),  # the description
                            ("", ["customers.dim_customers", "orders.fct_orders", "payments.fct_payments"])):
        box.clear()
        box.send_keys(query or " ")
        assert _visible_products(browser) == expected, query
    assert browser.find_element("id", "search-count").text == "3 of 3"
    assert _errors(browser) == []
