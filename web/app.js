// Entry point: wires the live link to the trace buffers, the event log and the
// read-outs, and runs the animation loop that redraws only when something changed.

import { LiveLink, fetchEventsSince } from "./live.js";
import { TraceBuffer } from "./tracebuf.js";
import { Traces } from "./traces.js";
import { EventLog, PressCounter } from "./events.js";
import { renderStatus } from "./status.js";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const el = {
  ltr: $("ltr-count"), press: $("press-ltr-count"), pressNote: $("press-note"),
  force: $("force-n"), forceNote: $("force-note"), status: $("device-status"),
  list: $("event-list"), select: document.getElementById("device-select"),
};

// A trace older than this is not "live" any more (messages come at ~20 Hz).
const STALE_MS = 1000;

const devices = new Map();  // id -> latest DEVICE/status object
const bufs = new Map();     // id -> TraceBuffer
let selected = null;        // device shown in traces and read-outs
let link = "connecting";
let dirty = true;

const press = new PressCounter();
const log = new EventLog({ listEl: el.list, onChange: () => { dirty = true; } });
const traces = new Traces(document.getElementById("traces"));

const bufFor = (id) => { if (!bufs.has(id)) bufs.set(id, new TraceBuffer()); return bufs.get(id); };
const threshold = () => devices.get(selected)?.press_threshold_n ?? null;

function setDevices(list) {
  for (const d of list) if (d && typeof d.id === "string") devices.set(d.id, d);
  if (!selected || !devices.has(selected)) {
    const first = list.find((d) => d.state === "streaming") ?? list[0];
    if (first) select(first.id);
  }
  // The picker only appears when there is a choice to make.
  const ids = [...devices.keys()];
  el.select.hidden = ids.length < 2;
  document.body.classList.toggle("multi", ids.length > 1);
  if (el.select.options.length !== ids.length) {
    el.select.replaceChildren(...ids.map((id) => new Option(id, id)));
    el.select.value = selected;
  }
}

function select(id) {
  selected = id;
  press.reset();
  el.select.value = id;
  dirty = true;
}
el.select.addEventListener("change", () => select(el.select.value));

function onEvent(ev) {
  if (!log.add(ev)) return;
  if (ev.device !== selected) return;
  if (ev.kind === "ltr") press.ltr(ev);
  else if (ev.kind === "press") press.press(ev);
}

function onMessage(msg) {
  switch (msg.kind) {
    case "hello":
      if (Array.isArray(msg.devices)) setDevices(msg.devices);
      break;
    case "status": {
      // The brief names the device in `device`; daemon 0.1.0 sends it as `id` (like DEVICE). Accept both.
      const id = typeof msg.device === "string" ? msg.device : msg.id;
      if (typeof id === "string") setDevices([{ ...msg, id }]);
      break;
    }
    case "trace": {
      if (typeof msg.device !== "string") return;
      const buf = bufFor(msg.device);
      buf.push(msg);
      if (msg.device === selected && Array.isArray(msg.force_n)) {
        const thr = threshold();
        msg.force_n.forEach((f, i) => press.force(msg.t0_s + i * msg.dt_s, f ?? NaN, thr));
      }
      break;
    }
    default:
      onEvent(msg); // event kinds; unknown kinds are dropped by the log
  }
  dirty = true;
}

// After every (re)connect: fetch what happened while we were away.
async function backfill() {
  const before = log.lastId;
  try {
    let r = await fetchEventsSince(before);
    if (r.lastId < before) {
      // The daemon restarted and ids began again: this is a new session.
      log.reset(); press.reset();
      r = await fetchEventsSince(0);
    }
    r.events.sort((a, b) => a.id - b.id).forEach(onEvent);
  } catch (e) {
    console.warn("event backfill failed, retrying", e);
    setTimeout(() => { if (link === "connected") backfill(); }, 2000);
  }
}

const live = new LiveLink({
  onMessage,
  onState: (s) => { link = s; dirty = true; },
  onOpen: backfill,
});
live.connect();

// ---- read-outs ----
const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };

function updateReadouts(isLive, buf) {
  setText(el.ltr, String(log.ltrTotal));
  const thr = threshold();
  const lf = isLive && buf ? buf.latestForce() : null;
  // Old force must not look current: show a dash when it isn't live.
  setText(el.force, lf ? `${lf.n.toFixed(1)} N` : "– N");
  const pressing = !!lf && thr != null && lf.n >= thr;
  document.body.classList.toggle("pressing", pressing && press.pressing);
  setText(el.forceNote, !lf ? "no live force" : pressing ? `pressing (≥ ${thr} N)` : `below press threshold ${thr ?? "?"} N`);
  setText(el.press, String(press.count));
  let note;
  if (press.pressing) note = "this press";
  else if (press.final) note = `last press · ${fmtNum(press.final.peak_force_n)} N peak`;
  else if (press.pressStart != null) note = "last press";
  else note = "no press yet";
  setText(el.pressNote, note);
  el.press.classList.toggle("dim", !press.pressing);
}
const fmtNum = (v) => (typeof v === "number" ? v.toFixed(1) : "–");

// ---- animation loop ----
let lastEnd = NaN, lastLive = null, lastW = 0;
function frame(nowMs) {
  const buf = selected ? bufs.get(selected) : null;
  const dev = devices.get(selected);
  const fresh = !!buf && nowMs - buf.lastRxMs < STALE_MS;
  const isLive = link === "connected" && fresh;
  // Frozen when not live: the last picture stays, veiled, instead of scrolling on.
  const tEnd = buf ? (isLive ? buf.viewTime(nowMs) : Math.min(lastEnd, buf.endT) || buf.endT) : NaN;
  // Move at least one device pixel before redrawing: no work while nothing moves.
  const secPerPx = 10 / Math.max(1, traces.cssW * traces.dpr);
  const moved = !(Math.abs(tEnd - lastEnd) < secPerPx);
  if (dirty || moved || isLive !== lastLive || traces.sized || lastW !== traces.cssW) {
    let note = "";
    if (link !== "connected") note = link === "reconnecting" ? "Reconnecting… (traces paused)" : "Connecting…";
    else if (!dev) note = "No device";
    else if (!fresh) note = `No data from ${dev.id} (${dev.state ?? "unknown"})`;
    traces.draw({
      buf, tEnd, events: selected ? log.forDevice(selected) : [],
      threshold: threshold(), live: isLive, note,
    });
    updateReadouts(isLive, buf);
    renderStatus(el.status, dev, link);
    document.body.classList.toggle("not-live", !isLive);
    lastEnd = tEnd; lastLive = isLive; lastW = traces.cssW; dirty = false;
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
