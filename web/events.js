// Event bookkeeping: de-duplicates events that arrive both live and from the
// REST backfill, keeps the session LTR count, the per-press count, and the list.

import { KINDS, isKnownEvent, siteLabel } from "./kinds.js";

const LIST_CAP = 200;    // rows in the list; older rows drop off the bottom
const RECENT_CAP = 400;  // events kept for drawing flags on the traces

const fmt = (v, digits) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–");
const mV = (v) => (typeof v === "number" ? fmt(v * 1000, Math.abs(v) < 0.01 ? 2 : 1) : "–");

export class EventLog {
  constructor({ listEl, onChange, onPick }) {
    this.listEl = listEl;
    this.onChange = onChange;
    this.byId = new Map();
    this.reset();
    // Pick an event (click, or Enter on a focused row) to see it on its trace.
    if (onPick) pickable(listEl, (id) => { const ev = this.byId.get(id); if (ev) onPick(ev); });
  }

  /** Marks the picked row (or none). */
  mark(id) {
    for (const tr of this.listEl.querySelectorAll("tr.picked")) tr.classList.remove("picked");
    if (id != null) this.listEl.querySelector(`tr[data-id="${Number(id)}"]`)?.classList.add("picked");
  }

  /** Forget everything: used when the daemon itself restarted (ids start over). */
  reset() {
    this.seen = new Set();
    this.lastId = 0;
    this.ltrTotal = 0;
    this.ltrByDevice = new Map();
    this.rows = [];     // newest first, by id
    this.recent = [];   // for flags
    this.byId = new Map();
    if (this.listEl) this.listEl.replaceChildren();
    this.onChange?.();
  }

  /** Adds one event message; returns true if it was new. Unknown kinds are ignored. */
  add(ev) {
    if (!ev || !isKnownEvent(ev.kind) || typeof ev.id !== "number") return false;
    if (this.seen.has(ev.id)) return false;
    this.seen.add(ev.id);
    this.lastId = Math.max(this.lastId, ev.id);
    if (ev.kind === "ltr") {
      this.ltrTotal++;
      this.ltrByDevice.set(ev.device, (this.ltrByDevice.get(ev.device) ?? 0) + 1);
    }
    this.recent.push(ev);
    this.byId.set(ev.id, ev);
    if (this.recent.length > RECENT_CAP) {
      for (const old of this.recent.splice(0, this.recent.length - RECENT_CAP)) this.byId.delete(old.id);
    }
    this.insertRow(ev);
    this.onChange?.(ev);
    return true;
  }

  /** Events of one device, for the trace flags. */
  forDevice(id) {
    return this.recent.filter((e) => e.device === id);
  }

  /** LTRs of one device (for the lane's own count). */
  ltrCount(id) {
    return this.ltrByDevice.get(id) ?? 0;
  }

  insertRow(ev) {
    const tr = eventRow(ev);
    // Live events normally arrive in id order; backfilled ones may not.
    let i = 0;
    while (i < this.rows.length && this.rows[i].id > ev.id) i++;
    if (i >= LIST_CAP) return;
    this.rows.splice(i, 0, { id: ev.id, tr });
    const before = this.listEl.children[i] || null;
    this.listEl.insertBefore(tr, before);
    while (this.rows.length > LIST_CAP) { this.rows.pop().tr.remove(); }
  }
}

/** One table row for an event (the live list and a stored session's list share it):
 *  time, kind, force, peak EMG, site, details. */
export function eventRow(ev) {
  const k = KINDS[ev.kind];
  const tr = document.createElement("tr");
  tr.className = `ev ev-${ev.kind}`;
  if (ev.id != null) tr.dataset.id = String(ev.id);
  tr.tabIndex = 0;
  tr.dataset.kind = ev.kind;
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
  // Where the practitioner was working (live: the site current when the event arrived).
  td(siteLabel(ev.site), "site");
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

/** Click or Enter on a row calls pick(id) with the row's data-id. */
export function pickable(tbody, pick) {
  const go = (e) => {
    const tr = e.target.closest("tr[data-id]");
    if (tr) pick(Number(tr.dataset.id));
  };
  tbody.addEventListener("click", go);
  tbody.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); go(e); } });
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
