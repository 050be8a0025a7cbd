/* citybridge: draws the collaboration graph (JSON in #graph-data) with a small force layout, seeded so the
   same graph always gets the same picture. Nodes are links to their pages. No dependencies. */
(function () {
  "use strict";
  var data = document.getElementById("graph-data");
  var svg = document.getElementById("network");
  if (!data || !svg) return;
  var g = JSON.parse(data.textContent), NS = "http://www.w3.org/2000/svg";
  var W = 900, H = 600, nodes = g.nodes, index = {};
  var seed = 7;
  function rnd() { seed = (seed * 16807) % 2147483647; return (seed - 1) / 2147483646; }
  nodes.forEach(function (n, i) {
    index[n.id] = i;
    var a = rnd() * 2 * Math.PI, r = n.depth === 0 ? 0 : n.depth * 70 + rnd() * 30;
    n.x = W / 2 + r * Math.cos(a); n.y = H / 2 + r * Math.sin(a); n.deg = 0;
  });
  var edges = g.edges.filter(function (e) { return e.source in index && e.target in index; })
    .map(function (e) { var s = nodes[index[e.source]], t = nodes[index[e.target]]; s.deg++; t.deg++; return { s: s, t: t, e: e }; });
  // Fruchterman-Reingold with a cooling schedule; O(n^2) per step is fine for <= 400 nodes
  var area = W * H, kk = Math.min(80, Math.sqrt(area / Math.max(nodes.length, 1)) * 0.5), temp = W / 10;
  for (var it = 0; it < 300; it++) {
    nodes.forEach(function (n) { n.dx = 0; n.dy = 0; });
    for (var i = 0; i < nodes.length; i++) for (var j = i + 1; j < nodes.length; j++) {
      var a = nodes[i], b = nodes[j], dx = a.x - b.x, dy = a.y - b.y, d = Math.sqrt(dx * dx + dy * dy) || 0.01;
      var f = kk * kk / d; a.dx += dx / d * f; a.dy += dy / d * f; b.dx -= dx / d * f; b.dy -= dy / d * f;
    }
    edges.forEach(function (l) {
      var dx = l.s.x - l.t.x, dy = l.s.y - l.t.y, d = Math.sqrt(dx * dx + dy * dy) || 0.01, f = d * d / kk;
      l.s.dx -= dx / d * f; l.s.dy -= dy / d * f; l.t.dx += dx / d * f; l.t.dy += dy / d * f;
    });
    nodes.forEach(function (n) {
      n.dx += (W / 2 - n.x) * 0.02; n.dy += (H / 2 - n.y) * 0.02;  // gentle gravity keeps components together
      var d = Math.sqrt(n.dx * n.dx + n.dy * n.dy) || 0.01;
      if (n.depth === 0) { n.x = W / 2; n.y = H / 2; return; }
      n.x += n.dx / d * Math.min(d, temp); n.y += n.dy / d * Math.min(d, temp);
      n.x = Math.min(W - 20, Math.max(20, n.x)); n.y = Math.min(H - 20, Math.max(20, n.y));
    });
    temp *= 0.985;
  }
  function el(name, attrs, parent) {
    var x = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { x.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(x);
    return x;
  }
  var ge = svg.querySelector(".edges"), gn = svg.querySelector(".nodes");
  edges.forEach(function (l) {
    el("line", { x1: l.s.x.toFixed(1), y1: l.s.y.toFixed(1), x2: l.t.x.toFixed(1), y2: l.t.y.toFixed(1),
                 "class": "edge e-" + l.e.type + (l.e.role === "coordinator" ? " lead" : "") }, ge);
  });
  // fit the picture: the viewBox becomes the nodes' bounding box plus room for labels
  var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  nodes.forEach(function (n) { x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y); x1 = Math.max(x1, n.x); y1 = Math.max(y1, n.y); });
  var pad = 40, bw = Math.max(x1 - x0, 200) + 2 * pad + 160, bh = Math.max(y1 - y0, 150) + 2 * pad;
  if (bw / bh < 1.5) bw = bh * 1.5; else bh = bw / 1.5;
  var cx = (x0 + x1) / 2 + 60, cy = (y0 + y1) / 2;
  svg.setAttribute("viewBox", [(cx - bw / 2).toFixed(1), (cy - bh / 2).toFixed(1), bw.toFixed(1), bh.toFixed(1)].join(" "));
  nodes.forEach(function (n) {
    var a = el("a", { href: "/entity/" + encodeURIComponent(n.id), tabindex: "-1", "class": "node k-" + n.kind + (n.depth === 0 ? " center" : "") }, gn);
    var r = n.depth === 0 ? 12 : Math.min(10, 4 + Math.sqrt(n.deg) * 1.5);
    el("circle", { cx: n.x.toFixed(1), cy: n.y.toFixed(1), r: r.toFixed(1) }, a);
    var t = el("title", {}, a); t.textContent = n.name;
    if (n.depth <= 1 || nodes.length < 40) {
      var label = el("text", { x: (n.x + r + 3).toFixed(1), y: (n.y + 4).toFixed(1) }, a);
      label.textContent = n.name.length > 32 ? n.name.slice(0, 30) + "…" : n.name;
    }
  });
})();
