// One lane per device: a header (device, state, its own LTR count, warnings)
// above a canvas with its EMG and force traces. Lanes stack, or sit two across
// when there are three or more, so every device stays readable at once.

import { Traces } from "./traces.js";
import { BAD_STATES, stateText, warningsOf } from "./status.js";
import { el } from "./dom.js";

/** What each line is, in words beside a sample of it (colour is never the only cue). */
export function legend() {
  const box = el("span", "legend");
  for (const [cls, text] of [["emg", "EMG (filtered RAW)"], ["env", "envelope"], ["force", "force"], ["thr", "press threshold"]]) {
    const item = el("span");
    item.append(el("span", "sw " + cls), text);
    box.append(item);
  }
  return box;
}

export class Lane {
  constructor(id, { onSelect, onLive }) {
    this.id = id;
    this.root = el("div", "lane");
    this.root.dataset.testid = "lane";
    this.root.dataset.device = id;
    const head = el("div", "lane-head");
    this.name = el("span", "lane-name", id);
    this.state = el("span", "lane-state");
    this.state.dataset.testid = "lane-state";
    this.ltr = el("span", "lane-ltr");
    this.ltr.dataset.testid = "lane-ltr";
    this.warn = el("span", "lane-warn");
    this.sel = el("span", "lane-sel", "in read-outs");
    this.live = el("button", "lane-live", "▶ Back to live");
    this.live.type = "button";
    this.live.hidden = true;
    this.live.addEventListener("click", (e) => { e.stopPropagation(); onLive(id); });
    head.append(this.name, this.state, this.ltr, this.warn, this.sel, legend(), this.live);
    const plot = el("div", "lane-plot");
    const canvas = el("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `EMG and force of ${id}`);
    plot.append(canvas);
    this.root.append(head, plot);
    this.root.addEventListener("click", () => onSelect(id));
    this.traces = new Traces(canvas);
    this.headKey = "";
    // Redraw bookkeeping for the frame loop.
    this.lastEnd = NaN; this.lastLive = null; this.lastW = 0; this.dirty = true;
  }

  /** Header text; touches the DOM only when something shown changed. */
  setHead({ dev, ltr, selected, link, paused }) {
    const warnings = warningsOf(dev);
    const live = link === "connected";
    const state = !dev ? "no status yet" : live ? stateText(dev) : `last known: ${dev.state ?? "unknown"}`;
    const key = JSON.stringify([dev?.device_id, state, ltr, selected, paused, warnings.map((w) => w.code), live]);
    if (key === this.headKey) return;
    this.headKey = key;
    this.name.textContent = dev?.device_id ? `${this.id} · ${dev.device_id}` : this.id;
    this.state.textContent = state;
    this.state.className = "lane-state" + (!live ? " stale" : BAD_STATES.has(dev?.state) ? " bad" : "");
    this.ltr.textContent = `LTR ${ltr}`;
    this.warn.textContent = warnings.length ? `⚠ ${warnings.map((w) => w.code.replace(/_/g, " ")).join(", ")}` : "";
    this.root.classList.toggle("warned", warnings.length > 0);
    this.root.classList.toggle("selected", selected);
    this.sel.hidden = !selected;
    this.live.hidden = !paused;
    this.root.classList.toggle("paused", paused);
  }
}

export class Lanes {
  constructor(container, handlers) {
    this.container = container;
    this.handlers = handlers;
    this.byId = new Map();
  }

  get(id) { return this.byId.get(id); }
  ids() { return [...this.byId.keys()]; }
  all() { return this.byId.values(); }

  ensure(id) {
    let lane = this.byId.get(id);
    if (!lane) {
      lane = new Lane(id, this.handlers);
      this.byId.set(id, lane);
      this.container.append(lane.root);
      this.layout();
    }
    return lane;
  }

  remove(id) {
    const lane = this.byId.get(id);
    if (!lane) return;
    lane.root.remove();
    this.byId.delete(id);
    this.layout();
  }

  layout() {
    const n = this.byId.size;
    this.container.dataset.count = String(n);
    this.container.classList.toggle("two-across", n >= 3);
  }
}
