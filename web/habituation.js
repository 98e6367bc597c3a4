// Habituation at one site, as a small inline SVG: each LTR in order, its peak
// EMG (mV, left axis, filled dots) and the force that drew it (N, right
// axis, open squares). A point that habituates shows falling peaks, often at
// a rising force; once it stops responding the site is "quieted"
// (store/clinical.py QUIET_PRESSES), which the caption says in words.

const NS = "http://www.w3.org/2000/svg";
const W = 260, H = 84;
const M = { l: 30, r: 30, t: 10, b: 16 };
const PEAK = "#c2410c", FORCE = "#0f766e";  // the LTR and force colours of the live view

function node(tag, attrs = {}, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text != null) n.textContent = text;
  return n;
}

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
/** A tidy top for an axis: the largest value rounded up to 1, 2 or 5 × a power of ten. */
function niceTop(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].find((m) => m * p >= max) ?? 10) * p;
}
const fmt = (v, d = 1) => (v == null ? "–" : v.toFixed(d));

/**
 * ltrs: [{peak_emg_v, force_n}] in order. Returns an <svg> (role img, with a text alternative);
 * each point carries data-peak-mv / data-force-n, the daemon's numbers as drawn.
 */
export function habituationPlot(ltrs, { label = "" } = {}) {
  const rows = (Array.isArray(ltrs) ? ltrs : []).map((x) => ({
    mv: num(x?.peak_emg_v) == null ? null : x.peak_emg_v * 1000, n: num(x?.force_n),
  }));
  const svg = node("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "habituation", role: "img" });
  const said = rows.length ? rows.map((r, i) => `${i + 1}: ${fmt(r.mv, 2)} mV at ${fmt(r.n)} N`).join("; ") : "no LTRs";
  svg.setAttribute("aria-label", `Habituation${label ? ` at ${label}` : ""}: peak EMG and force of each LTR in order; ${said}`);
  const plotW = W - M.l - M.r, plotH = H - M.t - M.b;
  const topMv = niceTop(Math.max(0, ...rows.map((r) => r.mv ?? 0)));
  const topN = niceTop(Math.max(0, ...rows.map((r) => r.n ?? 0)));
  const x = (i) => M.l + (rows.length > 1 ? (i / (rows.length - 1)) * plotW : plotW / 2);
  const y = (v, top) => M.t + plotH - (v / top) * plotH;
  svg.append(node("rect", { x: M.l, y: M.t, width: plotW, height: plotH, fill: "#fafbfc", stroke: "#d5dce3" }));
  // Axes: only the top and zero of each, in its own colour (the plot is small; the list has the numbers).
  svg.append(node("text", { x: M.l - 3, y: M.t + 4, "text-anchor": "end", fill: PEAK, "font-size": 9 }, `${topMv}`));
  svg.append(node("text", { x: M.l - 3, y: M.t + plotH, "text-anchor": "end", fill: PEAK, "font-size": 9 }, "0"));
  svg.append(node("text", { x: M.l - 3, y: H - 3, "text-anchor": "end", fill: PEAK, "font-size": 9 }, "mV"));
  svg.append(node("text", { x: W - M.r + 3, y: M.t + 4, fill: FORCE, "font-size": 9 }, `${topN}`));
  svg.append(node("text", { x: W - M.r + 3, y: M.t + plotH, fill: FORCE, "font-size": 9 }, "0"));
  svg.append(node("text", { x: W - M.r + 3, y: H - 3, fill: FORCE, "font-size": 9 }, "N"));
  svg.append(node("text", { x: M.l + plotW / 2, y: H - 3, "text-anchor": "middle", fill: "#5f6b78", "font-size": 9 },
    rows.length ? `LTR 1 … ${rows.length}, in order` : "no LTRs yet"));
  if (!rows.length) return svg;
  const line = (key, top) => rows.map((r, i) => (r[key] == null ? null : `${x(i).toFixed(1)},${y(r[key], top).toFixed(1)}`)).filter(Boolean).join(" ");
  svg.append(node("polyline", { points: line("n", topN), fill: "none", stroke: FORCE, "stroke-width": 1.2, "stroke-dasharray": "3 2" }));
  svg.append(node("polyline", { points: line("mv", topMv), fill: "none", stroke: PEAK, "stroke-width": 1.5 }));
  rows.forEach((r, i) => {
    const g = node("g", { class: "ltr-point", "data-index": i + 1, "data-peak-mv": r.mv ?? "", "data-force-n": r.n ?? "" });
    g.append(node("title", {}, `LTR ${i + 1}: peak ${fmt(r.mv, 2)} mV at ${fmt(r.n)} N`));
    if (r.n != null) g.append(node("rect", { x: x(i) - 2.5, y: y(r.n, topN) - 2.5, width: 5, height: 5, fill: "#fff", stroke: FORCE, "stroke-width": 1.2 }));
    if (r.mv != null) g.append(node("circle", { cx: x(i), cy: y(r.mv, topMv), r: 2.8, fill: PEAK }));
    svg.append(g);
  });
  return svg;
}
