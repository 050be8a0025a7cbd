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
    var W = 960, H = g.nodes.length < 12 ? 280 : 600, PAD = 24, LABEL_ROOM = 170;
    var nodes = g.nodes.map(function (n) { return Object.assign({}, n); });
    var byId = {};
    nodes.forEach(function (n) { byId[n.id] = n; });
    var links = g.edges.filter(function (e) { return e.source in byId && e.target in byId; })
      .map(function (e) { return { source: e.source, target: e.target, weight: e.weight || 1 }; });
    var maxScore = d3.max(nodes, function (n) { return n.score; }) || 1;
    var radius = function (n) { return 3.5 + 8 * Math.sqrt((n.score || 0) / maxScore); };
    // d3-force is deterministic (phyllotaxis start, its own seeded jiggle): the same graph, the same picture
    var sim = d3.forceSimulation(nodes)
      .force("link", d3.forceLink(links).id(function (n) { return n.id; }).distance(55)
        .strength(function (l) { return Math.min(0.9, 0.15 + 0.1 * l.weight); }))
      .force("charge", d3.forceManyBody().strength(-140).distanceMax(400))
      .force("collide", d3.forceCollide(function (n) { return radius(n) + 6; }))
      .force("x", d3.forceX(0).strength(0.07)).force("y", d3.forceY(0).strength(0.1))
      .stop();
    for (var i = 0; i < 400; i++) sim.tick();
    // fit the layout into the picture, keeping its shape and room on the right for labels
    var xs = d3.extent(nodes, function (n) { return n.x; }), ys = d3.extent(nodes, function (n) { return n.y; });
    var k = Math.min((W - 2 * PAD - LABEL_ROOM) / Math.max(xs[1] - xs[0], 1), (H - 2 * PAD) / Math.max(ys[1] - ys[0], 1), 2.5);
    var ox = PAD + ((W - 2 * PAD - LABEL_ROOM) - k * (xs[1] - xs[0])) / 2, oy = PAD + ((H - 2 * PAD) - k * (ys[1] - ys[0])) / 2;
    nodes.forEach(function (n) { n.px = ox + k * (n.x - xs[0]); n.py = oy + k * (n.y - ys[0]); });
    var svg = d3.create("svg").attr("class", "chart-network").attr("viewBox", "0 0 " + W + " " + H)
      .attr("preserveAspectRatio", "xMidYMid meet");
    var colour = function (n) { return n.community == null || n.community < 0 ? "#9aa0a6" : PALETTE[n.community % PALETTE.length]; };
    svg.append("g").attr("class", "edges").selectAll("line").data(links).join("line")
      .attr("x1", function (l) { return l.source.px.toFixed(1); }).attr("y1", function (l) { return l.source.py.toFixed(1); })
      .attr("x2", function (l) { return l.target.px.toFixed(1); }).attr("y2", function (l) { return l.target.py.toFixed(1); })
      .attr("stroke-width", function (l) { return Math.min(4, 0.6 + Math.log1p(l.weight)); });
    // marked agents on top, so a broker or a pioneer is never hidden under a crowd
    var order = nodes.slice().sort(function (a, b) { return (a.broker || a.pioneer) - (b.broker || b.pioneer) || a.score - b.score; });
    var node = svg.append("g").attr("class", "nodes").selectAll("a").data(order).join("a")
      .attr("href", function (n) { return n.href; })
      .attr("class", function (n) { return "node" + (n.broker ? " broker" : "") + (n.pioneer ? " pioneer" : ""); });
    node.append("path")
      .attr("transform", function (n) { return "translate(" + n.px.toFixed(1) + "," + n.py.toFixed(1) + ")"; })
      .attr("d", function (n) {
        var type = n.pioneer ? d3.symbolStar : n.broker ? d3.symbolDiamond : d3.symbolCircle;
        var r = radius(n) * (n.pioneer || n.broker ? 1.3 : 1);
        return d3.symbol(type, Math.PI * r * r)();
      })
      .attr("fill", colour);
    node.append("title").text(function (n) { return n.title || n.name; });
    // labels: the most central, then brokers and pioneers, skipping any that would overlap one already placed
    var placed = [], wanted = nodes.slice().sort(function (a, b) {
      return ((b.broker || b.pioneer) ? 1 : 0) - ((a.broker || a.pioneer) ? 1 : 0) || b.score - a.score; });
    var labelled = {};
    wanted.slice(0, 24).forEach(function (n) {
      var text = n.name.length > 30 ? n.name.slice(0, 28) + "…" : n.name;
      var box = { x0: n.px + radius(n) + 3, y0: n.py - 8, x1: n.px + radius(n) + 3 + text.length * 6.3, y1: n.py + 6 };
      var clash = placed.some(function (b) { return !(box.x1 < b.x0 || box.x0 > b.x1 || box.y1 < b.y0 || box.y0 > b.y1); });
      if (!clash && placed.length < 14) { placed.push(box); labelled[n.id] = text; }
    });
    node.filter(function (n) { return n.id in labelled; }).append("text")
      .attr("x", function (n) { return (n.px + radius(n) + 3).toFixed(1); })
      .attr("y", function (n) { return (n.py + 4).toFixed(1); })
      .text(function (n) { return labelled[n.id]; });
    var box = document.createElement("div");
    box.appendChild(svg.node());
    mount(boxId, box);
  }

  // ------------------------------------------------------------------ trends
  function trendPanel(t, side, emerging, selected) {
    var rank = function (d) { return d.theme === selected ? 2 : emerging.has(d.theme) ? 1 : 0; };
    var rows = t.rows.filter(function (d) { return d.side === side.key; });
    var quiet = rows.filter(function (d) { return rank(d) === 0; }), hot = rows.filter(function (d) { return rank(d) > 0; });
    var mine = rows.filter(function (d) { return d.theme === selected; });
    var years = d3.extent(t.rows, function (d) { return d.year; });
    return Plot.plot({
      width: 900, height: 240, marginLeft: 50, marginRight: 190, marginTop: 28,
      x: { label: t.axis.year, tickFormat: "d", domain: years, ticks: Math.min(12, years[1] - years[0] + 1) },
      y: { label: side.label + " · " + t.axis.records, grid: true },
      color: { domain: t.colours, range: PALETTE },
      marks: [
        Plot.lineY(quiet, { x: "year", y: "n", z: "label", stroke: "#c4c8cc", strokeWidth: 1 }),
        Plot.lineY(hot, { x: "year", y: "n", z: "label", stroke: "label", strokeWidth: 2 }),
        Plot.lineY(mine, { x: "year", y: "n", stroke: "#1b1f24", strokeWidth: 4 }),
        // one mark per colour kind: a fill channel mixing colour names with labels would drop the dots whose
        // value is not in the colour scale (the chosen theme's, drawn black)
        Plot.dot(quiet, { x: "year", y: "n", r: 2, fill: "#c4c8cc", href: "href", title: "title" }),
        Plot.dot(hot.filter(function (d) { return d.theme !== selected; }),
          { x: "year", y: "n", r: 3.5, fill: "label", href: "href", title: "title" }),
        Plot.dot(mine, { x: "year", y: "n", r: 3.5, fill: "#1b1f24", href: "href", title: "title" }),
        Plot.text(mine, Plot.selectLast({ x: "year", y: "n", text: "label", textAnchor: "start", dx: 8,
          fontWeight: "bold", lineWidth: 18 })),
      ],
    });
  }

  function trends(t, boxId) {
    if (!t.rows.length) return;
    var emerging = new Set(t.emerging);
    t.colours = Array.from(new Set(t.rows.filter(function (d) { return emerging.has(d.theme) && d.theme !== t.selected; })
      .map(function (d) { return d.label; })));
    var box = document.createElement("div");
    if (t.colours.length) {
      var key = Plot.legend({ color: { domain: t.colours, range: PALETTE }, swatchSize: 12 });
      var head = document.createElement("p");
      head.className = "trend-key";
      head.textContent = t.axis.emerging;
      box.appendChild(head);
      box.appendChild(key);
    }
    t.sides.forEach(function (side) { box.appendChild(trendPanel(t, side, emerging, t.selected)); });
    mount(boxId, box);
  }

  // ------------------------------------------------------------------ gaps
  function gaps(gp, boxId) {
    if (!gp.cells.length) return;
    var regions = gp.regions, themes = gp.themes;
    var extent = d3.max(gp.cells, function (c) { return Math.abs(c.gap); }) || 1;
    var chart = Plot.plot({
      width: Math.max(600, 160 + 70 * regions.length), height: 60 + 28 * themes.length,
      marginLeft: 270, marginBottom: 110, padding: 0.04,
      x: { label: gp.axis.region, domain: regions, tickRotate: -35 },
      y: { label: null, domain: themes },
      color: { type: "diverging", scheme: "RdBu", reverse: true, domain: [-extent, extent], legend: true,
        label: gp.axis.gap },
      marks: [
        // every cell filled; the chosen theme's cells outlined by a second mark (a null stroke channel value
        // would make Plot drop the cell altogether)
        Plot.cell(gp.cells, { x: "region", y: "label", fill: "gap", href: "href",
          title: function (c) { return c.title; } }),
        Plot.cell(gp.cells.filter(function (c) { return c.selected; }), { x: "region", y: "label", fill: "none",
          stroke: "#222", strokeWidth: 2 }),
        Plot.text(gp.cells, { x: "region", y: "label", text: function (c) { return c.gap > 0 ? "+" + c.gap : String(c.gap); },
          fill: "black", stroke: "white", strokeWidth: 3, fontSize: 10 }),
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
