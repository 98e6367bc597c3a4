// Entry point: wires the live link to the per-device trace buffers and lanes, the
// event log, the practitioner's marks and site, the body chart and PPT, the
// read-outs and the panels, and runs the animation loop that redraws a lane
// only when something in it changed or moved.

import { LiveLink, fetchEventsSince } from "./live.js";
import { post } from "./api.js";
import { TraceBuffer } from "./tracebuf.js";
import { DEFAULT_WINDOW_S } from "./traces.js";
import { EventLog, PressCounter } from "./events.js";
import { renderStatus, renderWarnings } from "./status.js";
import { Lanes } from "./lanes.js";
import { Onsets } from "./onsets.js";
import { Beeper } from "./sound.js";
import { FORCE_LIMIT_N, loadSound, loadTarget, saveSound, saveTarget } from "./prefs.js";
import { DevicePanel } from "./devices.js";
import { Recording } from "./recording.js";
import { SessionsPanel, SessionView } from "./sessions.js";
import { DetectorPanel } from "./detector.js";
import { installShortcuts } from "./keys.js";
import { FrameStats } from "./framestats.js";
import { LiveMarks, NoteComposer } from "./marks.js";
import { MarkKeys, showMarkKeys } from "./markkeys.js";
import { SitePicker } from "./sites.js";
import { LiveAgreement } from "./agreement.js";
import { SiteStats } from "./sitestats.js";
import { BodyPanel } from "./bodypanel.js";
import { PptControls } from "./ppt.js";
import { ReportLink } from "./reports.js";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const el = {
  ltr: $("ltr-count"), press: $("press-ltr-count"), pressNote: $("press-note"),
  force: $("force-n"), forceNote: $("force-note"), forceDevice: $("force-device"), targetNote: $("target-note"),
  targetForm: $("target-form"), status: $("device-status"), warnings: $("device-warnings"),
  list: $("event-list"), select: document.getElementById("device-select"), toast: $("toast"),
  sound: $("sound-button"), volume: $("sound-volume"),
};

// A trace older than this is not "live" any more (messages come at ~20 Hz).
const STALE_MS = 1000;

const devices = new Map();  // id -> latest DEVICE/status object
const bufs = new Map();     // id -> TraceBuffer
let selected = null;        // device shown in the read-outs
let link = "connecting";
let dirty = true;
let paused = null;          // {device, tEnd, id}: a lane held at a picked event
let target = loadTarget();
let instance = null;        // the daemon run we are showing (its hello says which)

// ---- toast: one short line that fades, for confirmations ----
let toastTimer = 0;
function toast(text) {
  el.toast.textContent = text;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.toast.hidden = true; }, 3500);
}

const press = new PressCounter();
const onsets = new Onsets();
const frames = new FrameStats();
const log = new EventLog({ listEl: el.list, onChange: () => { dirty = true; }, onPick: pickEvent });
const lanes = new Lanes($("lanes"), { onSelect: select, onLive: resume });

const bufFor = (id) => { if (!bufs.has(id)) bufs.set(id, new TraceBuffer()); return bufs.get(id); };
const threshold = (id = selected) => devices.get(id)?.press_threshold_n ?? null;

// ---- devices ----
function setDevices(list, { replace = false } = {}) {
  if (replace) {
    // A hello lists every device the daemon has: any other is gone (e.g. the daemon restarted).
    const keep = new Set(list.map((d) => d?.id));
    for (const id of [...devices.keys()]) if (!keep.has(id)) removeDevice(id);
  }
  for (const d of list) {
    if (!d || typeof d.id !== "string") continue;
    devices.set(d.id, d);
    lanes.ensure(d.id);
  }
  ppt.setDevices([...devices.values()]);
  if (!selected || !devices.has(selected)) {
    const first = list.find((d) => d.state === "streaming") ?? list[0] ?? devices.values().next().value;
    if (first) select(first.id);
  }
  syncPicker();
}

function removeDevice(id) {
  devices.delete(id);
  bufs.delete(id);
  onsets.clear(id);
  lanes.remove(id);
  if (paused?.device === id) paused = null;
  if (selected === id) {
    selected = null;
    const next = devices.keys().next().value;
    if (next) select(next);
  }
  syncPicker();
  dirty = true;
}

