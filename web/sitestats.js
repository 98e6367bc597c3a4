// The session's clinical picture site by site (GET /api/sessions/{id}/sites:
// LTRs with their force and peak, presses, responding or quieted, PPT), kept
// fresh for the body chart and the PPT card: polled while recording, fetched
// again soon after each LTR (once the recorder has committed it), and once
// more when the recording stops, so the last session's picture stays on show.

import { get } from "./api.js";
import { siteLabel } from "./kinds.js";

const POLL_MS = 2000;
/** The daemon's rule for "quieted" (store/clinical.py QUIET_PRESSES), to say it in words; the daemon decides it. */
export const QUIET_PRESSES = 3;
// The recorder commits every 0.1 s and an event is stored when it is decided: this is after both.
const NUDGE_MS = 400;

const same = (a, b) => !!a && !!b && a.muscle === b.muscle && (a.side ?? "") === (b.side ?? "") && (a.point ?? "") === (b.point ?? "");

/** The summary of `site` ({muscle, side, point}) in a list from the daemon, or null. */
export const summaryOf = (list, site) => (Array.isArray(list) ? list.find((s) => same(s.site, site)) ?? null : null);

export class SiteStats {
  /** onUpdate(list, sessionId, live): after every answer (live = the session is being recorded). */
  constructor({ onUpdate }) {
    this.onUpdate = onUpdate;
    this.session = null;   // the session shown (the recording, or the last one recorded here)
    this.live = false;
    this.list = [];
    this.timer = 0;
    this.nudgeTimer = 0;
    this.seq = 0;
  }

  /** The recording's status (a `recording` message or GET /api/recording). */
  follow(st) {
    const id = st?.session_id ?? null;
    const recording = st?.state === "recording" && id != null;
    if (recording === this.live && id === this.session) return;
    this.live = recording;
    clearInterval(this.timer);
    if (id !== this.session) {
      this.session = id;
      this.list = [];
      this.onUpdate?.(this.list, id, recording);
    }
    if (recording) this.timer = setInterval(() => { if (!document.hidden) this.fetch(); }, POLL_MS);
    // Recording: at once; stopped: the final picture, which stays on show until the next recording.
    if (id != null) this.fetch();
  }

  /** Something changed the picture (an LTR, a press, a site, a PPT reading): fetch soon. */
  nudge() {
    if (!this.live) return;
    clearTimeout(this.nudgeTimer);
    this.nudgeTimer = setTimeout(() => this.fetch(), NUDGE_MS);
  }

  async fetch() {
    const id = this.session, seq = ++this.seq;
    if (id == null) return this.list;
    try {
      const list = await get(`./api/sessions/${id}/sites`);
      if (seq !== this.seq || id !== this.session) return this.list;
      this.list = Array.isArray(list) ? list.filter((s) => s && typeof s.label === "string") : [];
      this.onUpdate?.(this.list, id, this.live);
    } catch (e) {
      // The daemon is away (the live link says so) or the session was deleted: keep what is shown.
      if (e.status !== 0) console.warn(`site summary of session ${id}:`, e.message);
    }
    return this.list;
  }

  /** The label the daemon gives a site, or ours when it is not in the list yet. */
  label(site) {
    return summaryOf(this.list, site)?.label ?? siteLabel(site);
  }
}
