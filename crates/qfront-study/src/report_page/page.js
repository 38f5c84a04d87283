// The interactive part of a study's report: scatter plots of every pair of objectives (front
// highlighted and drawn as a step line, log axes when a metric spans more than 30x), a
// tooltip on hover, the selected trial's panel on click, and a sortable, filterable table of
// all trials. Written for this page, no library: the data is the STUDY object above it.
"use strict";
(function () {
  const S = window.STUDY;
  const NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const svg = (tag, attrs) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  };
  const fmt = (v) => (typeof v !== "number" ? String(v)
    : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : +v.toPrecision(4));
  const complete = S.trials.filter((t) => t.state === "complete" &&
    S.objectives.every((o) => typeof t.metrics[o.metric] === "number"));
  const byNumber = new Map(S.trials.map((t) => [t.number, t]));

  // Tooltip.
  const tip = el("div", { id: "tooltip", class: "tooltip" });
  document.body.appendChild(tip);
  function describe(t) {
    const lines = [`trial ${t.number}` + (t.front ? " (front)" : "")];
    for (const o of S.objectives) lines.push(`${o.metric}: ${fmt(t.metrics[o.metric])}`);
    for (const [k, v] of Object.entries(t.params)) lines.push(`${k} = ${fmt(v)}`);
    return lines.join("\n");
  }
  function showTip(t, x, y) {
    tip.textContent = describe(t);
    tip.style.left = x + 14 + "px";
    tip.style.top = y + 14 + "px";
    tip.style.display = "block";
  }
  const hideTip = () => { tip.style.display = "none"; };

  // How the optimizer chose a trial (the study's proposal record), in words.
  function chosenBy(p) {
    if (!p) return null;
    switch (p.kind) {
      case "sobol": return "the Sobol design (or a Sobol point after a failed model fit)";
      case "box-exploration": return "an exploration step into the largest hole of the box";
      case "line-exploration": return "an exploration step along the observed Pareto set";
      case "anchor": return `an anchor step toward the best predicted ${p.objective}`;
      case "acquisition": {
        if (!p.rule) return "the acquisition's maximum (qParEGO)";
        const point = Object.entries(p.reference || {}).map(([k, v]) => `${k} ${fmt(v)}`).join(", ");
        return `the acquisition's maximum against the ${p.rule} reference point (${point})`;
      }
      default: return p.kind;
    }
  }

  // The selected trial's panel.
  function select(number) {
    const t = byNumber.get(number);
    if (!t) return;
    document.querySelectorAll(".point.selected").forEach((p) => p.classList.remove("selected"));
    document.querySelectorAll(`.point[data-trial="${number}"]`).forEach((p) => p.classList.add("selected"));
    const panel = $("selected");
    panel.replaceChildren();
    panel.appendChild(el("h3", {}, `Trial ${t.number}: ${t.state}` + (t.front ? ", on the front" : "")));
    const table = el("table", { id: "selected-params" });
    table.appendChild(el("tr", {})).append(el("th", {}, "parameter"), el("th", {}, "value"));
    for (const [k, v] of Object.entries(t.params)) {
      table.appendChild(el("tr", {})).append(el("td", {}, k), el("td", {}, fmt(v)));
    }
    panel.appendChild(table);
    const metrics = el("table", { id: "selected-metrics" });
    metrics.appendChild(el("tr", {})).append(el("th", {}, "metric"), el("th", {}, "value"));
    for (const [k, v] of Object.entries(t.metrics)) {
      metrics.appendChild(el("tr", {})).append(el("td", {}, k), el("td", {}, fmt(v)));
    }
    panel.appendChild(metrics);
    if (t.layers && t.layers.length) {
      const layers = el("table", { id: "selected-layers" });
      layers.appendChild(el("tr", {})).append(...["layer", "op", "weight bits", "activation bits", "outputs"]
        .map((h) => el("th", {}, h)));
      for (const l of t.layers) {
        layers.appendChild(el("tr", {})).append(el("td", {}, l.name), el("td", {}, l.op),
          el("td", {}, l.weight_bits), el("td", {}, l.activation_bits ?? "float logits"), el("td", {}, l.outputs));
      }
      panel.appendChild(layers);
    }
    if (Array.isArray(t.latency_nodes) && t.latency_nodes.length) {
      const nodes = el("table", { id: "selected-latency" });
      nodes.appendChild(el("tr", {})).append(el("th", {}, "node"), el("th", {}, "median ms"));
      for (const n of t.latency_nodes) {
        nodes.appendChild(el("tr", {})).append(el("td", {}, n.node), el("td", {}, fmt(n.median_ms)));
      }
      panel.appendChild(el("p", {}, "Latency per node (this machine, node 0: input quantization):"));
      panel.appendChild(nodes);
    }
    if (t.error) panel.appendChild(el("p", { class: "error" }, `error: ${t.error}`));
    if (t.note) panel.appendChild(el("p", {}, `note: ${t.note}`));
    const how = chosenBy(t.proposal);
    if (how) panel.appendChild(el("p", { id: "selected-proposal" }, `Chosen by ${how}.`));
    if (t.state === "complete") {
      panel.appendChild(el("p", {}, "Export it:"));
      panel.appendChild(el("pre", { id: "export-command" }, S.export_command.split("{trial}").join(String(t.number))));
      const links = el("p", {});
      links.appendChild(el("a", { href: `../trials/${t.number}/model.qfm` }, "model.qfm"));
      if (S.onnx) {
        links.append(" · ");
        links.appendChild(el("a", { href: `../trials/${t.number}/model.onnx` }, "model.onnx"));
      }
      panel.appendChild(links);
    }
    location.hash = `trial-${number}`;
  }

  // One scatter plot.
  function axis(values) {
    const lo = Math.min(...values), hi = Math.max(...values);
    const log = lo > 0 && hi / lo > 30;
    const f = log ? Math.log10 : (v) => v;
    let a = f(lo), b = f(hi);
    if (a === b) { a -= 0.5; b += 0.5; }
    const pad = (b - a) * 0.05;
    return { log, a: a - pad, b: b + pad, f };
  }
  function ticks(ax) {
    if (ax.log) {
      const out = [];
      for (let e = Math.ceil(ax.a); e <= Math.floor(ax.b); e++) out.push([e, Math.pow(10, e)]);
      return out;
    }
    const step = Math.pow(10, Math.floor(Math.log10((ax.b - ax.a) / 4)));
    const mult = (ax.b - ax.a) / step > 20 ? 5 : (ax.b - ax.a) / step > 8 ? 2 : 1;
    const out = [];
    for (let v = Math.ceil(ax.a / (step * mult)) * step * mult; v <= ax.b; v += step * mult) out.push([v, v]);
    return out;
  }
  function scatter(ox, oy) {
    const W = 460, H = 330, L = 64, R = 16, T = 16, B = 44;
    const xs = complete.map((t) => t.metrics[ox.metric]);
    const ys = complete.map((t) => t.metrics[oy.metric]);
    const ax = axis(xs), ay = axis(ys);
    const px = (v) => L + (ax.f(v) - ax.a) / (ax.b - ax.a) * (W - L - R);
    const py = (v) => H - B - (ay.f(v) - ay.a) / (ay.b - ay.a) * (H - T - B);
    const root = svg("svg", { width: W, height: H, class: "scatter", "data-x": ox.metric, "data-y": oy.metric });
    root.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "frame" }));
    for (const [v, label] of ticks(ax)) {
      const x = L + (v - ax.a) / (ax.b - ax.a) * (W - L - R);
      root.appendChild(svg("line", { x1: x, x2: x, y1: H - B, y2: H - B + 4, class: "tick" }));
      const t = svg("text", { x, y: H - B + 16, "text-anchor": "middle" }); t.textContent = fmt(label); root.appendChild(t);
    }
    for (const [v, label] of ticks(ay)) {
      const y = H - B - (v - ay.a) / (ay.b - ay.a) * (H - T - B);
      root.appendChild(svg("line", { x1: L - 4, x2: L, y1: y, y2: y, class: "tick" }));
      const t = svg("text", { x: L - 6, y: y + 4, "text-anchor": "end" }); t.textContent = fmt(label); root.appendChild(t);
    }
    const xl = svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "label" });
    xl.textContent = `${ox.metric} (${ox.maximize ? "max" : "min"}${ax.log ? ", log" : ""})`;
    root.appendChild(xl);
    const yl = svg("text", { x: 12, y: (T + H - B) / 2, "text-anchor": "middle", class: "label",
      transform: `rotate(-90 12 ${(T + H - B) / 2})` });
    yl.textContent = `${oy.metric} (${oy.maximize ? "max" : "min"}${ay.log ? ", log" : ""})`;
    root.appendChild(yl);
    // The front of this pair as a step line (the study's front in all objectives is marked).
    const better = (o, a, b) => (o.maximize ? a >= b : a <= b);
    const pairFront = complete.filter((t) => !complete.some((u) => u !== t &&
      better(ox, u.metrics[ox.metric], t.metrics[ox.metric]) && better(oy, u.metrics[oy.metric], t.metrics[oy.metric]) &&
      (u.metrics[ox.metric] !== t.metrics[ox.metric] || u.metrics[oy.metric] !== t.metrics[oy.metric])));
    pairFront.sort((a, b) => a.metrics[ox.metric] - b.metrics[ox.metric]);
    if (pairFront.length > 1) {
      let d = "";
      pairFront.forEach((t, i) => {
        const x = px(t.metrics[ox.metric]), y = py(t.metrics[oy.metric]);
        if (i === 0) d += `M${x},${y}`;
        else {
          // A step: across at the previous point's height, then to this point.
          d += `L${x},${py(pairFront[i - 1].metrics[oy.metric])}L${x},${y}`;
        }
      });
      root.appendChild(svg("path", { d, class: "front-line" }));
    }
    for (const t of complete) {
      const c = svg("circle", { cx: px(t.metrics[ox.metric]), cy: py(t.metrics[oy.metric]), r: t.front ? 5 : 3.5,
        class: "point" + (t.front ? " front" : ""), "data-trial": t.number });
      c.addEventListener("mouseenter", (e) => showTip(t, e.pageX, e.pageY));
      c.addEventListener("mousemove", (e) => showTip(t, e.pageX, e.pageY));
      c.addEventListener("mouseleave", hideTip);
      c.addEventListener("click", () => select(t.number));
      root.appendChild(c);
    }
    return root;
  }

  // Trials inside every brushed range of the parallel coordinates (null: no brush).
  let brushed = null;

  // The table of all trials.
  let sortKey = "number", sortUp = true;
  function cell(t, key) {
    if (key === "number") return t.number;
    if (key === "state") return t.state;
    if (key === "params") return JSON.stringify(t.params);
    return t.metrics[key];
  }
  function renderTable() {
    const filter = $("filter").value.trim().toLowerCase();
    const keys = ["number", "state", ...S.objectives.map((o) => o.metric), "params"];
    const table = $("trials");
    table.replaceChildren();
    const head = table.appendChild(el("tr", {}));
    for (const k of keys) {
      const th = el("th", { class: "sortable", "data-key": k }, k + (k === sortKey ? (sortUp ? " ▲" : " ▼") : ""));
      th.addEventListener("click", () => { sortUp = k === sortKey ? !sortUp : true; sortKey = k; renderTable(); });
      head.appendChild(th);
    }
    const rows = S.trials.filter((t) => (!filter || JSON.stringify(t).toLowerCase().includes(filter)) &&
      (!brushed || brushed.has(t.number)));
    rows.sort((a, b) => {
      const x = cell(a, sortKey), y = cell(b, sortKey);
      const c = x === undefined ? 1 : y === undefined ? -1 : x < y ? -1 : x > y ? 1 : 0;
      return sortUp ? c : -c;
    });
    for (const t of rows) {
      const tr = table.appendChild(el("tr", { "data-trial": t.number, class: t.front ? "front-row" : "" }));
      for (const k of keys) {
        const v = cell(t, k);
        tr.appendChild(el("td", {}, v === undefined ? "" : k === "params" ? Object.entries(t.params).map(([a, b]) => `${a}=${fmt(b)}`).join(", ") : fmt(v)));
      }
      tr.addEventListener("click", () => select(t.number));
    }
    $("trial-count").textContent = `${rows.length} of ${S.trials.length} trials`;
  }

  // Parallel coordinates of the parameters and objectives, with brushing: drag along an
  // axis to keep the trials inside that range (the lines and the table follow), double-click
  // an axis to clear its range.
  function parallel() {
    const names = Object.keys(S.trials.find((t) => t.state === "complete")?.params || {});
    const dims = [...names.map((n) => ({ name: n, get: (t) => t.params[n] })),
      ...S.objectives.map((o) => ({ name: o.metric, get: (t) => t.metrics[o.metric] }))];
    if (!dims.length || !complete.length) return;
    for (const d of dims) {
      const values = complete.map(d.get);
      d.categorical = values.some((v) => typeof v !== "number");
      if (d.categorical) {
        d.levels = [...new Set(values.map(String))].sort();
        d.pos = (v) => d.levels.length === 1 ? 0.5 : d.levels.indexOf(String(v)) / (d.levels.length - 1);
      } else {
        const lo = Math.min(...values), hi = Math.max(...values);
        d.pos = (v) => hi === lo ? 0.5 : (v - lo) / (hi - lo);
        d.lo = lo; d.hi = hi;
      }
    }
    const W = Math.max(460, 120 * dims.length), H = 300, T = 30, B = 30, L = 50;
    const gap = (W - 2 * L) / Math.max(dims.length - 1, 1);
    const y = (p) => H - B - p * (H - T - B);
    const root = svg("svg", { width: W, height: H, id: "parallel", class: "chart" });
    const lines = complete.map((t) => {
      const pts = dims.map((d, i) => `${L + i * gap},${y(d.pos(d.get(t)))}`).join(" ");
      const line = svg("polyline", { points: pts, class: "pc-line" + (t.front ? " front" : ""), "data-trial": t.number });
      line.addEventListener("click", () => select(t.number));
      root.appendChild(line);
      return [t, line];
    });
    const brushes = new Map();
    function apply() {
      brushed = brushes.size ? new Set() : null;
      for (const [t, line] of lines) {
        const inside = [...brushes].every(([i, [a, b]]) => {
          const p = dims[i].pos(dims[i].get(t));
          return p >= a && p <= b;
        });
        line.classList.toggle("dimmed", !inside);
        if (brushed && inside) brushed.add(t.number);
      }
      renderTable();
    }
    dims.forEach((d, i) => {
      const x = L + i * gap;
      root.appendChild(svg("line", { x1: x, x2: x, y1: T, y2: H - B, class: "tick" }));
      const label = svg("text", { x, y: T - 10, "text-anchor": "middle", class: "label" });
      label.textContent = d.name; root.appendChild(label);
      const low = svg("text", { x: x + 4, y: H - B + 14 }); low.textContent = d.categorical ? d.levels[0] : fmt(d.lo);
      const high = svg("text", { x: x + 4, y: T + 4 }); high.textContent = d.categorical ? d.levels[d.levels.length - 1] : fmt(d.hi);
      root.append(low, high);
      const band = svg("rect", { x: x - 6, y: T, width: 12, height: H - T - B, class: "brush", "data-axis": i });
      const sel = svg("rect", { x: x - 8, y: T, width: 16, height: 0, class: "brush-range" });
      let start = null;
      const at = (e) => { const r = root.getBoundingClientRect(); return Math.min(1, Math.max(0, (H - B - (e.clientY - r.top)) / (H - T - B))); };
      band.addEventListener("mousedown", (e) => { start = at(e); e.preventDefault(); });
      root.addEventListener("mousemove", (e) => {
        if (start === null) return;
        const now = at(e), a = Math.min(start, now), b = Math.max(start, now);
        sel.setAttribute("y", y(b)); sel.setAttribute("height", y(a) - y(b));
      });
      root.addEventListener("mouseup", (e) => {
        if (start === null) return;
        const now = at(e), a = Math.min(start, now), b = Math.max(start, now);
        start = null;
        if (b - a > 0.01) brushes.set(i, [a, b]); else { brushes.delete(i); sel.setAttribute("height", 0); }
        apply();
      });
      band.addEventListener("dblclick", () => { brushes.delete(i); sel.setAttribute("height", 0); apply(); });
      root.append(sel, band);
    });
    $("parallel-box").appendChild(root);
  }

  // The hypervolume after each trial.
  function trace() {
    const points = S.hypervolume || [];
    if (points.length < 2) return;
    const W = 460, H = 220, L = 64, R = 16, T = 16, B = 36;
    const n = points.length, hi = Math.max(...points.map((p) => p[1])) || 1;
    const px = (i) => L + i / (n - 1) * (W - L - R), py = (v) => H - B - v / hi * (H - T - B);
    const root = svg("svg", { width: W, height: H, id: "hypervolume", class: "chart" });
    root.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "frame" }));
    root.appendChild(svg("polyline", { points: points.map((p, i) => `${px(i)},${py(p[1])}`).join(" "), class: "front-line" }));
    const xl = svg("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle", class: "label" });
    xl.textContent = `trials (0..${points[n - 1][0]}); hypervolume up to ${fmt(hi)}`; root.appendChild(xl);
    if (S.hypervolume_reference) {
      const note = svg("text", { x: W - R, y: T - 4, "text-anchor": "end", class: "label" });
      note.textContent = `reference: ${S.hypervolume_reference}`; root.appendChild(note);
    }
    $("trace-box").appendChild(root);
  }

  // The SAAS importance of each parameter per objective, as bars.
  function importance() {
    if (!S.importance) return;
    const box = $("importance-box");
    for (const [objective, values] of Object.entries(S.importance)) {
      const table = el("table", { class: "importance" });
      table.appendChild(el("tr", {})).append(el("th", {}, objective), el("th", {}, "importance"));
      const top = Math.max(...values.map((v) => v[1])) || 1;
      for (const [name, v] of values) {
        const bar = el("td", {});
        bar.appendChild(el("span", { class: "bar", style: `width:${Math.round(120 * v / top)}px` }));
        bar.append(" " + fmt(v));
        table.appendChild(el("tr", {})).append(el("td", {}, name), bar);
      }
      box.appendChild(table);
    }
  }

  const plots = $("plots");
  for (let i = 0; i < S.objectives.length; i++) {
    for (let j = i + 1; j < S.objectives.length; j++) plots.appendChild(scatter(S.objectives[i], S.objectives[j]));
  }
  if (S.objectives.length === 1) plots.appendChild(el("p", {}, "One objective: see the table."));
  $("filter").addEventListener("input", renderTable);
  renderTable();
  parallel();
  trace();
  importance();
  const failed = S.trials.filter((t) => t.state === "failed");
  const list = $("failed");
  for (const t of failed) list.appendChild(el("li", {}, `trial ${t.number}: ${t.error || "(no error recorded)"}`));
  if (!failed.length) list.appendChild(el("li", {}, "none"));
  const hash = location.hash.match(/^#trial-(\d+)$/);
  if (hash) select(Number(hash[1]));
})();
