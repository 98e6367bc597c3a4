// Pressure pain threshold (algometry) from the page: T starts a series of
// three trials at the current site, read from the chosen force sensor (an
// algometer board beside the EMG sensor, say); the practitioner ramps at
// about 1 kg/s and the patient says "now" with the pain key (O by default),
// the big button, or the board's own button. Each trial's threshold, ramp
// and warnings come from the daemon (/ws/live `ppt` messages, which also
// bring board presses and other clients' series), and once the series is
// done, the site's mean ± SD as the daemon's site summary has it.

import { del, post } from "./api.js";
import { siteLabel } from "./kinds.js";
import { keyName, loadPptSensor, savePptSensor } from "./prefs.js";
import { summaryOf } from "./sitestats.js";

export const TRIALS = 3;  // the usual algometry protocol (twitchd.ppt TRIALS_PER_SITE)

const hasForce = (d) => Array.isArray(d?.channels) && d.channels.some((c) => c === "fsr" || c === "force");
const n1 = (v) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(1) : "–");
const SOURCE_TEXT = { key: "pain key", pedal: "pedal", screen: "✋ button", board: "board button", api: "API" };

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

export class PptControls {
  /**
   * start: the PPT button; device: the sensor select; error: where a refusal is said; pop: the series card.
   * recording: the Recording (is one running, its session); siteStats: the SiteStats (the site's mean);
   * painKey(): the patient's key now (for the hints).
   */
  constructor({ start, device, error, pop }, { recording, siteStats, toast, painKey }) {
    Object.assign(this, { startBtn: start, deviceSel: device, errorEl: error, pop, recording, siteStats, toast, painKey });
    const q = (id) => pop.querySelector(`[data-testid="${id}"]`);
    this.el = { what: q("ppt-what"), calibration: q("ppt-calibration"), status: q("ppt-status"), pain: q("ppt-pain"),
      trials: q("ppt-trials"), summary: q("ppt-summary"), stop: q("ppt-stop"), close: q("ppt-close") };
    this.series = null;  // {key, session, number, site, device, trials, done, calibration, running, stopped, results: Map}
    this.sensors = new Map();  // device name -> sensor id, for the select
    this.busy = false;
    start.addEventListener("click", () => this.toggle());
    device.addEventListener("change", () => savePptSensor(this.sensors.get(device.value) ?? ""));
    this.el.pain.addEventListener("click", () => this.pain("screen"));
    this.el.stop.addEventListener("click", () => this.stop());
    this.el.close.addEventListener("click", () => { this.pop.hidden = true; });
    this.render();
  }

  get running() { return !!this.series?.running; }

  /** Every device the page knows: the ones with a force sensor are offered. */
  setDevices(list) {
    const force = list.filter(hasForce);
    const want = force.map((d) => `${d.id}|${d.device_id ?? ""}|${/^calibrated/.test(d.force_calibration ?? "")}`).join();
    if (want === this.offered) return;
    this.offered = want;
    const before = this.deviceSel.value;
    const saved = loadPptSensor();
    this.sensors = new Map(force.map((d) => [d.id, d.device_id ?? ""]));
    const auto = new Option("first with a force sensor", "");
    this.deviceSel.replaceChildren(auto, ...force.map((d) => {
      const calibrated = /^calibrated/.test(d.force_calibration ?? "");
      const o = new Option(`${d.id}${d.device_id ? ` · ${d.device_id}` : ""} · ${calibrated ? "calibrated" : "not calibrated"}`, d.id);
      return o;
    }));
    // The choice stays while its device does; a restart renumbers devices, so the sensor id finds it again.
    const again = force.find((d) => d.id === before) ?? (saved ? force.find((d) => d.device_id === saved) : null);
    this.deviceSel.value = again ? again.id : "";
  }

  /** T and the PPT button: a series at the current site, or stop the running one. */
  toggle() {
    if (this.running) this.stop(); else this.start();
  }

