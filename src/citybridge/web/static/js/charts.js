/* citybridge: the analytics charts (a theme's network, trend lines, gap heat-map), drawn with the vendored d3 and
   Observable Plot from JSON islands the page carries. Every mark links to the records behind it; the table beside
   each chart is the accessible twin, so the pictures are hidden from assistive technology and their links are
   kept out of the tab order. */
(function () {
  "use strict";
  if (typeof d3 === "undefined" || typeof Plot === "undefined") return;

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function quiet(el) {
    el.setAttribute("aria-hidden", "true");
    el.querySelectorAll("a").forEach(function (a) { a.setAttribute("tabindex", "-1"); });
    el.querySelectorAll("svg").forEach(function (s) { s.setAttribute("focusable", "false"); });
    return el;
  }
  function mount(id, el) {
    var box = document.getElementById(id);
    if (!box) return;
    box.textContent = "";
    box.appendChild(quiet(el));
    box.setAttribute("data-drawn", "true");
  }
  var PALETTE = d3.schemeTableau10;

  // ------------------------------------------------------------------ network
  function network(g, boxId) {
    var W = 900, H = 560, NS = "http://www.w3.org/2000/svg";
    var nodes = g.nodes.map(function (n) { return Object.assign({}, n); });
    var byId = {};
    nodes.forEach(function (n) { byId[n.id] = n; });
    var links = g.edges.filter(function (e) { return e.source in byId && e.target in byId; })
      .map(function (e) { return { source: e.source, target: e.target, weight: e.weight || 1 }; });
    var maxScore = d3.max(nodes, function (n) { return n.score; }) || 1;
    var radius = function (n) { return 4 + 10 * Math.sqrt((n.score || 0) / maxScore); };
    // d3-force is deterministic (phyllotaxis start, its own seeded jiggle): the same graph, the same picture
    var sim = d3.forceSimulation(nodes)
      .force("link", d3.forceLink(links).id(function (n) { return n.id; }).distance(40)
        .strength(function (l) { return Math.min(1, 0.2 + 0.1 * l.weight); }))
      .force("charge", d3.forceManyBody().strength(-60))
      .force("collide", d3.forceCollide(function (n) { return radius(n) + 2; }))
      .force("x", d3.forceX(0).strength(0.06)).force("y", d3.forceY(0).strength(0.08))
      .stop();
    for (var i = 0; i < 300; i++) sim.tick();
    var x0 = d3.min(nodes, function (n) { return n.x; }) - 20, x1 = d3.max(nodes, function (n) { return n.x; }) + 150;
    var y0 = d3.min(nodes, function (n) { return n.y; }) - 20, y1 = d3.max(nodes, function (n) { return n.y; }) + 20;
    var bw = Math.max(x1 - x0, 300), bh = Math.max(y1 - y0, 200);
    if (bw / bh < W / H) bw = bh * W / H; else bh = bw * H / W;
    var svg = d3.create("svg").attr("xmlns", NS).attr("class", "chart-network")
      .attr("viewBox", [x0, y0, bw, bh].map(function (v) { return v.toFixed(1); }).join(" "))
      .attr("preserveAspectRatio", "xMidYMid meet");
    var colour = function (n) { return n.community == null || n.community < 0 ? "#9aa0a6" : PALETTE[n.community % PALETTE.length]; };
    svg.append("g").attr("class", "edges").selectAll("line").data(links).join("line")
      .attr("x1", function (l) { return l.source.x.toFixed(1); }).attr("y1", function (l) { return l.source.y.toFixed(1); })
      .attr("x2", function (l) { return l.target.x.toFixed(1); }).attr("y2", function (l) { return l.target.y.toFixed(1); })
      .attr("stroke-width", function (l) { return Math.min(4, 0.6 + Math.log1p(l.weight)); });
    var node = svg.append("g").attr("class", "nodes").selectAll("a").data(nodes).join("a")
      .attr("href", function (n) { return n.href; })
      .attr("class", function (n) { return "node" + (n.broker ? " broker" : "") + (n.pioneer ? " pioneer" : ""); });
    node.append("path")
      .attr("transform", function (n) { return "translate(" + n.x.toFixed(1) + "," + n.y.toFixed(1) + ")"; })
      .attr("d", function (n) {
        var type = n.pioneer ? d3.symbolStar : n.broker ? d3.symbolDiamond : d3.symbolCircle;
        var r = radius(n) * (n.pioneer || n.broker ? 1.35 : 1);
        return d3.symbol(type, Math.PI * r * r)();
      })
      .attr("fill", colour);
    node.append("title").text(function (n) { return n.title || n.name; });
    var labelled = nodes.slice().sort(function (a, b) { return (b.score || 0) - (a.score || 0); })
      .filter(function (n, i) { return n.broker || n.pioneer || i < 8; });
    var labelIds = {};
    labelled.forEach(function (n) { labelIds[n.id] = true; });
    node.filter(function (n) { return labelIds[n.id]; }).append("text")
      .attr("x", function (n) { return (n.x + radius(n) + 4).toFixed(1); })
      .attr("y", function (n) { return (n.y + 4).toFixed(1); })
      .text(function (n) { return n.name.length > 34 ? n.name.slice(0, 32) + "…" : n.name; });
    var box = document.createElement("div");
    box.appendChild(svg.node());
    mount(boxId, box);
  }

  // ------------------------------------------------------------------ trends
  function trends(t, boxId) {
    if (!t.rows.length) return;
    var emerging = new Set(t.emerging), selected = t.selected;
    var rank = function (d) { return d.theme === selected ? 2 : emerging.has(d.theme) ? 1 : 0; };
    var rows = t.rows.slice().sort(function (a, b) { return rank(a) - rank(b); });
    var hot = t.rows.filter(function (d) { return rank(d) > 0; });
    var labels = Array.from(new Set(hot.map(function (d) { return d.label; })));
    var years = d3.extent(t.rows, function (d) { return d.year; });
    var chart = Plot.plot({
      width: 900, height: 190 * (t.sides.length), marginLeft: 50, marginRight: 200,
      x: { label: t.axis.year, tickFormat: "d", domain: years, ticks: Math.min(10, years[1] - years[0] + 1) },
      y: { label: t.axis.records, grid: true },
      fy: { label: null, domain: t.sides.map(function (s) { return s.label; }) },
      color: { domain: labels, range: PALETTE, legend: labels.length > 0 },
      marks: [
        Plot.lineY(rows.filter(function (d) { return rank(d) === 0; }), {
          x: "year", y: "n", z: "label", fy: "side_label", stroke: "#c4c8cc", strokeWidth: 1 }),
        Plot.lineY(hot, { x: "year", y: "n", z: "label", fy: "side_label", stroke: "label",
          strokeWidth: function (d) { return d.theme === selected ? 3.5 : 2.2; } }),
        Plot.dot(rows, { x: "year", y: "n", fy: "side_label", r: function (d) { return rank(d) ? 3.5 : 2; },
          fill: function (d) { return rank(d) ? d.label : "#c4c8cc"; }, href: "href",
          title: function (d) { return d.title; } }),
        Plot.text(hot, Plot.selectLast({ x: "year", y: "n", z: "label", fy: "side_label", text: "label",
          textAnchor: "start", dx: 6, fill: "label", lineWidth: 24 })),
      ],
    });
    mount(boxId, chart);
  }

  // ------------------------------------------------------------------ gaps
  function gaps(gp, boxId) {
    if (!gp.cells.length) return;
    var regions = gp.regions, themes = gp.themes;
    var extent = d3.max(gp.cells, function (c) { return Math.abs(c.gap); }) || 1;
    var chart = Plot.plot({
      width: Math.max(600, 160 + 70 * regions.length), height: 60 + 28 * themes.length,
      marginLeft: 230, marginBottom: 90, padding: 0.04,
      x: { label: gp.axis.region, domain: regions, tickRotate: -30 },
      y: { label: gp.axis.theme, domain: themes },
      color: { type: "diverging", scheme: "RdBu", reverse: true, domain: [-extent, extent], legend: true,
        label: gp.axis.gap },
      marks: [
        Plot.cell(gp.cells, { x: "region", y: "label", fill: "gap", href: "href",
          title: function (c) { return c.title; }, stroke: function (c) { return c.selected ? "#222" : null; },
          strokeWidth: 2 }),
        Plot.text(gp.cells, { x: "region", y: "label", text: function (c) { return c.gap > 0 ? "+" + c.gap : String(c.gap); },
          fill: function (c) { return Math.abs(c.gap) > extent * 0.55 ? "white" : "black"; }, fontSize: 10 }),
      ],
    });
    mount(boxId, chart);
  }

  var g = data("network-data");
  if (g && g.nodes.length) network(g, "network-chart");
  var t = data("trends-data");
  if (t) trends(t, "trends-chart");
  var gp = data("gaps-data");
  if (gp) gaps(gp, "gaps-chart");
})();
