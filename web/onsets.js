// Provisional flags: the daemon's `onset` message marks a burst as it begins, so
// the screen reacts within tens of ms; the final event replaces it when it ends.

// A burst is decided at the latest ~1 s after onset (the short-burst limit) plus the
// offset hold; a provisional flag older than this was a burst that came to nothing.
const EXPIRE_MS = 2500;
// The final event carries the same onset the provisional flag had.
const SAME_ONSET_S = 0.03;

export class Onsets {
  constructor() { this.byDevice = new Map(); }

  clear(device) {
    if (device === undefined) this.byDevice.clear(); else this.byDevice.delete(device);
  }

  add(msg, nowMs = performance.now()) {
    if (typeof msg.device !== "string" || typeof msg.onset_s !== "number") return;
    const list = this.byDevice.get(msg.device) ?? [];
    list.push({ onset_s: msg.onset_s, likely: msg.likely === "ltr" ? "ltr" : "twitch", force_n: msg.force_n, at: nowMs });
    this.byDevice.set(msg.device, list);
  }

  /** A final event arrived: drop the provisional flag it replaces; true if there was one. */
  resolve(ev) {
    const list = this.byDevice.get(ev.device);
    if (!list || typeof ev.onset_s !== "number") return false;
    const left = list.filter((o) => Math.abs(o.onset_s - ev.onset_s) > SAME_ONSET_S);
    this.byDevice.set(ev.device, left);
    return left.length < list.length;
  }

  /** Pending flags of one device, forgetting expired ones. */
  forDevice(device, nowMs = performance.now()) {
    const list = this.byDevice.get(device);
    if (!list || !list.length) return [];
    const left = list.filter((o) => nowMs - o.at < EXPIRE_MS);
    if (left.length !== list.length) this.byDevice.set(device, left);
    return left;
  }
}
