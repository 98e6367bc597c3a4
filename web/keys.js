// Keyboard shortcuts, for a practitioner with one hand on the patient. Keys
// typed into a form field stay there; the mark keys (Space = felt LTR by
// default, or whatever key a foot pedal types) work everywhere else, even
// while a recorded session is open (Enter still activates a focused button).
// So does the patient's pain key of a PPT series (O by default): the patient
// presses it when pressure turns to pain, whatever the practitioner looks at.

import { normKey } from "./prefs.js";

const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);
const typing = (t) => !!t && (TYPING.has(t.tagName) || t.isContentEditable);

/**
 * actions: {mark(kind), record, mute, help, panel(name), live, device(n), site(step), ppt(), pain(),
 *           review: {open(), accept, reject, add, cue, step(n), zoom(dir), scroll(dir)}}
 * markKeys(): the current {felt, pain, note, ppt} keys (they can change at any time).
 */
export function installShortcuts(actions, markKeys) {
  addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const t = e.target;
    if (typing(t)) {
      if (e.key === "Escape") t.blur();
      return;
    }
    // A modal dialog (record form, help, key settings) takes its own keys.
    if (document.querySelector("dialog[open]")) return;
    const key = normKey(e.key);
    const marks = markKeys();
    // The mark keys first: a pedal must work whatever else is on screen.
    if (key === marks.felt) { e.preventDefault(); if (!e.repeat) actions.mark("felt_ltr"); return; }
    if (key === marks.pain) { e.preventDefault(); if (!e.repeat) actions.mark("referred_pain"); return; }
    if (key === marks.note) { e.preventDefault(); if (!e.repeat) actions.mark("note"); return; }
    if (key === marks.ppt) { e.preventDefault(); if (!e.repeat) actions.pain(); return; }
    if (actions.review.open() && reviewKey(key, actions.review)) { e.preventDefault(); return; }
    let handled = true;
    switch (key) {
      case "r": actions.record(); break;
      case "m": actions.mute(); break;
      case "?": case "h": actions.help(); break;
      case "d": actions.panel("devices"); break;
      case "s": actions.panel("sessions"); break;
      case "k": actions.panel("detector"); break;
      case "w": actions.panel("body"); break;   // "where": the body chart
      case "t": actions.ppt(); break;           // pressure pain threshold: start a series, or stop it
      case "[": actions.site(-1); break;
      case "]": actions.site(1); break;
      case "l": case "Escape": actions.live(); break;
      default:
        if (/^[1-9]$/.test(key)) actions.device(Number(key)); else handled = false;
    }
    if (handled) e.preventDefault();
  });
  // A focused button would take Space on key-up as a click (e.g. Stop right after Record): not here.
  addEventListener("keyup", (e) => {
    if (e.key === " " && !typing(e.target) && !document.querySelector("dialog[open]")) e.preventDefault();
  });
}

/** Keys of the review of a recorded session; true if the key was one. */
function reviewKey(key, review) {
  switch (key) {
    case "a": review.accept(); return true;
    case "x": review.reject(); return true;
    case "e": review.add(); return true;
    case "c": review.cue(); return true;
    case ",": review.step(-1); return true;
    case ".": review.step(1); return true;
    case "+": case "=": review.zoom(-1); return true;
    case "-": review.zoom(1); return true;
    case "ArrowLeft": review.scroll(-1); return true;
    case "ArrowRight": review.scroll(1); return true;
    default: return false;
  }
}
