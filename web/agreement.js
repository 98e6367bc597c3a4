// How well the detector agrees with the practitioner (GET /api/sessions/{id}/agreement,
// the figures of `twitchd evaluate`): a table for a stored session against
// its marks and against its review, and a live card that follows the
// recording against the felt-LTR marks. Each figure cell carries the daemon's
// own number in data-value, so what is shown is what the CLI reports.

import { get } from "./api.js";
import { siteLabel } from "./kinds.js";

export const FIGURES = [
  ["detector", "Detector LTRs", "LTRs the detector flagged"],
  ["reference", "Reference", "felt-LTR marks, or LTRs left after review"],
  ["matched", "Matched", "pairs of one detector LTR and one reference within the tolerance"],
  ["sensitivity", "Sensitivity", "matched / reference"],
  ["ppv", "PPV", "matched / detector LTRs"],
  ["f1", "F1", "harmonic mean of sensitivity and PPV"],
  ["kappa", "κ", "Cohen's kappa over 2 s windows"],
  ["pabak", "PABAK", "prevalence- and bias-adjusted kappa"],
  ["offset", "Offset (ms)", "mark minus detector onset: median [quartiles]"],
];
const COUNTS = new Set(["detector", "reference", "matched"]);

export const fetchAgreement = (id, against) => get(`./api/sessions/${Number(id)}/agreement`, { against });

/** A figure as shown: counts whole, ratios with two decimals, "–" when it cannot be computed. */
export function figureText(a, name) {
  if (!a) return "–";
  if (name === "offset") {
    const o = a.offset_ms;
    return o ? `${Math.round(o.median)} [${Math.round(o.q1)}, ${Math.round(o.q3)}]` : "–";
  }
  const v = a[name];
  if (typeof v !== "number") return "–";
  return COUNTS.has(name) ? String(v) : v.toFixed(2);
}

function cell(tag, text, attrs = {}) {
  const c = document.createElement(tag);
  c.textContent = text;
  for (const [k, v] of Object.entries(attrs)) if (v != null) c.setAttribute(k, v);
  return c;
}

const tol = (r) => (Array.isArray(r?.tolerance_s) ? `${Math.round(r.tolerance_s[0] * 1000)}…+${Math.round(r.tolerance_s[1] * 1000)} ms` : "");

/**
 * The stored session's figures: one column per comparison ("marks", "review").
 * results: {marks: answer|Error, review: answer|Error}
 */
export function renderAgreementTable(root, results) {
  const table = document.createElement("table");
  table.className = "agreement-table";
  const head = document.createElement("tr");
  head.append(cell("th", ""), cell("th", "vs marks", { title: `felt-LTR marks, ${tol(results.marks)} after the detector's onset` }),
    cell("th", "vs review", { title: `reviewed LTRs, ${tol(results.review)} of the detector's onset` }));
  const thead = document.createElement("thead");
  thead.append(head);
  const tbody = document.createElement("tbody");
  for (const [name, label, why] of FIGURES) {
    const tr = document.createElement("tr");
    tr.append(cell("th", label, { title: why, scope: "row" }));
    for (const against of ["marks", "review"]) {
      const r = results[against];
      const a = r instanceof Error ? null : r?.overall;
      const raw = name === "offset" ? a?.offset_ms?.median : a?.[name];
      tr.append(cell("td", figureText(a, name), { "data-against": against, "data-figure": name,
        "data-value": raw == null ? "" : String(raw), class: "num" }));
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
  const notes = [];
  for (const against of ["marks", "review"]) {
    const r = results[against];
    if (r instanceof Error) notes.push(`vs ${against}: ${r.message}`);
    else if (r?.note) notes.push(r.note);
  }
  const parts = [table];
  for (const n of notes) parts.push(cell("p", n, { class: "muted note" }));
  const bySite = siteBreakdown(results);
  if (bySite) parts.push(bySite);
  root.replaceChildren(...parts);
}

/** Per site, when the session has more than one: counts and the three figures. */
function siteBreakdown(results) {
  const rows = [];
  for (const against of ["marks", "review"]) {
    const r = results[against];
    if (r instanceof Error || !Array.isArray(r?.sites) || r.sites.length < 2) continue;
    for (const s of r.sites) rows.push([against, s]);
  }
  if (!rows.length) return null;
  const d = document.createElement("details");
  d.append(cell("summary", "By site"));
  const t = document.createElement("table");
  t.className = "agreement-sites";
  const h = document.createElement("tr");
  for (const x of ["vs", "site", "det.", "ref.", "match", "sens.", "PPV", "F1"]) h.append(cell("th", x));
  t.append(h);
  for (const [against, s] of rows) {
    const tr = document.createElement("tr");
    tr.dataset.against = against;
    tr.append(cell("td", against), cell("td", s.label ?? (siteLabel(s.site) || "no site")));
    for (const f of ["detector", "reference", "matched", "sensitivity", "ppv", "f1"]) tr.append(cell("td", figureText(s, f), { class: "num" }));
    t.append(tr);
  }
  d.append(t);
  return d;
}

/** The dashboard's card while recording: polls the session in progress against its marks every 2 s. */
export class LiveAgreement {
  constructor(card, { periodMs = 2000 } = {}) {
    this.card = card;
    this.periodMs = periodMs;
    this.session = null;
    this.timer = 0;
    this.seq = 0;
  }

  /** The recording's status: start polling its session, or stop. */
  follow(st) {
    const id = st?.state === "recording" ? st.session_id : null;
    if (id === this.session) return;
    this.session = id;
    clearInterval(this.timer);
    this.card.hidden = id == null;
    if (id == null) return;
    this.show(null);
    // (not at once: a session has no samples for its first moments, and nothing to compare)
    this.timer = setInterval(() => this.poll(), this.periodMs);
  }

  async poll() {
    const id = this.session, seq = ++this.seq;
    if (id == null) return;
    try {
      const r = await fetchAgreement(id, "marks");
      if (seq === this.seq && id === this.session) this.show(r);
    } catch (e) {
      // 422: nothing to evaluate yet (no samples stored so far); anything else is said as it is.
      if (seq === this.seq && id === this.session) this.show(null, e.status === 422 ? "" : e.message);
    }
  }

  show(r, error = "") {
    const a = r?.overall ?? null;
    for (const el of this.card.querySelectorAll("[data-figure]")) {
      const name = el.dataset.figure;
      el.textContent = figureText(a, name);
      const raw = name === "offset" ? a?.offset_ms?.median : a?.[name];
      el.dataset.value = raw == null ? "" : String(raw);
    }
    const note = this.card.querySelector(".note");
    note.textContent = error ? `cannot compute: ${error}` :
      !a ? "…" : a.reference === 0 ? `no felt-LTR marks yet · ${a.detector} LTR` :
      `${a.matched} of ${a.reference} marks matched · ${a.detector} LTR`;
  }
}