  say(text) {
    this.errorEl.textContent = text;
    this.errorEl.hidden = !text;
  }

  async start() {
    if (this.busy) return;
    if (!this.recording.recording) {
      this.say("Not recording: a PPT is measured in a recording (R to record), at the current site.");
      return;
    }
    this.busy = true;
    const device = this.deviceSel.value;
    try {
      const s = await post("./api/recording/ppt", device ? { trials: TRIALS, device } : { trials: TRIALS });
      this.say("");
      this.adopt(s, this.recording.status.session_id);
      this.toast(`PPT: ${s.trials} trials at ${siteLabel(s.site)} on ${s.device}; the patient says now with ${keyName(this.painKey())}`);
    } catch (e) {
      // The daemon says what is missing (a recording, a site, a calibrated sensor) and how to fix it.
      this.say(`PPT not started: ${e.message}`);
      this.toast(`PPT not started: ${e.message}`);
    } finally {
      this.busy = false;
    }
  }

  async stop() {
    try {
      const r = await del("./api/recording/ppt");
      if (r?.stopped) this.ended(r.stopped);
    } catch (e) {
      this.toast(`PPT not stopped: ${e.message}`);
    }
  }

  /** The pain key or the big button: the patient says "now". */
  async pain(source) {
    if (!this.running) {
      this.toast(`No PPT series is running: T starts one at the current site`);
      return;
    }
    const s = this.series;
    try {
      const r = await post("./api/recording/ppt/pain", { source });
      this.result(r);
    } catch (e) {
      this.toast(`Pain press not taken: ${e.message}`);
      if (this.series === s) this.render();
    }
  }

  /** The page is about to stop the recording. */
  async endWithRecording() {
    // A series the daemon still holds after its recording stopped would run on into the next recording
    // (POST /api/recording/stop does not end it; reported as a daemon bug), so the page ends it first.
    if (this.running) await this.stop();
  }

  /** A `ppt` message from /ws/live. */
  onMessage(msg) {
    const session = this.recording.status.session_id;
    switch (msg.state) {
      case "started": this.adopt(msg, session); break;
      case "trial": this.trial(msg); break;
      case "result": this.result(msg); break;
      case "stopped": this.ended(msg); break;
      default: return;
    }
  }

  /** The recording's status; GET /api/recording also says which series runs (after a reconnect). */
  onRecording(st) {
    const recording = st?.state === "recording";
    if ("ppt" in (st ?? {})) {
      if (recording && st.ppt) this.adopt(st.ppt, st.session_id);
      else if (this.running) this.ended(null);
    } else if (!recording && this.running) {
      this.ended(null);
    }
    if (!recording) this.say("");
  }

  /** A new picture of the session: the site's mean ± SD, once the series has its readings. */
  onStats(list, session) {
    if (this.series && this.series.session === session) this.renderSummary(list);
  }

  adopt(s, session) {
    const key = `${session}:${s.series}`;
    if (this.series?.key === key) {
      this.series.done = Math.max(this.series.done, s.done ?? 0);
      this.render();
      return;
    }
    this.series = { key, session, number: s.series, site: s.site, device: s.device, trials: s.trials, done: s.done ?? 0,
      calibration: s.calibration ?? "", running: true, stopped: false, results: new Map() };
    this.pop.hidden = false;
    this.render();
  }

  /** A trial ended (our key, the board's button, another client): its reading follows. */
  trial(msg) {
    const s = this.series;
    if (!s || msg.series !== s.number) return;
    s.done = Math.max(s.done, msg.done ?? msg.trial);
    if (!s.results.has(msg.trial)) s.results.set(msg.trial, { ...msg, pending: true });
    if (s.done >= s.trials) s.running = false;  // the daemon ends a series at its last trial
    this.render();
  }