function syncPicker() {
  const ids = [...devices.keys()];
  // The picker only appears when there is a choice to make.
  el.select.hidden = ids.length < 2;
  document.body.classList.toggle("multi", ids.length > 1);
  if ([...el.select.options].map((o) => o.value).join() !== ids.join()) {
    el.select.replaceChildren(...ids.map((id) => new Option(id, id)));
  }
  if (selected) el.select.value = selected;
}

function select(id) {
  if (!devices.has(id)) return;
  if (id !== selected) press.reset();
  selected = id;
  el.select.value = id;
  dirty = true;
}
el.select.addEventListener("change", () => select(el.select.value));

// ---- events, provisional flags, sound ----
const beeper = new Beeper(loadSound());

function onEvent(ev, live) {
  // A live event happened at the site current now; a backfilled one's site is not known here.
  if (live && ev && ev.site === undefined) ev.site = sites.current;
  const hadFlag = live && onsets.resolve(ev);
  if (!log.add(ev)) return;
  // The site summary changes with every LTR and press: fetch it again once the recorder has it.
  if (live && (ev.kind === "ltr" || ev.kind === "press")) siteStats.nudge();
  // The tone normally sounded at onset; an event whose onset message was dropped sounds now.
  if (live && !hadFlag && (ev.kind === "ltr" || ev.kind === "twitch")) beeper.play(ev.kind);
  if (ev.device !== selected) return;
  if (ev.kind === "ltr") press.ltr(ev);
  else if (ev.kind === "press") press.press(ev);
}

function onMessage(msg) {
  switch (msg.kind) {
    case "hello":
      if (typeof msg.instance === "string") {
        // Another run of the daemon (it restarted): its event ids and device clocks begin again.
        if (instance !== null && msg.instance !== instance) startOver();
        instance = msg.instance;
      }
      if (Array.isArray(msg.devices)) setDevices(msg.devices, { replace: true });
      break;
    case "status": {
      // The daemon names the device in `device` and (like DEVICE) in `id`. Accept both.
      const id = typeof msg.device === "string" ? msg.device : msg.id;
      if (typeof id === "string") setDevices([{ ...msg, id }]);
      break;
    }
    case "removed":
      if (typeof msg.device === "string") removeDevice(msg.device);
      break;
    case "recording":
      recording.update(msg);
      break;
    case "mark":
      marks.onMessage(msg);
      break;
    case "site":
      sites.onMessage(msg);
      siteStats.nudge();
      break;
    case "ppt":
      ppt.onMessage(msg);
      break;
    case "onset":
      onsets.add(msg);
      beeper.play(msg.likely === "ltr" ? "ltr" : "twitch");
      break;
    case "trace": {
      if (typeof msg.device !== "string" || !devices.has(msg.device)) return;
      bufFor(msg.device).push(msg);
      if (msg.device === selected && Array.isArray(msg.force_n)) {
        const thr = threshold();
        msg.force_n.forEach((f, i) => press.force(msg.t0_s + i * msg.dt_s, f ?? NaN, thr));
      }
      break;
    }
    default:
      onEvent(msg, true); // event kinds; unknown kinds are dropped by the log
  }
  dirty = true;
}

function startOver() {
  log.reset(); press.reset(); onsets.clear(); marks.reset();
  for (const buf of bufs.values()) buf.clear();
  paused = null;
}

// After every (re)connect: fetch what happened while we were away.
async function backfill() {
  recording.refresh();
  sites.refresh();
  const before = log.lastId;
  try {
    let r = await fetchEventsSince(before);
    if (r.lastId < before) {
      // The daemon restarted and ids began again (a daemon without `instance` in its hello).
      startOver();
      r = await fetchEventsSince(0);
    }
    r.events.sort((a, b) => a.id - b.id).forEach((ev) => onEvent(ev, false));
  } catch (e) {
    console.warn("event backfill failed, retrying", e);
    setTimeout(() => { if (link === "connected") backfill(); }, 2000);
  }
}

// ---- picking an event: hold its lane there ----
function pickEvent(ev) {
  const buf = bufs.get(ev.device);
  log.mark(ev.id);
  if (devices.has(ev.device)) select(ev.device);
  if (!buf || !(ev.onset_s >= buf.startT)) {
    toast("That event is older than the minute kept on screen: record a session to see it later.");
    return;
  }
  const tEnd = Math.min(buf.endT, Math.max(ev.onset_s + DEFAULT_WINDOW_S / 2, buf.startT + DEFAULT_WINDOW_S));
  paused = { device: ev.device, tEnd, id: ev.id };
  const lane = lanes.get(ev.device);
  lane?.root.scrollIntoView({ block: "nearest" });
  dirty = true;
}

