// Recent trace buckets of one device, and a mapping from device time to the
// browser clock so the traces scroll smoothly between 20 Hz messages.

const CAP = 16384; // buckets; ~65 s at 4 ms, far more than the 10 s shown
// Draw this far behind the newest data so the leading edge is always filled.
const RENDER_DELAY_S = 0.12;
// How fast the clock estimate may drift down (covers a device clock slower than ours).
const DRIFT_S_PER_S = 0.05;
// Envelope: rectified peak of each bucket through a one-pole low-pass with the
// MyoWare ENV's time constant, so it reads like the sensor's own envelope output.
const ENV_TAU_S = 0.044;

export class TraceBuffer {
  constructor() {
    this.t = new Float64Array(CAP);
    this.emgMin = new Float32Array(CAP);
    this.emgMax = new Float32Array(CAP);
    this.force = new Float32Array(CAP); // NaN = unknown
    this.env = new Float32Array(CAP);   // EMG envelope, V (NaN = unknown)
    this.envState = NaN;
    this.start = 0; // index of oldest bucket
    this.len = 0;
    this.dt = 0.004;
    this.endT = -Infinity; // device time just past the newest bucket
    this.offset = null;    // device time minus performance.now()/1000
    this.offsetAt = 0;
    this.lastRxMs = -Infinity; // browser time of the newest trace message
    this.version = 0;          // bumped on every change, for redraw-on-change
  }

  clear() {
    this.start = 0; this.len = 0; this.endT = -Infinity; this.offset = null; this.envState = NaN; this.version++;
  }

  /** Appends one `trace` message. */
  push(msg) {
    const n = Math.min(msg.emg_min_v?.length ?? 0, msg.emg_max_v?.length ?? 0, msg.force_n?.length ?? 0);
    if (!n || typeof msg.t0_s !== "number" || !(msg.dt_s > 0)) return;
    // Time went backwards a lot: the device stream restarted; old data no longer fits the axis.
    if (msg.t0_s < this.endT - 1) this.clear();
    this.dt = msg.dt_s;
    const alpha = 1 - Math.exp(-msg.dt_s / ENV_TAU_S);
    // A hole before this message (lost samples): the envelope starts afresh.
    if (msg.t0_s > this.endT + 2.5 * msg.dt_s) this.envState = NaN;
    for (let i = 0; i < n; i++) {
      const t = msg.t0_s + i * msg.dt_s;
      if (t < this.endT - 1e-9) continue; // duplicate or overlap
      const k = (this.start + this.len) % CAP;
      this.t[k] = t;
      const lo = msg.emg_min_v[i], hi = msg.emg_max_v[i], f = msg.force_n[i];
      this.emgMin[k] = typeof lo === "number" ? lo : NaN;
      this.emgMax[k] = typeof hi === "number" ? hi : NaN;
      this.force[k] = typeof f === "number" ? f : NaN;
      const rect = Math.max(Math.abs(this.emgMin[k]), Math.abs(this.emgMax[k]));
      if (Number.isNaN(rect)) this.envState = NaN;
      else this.envState = Number.isNaN(this.envState) ? rect : this.envState + alpha * (rect - this.envState);
      this.env[k] = this.envState;
      if (this.len < CAP) this.len++; else this.start = (this.start + 1) % CAP;
    }
    this.endT = Math.max(this.endT, msg.t0_s + n * msg.dt_s);
    this.noteClock(this.endT);
    this.version++;
  }

  /**
   * The envelope run forward and then backward over what is held (a stored window, not a live
   * one): zero phase, so its peak sits on the burst as the zero-phase EMG of the review does.
   */
  zeroPhaseEnvelope() {
    const alpha = 1 - Math.exp(-this.dt / ENV_TAU_S);
    let state = NaN;
    for (let i = this.len - 1; i >= 0; i--) {
      const k = (this.start + i) % CAP;
      const v = this.env[k];
      if (Number.isNaN(v)) { state = NaN; continue; }
      state = Number.isNaN(state) ? v : state + alpha * (v - state);
      this.env[k] = state;
    }
    this.version++;
  }

  /** Tracks the earliest-arriving messages: late ones only reflect network jitter. */
  noteClock(endT) {
    const nowMs = performance.now();
    this.lastRxMs = nowMs;
    const target = endT - nowMs / 1000;
    if (this.offset === null || Math.abs(target - this.offset) > 1) {
      this.offset = target; // first message or a jump: snap
    } else {
      const decayed = this.offset - DRIFT_S_PER_S * (nowMs - this.offsetAt) / 1000;
      this.offset = Math.max(decayed, target);
    }
    this.offsetAt = nowMs;
  }

  /** Device time to show at the right edge now; never beyond the data we have. */
  viewTime(nowMs) {
    if (this.offset === null) return this.endT;
    const est = nowMs / 1000 + this.offset - DRIFT_S_PER_S * (nowMs - this.offsetAt) / 1000;
    return Math.min(est - RENDER_DELAY_S, this.endT);
  }

  /** Index i (0 = oldest) of the first bucket with t >= time (binary search). */
  lowerBound(time) {
    let lo = 0, hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.t[(this.start + mid) % CAP] < time) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Calls fn(t, emgMin, emgMax, force, env) for buckets with a <= t < b, oldest first. */
  each(a, b, fn) {
    for (let i = this.lowerBound(a); i < this.len; i++) {
      const k = (this.start + i) % CAP;
      const t = this.t[k];
      if (t >= b) break;
      fn(t, this.emgMin[k], this.emgMax[k], this.force[k], this.env[k]);
    }
  }

  /** Device time of the oldest bucket kept (for "can we jump there?"). */
  get startT() {
    return this.len ? this.t[this.start] : Infinity;
  }

  /** Newest known force and its device time, or null. */
  latestForce() {
    for (let i = this.len - 1; i >= 0 && i >= this.len - 500; i--) {
      const k = (this.start + i) % CAP;
      if (!Number.isNaN(this.force[k])) return { t: this.t[k], n: this.force[k] };
    }
    return null;
  }
}
