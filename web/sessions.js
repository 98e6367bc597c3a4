// Recorded sessions: the list, grouped by patient (open, replay, report, download
// EDF+/CSV/events/JSON; each patient's visits compared) and a
// viewer that draws a stored session's traces window by window from
// /api/sessions/{id}/trace, with its events, marks and review on one time axis:
// scroll, zoom (buttons, the wheel, down to 1 s), pick an event to judge it
// (review.js), and see how the detector agrees with the practitioner.

import { apiUrl } from "./live.js";
import { get } from "./api.js";
import { TraceBuffer } from "./tracebuf.js";
import { Traces } from "./traces.js";
import { ReviewControls, reviewRow, reviewRows } from "./review.js";
import { fetchAgreement, renderAgreementTable } from "./agreement.js";
import { fetchPatients, fetchVisits, fillPatientFilter, groupByPatient, patientHeading } from "./patients.js";
import { asReportLink, reportUrl } from "./reports.js";
import { el } from "./dom.js";

const when = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "?" : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
};
const dur = (s) => (s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${(+s || 0).toFixed(1)} s`);
const exportUrl = (id, format) => apiUrl(`./api/sessions/${id}/export`, { format });

export function describe(s) {
  return [s.patient || "no patient code", [s.muscle, s.side].filter(Boolean).join(" "), s.technique]
    .filter(Boolean).join(" · ");
}

export class SessionsPanel {
  constructor(root, { onOpen, onReplay }) {
    this.root = root;
    this.list = root.querySelector('[data-testid="session-list"]');
    this.error = root.querySelector('[data-testid="session-error"]');
    this.onOpen = onOpen;
    this.onReplay = onReplay;
    this.filter = root.querySelector('[data-testid="patient-filter"]');
    this.seq = 0;
    root.querySelector('[data-testid="sessions-refresh"]').addEventListener("click", () => this.refresh());
    this.filter.addEventListener("change", () => this.refresh());
  }

  async refresh() {
    const seq = ++this.seq;
    try {
      const patient = this.filter.value;
      // One patient's visits come from the daemon's own filter; all sessions are grouped by patient here.
      const [all, patients] = await Promise.all([patient ? fetchVisits(patient) : get("./api/sessions"), fetchPatients()]);
      if (seq !== this.seq) return;
      this.error.hidden = true;
      fillPatientFilter(this.filter, patients);
      const sessions = Array.isArray(all) ? all : [];
      const groups = groupByPatient(sessions, patients.filter((p) => !this.filter.value || p.patient === this.filter.value));
      this.list.replaceChildren(...(sessions.length ? groups.flatMap((g) => [patientHeading(g), ...g.sessions.map((s) => this.item(s))]) :
        [el("li", "muted", patient ? `No sessions of ${patient}.` : "No sessions recorded yet: press ● Record (or R).")]));
    } catch (e) {
      this.error.textContent = `Cannot list sessions: ${e.message}`;
      this.error.hidden = false;
    }
  }

  item(s) {
    const li = el("li", "session");
    li.dataset.sessionId = String(s.id);
    const head = el("div", "head");
    head.append(el("b", null, `#${s.id}`), " ", el("span", "who", describe(s)));
    const facts = [when(s.started_at), dur(s.duration_s), `${s.ltrs ?? 0} LTR`, `${s.events ?? 0} events`];
    if (s.markers) facts.push(`${s.markers} marker${s.markers === 1 ? "" : "s"}`);
    if (s.lost_samples) facts.push(`${s.lost_samples} samples lost`);
    const meta = el("div", "muted", facts.join(" · "));
    li.append(head, meta);
    if (!s.complete) li.append(el("div", "bad", "⚠ still recording, or ended without a stop"));
    else if (s.stop_reason && s.stop_reason !== "stopped") li.append(el("div", "bad", `⚠ ${s.stop_reason}`));
    const actions = el("div", "actions");
    const open = el("button", "small", "Open");
    open.type = "button";
    open.dataset.testid = "session-open";
    open.addEventListener("click", () => this.onOpen(s.id));
    const replay = el("button", "small", "▶ Replay");
    replay.type = "button";
    replay.addEventListener("click", () => this.onReplay(s.id));
    const report = asReportLink(el("a", "small", "Report"), reportUrl(s.id));
    report.dataset.testid = "session-report-link";
    report.title = "The printable report (opens in a new tab; print it to PDF)";
    actions.append(open, replay, report);
    for (const [fmt, label] of [["edf", "EDF+"], ["csv", "CSV"], ["events", "Events"], ["json", "JSON"]]) {
      const a = el("a", "small", label);
      a.href = exportUrl(s.id, fmt);
      a.setAttribute("download", "");
      actions.append(a);
    }
    li.append(actions);
    return li;
  }
}

