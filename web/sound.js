// Feedback without looking: a short tone for each LTR and a different one for a
// spontaneous twitch, made with WebAudio oscillators (no audio files to load).

// LTR: a bright rising pair; twitch: one low soft blip. Different pitch *and* rhythm.
const TONES = {
  ltr: [{ f: 880, at: 0, dur: 0.07, type: "sine" }, { f: 1320, at: 0.085, dur: 0.09, type: "sine" }],
  twitch: [{ f: 440, at: 0, dur: 0.06, type: "triangle" }],
};

export class Beeper {
  constructor({ on, volume }) {
    this.on = on;
    this.volume = volume;
    this.ctx = null;
    this.played = { ltr: 0, twitch: 0 }; // for the help overlay's self-test and for tests
  }

  /** Must run inside a user gesture the first time (browsers' autoplay rule). */
  unlock() {
    if (!this.ctx) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return false;
      this.ctx = new AC();
    }
    if (this.ctx.state === "suspended") this.ctx.resume();
    return true;
  }

  setOn(on) {
    this.on = on;
    if (on) this.unlock();
  }

  /** Plays the tone of `kind` ("ltr" or "twitch") if sound is on; returns whether it did. */
  play(kind) {
    return this.on && this.sound(kind);
  }

  /** An event's cue asked for by name (review's "play the cue"): sounds even with the live sound off. */
  cue(kind) {
    return this.sound(kind);
  }

  static hasCue(kind) { return Object.hasOwn(TONES, kind); }

  sound(kind) {
    const tones = TONES[kind];
    if (!tones || this.volume <= 0 || !this.unlock()) return false;
    const ctx = this.ctx, t0 = ctx.currentTime + 0.005;
    for (const tone of tones) {
      const osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.type = tone.type;
      osc.frequency.value = tone.f;
      // 5 ms ramps: no click at start or end.
      const a = t0 + tone.at, b = a + tone.dur;
      gain.gain.setValueAtTime(0, a);
      gain.gain.linearRampToValueAtTime(0.4 * this.volume, a + 0.005);
      gain.gain.setValueAtTime(0.4 * this.volume, b - 0.005);
      gain.gain.linearRampToValueAtTime(0, b);
      osc.connect(gain).connect(ctx.destination);
      osc.start(a);
      osc.stop(b + 0.01);
    }
    this.played[kind]++;
    return true;
  }
}