function resume() {
  paused = null;
  log.mark(null);
  dirty = true;
}

// ---- sound ----
function renderSound() {
  el.sound.textContent = beeper.on ? "♪ Sound on" : "♪ Sound off";
  el.sound.setAttribute("aria-pressed", String(beeper.on));
  el.volume.value = String(beeper.volume);
  el.volume.disabled = !beeper.on;
}
function toggleSound() {
  beeper.setOn(!beeper.on);
  saveSound({ on: beeper.on, volume: beeper.volume });
  renderSound();
  toast(beeper.on ? "Sound on: two rising beeps = LTR, one low blip = twitch" : "Sound off");
}
el.sound.addEventListener("click", toggleSound);
el.volume.addEventListener("input", () => {
  beeper.volume = Number(el.volume.value);
  saveSound({ on: beeper.on, volume: beeper.volume });
});
el.volume.addEventListener("change", () => beeper.play("ltr")); // hear the new level once
renderSound();

// ---- force target band ----
function renderTarget() {
  el.targetForm.elements.lo.value = target ? String(target.lo) : "";
  el.targetForm.elements.hi.value = target ? String(target.hi) : "";
  dirty = true;
}
el.targetForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const lo = Number(el.targetForm.elements.lo.value), hi = Number(el.targetForm.elements.hi.value);
  if (!(el.targetForm.elements.lo.value !== "" && lo >= 0 && hi > lo && hi <= FORCE_LIMIT_N)) {
    toast(`Target: give a range from 0 to ${FORCE_LIMIT_N} N, e.g. 5 – 10`);
    return;
  }
  target = { lo, hi };
  saveTarget(target);
  renderTarget();
});
el.targetForm.querySelector(".clear").addEventListener("click", () => { target = null; saveTarget(null); renderTarget(); });
renderTarget();

// ---- recording, marks and the site ----
const sites = new SitePicker($("site-picker"), { toast, onChange: (site) => bodyPanel.setCurrent(site) });
const liveAgreement = new LiveAgreement($("live-agreement"));
const bodyPanel = new BodyPanel(document.getElementById("panel-body"), { sites, toast });
const siteStats = new SiteStats({
  onUpdate: (list, id, isLive) => { bodyPanel.show(list, id, isLive); ppt.onStats(list, id); },
});
const reportLink = new ReportLink($("report-link"));
const recording = new Recording({
  button: $("record-button"), statusEl: $("recording-status"), notesBtn: $("notes-button"),
  dialog: document.getElementById("record-dialog"), banner: $("recording-banner"), toast,
  onChange: (st) => {
    document.title = st.state === "recording" ? "● REC · twitchd" : "twitchd · live";
    if (st.state !== "recording" && !drawers.sessions.hidden) sessionsPanel.refresh();
    sites.onRecording(st);
    liveAgreement.follow(st);
    siteStats.follow(st);
    ppt.onRecording(st);
    reportLink.update(st);
  },
  beforeStop: () => ppt.endWithRecording(),
});
const marks = new LiveMarks({
  recording, toast, onChange: () => { dirty = true; },
  // Where each lane's right edge is now: a mark is drawn there until the daemon's own time for it comes.
  now: () => {
    const at = {}, nowMs = performance.now();
    for (const [id, buf] of bufs) if (buf.len) at[id] = buf.viewTime(nowMs);
    return at;
  },
});
const markKeys = new MarkKeys(document.getElementById("mark-keys"), { toast, onChange: (keys) => { showMarkKeys(keys); ppt.render(); } });
const ppt = new PptControls({ start: $("ppt-start"), device: $("ppt-device"), error: $("ppt-error"), pop: $("ppt-panel") },
  { recording, siteStats, toast, painKey: () => markKeys.keys.ppt });