/** Window lengths the view steps through when zooming (s); 0 in the select = the whole session. */
export const ZOOM_LEVELS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];
const MAX_TRACE_S = 3600; // the trace API's longest window
const WHEEL_STEP = 100;   // wheel delta (px) per zoom step: a trackpad's small deltas add up

export class SessionView {
  constructor(root, { onClose, onReplay, beeper, toast }) {
    this.root = root;
    this.onClose = onClose;
    this.toast = toast;
    const q = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.canvas = q("session-canvas");
    this.scrub = q("session-scrub");
    this.windowSel = q("session-window");
    this.pos = q("session-pos");
    this.eventsEl = q("session-events");
    this.agreementEl = q("agreement");
    this.traces = new Traces(this.canvas);
    this.review = new ReviewControls(root, { view: this, beeper, toast });
    this.session = null;
    this.rows = [];
    this.marks = [];
    this.buf = null;
    this.startS = 0;
    this.win = 30;           // s; 0 = the whole session
    this.loadSeq = 0;
    this.wheel = 0;
    q("session-close").addEventListener("click", () => this.close());
    q("session-replay").addEventListener("click", () => this.session && onReplay(this.session.id));
    this.scrub.addEventListener("input", () => { this.startS = Number(this.scrub.value) || 0; this.load(); });
    this.windowSel.addEventListener("change", () => this.setWindow(Number(this.windowSel.value)));
    for (const b of root.querySelectorAll("[data-step]")) b.addEventListener("click", () => this.scroll(Number(b.dataset.step)));
    q("zoom-in").addEventListener("click", () => this.zoom(-1));
    q("zoom-out").addEventListener("click", () => this.zoom(1));
    this.eventsEl.addEventListener("click", (e) => this.pickRow(e));
    this.eventsEl.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); this.pickRow(e); } });
    this.canvas.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    this.canvas.addEventListener("pointerdown", (e) => this.onPointerDown(e));
    new ResizeObserver(() => { if (!this.root.hidden) this.draw(); }).observe(this.canvas);
  }

  get isOpen() { return !this.root.hidden; }

  span() { return this.session ? Math.max(0, this.session.duration_s) : 0; }

  windowS() { return this.win > 0 ? Math.min(this.win, Math.max(1, this.span())) : Math.max(1, this.span()); }

  async open(id) {
    const s = await get(`./api/sessions/${Number(id)}`);
    this.root.hidden = false;
    document.body.classList.add("viewing-session");
    this.show(s);
    this.root.querySelector(".title").textContent = `Session #${s.id} · ${describe(s)}`;
    this.root.querySelector(".meta").textContent = [when(s.started_at), dur(s.duration_s), `${s.ltrs} LTR`,
      `${s.sample_rate} Hz`, s.practitioner && `by ${s.practitioner}`, s.notes && `notes: ${s.notes}`,
      !s.complete && "still recording"].filter(Boolean).join(" · ");
    for (const fmt of ["edf", "csv", "events", "json"]) {
      const a = this.root.querySelector(`[data-testid="download-${fmt}"]`);
      if (a) a.href = exportUrl(s.id, fmt);
    }
    asReportLink(this.root.querySelector('[data-testid="session-report"]'), reportUrl(s.id));
    this.review.opened(s);
    this.startS = 0;
    this.win = Number(this.windowSel.value) || 0;
    this.setRange();
    this.agreement();
    await this.load();
    this.root.querySelector('[data-testid="session-close"]').focus();
  }

  /** The session as the daemon now has it (after a correction): same place, same pick. */
  async reload() {
    if (!this.session) return;
    const s = await get(`./api/sessions/${this.session.id}`);
    if (!this.session || s.id !== this.session.id) return;
    this.show(s);
    this.review.render();
    this.agreement();
    this.draw();
  }

  show(s) {
    this.session = s;
    this.rows = reviewRows(s);
    this.marks = (s.marker_list ?? []).map((m) => ({ t: m.t_s, kind: m.kind ?? "note", text: m.text ?? m.label ?? "" }));
    this.eventsEl.replaceChildren(...this.rows.map((r) => reviewRow(r)));
  }

  /** Agreement against the marks and against the review, side by side. */
  async agreement() {
    const id = this.session?.id;
    if (id == null) return;
    const results = {};
    await Promise.all(["marks", "review"].map(async (against) => {
      try { results[against] = await fetchAgreement(id, against); } catch (e) { results[against] = e; }
    }));
    if (this.session?.id === id) renderAgreementTable(this.agreementEl, results);
  }

  close() {
    this.root.hidden = true;
    document.body.classList.remove("viewing-session");
    this.session = null;
    this.buf = null;
    this.onClose?.();
  }

  // ---- where the window is ----
  setRange() {
    this.scrub.max = String(Math.max(0, this.span() - this.windowS()));
    this.startS = Math.min(Math.max(0, this.startS), Number(this.scrub.max));
    this.scrub.value = String(this.startS);
  }

  /** A new window length, keeping time `anchor` at the same place across (default: the middle). */
  setWindow(w, anchor = null, frac = 0.5) {
    const old = this.windowS();
    const t = anchor ?? this.startS + old * frac;
    this.win = w > 0 && w < this.span() ? w : 0;
    if (![...this.windowSel.options].some((o) => Number(o.value) === this.win)) {
      this.windowSel.add(new Option(`${this.win} s`, String(this.win)));
    }
    this.windowSel.value = String(this.win);
    this.startS = t - this.windowS() * frac;
    this.setRange();
    this.draw();
    this.load();
  }

  /** dir −1 zooms in (a shorter window), +1 out; anchored at a time and its place across, if given. */
  zoom(dir, anchor = null, frac = 0.5) {
    const w = this.windowS();
    const next = dir < 0 ? [...ZOOM_LEVELS].reverse().find((l) => l < w - 1e-9) : ZOOM_LEVELS.find((l) => l > w + 1e-9);
    if (dir < 0 && next === undefined) { this.toast?.("1 s is the closest view"); return; }
    this.setWindow(next === undefined || next >= this.span() ? 0 : next, anchor, frac);
  }

  scroll(dir) {
    this.startS += dir * this.windowS() * 0.8;
    this.setRange();
    this.draw();
    this.load();
  }

  onWheel(e) {
    e.preventDefault();
    const horizontal = e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY);
    const delta = horizontal ? (e.deltaX || e.deltaY) : e.deltaY;
    if (horizontal) {
      // Scroll by the wheel's own amount: a notch (100 px) moves a tenth of the window.
      this.startS += (delta / 1000) * this.windowS();
      this.setRange();
      this.draw();
      this.load();
      return;
    }
    this.wheel += delta;
    if (Math.abs(this.wheel) < WHEEL_STEP) return;
    const dir = Math.sign(this.wheel);
    this.wheel = 0;
    const x = e.offsetX, t = this.traces.timeAt(x);
    const m = this.traces.map;
    this.zoom(dir, t, t == null ? 0.5 : (x - m.L) / m.plotW);
  }

  // ---- picking and adding ----
  pickRow(e) {
    const tr = e.target.closest("tr[data-ref]");
    if (tr) this.select(tr.dataset.ref, { centre: true });
  }

  /** Picks a row (by ref); `centre` brings it into the window if it is not in view. */
  select(ref, { centre = false } = {}) {
    const r = this.rows.find((x) => x.ref === ref);
    if (!r) return;
    this.review.select(ref);
    const w = this.windowS();
    if (centre && !(r.onset_s >= this.startS && r.onset_s <= this.startS + w)) {
      this.startS = r.onset_s - w / 2;
      this.setRange();
      this.load();
    }
    this.eventsEl.querySelector(`tr[data-ref="${ref}"]`)?.scrollIntoView({ block: "nearest" });
    this.draw();
  }

  /** , and .: the previous or next event (not presses) from the picked one or the window. */
  step(dir) {
    const list = this.rows.filter((r) => r.kind !== "press");
    if (!list.length) return;
    const cur = list.findIndex((r) => r.ref === this.review.selected);
    let i;
    if (cur >= 0) i = Math.min(list.length - 1, Math.max(0, cur + dir));
    else {
      const mid = this.startS + this.windowS() / 2;
      i = dir > 0 ? list.findIndex((r) => r.onset_s >= mid) : list.findLastIndex((r) => r.onset_s < mid);
      if (i < 0) i = dir > 0 ? list.length - 1 : 0;
    }
    this.select(list[i].ref, { centre: true });
  }

  onPointerDown(e) {
    if (!this.session || e.button !== 0) return;
    const t = this.traces.timeAt(e.offsetX);
    if (t == null) return;
    if (!this.review.addMode) {
      const hit = this.traces.eventAt(e.offsetX, this.rows);
      if (hit) this.select(hit.ref);
      return;
    }
    e.preventDefault();
    if (!e.shiftKey) { this.review.point(t); return; }
    // Shift-drag: onset where it began, end where it is let go.
    this.canvas.setPointerCapture(e.pointerId);
    this.review.point(t, { end: t });
    const move = (m) => { const t2 = this.traces.timeAt(clampX(m.offsetX, this.traces.map)); this.review.point(t, { end: t2 }); };
    const up = () => {
      this.canvas.removeEventListener("pointermove", move);
      this.canvas.removeEventListener("pointerup", up);
      this.canvas.removeEventListener("pointercancel", up);
    };
    this.canvas.addEventListener("pointermove", move);
    this.canvas.addEventListener("pointerup", up);
    this.canvas.addEventListener("pointercancel", up);
  }

  /** Fetches the window; a newer request wins over a slower older one. */
  async load() {
    if (!this.session) return;
    const seq = ++this.loadSeq;
    const start = this.startS, seconds = Math.min(MAX_TRACE_S, this.windowS());
    // One bucket per device pixel (measured now: the view may have only just been shown).
    const px = this.canvas.getBoundingClientRect().width * (window.devicePixelRatio || 1);
    const points = Math.min(8000, Math.max(100, Math.round(px)));
    this.pos.textContent = `${start.toFixed(2)}–${(start + seconds).toFixed(2)} s of ${this.span().toFixed(1)} s`;
    try {
      const tr = await get(`./api/sessions/${this.session.id}/trace`, { start_s: start.toFixed(3), seconds, points });
      if (seq !== this.loadSeq || !this.session) return;
      const buf = new TraceBuffer();
      buf.push(tr);
      buf.zeroPhaseEnvelope();
      this.buf = buf;
      this.draw();
    } catch (e) {
      if (seq === this.loadSeq) this.pos.textContent = `cannot load the traces: ${e.message}`;
    }
  }

  /** Draws the window as it is now (the traces fill in when their fetch comes back). */
  draw() {
    if (!this.session) return;
    const w = this.windowS();
    this.traces.draw({
      buf: this.buf, tEnd: this.startS + w, windowS: w, events: this.rows, marks: this.marks,
      draft: this.review.draft, threshold: null, live: true, highlightId: this.review.selected, fitScale: true,
    });
  }
}

function clampX(x, m) {
  return m ? Math.min(m.L + m.plotW, Math.max(m.L, x)) : x;
}
