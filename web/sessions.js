// Recorded sessions: the list (open, replay, download EDF+/CSV/events) and a
// viewer that draws a stored session's traces window by window from
// /api/sessions/{id}/trace, with its events and markers; pick an event to go there.

import { apiUrl } from "./live.js";
import { get, post } from "./api.js";
import { TraceBuffer } from "./tracebuf.js";
import { Traces } from "./traces.js";
import { eventRow, pickable } from "./events.js";
import { isKnownEvent } from "./kinds.js";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

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
    root.querySelector('[data-testid="sessions-refresh"]').addEventListener("click", () => this.refresh());
  }

  async refresh() {
    try {
      const all = await get("./api/sessions");
      this.error.hidden = true;
      const sessions = Array.isArray(all) ? [...all].sort((a, b) => b.id - a.id) : [];
      this.list.replaceChildren(...(sessions.length ? sessions.map((s) => this.item(s)) :
        [el("li", "muted", "No sessions recorded yet: press ● Record (or R).")]));
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
    actions.append(open, replay);
    for (const [fmt, label] of [["edf", "EDF+"], ["csv", "CSV"], ["events", "Events"]]) {
      const a = el("a", "small", label);
      a.href = exportUrl(s.id, fmt);
      a.setAttribute("download", "");
      actions.append(a);
    }
    li.append(actions);
    return li;
  }
}

export class SessionView {
  constructor(root, { onClose, onReplay }) {
    this.root = root;
    this.onClose = onClose;
    const q = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.canvas = q("session-canvas");
    this.scrub = q("session-scrub");
    this.windowSel = q("session-window");
    this.pos = q("session-pos");
    this.eventsEl = q("session-events");
    this.traces = new Traces(this.canvas);
    this.session = null;
    this.buf = null;
    this.highlightId = null;
    this.loadSeq = 0;
    q("session-close").addEventListener("click", () => this.close());
    q("session-replay").addEventListener("click", () => this.session && onReplay(this.session.id));
    this.scrub.addEventListener("input", () => this.load());
    this.windowSel.addEventListener("change", () => { this.setRange(); this.load(); });
    for (const b of root.querySelectorAll("[data-step]")) {
      b.addEventListener("click", () => {
        this.scrub.value = String(Number(this.scrub.value) + Number(b.dataset.step) * this.windowS() * 0.8);
        this.load();
      });
    }
    pickable(this.eventsEl, (id) => this.goTo(this.events[id - 1]));
    new ResizeObserver(() => { if (!this.root.hidden) this.draw(); }).observe(this.canvas);
  }

  get isOpen() { return !this.root.hidden; }

  windowS() {
    const w = Number(this.windowSel.value);
    return w > 0 ? w : Math.max(1, this.span());
  }

  span() { return this.session ? this.session.duration_s : 0; }

  async open(id) {
    const s = await get(`./api/sessions/${Number(id)}`);
    this.session = s;
    this.root.hidden = false;
    document.body.classList.add("viewing-session");
    this.root.querySelector(".title").textContent = `Session #${s.id} · ${describe(s)}`;
    this.root.querySelector(".meta").textContent = [when(s.started_at), dur(s.duration_s), `${s.ltrs} LTR`,
      `${s.sample_rate} Hz`, s.practitioner && `by ${s.practitioner}`, s.notes && `notes: ${s.notes}`]
      .filter(Boolean).join(" · ");
    for (const fmt of ["edf", "csv", "events"]) {
      this.root.querySelector(`[data-testid="download-${fmt}"]`).href = exportUrl(s.id, fmt);
    }
    this.events = (s.event_list ?? []).filter((e) => isKnownEvent(e.kind)).map((e, i) => ({ ...e, id: i + 1 }));
    this.markers = s.marker_list ?? [];
    this.eventsEl.replaceChildren(...this.events.map((e) => eventRow(e)));
    this.highlightId = null;
    this.scrub.value = "0";
    this.setRange();
    await this.load();
    this.root.querySelector('[data-testid="session-close"]').focus();
  }

  close() {
    this.root.hidden = true;
    document.body.classList.remove("viewing-session");
    this.session = null;
    this.buf = null;
    this.onClose?.();
  }

  setRange() {
    this.scrub.max = String(Math.max(0, this.span() - this.windowS()));
  }

  /** Centre the window on an event and frame it. */
  goTo(ev) {
    if (!ev) return;
    this.highlightId = ev.id;
    for (const tr of this.eventsEl.querySelectorAll("tr.picked")) tr.classList.remove("picked");
    this.eventsEl.querySelector(`tr[data-id="${ev.id}"]`)?.classList.add("picked");
    this.scrub.value = String(Math.max(0, ev.onset_s - this.windowS() / 2));
    this.load();
  }

  /** Fetches the window at the scrubber; a newer request wins over a slower older one. */
  async load() {
    if (!this.session) return;
    const seq = ++this.loadSeq;
    const start = Math.max(0, Number(this.scrub.value) || 0), seconds = this.windowS();
    // One bucket per device pixel (measured now: the view may have only just been shown).
    const px = this.canvas.getBoundingClientRect().width * (window.devicePixelRatio || 1);
    const points = Math.min(8000, Math.max(100, Math.round(px)));
    this.pos.textContent = `${start.toFixed(1)}–${(start + seconds).toFixed(1)} s of ${this.span().toFixed(1)} s`;
    try {
      const tr = await get(`./api/sessions/${this.session.id}/trace`, { start_s: start.toFixed(3), seconds, points });
      if (seq !== this.loadSeq || !this.session) return;
      const buf = new TraceBuffer();
      buf.push(tr);
      this.buf = buf;
      this.start = start;
      this.draw();
    } catch (e) {
      if (seq === this.loadSeq) this.pos.textContent = `cannot load the traces: ${e.message}`;
    }
  }

  draw() {
    if (!this.session) return;
    const w = this.windowS();
    this.traces.draw({
      buf: this.buf, tEnd: (this.start ?? 0) + w, windowS: w, events: this.events, markers: this.markers,
      threshold: null, live: true, highlightId: this.highlightId,
    });
  }
}
