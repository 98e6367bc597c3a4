// Event bookkeeping: de-duplicates events that arrive both live and from the
// REST backfill, keeps the session LTR count, the per-press count, and the list.

import { KINDS, isKnownEvent } from "./kinds.js";

const LIST_CAP = 200;    // rows in the list; older rows drop off the bottom
const RECENT_CAP = 400;  // events kept for drawing flags on the traces

const fmt = (v, digits) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–");
const mV = (v) => (typeof v === "number" ? fmt(v * 1000, Math.abs(v) < 0.01 ? 2 : 1) : "–");

export class EventLog {
  constructor({ listEl, onChange }) {
    this.listEl = listEl;
    this.onChange = onChange;
    this.reset();
  }

  /** Forget everything: used when the daemon itself restarted (ids start over). */
  reset() {
    this.seen = new Set();
    this.lastId = 0;
    this.ltrTotal = 0;
    this.rows = [];     // newest first, by id
    this.recent = [];   // for flags
    this.multiDevice = false;
    if (this.listEl) this.listEl.replaceChildren();
    this.onChange?.();
  }

  /** Adds one event message; returns true if it was new. Unknown kinds are ignored. */
  add(ev) {
    if (!ev || !isKnownEvent(ev.kind) || typeof ev.id !== "number") return false;
    if (this.seen.has(ev.id)) return false;
    this.seen.add(ev.id);
    this.lastId = Math.max(this.lastId, ev.id);
    if (ev.kind === "ltr") this.ltrTotal++;
    this.recent.push(ev);
    if (this.recent.length > RECENT_CAP) this.recent.splice(0, this.recent.length - RECENT_CAP);
    this.insertRow(ev);
    this.onChange?.(ev);
    return true;
  }

  /** Events of one device, for the trace flags. */
  forDevice(id) {
    return this.recent.filter((e) => e.device === id);
  }

  insertRow(ev) {
    const tr = this.renderRow(ev);
    // Live events normally arrive in id order; backfilled ones may not.
    let i = 0;
    while (i < this.rows.length && this.rows[i].id > ev.id) i++;
    if (i >= LIST_CAP) return;
    this.rows.splice(i, 0, { id: ev.id, tr });
    const before = this.listEl.children[i] || null;
    this.listEl.insertBefore(tr, before);
    while (this.rows.length > LIST_CAP) { this.rows.pop().tr.remove(); }
  }

  renderRow(ev) {
    const k = KINDS[ev.kind];
    const tr = document.createElement("tr");
    tr.className = `ev ev-${ev.kind}`;
    tr.dataset.id = String(ev.id);
    const td = (text, cls) => {
      const c = document.createElement("td");
      c.textContent = text;
      if (cls) c.className = cls;
      tr.appendChild(c);
      return c;
    };
    td(fmt(ev.onset_s, 2), "num");
    const kindCell = td("", "kind");
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = k.letter;
    badge.style.setProperty("--kc", k.color);
    kindCell.append(badge, " " + (k.letter === k.label ? "" : k.label));
    td(fmt(ev.force_n, 1), "num");
    td(mV(ev.peak_emg_v), "num");
    let note = "";
    if (ev.kind === "press") {
      note = `${ev.ltr_count ?? "?"} LTR, peak ${fmt(ev.peak_force_n, 1)} N, ${fmt(dur(ev), 1)} s`;
    } else if (ev.kind === "gap") {
      note = `${ev.samples ?? "?"} samples lost`;
    } else if (typeof ev.confidence === "number") {
      note = `conf. ${Math.round(ev.confidence * 100)} %`;
    }
    const noteCell = td(note, "note");
    if (ev.device) {
      // Shown only when several devices stream (CSS: body.multi).
      const d = document.createElement("span");
      d.className = "dev";
      d.textContent = (note ? " · " : "") + ev.device;
      noteCell.append(d);
    }
    return tr;
  }
}

function dur(ev) {
  return typeof ev.end_s === "number" && typeof ev.onset_s === "number" ? ev.end_s - ev.onset_s : null;
}

/**
 * Per-press LTR count. The daemon's `press` event only comes at the end of a
 * press, so during a press we count live: reset when force crosses up through
 * the threshold, count LTRs whose onset is inside; the `press` event then
 * replaces our count with the daemon's.
 */
export class PressCounter {
  constructor() { this.reset(); }

  reset() {
    this.pressing = false;
    this.pressStart = null; // device time the current/last press started
    this.count = 0;
    this.final = null;      // the daemon's press event for the last finished press
    this.lastT = -Infinity;
  }

  /** Feeds force samples (device time, N) in time order. */
  force(t, f, threshold) {
    if (t <= this.lastT || !Number.isFinite(f) || threshold == null) return;
    this.lastT = t;
    if (!this.pressing && f >= threshold) {
      this.pressing = true;
      this.pressStart = t;
      this.count = 0;
      this.final = null;
    } else if (this.pressing && f < threshold) {
      this.pressing = false;
    }
  }

  ltr(ev) {
    if (this.pressStart != null && ev.onset_s != null && ev.onset_s >= this.pressStart - 0.05) this.count++;
  }

  press(ev) {
    // Only the press we are showing (a backfilled old press must not overwrite it).
    if (this.pressStart == null || ev.end_s == null || ev.end_s >= this.pressStart) {
      if (typeof ev.ltr_count === "number") this.count = ev.ltr_count;
      this.final = ev;
      // The daemon says our press is over (e.g. it ended while we were disconnected):
      // the next sample above threshold starts a new one.
      this.pressing = false;
    }
  }
}
