// The one-line device + link status. Built from text nodes so a device id can
// never inject markup, and rewritten only when its text changes.

const LINK_TEXT = { connecting: "connecting…", connected: "connected", reconnecting: "reconnecting…" };
// States in which the device is not delivering data: shown as a warning.
const BAD_STATES = new Set(["stalled", "lost", "stopped", "connecting"]);

const num = (v) => (typeof v === "number" ? v.toLocaleString("en-US").replace(/,/g, "\u2009") : "–");

export function renderStatus(el, dev, link) {
  const parts = [];
  if (dev) {
    parts.push(["dev", `${dev.device_id ?? "?"} (${dev.id})`]);
    // Without the link, the device state is only what it was: say so, don't show it as current.
    if (link !== "connected") parts.push(["state stale", `last known: ${dev.state ?? "unknown"}`]);
    else parts.push([BAD_STATES.has(dev.state) ? "state bad" : "state", dev.state ?? "unknown"]);
    parts.push(["", `${num(dev.rate_hz)} Hz`]);
    parts.push(["", `${num(dev.samples)} samples`]);
    parts.push([dev.lost_samples > 0 ? "lost warn" : "lost", `${num(dev.lost_samples)} lost`]);
    if (dev.last_error) parts.push(["lost warn", String(dev.last_error)]);
  } else {
    parts.push(["dev", "no device"]);
  }
  const key = JSON.stringify([parts, link]);
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  const nodes = [];
  for (const [cls, text] of parts) {
    const s = document.createElement("span");
    s.className = "item " + cls;
    s.textContent = text;
    nodes.push(s);
  }
  const l = document.createElement("span");
  l.className = "link link-" + link;
  l.dataset.testid = "link-status";
  l.textContent = LINK_TEXT[link] ?? link;
  nodes.push(l);
  el.replaceChildren(...nodes);
}
