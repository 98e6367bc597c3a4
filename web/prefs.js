// Display preferences kept in this browser (localStorage): the force target
// band and the sound. Anything unreadable falls back to the default.

const PREFIX = "twitchd.";

function load(key, fallback, valid) {
  try {
    const raw = localStorage.getItem(PREFIX + key);
    if (raw === null) return fallback;
    const v = JSON.parse(raw);
    return valid(v) ? v : fallback;
  } catch {
    return fallback;
  }
}

function save(key, value) {
  try { localStorage.setItem(PREFIX + key, JSON.stringify(value)); } catch { /* private mode, quota */ }
}

const finite = (x) => typeof x === "number" && Number.isFinite(x);
export const FORCE_LIMIT_N = 200;

/** {lo, hi} in N or null (no band). */
export function loadTarget() {
  return load("target", null, (v) => v === null ||
    (finite(v?.lo) && finite(v?.hi) && v.lo >= 0 && v.hi > v.lo && v.hi <= FORCE_LIMIT_N));
}
export const saveTarget = (t) => save("target", t);

/** {on, volume 0..1}; off by default: a clinic is quiet until the practitioner asks. */
export function loadSound() {
  return load("sound", { on: false, volume: 0.5 },
    (v) => typeof v?.on === "boolean" && finite(v?.volume) && v.volume >= 0 && v.volume <= 1);
}
export const saveSound = (s) => save("sound", s);

/** The last recording details, so the next session of the same patient needs no retyping. */
export const loadRecordingForm = () => load("recording-form", {}, (v) => v && typeof v === "object");
export const saveRecordingForm = (v) => save("recording-form", v);
