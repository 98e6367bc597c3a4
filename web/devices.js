// The device panel: what is connected (state, rate, lost samples, RSSI) with a
// disconnect button each, and what could be: serial ports, BLE sensors (scan and
// paired), a simulated sensor. A daemon without BLE answers 404: "not available".

import { ApiError, del, get, post, put } from "./api.js";
import { BAD_STATES, rssiText, stateText } from "./status.js";
import { el } from "./dom.js";

const num = (v) => (typeof v === "number" ? v.toLocaleString("en-US") : "–");

function button(text, testid, onClick) {
  const b = el("button", "small", text);
  b.type = "button";
  if (testid) b.dataset.testid = testid;
  b.addEventListener("click", onClick);
  return b;
}

export class DevicePanel {
  constructor(root, { toast }) {
    this.root = root;
    this.toast = toast;
    const q = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.connected = q("connected-devices");
    this.ports = q("serial-ports");
    this.ble = q("ble-sensors");
    this.bleNote = q("ble-note");
    this.error = q("device-error");
    this.key = "";
    this.sources = new Set();
    this.lsl = q("lsl-toggle");
    this.lslNote = q("lsl-note");
    this.lsl.addEventListener("change", () => this.setLsl(this.lsl.checked));
    q("ports-refresh").addEventListener("click", () => this.loadPorts());
    q("ble-scan").addEventListener("click", (e) => this.scan(e.currentTarget));
    q("sim-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const seed = Number(new FormData(e.currentTarget).get("seed"));
      if (!Number.isInteger(seed) || seed < 0) return this.showError("the seed is a whole number, 0 or more");
      this.connect(`simulated:seed=${seed}`);
    });
  }

  /** Called when the panel opens: fresh port and paired-sensor lists. */
  open() {
    this.loadPorts();
    this.loadPaired();
    this.loadLsl();
  }

  showLsl(state) {
    this.lsl.checked = Boolean(state.enabled);
    this.lsl.disabled = !state.available;
    const streams = Array.isArray(state.streams) ? state.streams.length : 0;
    this.lslNote.textContent = !state.available ? `not installed: ${state.install}`
      : state.enabled ? `on: ${streams} stream${streams === 1 ? "" : "s"} on the network` : "off";
  }

  async loadLsl() {
    try {
      this.showLsl(await get("./api/lsl"));
    } catch (e) {
      this.lsl.disabled = true;
      this.lslNote.textContent = `LSL status unavailable: ${e.message}`;
    }
  }

  async setLsl(enabled) {
    this.lsl.disabled = true;
    try {
      this.showLsl(await put("./api/lsl", { enabled }));
    } catch (e) {
      this.showError(`LSL: ${e.message}`);
      await this.loadLsl();
    }
  }

  showError(text) {
    this.error.textContent = text || "";
    this.error.hidden = !text;
  }

  async connect(source) {
    this.showError("");
    try {
      const dev = await post("./api/devices", { source });
      this.toast(`Connected ${dev?.id ?? source}`);
    } catch (e) {
      this.showError(`Cannot connect ${source}: ${e.message}`);
    }
  }

  async disconnect(id) {
    this.showError("");
    try {
      await del(`./api/devices/${encodeURIComponent(id)}`);
      this.toast(`Disconnected ${id}`);
    } catch (e) {
      this.showError(`Cannot disconnect ${id}: ${e.message}`);
    }
  }

  async loadPorts() {
    try {
      const body = await get("./api/ports");
      const list = Array.isArray(body?.serial) ? body.serial : [];
      this.ports.replaceChildren(...(list.length ? list.map((p) => this.portItem(p)) : [el("li", "muted", "no serial ports found")]));
    } catch (e) {
      this.ports.replaceChildren(el("li", "error", `cannot list ports: ${e.message}`));
    }
  }

  portItem(p) {
    const li = el("li");
    const port = String(p.port ?? "");
    const desc = [p.description, p.serial_number && `serial ${p.serial_number}`].filter((x) => x && x !== "n/a").join(" · ");
    li.append(el("span", "what", port), el("span", "muted", desc ? " " + desc : ""));
    if (this.sources.has("serial:" + port)) li.append(el("span", "tag", "connected"));
    else li.append(button("Connect", "connect-port", () => this.connect("serial:" + port)));
    return li;
  }

  bleUnavailable(e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501)) {
      this.bleNote.textContent = "Bluetooth (BLE) is not available on this daemon.";
      return true;
    }
    if (e instanceof ApiError && e.status === 503) {  // no usable radio: the daemon says what to do
      this.bleNote.textContent = `Bluetooth (BLE) is not available: ${e.message}`;
      return true;
    }
    return false;
  }

  async loadPaired() {
    try {
      const body = await get("./api/ble/paired");
      const list = Array.isArray(body) ? body : Array.isArray(body?.sensors) ? body.sensors : [];
      this.bleNote.textContent = list.length ? "Paired sensors:" : "No paired sensors: scan to find one.";
      this.ble.replaceChildren(...list.map((s) => this.bleItem(s)));
    } catch (e) {
      if (!this.bleUnavailable(e)) this.bleNote.textContent = `cannot list paired sensors: ${e.message}`;
    }
  }

  async scan(btn) {
    btn.disabled = true;
    this.bleNote.textContent = "Scanning for 3 s…";
    try {
      const body = await post("./api/ble/scan", { seconds: 3 });
      const list = Array.isArray(body?.sensors) ? body.sensors : [];
      this.bleNote.textContent = list.length ? `${list.length} sensor(s) found:` : "No sensors found: is the board on and in range?";
      this.ble.replaceChildren(...list.map((s) => this.bleItem(s)));
    } catch (e) {
      if (!this.bleUnavailable(e)) this.bleNote.textContent = `scan failed: ${e.message}`;
    } finally {
      btn.disabled = false;
    }
  }

  bleItem(s) {
    const li = el("li");
    const address = String(s.address ?? s.name ?? "");
    li.append(el("span", "what", s.name || address), el("span", "muted", ` ${address}`));
    const tags = [];
    if (typeof s.rssi === "number") tags.push(`${Math.round(s.rssi)} dBm`);
    if (s.paired) tags.push("paired");
    if (s.connected || this.sources.has("ble:" + address)) tags.push("connected");
    for (const t of tags) li.append(el("span", "tag", t));
    if (!tags.includes("connected")) li.append(button("Connect", "connect-ble", () => this.connect("ble:" + address)));
    return li;
  }

  /** The connected table, from the live status of every device. */
  render(devices, link) {
    this.sources = new Set([...devices.values()].map((d) => d.source).filter(Boolean));
    const rows = [...devices.values()].map((d) => [d.id, d.device_id, d.source, stateText(d), d.state, d.rate_hz,
      d.lost_samples, rssiText(d)]);
    const key = JSON.stringify([rows, link]);
    if (key === this.key) return;
    this.key = key;
    if (!rows.length) {
      const tr = el("tr");
      const td = el("td", "muted", "no devices connected");
      td.colSpan = 6;
      tr.append(td);
      this.connected.replaceChildren(tr);
      return;
    }
    this.connected.replaceChildren(...[...devices.values()].map((d) => {
      const tr = el("tr");
      tr.dataset.device = d.id;
      const who = el("td");
      who.append(el("b", null, d.id), el("div", "muted", [d.device_id, d.source].filter(Boolean).join(" · ")));
      const st = el("td", link !== "connected" ? "stale" : BAD_STATES.has(d.state) ? "bad" : "ok",
        link !== "connected" ? `last known: ${d.state ?? "?"}` : stateText(d));
      const act = el("td");
      act.append(button("Disconnect", "disconnect", () => this.disconnect(d.id)));
      tr.append(who, st, el("td", "num", d.rate_hz ? `${num(d.rate_hz)} Hz` : "–"),
        el("td", "num" + (d.lost_samples > 0 ? " bad" : ""), num(d.lost_samples)), el("td", "num", rssiText(d)), act);
      return tr;
    }));
  }
}
