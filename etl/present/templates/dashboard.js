// Filters apply to every dataset that has the filter's column (a visual whose dataset lacks the column of a
// set filter says so); a visual's `where` restricts its own rows; measures are sums, ratios of sums or maxima.
// Colours are fixed per category value and per measure (SPEC.colors, a measure's color; otherwise by the
// value's place among all values of its column), so a filter never recolours a chart.
(function () {
  "use strict";
  const state = {};
  const CURRENCY = CONFIG.currency;
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"];
  const EMPTY = "No data for this filter";
  const idx = (ds, col) => DATA[ds].columns.indexOf(col);
  const kind = (ds, col) => (SPEC.datasets[ds].columns || {})[col];
  const fmt = {
    int: new Intl.NumberFormat("en-US", {maximumFractionDigits: 0}),
    money: new Intl.NumberFormat("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2}),
    pct: new Intl.NumberFormat("en-US", {style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1}),
    ratio: new Intl.NumberFormat("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 4}),
  };
  const formatOf = m => SPEC.measures[m].format || "ratio";
  const showAs = (format, v) => (v === null || v === undefined || !isFinite(v)) ? "\u2013"
    : format === "money" ? `${CURRENCY} ${fmt.money.format(v)}` : fmt[format].format(v);
  const show = (m, v) => showAs(formatOf(m), v);
  // Plotly reads <a>, <b>, <br> ... in labels, names and cells as markup: data text is shown as text
  const esc = v => String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  function distinct(column) {
    const values = new Map();
    for (const ds of Object.values(DATA)) {
      const i = ds.columns.indexOf(column);
      if (i < 0) continue;
      for (const r of ds.rows) if (r[i] !== null && !values.has(r[i])) values.set(r[i], r[i]);
    }
    return Array.from(values.keys()).sort();
  }

  const domains = {};
  function colorOf(column, value, sequential) {
    const fixed = (SPEC.colors || {})[column];
    if (fixed && fixed[value]) return fixed[value];
    const all = domains[column] || (domains[column] = distinct(column));
    const i = Math.max(0, all.indexOf(value));
    if (sequential) {  // older cohorts light, newer dark: one blue per value, whatever the filter
      const t = all.length > 1 ? i / (all.length - 1) : 1;
      const mix = (a, b) => Math.round(a + (b - a) * t);
      return `rgb(${mix(158, 8)},${mix(202, 48)},${mix(225, 107)})`;
    }
    return PALETTE[i % PALETTE.length];
  }
  const measureColor = (m, k) => SPEC.measures[m].color || PALETTE[k % PALETTE.length];

  function orderedBy(column, orderColumn) {
    const order = new Map();
    for (const ds of Object.values(DATA)) {
      const i = ds.columns.indexOf(column), j = ds.columns.indexOf(orderColumn);
      if (i < 0 || j < 0) continue;
      for (const r of ds.rows) order.set(r[i], r[j]);
    }
    return (a, b) => (order.has(a) ? order.get(a) : 99) - (order.has(b) ? order.get(b) : 99) || String(a).localeCompare(String(b));
  }

  function option(select, value, label) {
    const o = document.createElement("option");
    o.value = value; o.textContent = label; select.appendChild(o);
  }

  function setupFilters() {
    for (const f of SPEC.filters) {
      let values = distinct(f.column);
      if (f.order_by) values = values.sort(orderedBy(f.column, f.order_by));
      if (f.type === "range") {
        const from = document.getElementById(`f-${f.id}-from`), to = document.getElementById(`f-${f.id}-to`);
        values.forEach(v => { option(from, v, v); option(to, v, v); });
        from.value = values[0] || ""; to.value = values[values.length - 1] || "";
        state[f.id] = {from: from.value, to: to.value, all: values};
        from.addEventListener("change", () => { state[f.id].from = from.value; render(); });
        to.addEventListener("change", () => { state[f.id].to = to.value; render(); });
      } else {
        const select = document.getElementById(`f-${f.id}`);
        option(select, "", "All");
        values.forEach(v => option(select, v, v));
        state[f.id] = "";
        select.addEventListener("change", () => { state[f.id] = select.value; render(); });
      }
    }
    document.getElementById("f-reset").addEventListener("click", () => {
      for (const f of SPEC.filters) {
        if (f.type === "range") {
          const s = state[f.id]; s.from = s.all[0] || ""; s.to = s.all[s.all.length - 1] || "";
          document.getElementById(`f-${f.id}-from`).value = s.from;
          document.getElementById(`f-${f.id}-to`).value = s.to;
        } else { state[f.id] = ""; document.getElementById(`f-${f.id}`).value = ""; }
      }
      render();
    });
  }

  function filtered(name) {
    const ds = DATA[name];
    const tests = [];
    for (const f of SPEC.filters) {
      const i = ds.columns.indexOf(f.column);
      if (i < 0) continue;
      const s = state[f.id];
      if (f.type === "range") {
        if (s.from) tests.push(r => r[i] !== null && r[i] >= s.from);
        if (s.to) tests.push(r => r[i] !== null && r[i] <= s.to);
      } else if (s) tests.push(r => r[i] === s);
    }
    return ds.rows.filter(r => tests.every(t => t(r)));
  }

  // A visual's own `where` ({column: [values]}) keeps only its rows (e.g. money out: the spending rows)
  function restricted(v, rows) {
    if (!v.where) return rows;
    const tests = Object.entries(v.where).map(([c, values]) => {
      const i = idx(v.dataset, c), allowed = [].concat(values);
      return r => allowed.includes(r[i]);
    });
    return rows.filter(r => tests.every(t => t(r)));
  }

  function measure(ds, name, rows) {
    const m = SPEC.measures[name];
    if (m.agg === "max") {
      const i = idx(ds, m.num[0]);
      return rows.reduce((best, r) => (r[i] !== null && (best === null || Number(r[i]) > best)) ? Number(r[i]) : best, null);
    }
    const sum = cols => cols.reduce((acc, c) => {
      const i = idx(ds, c);
      return acc + rows.reduce((a, r) => a + (r[i] === null ? 0 : Number(r[i])), 0);
    }, 0);
    const num = sum(m.num);
    if (!m.den) return rows.length ? num : (m.format === "int" || m.format === "money" ? 0 : null);
    const den = sum(m.den);
    return den === 0 ? null : num / den;
  }

  // A measure whose columns hold nothing in the whole dataset (no application carries a status) is not
  // drawn as a line at 0: it is not in the data.
  function present(ds, name) {
    const cols = SPEC.measures[name].present_if;
    if (!cols) return true;
    return cols.some(c => { const i = idx(ds, c); return DATA[ds].rows.some(r => r[i] !== null && Number(r[i]) !== 0); });
  }

  function groups(ds, rows, column) {
    const i = idx(ds, column), out = new Map();
    for (const r of rows) { const k = r[i]; if (!out.has(k)) out.set(k, []); out.get(k).push(r); }
    return out;
  }

  function keysOf(v, grouped, column, orderColumn) {
    let keys = Array.from(grouped.keys());
    if (orderColumn) keys.sort(orderedBy(column, orderColumn));
    else keys.sort((a, b) => (typeof a === "number" && typeof b === "number") ? a - b : String(a).localeCompare(String(b)));
    return keys;
  }

  const layoutFor = (v, extra) => Object.assign({
    title: {text: v.title, font: {size: 14}}, margin: {l: 60, r: 20, t: 40, b: 70},
    legend: {orientation: "h", y: -0.2, traceorder: "normal"}, font: {size: 11}, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  }, extra || {});

  // Plotly does not wrap an annotation: break a long message between words
  function wrap(text, width) {
    const lines = [];
    for (const word of text.split(" ")) {
      const last = lines.length - 1;
      if (last >= 0 && (lines[last] + " " + word).length <= width) lines[last] += " " + word; else lines.push(word);
    }
    return lines.join("<br>");
  }

  function emptyFigure(v, message) {
    return [[], layoutFor(v, {xaxis: {visible: false}, yaxis: {visible: false}, annotations: [
      {text: wrap(esc(message || EMPTY), 60), xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false,
       font: {size: message ? 13 : 15, color: "#52606d"}}]})];
  }

  // A visual about an optional column (`present_if`: its dataset's columns that count what carries it)
  // whose data nowhere carries it says so (`absent_text`), instead of an empty or all-"none" chart that
  // could be read as a finding. Judged on the whole dataset, not the filtered rows.
  function absent(v) {
    if (!v.present_if) return false;
    return !v.present_if.some(c => { const i = idx(v.dataset, c); return DATA[v.dataset].rows.some(r => r[i] !== null && Number(r[i]) !== 0); });
  }

  // Whole-number steps for counts, so an axis never shows 0.5 of a loan
  function niceStep(max) {
    if (!(max > 0)) return 1;
    const raw = max / 5, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    return Math.max(1, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p);
  }

  function axisFor(format, max) {
    const axis = {automargin: true, rangemode: "tozero"};
    if (format === "int") return Object.assign(axis, {tickformat: ",d", tick0: 0, dtick: niceStep(max)});
    if (format === "money") return Object.assign(axis, {tickformat: ",.0f", tickprefix: `${CURRENCY} `});
    if (format === "pct") return Object.assign(axis, {tickformat: ".0%"});
    return Object.assign(axis, {tickformat: ",.2f"});
  }

  function xy(v, rows) {
    const traces = [];
    const byX = groups(v.dataset, rows, v.x);
    let keys = keysOf(v, byX, v.x, v.x_order_by);
    const type = v.type === "line" ? "scatter" : "bar";
    const xKind = kind(v.dataset, v.x);
    const xaxis = {automargin: true, type: xKind === "DATETIME" ? "date" : (type === "scatter" && xKind === "INTEGER") ? "linear" : "category"};
    const measures = v.measures.filter(m => present(v.dataset, m));
    const axisOf = (m, k) => (measures.length > 1 && k > 0 && formatOf(m) !== formatOf(measures[0])) ? "y2" : "y";
    const trace = (name, m, ys, color, yaxis) => {
      const t = {type, name, x: xaxis.type === "category" ? keys.map(esc) : keys.slice(), y: ys, text: ys.map(y => show(m, y)), yaxis,
                 hovertemplate: `%{x}: %{text}<extra>${name}</extra>`, marker: {color}};
      if (type === "scatter") { t.mode = "lines+markers"; t.line = {color}; } else t.textposition = "none";
      return t;
    };
    if (v.series && measures.length) {
      const m = measures[0];
      const bySeries = groups(v.dataset, rows, v.series);
      for (const s of keysOf(v, bySeries, v.series, null)) {
        const g = groups(v.dataset, bySeries.get(s), v.x);
        traces.push(trace(esc(s), m, keys.map(k => g.has(k) ? measure(v.dataset, m, g.get(k)) : null),
                          colorOf(v.series, s, v.sequential), "y"));
      }
    } else {
      if (v.sort && measures.length) {
        const m = measures[0];
        keys.sort((a, b) => (measure(v.dataset, m, byX.get(b)) || 0) - (measure(v.dataset, m, byX.get(a)) || 0));
      }
      measures.forEach((m, k) => {
        const t = trace(esc(SPEC.measures[m].label), m, keys.map(key => measure(v.dataset, m, byX.get(key))),
                        measureColor(m, k), axisOf(m, k));
        if (type === "bar" && !v.stacked) t.offsetgroup = String(k);
        traces.push(t);
      });
    }
    if (!traces.length || traces.every(t => t.y.every(y => y === null || y === undefined))) return emptyFigure(v);
    const maxOf = axis => {
      const ts = traces.filter(t => t.yaxis === axis);
      if (v.stacked) return Math.max(0, ...keys.map((_, i) => ts.reduce((a, t) => a + (t.y[i] || 0), 0)));
      return Math.max(0, ...ts.flatMap(t => t.y.filter(y => y !== null)));
    };
    const layout = layoutFor(v, {
      barmode: v.stacked ? "stack" : "group", xaxis, yaxis: axisFor(formatOf(measures[0]), maxOf("y")),
    });
    const second = traces.find(t => t.yaxis === "y2");
    if (second) {
      const m2 = measures.find((m, k) => axisOf(m, k) === "y2");
      layout.yaxis2 = Object.assign(axisFor(formatOf(m2), maxOf("y2")), {overlaying: "y", side: "right"});
    }
    return [traces, layout];
  }

  // n in every cell and in the hover; the colour scale starts at 0; a cell with fewer than min_n is grey
  function heatmap(v, rows) {
    const byX = groups(v.dataset, rows, v.x), byY = groups(v.dataset, rows, v.y);
    const xs = keysOf(v, byX, v.x, v.x_order_by), ys = keysOf(v, byY, v.y, v.y_order_by);
    if (!xs.length || !ys.length) return emptyFigure(v);
    const xi = idx(v.dataset, v.x);
    const cells = ys.map(y => xs.map(x => byY.get(y).filter(r => r[xi] === x)));
    const nOf = c => v.n_measure ? measure(v.dataset, v.n_measure, c) : c.length;
    const n = cells.map(row => row.map(c => c.length ? nOf(c) : 0));
    let z = cells.map(row => row.map(c => c.length ? measure(v.dataset, v.measure, c) : null));
    let format = formatOf(v.measure);
    if (v.normalize === "row") {
      z = z.map(row => { const total = row.reduce((a, x) => a + (x || 0), 0); return row.map(x => total ? (x || 0) / total : null); });
      format = "pct";
    }
    const minN = v.min_n || 1;
    const low = n.map(row => row.map(k => k < minN));
    const text = z.map((row, i) => row.map((val, j) => `${showAs(format, val)}<br>n=${fmt.int.format(n[i][j])}`));
    const hover = `%{y} \u2192 %{x}: %{text}<extra></extra>`;
    const shown = z.map((row, i) => row.map((val, j) => low[i][j] ? null : val));
    const values = shown.flat().filter(x => x !== null);
    const zmax = Math.max(0, ...values);
    const grey = {type: "heatmap", x: xs.map(esc), y: ys.map(esc), z: low.map(row => row.map(l => l ? 1 : null)),
                  colorscale: [[0, "#d9dde1"], [1, "#d9dde1"]], showscale: false, text, texttemplate: "%{text}",
                  hovertemplate: hover, name: "low-n", xgap: 1, ygap: 1};
    const main = {type: "heatmap", x: xs.map(esc), y: ys.map(esc), z: shown, text, texttemplate: "%{text}",
                  colorscale: "Reds", zmin: 0, zmax: zmax > 0 ? zmax : 1, zauto: false, hovertemplate: hover, name: "value",
                  xgap: 1, ygap: 1, colorbar: {tickformat: format === "pct" ? ".0%" : ",.2f", title: {text: format === "pct" ? "" : ""}}};
    const note = `Grey: fewer than ${minN} ${v.n_measure ? SPEC.measures[v.n_measure].label.toLowerCase() : "rows"}`;
    return [[grey, main], layoutFor(v, {xaxis: {type: "category"}, yaxis: {type: "category", automargin: true, autorange: "reversed"},
             annotations: [{text: note, xref: "paper", yref: "paper", x: 0, y: -0.18, showarrow: false, font: {size: 10, color: "#52606d"}, xanchor: "left"}]})];
  }

  function table(v, rows) {
    const si = idx(v.dataset, v.sort_by);
    // a top-N table leaves out rows without the value it ranks by (0 or blank): they rank nothing
    const kept = v.exclude_zero ? rows.filter(r => r[si] !== null && Number(r[si]) !== 0) : rows;
    if (!kept.length) return emptyFigure(v);
    const sorted = kept.slice().sort((a, b) => {
      const x = a[si], y = b[si];
      if (x === null) return 1; if (y === null) return -1;
      return v.sort === "desc" ? (y > x ? 1 : y < x ? -1 : 0) : (x > y ? 1 : x < y ? -1 : 0);
    }).slice(0, v.limit || 50);
    const cols = v.columns.map(c => idx(v.dataset, c));
    const formats = v.formats || {};
    const cell = (x, c) => x === null ? "" : formats[c] ? showAs(formats[c], Number(x))
      : (typeof x === "number" ? (Number.isInteger(x) ? fmt.int.format(x) : x.toFixed(Math.abs(x) < 10 ? 4 : 2)) : esc(x));
    return [[{type: "table", header: {values: v.columns.map(esc), fill: {color: "#d9e2ec"}, align: "left", font: {size: 11}},
              cells: {values: cols.map((i, k) => sorted.map(r => cell(r[i], v.columns[k]))), align: "left", font: {size: 11}}}],
            layoutFor(v, {margin: {l: 10, r: 10, t: 40, b: 10}})];
  }

  // The states of a packaged map (MAPS), shaded by the measure; names are matched without case, spaces or
  // a trailing "State", and through the map's aliases ("Abuja FCT" is the Federal Capital Territory).
  const SVG = "http://www.w3.org/2000/svg";
  const norm = s => String(s).toLowerCase().replace(/[^a-z0-9]+/g, " ").replace(/ state$/, "").trim();
  function regionId(geo, name) {
    const key = norm(name);
    const alias = Object.keys(geo.aliases).find(k => norm(k) === key);
    if (alias) return geo.aliases[alias];
    const hit = geo.locations.find(l => norm(l.name) === key || norm(l.id) === key);
    return hit ? hit.id : null;
  }
  function shade(t) {
    const mix = (a, b) => Math.round(a + (b - a) * t);
    return `rgb(${mix(222, 8)},${mix(235, 48)},${mix(247, 107)})`;
  }
  function drawMap(v, rows, el) {
    const geo = MAPS[v.map];
    const values = new Map(), unplaced = [];
    for (const [name, rs] of groups(v.dataset, rows, v.region)) {
      const value = measure(v.dataset, v.measure, rs), id = name === null ? null : regionId(geo, name);
      if (id) values.set(id, (values.get(id) || 0) + value); else unplaced.push([name === null ? "(blank)" : name, value]);
    }
    const max = Math.max(0, ...values.values());
    const box = document.createElement("div");
    box.className = "map";
    const title = document.createElement("div");
    title.className = "map-title"; title.textContent = v.title;
    box.appendChild(title);
    if (!values.size && !unplaced.length) {
      const empty = document.createElement("div");
      empty.className = "no-data"; empty.textContent = EMPTY;
      box.appendChild(empty);
      el.replaceChildren(box);
      return true;
    }
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", geo.viewBox); svg.setAttribute("class", "map-svg"); svg.setAttribute("role", "img");
    for (const loc of geo.locations) {
      const path = document.createElementNS(SVG, "path");
      const value = values.has(loc.id) ? values.get(loc.id) : null;
      path.setAttribute("d", loc.path);
      path.setAttribute("fill", value === null ? "#f0f0f0" : shade(max > 0 ? value / max : 0));
      path.setAttribute("stroke", "#9aa5b1"); path.setAttribute("stroke-width", "0.6");
      path.dataset.region = loc.id; path.dataset.value = value === null ? "" : String(value);
      const tip = document.createElementNS(SVG, "title");
      tip.textContent = `${loc.name}: ${value === null ? "no loans" : show(v.measure, value)}`;
      path.appendChild(tip);
      svg.appendChild(path);
    }
    box.appendChild(svg);
    const legend = document.createElement("div");
    legend.className = "map-legend";
    legend.textContent = `${SPEC.measures[v.measure].label}: lightest ${show(v.measure, 0)}, darkest ${show(v.measure, max)}; grey: none`;
    box.appendChild(legend);
    if (unplaced.length) {
      const off = document.createElement("div");
      off.className = "map-unplaced";
      off.textContent = "Not on the map: " + unplaced.map(([n, val]) => `${n} ${show(v.measure, val)}`).join(", ");
      box.appendChild(off);
    }
    const credit = document.createElement("div");
    credit.className = "map-credit"; credit.textContent = geo.attribution;
    box.appendChild(credit);
    el.replaceChildren(box);
    return false;
  }

  // A KPI over months shows the latest period in the filtered rows (where its value exists) and the change
  // from the period before; other KPIs add up every filtered row.
  function kpiRows(v, rows) {
    if (!v.latest) return {rows};
    const i = idx(v.dataset, v.latest);
    const usable = v.nonnull ? rows.filter(r => v.nonnull.every(c => r[idx(v.dataset, c)] !== null)) : rows;
    const periods = Array.from(new Set(usable.map(r => r[i]))).sort();
    const last = periods[periods.length - 1], prev = periods[periods.length - 2];
    return {rows: usable.filter(r => r[i] === last), period: last, previous: prev === undefined ? null : usable.filter(r => r[i] === prev), prevPeriod: prev};
  }

  function change(m, now, before) {
    if (now === null || before === null || before === undefined) return "";
    const d = now - before, arrow = d > 0 ? "\u25b2" : d < 0 ? "\u25bc" : "\u25b6";
    const f = formatOf(m);
    const size = f === "pct" ? `${(Math.abs(d) * 100).toFixed(1)} pp` : f === "money" ? show(m, Math.abs(d)) : f === "int" ? fmt.int.format(Math.abs(d)) : fmt.ratio.format(Math.abs(d));
    return `${arrow} ${size}`;
  }

  function renderKpi(v, rows) {
    const el = document.querySelector(`.kpi[data-visual="${v.id}"]`);
    const picked = kpiRows(v, rows);
    const value = picked.rows.length || !v.latest ? measure(v.dataset, v.measure, picked.rows) : null;
    el.dataset.value = value === null ? "" : String(value);
    el.dataset.period = picked.period || "";
    el.querySelector(".kpi-value").textContent = show(v.measure, value);
    const sub = el.querySelector(".kpi-sub");
    if (!v.latest) { sub.textContent = ""; return; }
    const before = picked.previous ? measure(v.dataset, v.measure, picked.previous) : null;
    sub.textContent = picked.period ? `${picked.period}${picked.prevPeriod ? ` \u00b7 ${change(v.measure, value, before)} vs ${picked.prevPeriod}` : ""}` : EMPTY;
  }

  // A range whose "from" lies after its "to" matches nothing: say so instead of showing 0 and "-"
  function warnReversedRanges() {
    const messages = [];
    for (const f of SPEC.filters) {
      if (f.type !== "range") continue;
      const s = state[f.id], reversed = Boolean(s.from && s.to && s.from > s.to);
      for (const end of ["from", "to"]) document.getElementById(`f-${f.id}-${end}`).setAttribute("aria-invalid", String(reversed));
      if (reversed) messages.push(`${f.label} "from" (${s.from}) is later than "to" (${s.to}): no data matches. Choose an earlier "from" or a later "to", or press Reset.`);
    }
    const el = document.getElementById("f-warning");
    el.textContent = messages.join(" ");
    el.hidden = messages.length === 0;
  }

  // A filter whose column a visual's dataset lacks cannot filter it: while such a filter is set, the
  // visual says so (it shows every month, status, ... of its data), so no one reads it as filtered.
  function active(f) {
    const s = state[f.id];
    return f.type === "range" ? (s.from !== (s.all[0] || "") || s.to !== (s.all[s.all.length - 1] || "")) : s !== "";
  }

  function noteIgnoredFilters(v) {
    const ignored = SPEC.filters.filter(f => idx(v.dataset, f.column) < 0 && active(f));
    const el = document.querySelector(`.filter-note[data-note-for="${v.id}"]`);
    el.dataset.ignoredFilters = ignored.map(f => f.id).join(",");
    el.textContent = ignored.length ? `Not filtered by ${ignored.map(f => f.label).join(", ")} (not in this data)` : "";
    el.title = ignored.length ? "This visual's data has no column for these filters: it shows every value of them." : "";
    el.hidden = ignored.length === 0;
  }

  function render() {
    warnReversedRanges();
    const cache = {};
    const rowsOf = ds => cache[ds] || (cache[ds] = filtered(ds));
    for (const sheet of SPEC.sheets) for (const v of sheet.visuals) {
      noteIgnoredFilters(v);
      const rows = restricted(v, rowsOf(v.dataset));
      if (v.type === "kpi") { renderKpi(v, rows); continue; }
      const el = document.getElementById(`v-${v.id}`);
      if (v.type === "map") { el.dataset.empty = drawMap(v, rows, el) ? "1" : "0"; continue; }
      const missing = absent(v);
      const [traces, layout] = missing ? emptyFigure(v, v.absent_text)
        : v.type === "heatmap" ? heatmap(v, rows) : v.type === "table" ? table(v, rows) : xy(v, rows);
      el.dataset.empty = traces.length ? "0" : "1";
      el.dataset.absent = missing ? "1" : "0";
      Plotly.react(`v-${v.id}`, traces, layout, {
        // No customer data leaves the page: no "Share chart..." upload (showSendToCloud is on by default and
        // posts the chart's data to plotlyServerURL), no destination for one, no link out, no logo link.
        // showLink, sendData and showEditInChartStudio are the older plotly.js names of the same.
        showSendToCloud: false,
        plotlyServerURL: "",
        showEditInChartStudio: false,
        showLink: false,
        sendData: false,
        displaylogo: false,
        responsive: true,
      });
    }
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
  }

  setupFilters();
  render();
})();
