// The one-line device + link status, and the device warnings banner. Built from
// text nodes so a device id or message can never inject markup, and rewritten
// only when its text changes.

const LINK_TEXT = { connecting: "connecting…", connected: "connected", reconnecting: "reconnecting…" };
// States in which the device is not delivering data: shown as a warning.
export const BAD_STATES = new Set(["stalled", "lost", "stopped", "connecting", "reconnecting"]);

const num = (v) => (typeof v === "number" ? v.toLocaleString("en-US").replace(/,/g, "\u2009") : "–");

/** "streaming", or "lost for 3.2 s" / "reconnecting (lost 12 s)" when the daemon says how long. */
export function stateText(dev) {
  const s = dev?.state ?? "unknown";
  if (typeof dev?.lost_for_s === "number" && BAD_STATES.has(s) && s !== "connecting") {
    return `${s} (${dev.lost_for_s.toFixed(dev.lost_for_s < 10 ? 1 : 0)} s)`;
  }
  return s;
}

export const rssiText = (dev) => (typeof dev?.rssi === "number" ? `${Math.round(dev.rssi)} dBm` : "–");

function replaceIfChanged(el, key, build) {
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  el.replaceChildren(...build());
}

function span(cls, text) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

export function renderStatus(el, dev, link) {
  const parts = [];
  if (dev) {
    parts.push(["dev", `${dev.device_id || "?"} (${dev.id})`]);
    // Without the link, the device state is only what it was: say so, don't show it as current.
    if (link !== "connected") parts.push(["state stale", `last known: ${dev.state ?? "unknown"}`]);
    else parts.push([BAD_STATES.has(dev.state) ? "state bad" : "state", stateText(dev)]);
    parts.push(["", `${num(dev.rate_hz)} Hz`]);
    parts.push(["", `${num(dev.samples)} samples`]);
    parts.push([dev.lost_samples > 0 ? "lost warn" : "lost", `${num(dev.lost_samples)} lost`]);
    if (typeof dev.rssi === "number") parts.push(["", `RSSI ${rssiText(dev)}`]);
    if (dev.last_error) parts.push(["lost warn", String(dev.last_error)]);
  } else {
    parts.push(["dev", "no device"]);
  }
  replaceIfChanged(el, JSON.stringify([parts, link]), () => {
    const nodes = parts.map(([cls, text]) => span("item " + cls, text));
    const l = span("link link-" + link, LINK_TEXT[link] ?? link);
    l.dataset.testid = "link-status";
    nodes.push(l);
    return nodes;
  });
}

// Known codes get a plain-words title; unknown ones are shown by their code, never dropped.
const WARNING_TITLE = {
  force_saturated: "Force sensor saturated",
  emg_flat: "EMG flat",
  emg_clipping: "EMG clipping",
};

/** Valid warnings of a device's status: [{code, message}] (anything else is ignored). */
export function warningsOf(dev) {
  if (!Array.isArray(dev?.warnings)) return [];
  return dev.warnings.filter((w) => w && typeof w.code === "string")
    .map((w) => ({ code: w.code, message: typeof w.message === "string" ? w.message : "" }));
}

/** The banner: one line per warning, "⚠ device · title: message". Hidden when there are none. */
export function renderWarnings(el, devices, link) {
  const rows = [];
  for (const dev of devices) {
    for (const w of warningsOf(dev)) rows.push([dev.id, w.code, WARNING_TITLE[w.code] ?? w.code, w.message]);
  }
  el.hidden = rows.length === 0;
  el.classList.toggle("stale", link !== "connected");
  replaceIfChanged(el, JSON.stringify([rows, link, devices.length > 1]), () => rows.map(([id, code, title, message]) => {
    const line = document.createElement("div");
    line.className = "warning";
    line.dataset.code = code;
    line.dataset.device = id;
    line.append(span("icon", "⚠"), " ");
    if (devices.length > 1) line.append(span("dev", id + " · "));
    line.append(span("title", title), message ? ": " + message : "");
    if (link !== "connected") line.append(span("stale", " (last known)"));
    return line;
  }));
}
