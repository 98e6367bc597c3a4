// Frame timing: each frame's drawing sits between a performance mark and a
// measure (visible in the browser's performance panel), and the last durations
// are kept in a ring so the frame budget can be read without a profiler.

const START = "twitchd:draw-start", MEASURE = "twitchd:draw";

export class FrameStats {
  constructor(cap = 3600) {
    this.ring = new Float64Array(cap);
    this.count = 0;  // frames that drew
    this.ticks = 0;  // animation frames, drawn or not (nothing moved by a pixel)
  }

  begin() {
    performance.mark(START);
  }

  /** Ends the frame's measure; `drew` false (nothing changed) keeps it out of the figures. */
  end(drew) {
    const m = performance.measure(MEASURE, START);
    // Keep the timeline from growing for hours: the profiler has already seen them.
    performance.clearMarks(START);
    performance.clearMeasures(MEASURE);
    this.ticks++;
    if (!drew) return;
    this.ring[this.count % this.ring.length] = m.duration;
    this.count++;
  }

  reset() { this.count = 0; this.ticks = 0; }

  /** {frames (drawn), ticks (all), median, p95, p99, max} in ms over the kept drawn frames. */
  summary() {
    const n = Math.min(this.count, this.ring.length);
    const d = Array.from(this.ring.subarray(0, n)).sort((a, b) => a - b);
    const q = (p) => (n ? d[Math.min(n - 1, Math.floor(p * n))] : NaN);
    return { frames: this.count, ticks: this.ticks, median: q(0.5), p95: q(0.95), p99: q(0.99), max: n ? d[n - 1] : NaN };
  }
}
