// Preferences kept in this browser (localStorage): the force target band, the
// sound, the mark keys, the patient's PPT key and device, the reviewer's name
// and recent sites. Anything unreadable falls back to the default.

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

// ---- marks, sites and review ----

/** Keys that already do something on this page: a mark key may not take one of them. */
export const RESERVED_KEYS = new Set(["r", "m", "?", "h", "d", "s", "k", "l", "w", "t", "Escape", "Enter", "Tab", "[", "]",
  "a", "x", "e", "c", ",", ".", "+", "=", "-", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown",
  "1", "2", "3", "4", "5", "6", "7", "8", "9", "Shift", "Control", "Alt", "Meta", "AltGraph", "CapsLock"]);
export const DEFAULT_MARK_KEYS = { felt: " ", pain: "p", note: "n", pedal: false };

/** The key a keydown means, as the mark keys are stored: a letter in lower case, anything else as KeyboardEvent.key. */
export const normKey = (key) => (typeof key === "string" && key.length === 1 ? key.toLowerCase() : key);

/** A key in words: " " is "Space", a letter is shown in capitals. */
export const keyName = (key) => (key === " " ? "Space" : key?.length === 1 ? key.toUpperCase() : String(key ?? ""));

const validKey = (k) => typeof k === "string" && k.length >= 1 && k.length <= 24 && k === normKey(k) && !RESERVED_KEYS.has(k);

/** {felt, pain, note, pedal}: the felt-LTR key (a foot pedal types one), referred pain, note; three different keys. */
export function loadMarkKeys() {
  return load("mark-keys", DEFAULT_MARK_KEYS, (v) => validKey(v?.felt) && validKey(v?.pain) && validKey(v?.note) &&
    typeof v?.pedal === "boolean" && new Set([v.felt, v.pain, v.note]).size === 3);
}
export const saveMarkKeys = (k) => save("mark-keys", k);

/** Who reviews at this browser (the author of corrections). */
export const loadAuthor = () => load("review-author", "", (v) => typeof v === "string" && v.length <= 120);
export const saveAuthor = (a) => save("review-author", a);

/** Sites used lately, newest first: one click chooses one again. */
export const RECENT_SITES = 8;
export function loadRecentSites() {
  return load("recent-sites", [], (v) => Array.isArray(v) && v.length <= RECENT_SITES &&
    v.every((s) => typeof s?.muscle === "string" && s.muscle && typeof s.side === "string" && typeof s.point === "string"));
}
export const saveRecentSites = (list) => save("recent-sites", list.slice(0, RECENT_SITES));

// ---- pressure pain threshold ----

/**
 * The patient's "now" key during a PPT series. Not Enter or Space: a patient's
 * stray Enter activates whatever button has the focus, and Space is the
 * felt-LTR key. "o" is free, sits under one finger, and a one-key USB pad or
 * a second pedal can be set to type it. Kept apart from the mark keys (their
 * stored shape is the mark keys' own).
 */
export const DEFAULT_PPT_KEY = "o";
const PPT_KEY_FALLBACKS = ["o", "q", "u", "j", "y"];

/** The pain key, never one of the mark keys (those are checked first, so a clash would swallow it). */
export function loadPptKey(markKeys = loadMarkKeys()) {
  const taken = new Set([markKeys.felt, markKeys.pain, markKeys.note]);
  const k = load("ppt-key", DEFAULT_PPT_KEY, validKey);
  return taken.has(k) ? PPT_KEY_FALLBACKS.find((c) => !taken.has(c)) : k;
}
export const savePptKey = (k) => save("ppt-key", k);

/** The sensor id (not the device name, which a restart may renumber) of the algometer last used for PPT. */
export const loadPptSensor = () => load("ppt-sensor", "", (v) => typeof v === "string" && v.length <= 64);
export const savePptSensor = (id) => save("ppt-sensor", id);
