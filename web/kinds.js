// One place for how each event kind looks, so flags on the traces and rows in
// the list agree. Every kind has a text label and letter: colour is never the only cue.
// Colours are from the Okabe–Ito palette, distinguishable with colour-vision deficiency.

export const KINDS = {
  ltr:         { label: "LTR",         letter: "LTR", color: "#c2410c", strong: true },
  twitch:      { label: "twitch",      letter: "T",   color: "#0f5fa8" },
  contraction: { label: "contraction", letter: "C",   color: "#5b4a9e" },
  artifact:    { label: "artifact",    letter: "A",   color: "#6b7280" },
  press:       { label: "press",       letter: "P",   color: "#0f766e" },
  gap:         { label: "gap",         letter: "gap", color: "#6b7280" },
  // A force bump the EMG does not confirm: shown, never counted as an LTR.
  felt:        { label: "felt, no EMG", letter: "F",  color: "#b45309" },
};

export const isKnownEvent = (kind) => Object.hasOwn(KINDS, kind);

// The practitioner's own marks: a glyph and a word each, drawn as a thin line
// with a pill between the EMG and force panels, never as a detector flag
// (those are boxes at the top), so "I felt it" and "the detector saw it" never look alike.
export const MARK_KINDS = {
  felt_ltr:      { label: "felt LTR",      glyph: "▼", color: "#9d174d" },
  referred_pain: { label: "referred pain", glyph: "◆", color: "#0369a1" },
  note:          { label: "note",          glyph: "✎", color: "#374151" },
};
export const markKind = (kind) => MARK_KINDS[kind] ?? MARK_KINDS.note;

/** "upper trapezius left TrP1", as the daemon's reports name a site; "" for none. */
export function siteLabel(site) {
  if (!site || typeof site.muscle !== "string" || !site.muscle) return "";
  return [site.muscle, site.side, site.point].filter(Boolean).join(" ");
}