showMarkKeys(markKeys.keys);
$("mark-keys-button").addEventListener("click", () => markKeys.open());
const notes = new NoteComposer($("note-form"), { toast, send: (text) => marks.mark("note", text, notes.source) });
/** A mark asked for by a key (source "key", or "pedal" for the felt key set as one) or a button ("screen"). */
function mark(kind, source) {
  if (kind !== "note") { marks.mark(kind, "", source); return; }
  if (!recording.recording) { toast("Not recording: notes at a moment go into a recording (R to record)"); return; }
  notes.source = source;
  notes.open();
}
const keySource = (kind) => (kind === "felt_ltr" && markKeys.keys.pedal ? "pedal" : "key");
$("felt-ltr-button").addEventListener("click", () => mark("felt_ltr", "screen"));
$("referred-pain-button").addEventListener("click", () => mark("referred_pain", "screen"));
$("note-button").addEventListener("click", () => mark("note", "screen"));

// ---- panels ----
const devicePanel = new DevicePanel(document.getElementById("panel-devices"), { toast });
const detectorPanel = new DetectorPanel(document.getElementById("panel-detector"), { toast });
async function replay(id) {
  try {
    const dev = await post("./api/devices", { source: `replay:${id}` });
    toast(`Replaying session ${id} as ${dev.id}`);
    sessionView.close();
    closePanels();
  } catch (e) {
    toast(`Cannot replay session ${id}: ${e.message}`);
  }
}
const sessionView = new SessionView($("session-view"), { onReplay: replay, onClose: () => { dirty = true; }, beeper, toast });
const sessionsPanel = new SessionsPanel(document.getElementById("panel-sessions"), {
  onOpen: (id) => sessionView.open(id).catch((e) => toast(`Cannot open session ${id}: ${e.message}`)),
  onReplay: replay,
});
const drawers = {
  body: document.getElementById("panel-body"),
  devices: document.getElementById("panel-devices"),
  sessions: document.getElementById("panel-sessions"),
  detector: document.getElementById("panel-detector"),
};
const onOpenPanel = { body: () => bodyPanel.open(), devices: () => devicePanel.open(), sessions: () => sessionsPanel.refresh(), detector: () => detectorPanel.open() };
function closePanels() {
  for (const d of Object.values(drawers)) d.hidden = true;
  for (const b of document.querySelectorAll("[data-panel]")) b.setAttribute("aria-expanded", "false");
}
function togglePanel(name) {
  const wasOpen = !drawers[name].hidden;
  closePanels();
  if (wasOpen) return;
  drawers[name].hidden = false;
  document.querySelector(`[data-panel="${name}"]`).setAttribute("aria-expanded", "true");
  onOpenPanel[name]();
}
for (const b of document.querySelectorAll("[data-panel]")) b.addEventListener("click", () => togglePanel(b.dataset.panel));
for (const d of Object.values(drawers)) d.querySelector(".close").addEventListener("click", closePanels);
const help = document.getElementById("help");
$("help-button").addEventListener("click", () => help.showModal());

installShortcuts({
  mark: (kind) => mark(kind, keySource(kind)),
  site: (step) => sites.step(step),
  ppt: () => ppt.toggle(),
  pain: () => ppt.pain("key"),
  record: () => recording.toggle(),
  mute: toggleSound,
  help: () => help.showModal(),
  panel: togglePanel,
  device: (n) => { const id = [...devices.keys()][n - 1]; if (id) select(id); },
  live: () => {
    if (sessionView.isOpen) { if (!sessionView.review.cancelDraft()) sessionView.close(); }
    else if (Object.values(drawers).some((d) => !d.hidden)) closePanels();
    else resume();
  },
  review: {
    open: () => sessionView.isOpen,
    accept: () => sessionView.review.accept(),
    reject: () => sessionView.review.reject(),
    add: () => sessionView.review.toggleAdd(),
    cue: () => sessionView.review.cue(),
    step: (n) => sessionView.step(n),
    zoom: (dir) => sessionView.zoom(dir),
    scroll: (dir) => sessionView.scroll(dir),
  },
}, () => markKeys.keys);

const live = new LiveLink({
  onMessage,
  onState: (s) => { link = s; dirty = true; },
  onOpen: backfill,
});
live.connect();

// ---- read-outs ----
const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };
const fmtNum = (v) => (typeof v === "number" ? v.toFixed(1) : "–");

