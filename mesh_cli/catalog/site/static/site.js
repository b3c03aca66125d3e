// The docs site's only script: live product search and the lineage graph's hover, zoom and pan.
// No dependencies and no fetch(): data.js has set window.MESH_DATA, so pages work from file://.
(function () {
  "use strict";

  function setUpSearch() {
    var box = document.getElementById("search");
    if (!box || !window.MESH_DATA) return;
    var haystack = {};
    window.MESH_DATA.products.forEach(function (p) {
      haystack[p.key] = [p.name, p.domain, p.description, p.owner, p.columns.join(" "), p.tags.join(" ")]
        .join(" ").toLowerCase();
    });
    var rows = Array.prototype.slice.call(document.querySelectorAll("tr.product-row"));
    var count = document.getElementById("search-count");
    var none = document.getElementById("no-match");
    function filter() {
      var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row) {
        var text = haystack[row.getAttribute("data-key")] || "";
        var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !hit;
        if (hit) shown += 1;
      });
      count.textContent = shown + " of " + rows.length;
      none.hidden = shown !== 0;
    }
    box.addEventListener("input", filter);
    filter();  // the browser may restore a query on back navigation
  }

  function setUpLineage() {
    var svg = document.getElementById("lineage");
    if (!svg) return;
    var edges = Array.prototype.slice.call(svg.querySelectorAll(".edge"));
    var nodes = {};
    Array.prototype.forEach.call(svg.querySelectorAll(".node"), function (n) { nodes[n.getAttribute("data-id")] = n; });
    var ups = {}, downs = {};
    edges.forEach(function (edge) {
      var a = edge.getAttribute("data-from"), b = edge.getAttribute("data-to");
      (downs[a] = downs[a] || []).push(b);
      (ups[b] = ups[b] || []).push(a);
    });
    function walk(start, next) {  // every model reachable one way: the whole lineage, not just neighbours
      var seen = {}, todo = [start];
      while (todo.length) {
        var id = todo.pop();
        (next[id] || []).forEach(function (m) { if (!seen[m]) { seen[m] = true; todo.push(m); } });
      }
      return seen;
    }
    function highlight(id) {
      var lit = Object.assign({}, walk(id, ups), walk(id, downs));
      lit[id] = true;
      svg.classList.add("focus");
      Object.keys(nodes).forEach(function (k) { nodes[k].classList.toggle("lit", !!lit[k]); });
      nodes[id].classList.add("hovered");
      edges.forEach(function (edge) {
        edge.classList.toggle("lit", !!lit[edge.getAttribute("data-from")] && !!lit[edge.getAttribute("data-to")]);
      });
    }
    function clear() {
      svg.classList.remove("focus");
      Object.keys(nodes).forEach(function (k) { nodes[k].classList.remove("lit", "hovered"); });
      edges.forEach(function (edge) { edge.classList.remove("lit"); });
    }
    Object.keys(nodes).forEach(function (id) {
      nodes[id].addEventListener("mouseenter", function () { highlight(id); });
      nodes[id].addEventListener("mouseleave", clear);
    });

    var initial = svg.getAttribute("viewBox").split(" ").map(Number);
    var view = initial.slice();
    function apply() { svg.setAttribute("viewBox", view.join(" ")); }
    function toSvg(evt) {
      var box = svg.getBoundingClientRect();
      return [view[0] + (evt.clientX - box.left) / box.width * view[2],
              view[1] + (evt.clientY - box.top) / box.height * view[3]];
    }
    svg.addEventListener("wheel", function (evt) {
      evt.preventDefault();
      var at = toSvg(evt), factor = evt.deltaY > 0 ? 1.15 : 1 / 1.15;
      view = [at[0] - (at[0] - view[0]) * factor, at[1] - (at[1] - view[1]) * factor, view[2] * factor, view[3] * factor];
      apply();
    }, { passive: false });
    var drag = null, moved = false;
    svg.addEventListener("pointerdown", function (evt) { drag = [evt.clientX, evt.clientY, view[0], view[1]]; moved = false; });
    window.addEventListener("pointermove", function (evt) {
      if (!drag) return;
      var box = svg.getBoundingClientRect();
      var dx = evt.clientX - drag[0], dy = evt.clientY - drag[1];
      if (Math.abs(dx) + Math.abs(dy) > 3) { moved = true; svg.classList.add("dragging"); }
      view[0] = drag[2] - dx / box.width * view[2];
      view[1] = drag[3] - dy / box.height * view[3];
      apply();
    });
    window.addEventListener("pointerup", function () { drag = null; svg.classList.remove("dragging"); });
    // A drag that ends on a node must not open it.
    svg.addEventListener("click", function (evt) { if (moved) { evt.preventDefault(); moved = false; } }, true);
    var reset = document.getElementById("reset-view");
    if (reset) reset.addEventListener("click", function () { view = initial.slice(); apply(); });
  }

  setUpSearch();
  setUpLineage();
})();