  /** A trial's reading: threshold, ramp, warnings (the answer to our press, or the live message). */
  result(r) {
    const s = this.series;
    if (!s || r?.series !== s.number || typeof r.trial !== "number") return;
    s.results.set(r.trial, { ...r, pending: false });
    s.done = Math.max(s.done, r.trial);
    if (s.done >= s.trials) s.running = false;
    this.render();
    this.siteStats.nudge();
    if (this.complete()) this.siteStats.fetch();
  }

  ended(msg) {
    const s = this.series;
    if (!s || (msg && msg.series !== s.number)) return;
    if (s.running) s.stopped = s.done < s.trials;
    s.running = false;
    this.render();
    if (s.done) this.siteStats.fetch();
  }

  /** Every trial that was made has its reading. */
  complete() {
    const s = this.series;
    return !!s && !s.running && s.done > 0 && [...s.results.values()].filter((r) => !r.pending).length >= s.done;
  }

  render() {
    const s = this.series;
    const key = keyName(this.painKey());
    this.startBtn.setAttribute("aria-pressed", String(this.running));
    this.startBtn.querySelector(".lbl").textContent = this.running ? "■ Stop PPT" : `PPT ×${TRIALS}`;
    if (!s) return;
    this.el.what.textContent = `series ${s.number} · ${siteLabel(s.site) || "no site"} · ${s.device}`;
    this.el.calibration.textContent = s.calibration ? `Force sensor ${s.calibration}` : "";
    this.el.status.textContent = s.running ?
      `Trial ${s.done + 1} of ${s.trials}: press at a steady 1 kg/s (≈ 10 N/s); the patient says "now" with ${key}, ✋ or the board's button` :
      s.stopped ? `Stopped after ${s.done} of ${s.trials} trials` : `Done: ${s.done} of ${s.trials} trials`;
    this.pop.classList.toggle("running", s.running);
    this.el.pain.hidden = !s.running;
    this.el.stop.hidden = !s.running;
    this.el.close.hidden = s.running;
    const rows = [...s.results.values()].sort((a, b) => a.trial - b.trial).map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.trial = String(r.trial);
      if (!r.pending) {
        tr.dataset.forceN = r.force_n == null ? "" : String(r.force_n);
        tr.dataset.rate = r.rate_n_per_s == null ? "" : String(r.rate_n_per_s);
      }
      const warnings = r.pending ? "reading…" : (r.warnings ?? []).join("; ");
      tr.append(cell(String(r.trial), "num"), cell(r.pending ? "…" : n1(r.force_n), "num"),
        cell(r.pending ? "…" : n1(r.rate_n_per_s), "num"), cell(SOURCE_TEXT[r.source] ?? r.source ?? ""),
        cell(warnings, r.pending ? "muted" : "warn"));
      if (!r.pending && r.warnings?.length) tr.classList.add("warned");
      return tr;
    });
    this.el.trials.replaceChildren(...rows);
    this.renderSummary(this.siteStats.session === s.session ? this.siteStats.list : []);
  }

  renderSummary(list) {
    const s = this.series, out = this.el.summary;
    if (!s) return;
    const site = summaryOf(list, s.site);
    const sum = site?.ppt?.summary;
    // Only once this series' readings are all in, and the daemon's summary holds them.
    const ready = this.complete() && sum?.n >= [...s.results.values()].filter((r) => r.force_n != null).length && sum.n > 0;
    out.dataset.n = ready ? String(sum.n) : "";
    out.dataset.mean = ready && sum.mean_n != null ? String(sum.mean_n) : "";
    out.dataset.sd = ready && sum.sd_n != null ? String(sum.sd_n) : "";
    out.textContent = !this.complete() ? "" : !ready ? "Site mean: reading…" :
      `${site.label}: PPT ${n1(sum.mean_n)}${sum.sd_n != null ? ` ± ${n1(sum.sd_n)}` : ""} N (mean ± SD of ${sum.n} trial${sum.n === 1 ? "" : "s"} at this site)`;
  }
}
