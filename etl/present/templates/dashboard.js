// Filters apply to every dataset that has the filter's column (a visual whose dataset lacks the column of a
// set filter says so); a visual's `where` restricts its own rows; measures are sums or ratios of sums.
(function () {
  "use strict";
  const state = {};
  const idx = (ds, col) => DATA[ds].columns.indexOf(col);
  const fmt = {
    int: new Intl.NumberFormat("en-US", {maximumFractionDigits: 0}),
    money: new Intl.NumberFormat("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2}),
    pct: new Intl.NumberFormat("en-US", {style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1}),
    ratio: new Intl.NumberFormat("en-US", {maximumFractionDigits: 4}),
  };
  const show = (m, v) => (v === null || !isFinite(v)) ? "\u2013" : fmt[SPEC.measures[m].format || "ratio"].format(v);
  // Plotly reads <a>, <b>, <br> ... in labels, names and cells as markup: data text is shown as text
  const esc = v => String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  function distinct(column) {
    const values = new Map();
    for (const [name, ds] of Object.entries(DATA)) {
      const i = ds.columns.indexOf(column);
      if (i < 0) continue;
      for (const r of ds.rows) if (r[i] !== null && !values.has(r[i])) values.set(r[i], r[i]);
    }
    return Array.from(values.keys()).sort();
  }

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
    const sum = cols => cols.reduce((acc, c) => {
      const i = idx(ds, c);
      return acc + rows.reduce((a, r) => a + (r[i] === null ? 0 : Number(r[i])), 0);
    }, 0);
    const num = sum(m.num);
    if (!m.den) return rows.length ? num : (m.format === "int" || m.format === "money" ? 0 : null);
    const den = sum(m.den);
    return den === 0 ? null : num / den;
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
    legend: {orientation: "h", y: -0.2}, font: {size: 11}, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  }, extra || {});

  function xy(v, rows) {
    const traces = [];
    const byX = groups(v.dataset, rows, v.x);
    let keys = keysOf(v, byX, v.x, v.x_order_by);
    const type = v.type === "line" ? "scatter" : "bar";
    const axisFor = (m, k) => (v.measures.length > 1 && k > 0 && SPEC.measures[m].format !== SPEC.measures[v.measures[0]].format) ? "y2" : "y";
    if (v.series) {
      const m = v.measures[0];
      const bySeries = groups(v.dataset, rows, v.series);
      for (const s of keysOf(v, bySeries, v.series, null)) {
        const g = groups(v.dataset, bySeries.get(s), v.x);
        traces.push({type, name: esc(s), x: keys.map(esc), y: keys.map(k => g.has(k) ? measure(v.dataset, m, g.get(k)) : null)});
      }
    } else {
      if (v.sort) {
        const m = v.measures[0];
        keys.sort((a, b) => (measure(v.dataset, m, byX.get(b)) || 0) - (measure(v.dataset, m, byX.get(a)) || 0));
      }
      v.measures.forEach((m, k) => {
        const trace = {type, name: esc(SPEC.measures[m].label), x: keys.map(esc),
                       y: keys.map(key => measure(v.dataset, m, byX.get(key))), yaxis: axisFor(m, k)};
        if (type === "scatter") trace.mode = "lines+markers"; else trace.offsetgroup = String(k);
        traces.push(trace);
      });
    }
    const second = traces.some(t => t.yaxis === "y2");
    const pct = SPEC.measures[v.measures[0]].format === "pct";
    const layout = layoutFor(v, {
      barmode: v.stacked ? "stack" : "group", xaxis: {type: "category", automargin: true},
      yaxis: {tickformat: pct ? ".0%" : ",", automargin: true},
    });
    if (second) layout.yaxis2 = {overlaying: "y", side: "right", tickformat: "~s", automargin: true};
    return [traces, layout];
  }

  function heatmap(v, rows) {
    const byX = groups(v.dataset, rows, v.x), byY = groups(v.dataset, rows, v.y);
    const xs = keysOf(v, byX, v.x, null), ys = keysOf(v, byY, v.y, v.y_order_by);
    const xi = idx(v.dataset, v.x);
    const z = ys.map(y => xs.map(x => {
      const cell = byY.get(y).filter(r => r[xi] === x);
      return cell.length ? measure(v.dataset, v.measure, cell) : null;
    }));
    const text = z.map(row => row.map(val => show(v.measure, val)));
    return [[{type: "heatmap", x: xs.map(esc), y: ys.map(esc), z, text, texttemplate: "%{text}", colorscale: "Reds",
              hovertemplate: "%{y} / %{x}: %{text}<extra></extra>", zmin: 0}],
            layoutFor(v, {xaxis: {type: "category"}, yaxis: {type: "category", automargin: true}})];
  }

  function table(v, rows) {
    const si = idx(v.dataset, v.sort_by);
    const sorted = rows.slice().sort((a, b) => {
      const x = a[si], y = b[si];
      if (x === null) return 1; if (y === null) return -1;
      return v.sort === "desc" ? (y > x ? 1 : y < x ? -1 : 0) : (x > y ? 1 : x < y ? -1 : 0);
    }).slice(0, v.limit || 50);
    const cols = v.columns.map(c => idx(v.dataset, c));
    const cell = x => x === null ? "" : (typeof x === "number" ? (Number.isInteger(x) ? x : x.toFixed(Math.abs(x) < 10 ? 4 : 2)) : esc(x));
    return [[{type: "table", header: {values: v.columns.map(esc), fill: {color: "#d9e2ec"}, align: "left", font: {size: 11}},
              cells: {values: cols.map(i => sorted.map(r => cell(r[i]))), align: "left", font: {size: 11}}}],
            layoutFor(v, {margin: {l: 10, r: 10, t: 40, b: 10}})];
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
      if (v.type === "kpi") {
        const el = document.querySelector(`.kpi[data-visual="${v.id}"]`);
        const value = measure(v.dataset, v.measure, rows);
        el.dataset.value = value === null ? "" : String(value);
        el.querySelector(".kpi-value").textContent = show(v.measure, value);
        continue;
      }
      const [traces, layout] = v.type === "heatmap" ? heatmap(v, rows) : v.type === "table" ? table(v, rows) : xy(v, rows);
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