function updateReadouts(nowMs) {
  const buf = selected ? bufs.get(selected) : null;
  const isLive = link === "connected" && !!buf && nowMs - buf.lastRxMs < STALE_MS;
  setText(el.ltr, String(log.ltrTotal));
  const thr = threshold();
  const lf = isLive && buf ? buf.latestForce() : null;
  setText(el.forceDevice, devices.size > 1 && selected ? `· ${selected}` : "");
  // Old force must not look current: show a dash when it isn't live.
  setText(el.force, lf ? `${lf.n.toFixed(1)} N` : "– N");
  const pressing = !!lf && thr != null && lf.n >= thr;
  document.body.classList.toggle("pressing", pressing && press.pressing);
  setText(el.forceNote, !lf ? "no live force" : pressing ? `pressing (≥ ${thr} N)` : `below press threshold ${thr ?? "?"} N`);
  let tnote = "";
  let where = "";
  if (target && lf) {
    where = lf.n < target.lo ? "below" : lf.n > target.hi ? "above" : "in";
    tnote = where === "in" ? `✓ in target ${target.lo}–${target.hi} N` :
      where === "below" ? `↑ below target (${target.lo}–${target.hi} N)` : `↓ above target (${target.lo}–${target.hi} N)`;
  } else if (target) {
    tnote = `target ${target.lo}–${target.hi} N`;
  }
  setText(el.targetNote, tnote);
  el.targetNote.dataset.where = where;
  setText(el.press, String(press.count));
  let note;
  if (press.pressing) note = "this press";
  else if (press.final) note = `last press · ${fmtNum(press.final.peak_force_n)} N peak`;
  else if (press.pressStart != null) note = "last press";
  else note = "no press yet";
  setText(el.pressNote, note);
  el.press.classList.toggle("dim", !press.pressing);
  renderStatus(el.status, devices.get(selected), link);
  renderWarnings(el.warnings, [...devices.values()], link);
  devicePanel.render(devices, link);
  document.body.classList.toggle("not-live", !isLive);
}

// ---- animation loop ----
function drawLane(lane, nowMs) {
  const id = lane.id;
  const buf = bufs.get(id) ?? null;
  const dev = devices.get(id);
  const fresh = !!buf && nowMs - buf.lastRxMs < STALE_MS;
  const isLive = link === "connected" && fresh;
  const held = paused?.device === id ? paused : null;
  // Frozen when not live: the last picture stays, veiled, instead of scrolling on.
  const tEnd = held ? held.tEnd : buf ? (isLive ? buf.viewTime(nowMs) : Math.min(lane.lastEnd, buf.endT) || buf.endT) : NaN;
  // Move at least one device pixel before redrawing: no work while nothing moves.
  const secPerPx = DEFAULT_WINDOW_S / Math.max(1, lane.traces.cssW * lane.traces.dpr);
  const moved = !(Math.abs(tEnd - lane.lastEnd) < secPerPx);
  const pending = onsets.forDevice(id, nowMs);
  const laneMarks = marks.forDevice(id, nowMs);
  if (!(dirty || moved || isLive !== lane.lastLive || lane.traces.sized || lane.lastW !== lane.traces.cssW ||
        pending.length !== lane.lastPending || laneMarks.length !== lane.lastMarks)) return false;
  let note = "";
  if (link !== "connected") note = link === "reconnecting" ? "Reconnecting… (not live)" : "Connecting…";
  else if (!fresh) note = `No data from ${id} (${dev?.state ?? "unknown"})`;
  lane.traces.draw({
    buf, tEnd, events: log.forDevice(id), onsets: pending, marks: laneMarks, threshold: threshold(id), target,
    live: isLive, note, highlightId: held?.id ?? null,
    paused: held ? `PAUSED at ${held.tEnd.toFixed(1)} s · L or Esc = live` : "",
  });
  lane.setHead({ dev, ltr: log.ltrCount(id), selected: id === selected && devices.size > 1, link, paused: !!held });
  lane.lastEnd = tEnd; lane.lastLive = isLive; lane.lastW = lane.traces.cssW; lane.lastPending = pending.length;
  lane.lastMarks = laneMarks.length;
  return true;
}

function frame(nowMs) {
  if (!sessionView.isOpen) {
    frames.begin();
    let drew = false;
    for (const lane of lanes.all()) drew = drawLane(lane, nowMs) || drew;
    if (drew || dirty) updateReadouts(nowMs);
    frames.end(drew);
    dirty = false;
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// Diagnostics for the console, the frame benchmark and the browser tests.
window.twitchd = { frames, sound: beeper, lanes, devices, bufs, marks, sites, sessionView, markKeys, siteStats, bodyPanel, ppt };
