/* citybridge: pan and zoom for the map and the network view (SVG viewBox), by mouse, wheel, touch, buttons
   and keyboard (arrows pan, + and - zoom, 0 resets, when the frame has focus). No dependencies. */
(function () {
  "use strict";
  function setup(frame) {
    var svg = frame.querySelector("svg.zoomable");
    if (!svg) return;
    var vb = svg.viewBox.baseVal, base = { x: vb.x, y: vb.y, w: vb.width, h: vb.height }, k = 1;
    var view = { x: base.x, y: base.y, w: base.w, h: base.h };
    function apply() {
      svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
      k = base.w / view.w;
      var s = Math.pow(k, 0.75);
      svg.querySelectorAll("[data-r]").forEach(function (el) {
        var r = parseFloat(el.getAttribute("data-r")) / s;
        if (el.tagName === "circle") el.setAttribute("r", r);
        else if (el.tagName === "rect") {
          var cx = parseFloat(el.getAttribute("x")) + parseFloat(el.getAttribute("width")) / 2;
          var cy = parseFloat(el.getAttribute("y")) + parseFloat(el.getAttribute("height")) / 2;
          el.setAttribute("x", cx - r); el.setAttribute("y", cy - r);
          el.setAttribute("width", 2 * r); el.setAttribute("height", 2 * r);
        } else if (el.hasAttribute("data-x")) {
          var x = parseFloat(el.getAttribute("data-x")), y = parseFloat(el.getAttribute("data-y"));
          el.setAttribute("d", "M" + x + "," + (y - r) + "l" + r + "," + r + "l" + (-r) + "," + r + "l" + (-r) + "," + (-r) + "z");
        }
      });
      svg.style.setProperty("--k", k);
      svg.dispatchEvent(new CustomEvent("zoomed", { detail: { k: k } }));
    }
    function zoom(factor, cx, cy) {
      var nk = Math.min(40, Math.max(1, k * factor));
      var w = base.w / nk, h = base.h / nk;
      if (cx === undefined) { cx = view.x + view.w / 2; cy = view.y + view.h / 2; }
      var fx = (cx - view.x) / view.w, fy = (cy - view.y) / view.h;
      view = { x: cx - fx * w, y: cy - fy * h, w: w, h: h };
      clamp(); apply();
    }
    function pan(dx, dy) { view.x += dx; view.y += dy; clamp(); apply(); }
    function clamp() {
      var mx = base.w * 0.25, my = base.h * 0.25;
      view.x = Math.min(Math.max(view.x, base.x - mx), base.x + base.w - view.w + mx);
      view.y = Math.min(Math.max(view.y, base.y - my), base.y + base.h - view.h + my);
    }
    function reset() { view = { x: base.x, y: base.y, w: base.w, h: base.h }; apply(); }
    function toSvg(evt) {
      var r = svg.getBoundingClientRect();
      var scale = Math.max(view.w / r.width, view.h / r.height);
      var ox = (r.width - view.w / scale) / 2, oy = (r.height - view.h / scale) / 2;
      return { x: view.x + (evt.clientX - r.left - ox) * scale, y: view.y + (evt.clientY - r.top - oy) * scale, s: scale };
    }
    svg.addEventListener("wheel", function (e) {
      e.preventDefault();
      var p = toSvg(e);
      zoom(e.deltaY < 0 ? 1.25 : 0.8, p.x, p.y);
    }, { passive: false });
    var drag = null, moved = false;
    svg.addEventListener("pointerdown", function (e) {
      drag = { x: e.clientX, y: e.clientY, s: toSvg(e).s }; moved = false;
    });
    window.addEventListener("pointermove", function (e) {
      if (!drag) return;
      var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
      if (moved) { pan(-dx * drag.s, -dy * drag.s); drag.x = e.clientX; drag.y = e.clientY; }
    });
    window.addEventListener("pointerup", function () { drag = null; });
    svg.addEventListener("click", function (e) { if (moved) { e.preventDefault(); moved = false; } }, true);
    var tools = document.querySelector('[aria-controls="' + frame.id + '"]');
    if (tools) tools.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-zoom]");
      if (!b) return;
      var what = b.getAttribute("data-zoom");
      if (what === "in") zoom(1.5); else if (what === "out") zoom(1 / 1.5); else reset();
    });
    frame.addEventListener("keydown", function (e) {
      var step = view.w * 0.1, handled = true;
      switch (e.key) {
        case "ArrowLeft": pan(-step, 0); break;
        case "ArrowRight": pan(step, 0); break;
        case "ArrowUp": pan(0, -step); break;
        case "ArrowDown": pan(0, step); break;
        case "+": case "=": zoom(1.5); break;
        case "-": zoom(1 / 1.5); break;
        case "0": reset(); break;
        default: handled = false;
      }
      if (handled) e.preventDefault();
    });
    var focus = svg.getAttribute("data-focus");
    if (focus) { var f = focus.split(",").map(parseFloat); zoom(4, f[0], f[1]); view.x = f[0] - view.w / 2; view.y = f[1] - view.h / 2; clamp(); apply(); }
    frame.citybridgeZoom = { zoom: zoom, pan: pan, reset: reset, apply: apply };
  }
  document.querySelectorAll(".map-frame").forEach(setup);
})();
