// The site the practitioner is working on (muscle, side, point label), in the
// header: set it from the catalog or in free text, one click on a recent site
// chooses it again, and [ / ] step through the sites of this session. Every
// event and mark the daemon stores carries the site current at its time.

import { del, get, put } from "./api.js";
import { siteLabel } from "./kinds.js";
import { loadRecentSites, saveRecentSites } from "./prefs.js";

const same = (a, b) => !!a && !!b && a.muscle === b.muscle && (a.side ?? "") === (b.side ?? "") && (a.point ?? "") === (b.point ?? "");
const clean = (s) => (s && typeof s.muscle === "string" && s.muscle ? { muscle: s.muscle, side: s.side ?? "", point: s.point ?? "" } : null);

export class SitePicker {
  /** root: the header group; onChange(site) after the current site changed. */
  constructor(root, { toast, onChange }) {
    this.root = root;
    this.toast = toast;
    this.onChange = onChange;
    const q = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.form = q("site-form");
    this.now = q("site-current");
    this.recentEl = q("site-recent");
    this.muscles = document.getElementById("site-muscles");
    this.points = document.getElementById("site-points");
    this.catalog = [];
    this.current = null;
    this.session = null;       // the recording's id, or null
    this.sessionSites = [];    // sites used in that session, in the order first used
    this.recent = loadRecentSites();
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.setFromForm(); });
    // The form opens from the current site and closes once a site is set (or on Esc): the header stays one line.
    this.now.addEventListener("click", () => this.toggleForm());
    this.form.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); this.toggleForm(false); } });
    q("site-clear").addEventListener("click", () => this.clear());
    this.form.elements.muscle.addEventListener("input", () => this.fillPoints());
    this.render();
  }

  /** The catalog and the current site (at start and after every reconnect). */
  async refresh() {
    try {
      const r = await get("./api/sites");
      this.catalog = Array.isArray(r?.catalog) ? r.catalog.filter((c) => typeof c?.muscle === "string") : [];
      this.muscles.replaceChildren(...this.catalog.map((c) => new Option(c.muscle)));
      this.fillPoints();
      this.setCurrent(clean(r?.current), { quiet: true });
    } catch { /* the daemon is away: the picker keeps what it had */ }
  }

  /** The recording's status changed: its session (for "sites of this session") and its site. */
  async onRecording(st) {
    const id = st.state === "recording" ? st.session_id : null;
    if ("site" in st) this.setCurrent(clean(st.site), { quiet: true });
    if (id === this.session) return;
    this.session = id;
    this.sessionSites = [];
    if (id != null) {
      try {
        const s = await get(`./api/sessions/${id}`);
        for (const row of s?.sites ?? []) this.used(clean(row));
      } catch { /* it fills up as sites are set */ }
      if (this.current) this.used(this.current);
    }
    this.render();
  }

  /** A `site` message from /ws/live (this page, another client, or the record form's muscle). */
  onMessage(msg) {
    this.setCurrent(clean(msg.site));
  }

  setCurrent(site, { quiet = false } = {}) {
    const changed = !same(site, this.current) && !(site === null && this.current === null);
    this.current = site;
    if (site) {
      this.used(site);
      this.recent = [site, ...this.recent.filter((s) => !same(s, site))].slice(0, 8);
      saveRecentSites(this.recent);
    }
    this.render();
    if (changed) {
      this.onChange?.(site);
      if (!quiet) this.toast(site ? `Site: ${siteLabel(site)}` : "No site set");
    }
  }

  used(site) {
    if (site && this.session != null && !this.sessionSites.some((s) => same(s, site))) this.sessionSites.push(site);
  }

  toggleForm(open = this.form.hidden) {
    this.form.hidden = !open;
    this.now.setAttribute("aria-expanded", String(open));
    if (open) this.form.elements.muscle.focus();
    else if (this.form.contains(document.activeElement)) document.activeElement.blur();
  }

  fillPoints() {
    const m = this.catalog.find((c) => c.muscle === this.form.elements.muscle.value.trim());
    const points = Array.isArray(m?.points) ? m.points : [...new Set(this.catalog.flatMap((c) => c.points ?? []))];
    this.points.replaceChildren(...points.map((p) => new Option(p)));
  }

  setFromForm() {
    const f = this.form.elements;
    const site = { muscle: f.muscle.value.trim(), side: f.side.value, point: f.point.value.trim() };
    if (!site.muscle) { this.toast("Site: name the muscle (or Clear for no site)"); return; }
    this.choose(site);
  }

  async choose(site) {
    try {
      const r = await put("./api/site", site);
      this.toggleForm(false);
      this.setCurrent(clean(r?.current) ?? clean(site));
    } catch (e) {
      this.toast(`Site not set: ${e.message}`);
    }
  }

  async clear() {
    try {
      await del("./api/site");
      this.toggleForm(false);
      this.setCurrent(null);
    } catch (e) {
      this.toast(`Site not cleared: ${e.message}`);
    }
  }

  /** [ and ]: the previous or next site of this session (or of the recent ones, outside a recording). */
  step(dir) {
    const list = this.sessionSites.length ? this.sessionSites : this.recent;
    if (!list.length) { this.toast("No sites yet: set one in the header"); return; }
    const i = list.findIndex((s) => same(s, this.current));
    const next = list[i < 0 ? (dir > 0 ? 0 : list.length - 1) : (i + dir + list.length) % list.length];
    if (list.length === 1 && i >= 0) { this.toast(`Only one site so far: ${siteLabel(next)}`); return; }
    this.choose(next);
  }

  render() {
    const label = siteLabel(this.current);
    this.now.textContent = label || "no site";
    this.now.classList.toggle("none", !label);
    this.root.classList.toggle("has-site", !!label);
    const f = this.form.elements;
    // The form shows the current site, unless the practitioner is typing a new one.
    if (this.current && !this.form.contains(document.activeElement)) {
      f.muscle.value = this.current.muscle; f.side.value = this.current.side; f.point.value = this.current.point;
    }
    const chips = [...this.sessionSites, ...this.recent.filter((s) => !this.sessionSites.some((x) => same(x, s)))]
      .filter((s) => !same(s, this.current)).slice(0, 5);
    this.recentEl.replaceChildren(...chips.map((s) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "small site-chip";
      b.textContent = siteLabel(s);
      b.title = `Work on ${siteLabel(s)} now`;
      b.dataset.testid = "site-chip";
      b.addEventListener("click", () => this.choose(s));
      return b;
    }));
  }
}
