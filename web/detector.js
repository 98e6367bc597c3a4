// Detector settings: every parameter with its value, default, range and the
// reason for its default; Apply sends only what changed, Reset restores defaults.

import { del, get, put } from "./api.js";
import { el } from "./dom.js";

// Parameter names read better with their unit spelled out.
const UNIT = [["_hz", "Hz"], ["_n_per_s", "N/s"], ["_n", "N"], ["_s", "s"]];
const label = (name) => {
  for (const [suffix, unit] of UNIT) {
    if (name.endsWith(suffix)) return [name.slice(0, -suffix.length).replace(/_/g, " "), unit];
  }
  return [name.replace(/_/g, " "), ""];
};

export class DetectorPanel {
  constructor(root, { toast }) {
    this.root = root;
    this.toast = toast;
    this.form = root.querySelector('[data-testid="detector-form"]');
    this.params = this.form.querySelector(".params");
    this.error = root.querySelector('[data-testid="detector-error"]');
    this.values = {};
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.apply(); });
    root.querySelector('[data-testid="detector-reset"]').addEventListener("click", () => this.reset());
  }

  showError(text) {
    this.error.textContent = text || "";
    this.error.hidden = !text;
  }

  async open() {
    try {
      const body = await get("./api/detector");
      this.render(body.parameters ?? [], body.values ?? {});
      this.showError("");
    } catch (e) {
      this.showError(`Cannot read the detector settings: ${e.message}`);
    }
  }

  render(parameters, values) {
    this.values = values;
    this.params.replaceChildren(...parameters.map((p) => {
      const [name, unit] = label(p.name);
      const row = el("div", "param");
      row.dataset.name = p.name;
      const id = `param-${p.name}`;
      const lab = el("label", null, name);
      lab.htmlFor = id;
      const input = el("input");
      Object.assign(input, { id, name: p.name, type: "number", step: "any", required: true });
      if (typeof p.min === "number") input.min = String(p.min);
      if (typeof p.max === "number") input.max = String(p.max);
      input.value = String(values[p.name] ?? p.default);
      const changed = values[p.name] !== p.default;
      row.classList.toggle("changed", changed);
      const facts = el("span", "facts", `${unit} · default ${p.default} · ${p.min}–${p.max}${changed ? " · changed" : ""}`);
      const why = el("details", "why");
      why.append(el("summary", null, "why"), el("p", null, p.reason ?? ""));
      input.title = p.reason ?? "";
      row.append(lab, input, facts, why);
      return row;
    }));
  }

  async apply() {
    const changes = {};
    for (const input of this.params.querySelectorAll("input")) {
      const v = Number(input.value);
      if (input.value.trim() === "" || !Number.isFinite(v)) return this.showError(`${input.name}: a number is needed`);
      if (v !== this.values[input.name]) changes[input.name] = v;
    }
    if (!Object.keys(changes).length) return this.showError("Nothing changed.");
    try {
      await put("./api/detector", changes);
      this.showError("");
      this.toast(`Detector: ${Object.keys(changes).join(", ")} changed`);
      await this.open();
    } catch (e) {
      this.showError(e.message);
    }
  }

  async reset() {
    try {
      await del("./api/detector");
      this.toast("Detector settings reset to their defaults");
      await this.open();
    } catch (e) {
      this.showError(e.message);
    }
  }
}
