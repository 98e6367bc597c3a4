// The body chart panel (W): the practitioner clicks a muscle to work on it,
// and sees, site by site, what the session has given so far: the LTR count
// on the chart, and beside it each site's LTRs with the force that drew each,
// whether it still responds or has quieted, its habituation plot and its PPT.
// The chart itself is bodychart.js's; the numbers are the daemon's
// (sitestats.js), never counted again here.

import { BodyChart } from "./bodychart.js";
import { habituationPlot } from "./habituation.js";
import { siteLabel } from "./kinds.js";
import { QUIET_PRESSES } from "./sitestats.js";
import { el } from "./dom.js";

const STATUS_TEXT = { "no response": "no response yet", responding: "responding", quieted: "quieted" };
const n1 = (v) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(1) : "–");

export class BodyPanel {
  /** root: the drawer; sites: the SitePicker (current site, choose()). */
  constructor(root, { sites, toast }) {
    this.root = root;
    this.sites = sites;
    this.toast = toast;
    const q = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.chartEl = q("body-chart");
    this.listEl = q("site-stats");
    this.sessionEl = q("body-session");
    this.chart = null;   // made when the panel first opens: the page need not fetch the SVG before then
    this.list = [];
    this.session = null;
    this.live = false;
    this.render();
  }

  open() {
    if (!this.chart) {
      this.chart = new BodyChart(this.chartEl, { onPick: (r) => this.pick(r) });
      this.chart.ready.catch((e) => { this.chartEl.textContent = `The body chart did not load: ${e.message}`; });
      this.chart.setCurrent(this.sites.current);
      this.chart.setStats(this.chartStats());
    }
  }

  /** A region clicked: that muscle and side from now on; the point label stays if the muscle does. */
  pick({ muscle, side }) {
    const now = this.sites.current;
    const point = now && now.muscle === muscle ? now.point ?? "" : "";
    this.sites.choose({ muscle, side, point });
  }

  /** The current site changed (this page, another client, or the record form). */
  setCurrent(site) {
    this.chart?.setCurrent(site);
    this.render();
  }

  /** A new picture from sitestats.js. */
  show(list, session, live) {
    this.list = list;
    this.session = session;
    this.live = live;
    this.chart?.setStats(this.chartStats());
    this.render();
  }

  chartStats() {
    return this.list.filter((s) => s.site).map((s) => ({ muscle: s.site.muscle, side: s.site.side, ltrs: s.ltrs, quieted: s.quieted }));
  }

  render() {
    this.sessionEl.textContent = this.session == null ? "no session yet" :
      this.live ? `session #${this.session}, recording (updated every 2 s)` : `session #${this.session}, stopped`;
    if (!this.list.length) {
      this.listEl.replaceChildren(el("li", "muted", this.session == null ?
        "Record a session (R) and choose a site: each site's LTRs show here as you treat it." :
        "No site has given anything yet: choose one on the chart or in the header."));
      return;
    }
    const current = siteLabel(this.sites.current);
    this.listEl.replaceChildren(...this.list.map((s) => this.item(s, s.label === current)));
  }

  item(s, isCurrent) {
    const li = el("li", "site-stat");
    li.dataset.site = s.label;
    li.dataset.status = s.status;
    if (isCurrent) { li.classList.add("now"); li.setAttribute("aria-current", "true"); }
    const head = el("div", "head");
    const count = el("b", "ltrs", `${s.ltrs} LTR`);
    count.dataset.testid = "site-ltrs";
    count.dataset.value = String(s.ltrs);
    const status = el("span", `status ${s.status.replace(/\s+/g, "-")}`, STATUS_TEXT[s.status] ?? s.status);
    status.dataset.testid = "site-status";
    head.append(el("span", "name", s.label || "no site"), count, status);
    li.append(head);
    const forces = s.ltr_list.map((x) => x.force_n);
    if (forces.length) {
      const f = el("div", "forces");
      f.dataset.testid = "site-forces";
      f.dataset.values = JSON.stringify(forces);
      const range = s.force_n ? ` · median ${n1(s.force_n.median)} (${n1(s.force_n.min)}–${n1(s.force_n.max)})` : "";
      f.textContent = `Force at each LTR: ${forces.map(n1).join(", ")} N${range}`;
      li.append(f);
    }
    li.append(el("div", "muted", `${s.presses_with_ltr}/${s.presses} presses with an LTR · ${s.felt_marks} felt mark${s.felt_marks === 1 ? "" : "s"}`));
    if (s.quieted) {
      li.append(el("div", "quiet", `Quieted: ${QUIET_PRESSES} presses in a row without an LTR since its last`));
    }
    if (s.ltrs) li.append(habituationPlot(s.ltr_list, { label: s.label }));
    const ppt = s.ppt?.summary;
    if (ppt?.n) {
      const p = el("div", "ppt", `PPT ${n1(ppt.mean_n)}${ppt.sd_n != null ? ` ± ${n1(ppt.sd_n)}` : ""} N (n = ${ppt.n}): ` +
        s.ppt.trials.map((t) => n1(t.force_n)).join(", ") + " N");
      p.dataset.testid = "site-ppt";
      li.append(p);
    }
    return li;
  }
}
