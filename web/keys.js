// Keyboard shortcuts, for a practitioner with one hand on the patient. Keys
// typed into a form field stay there; Space is the marker everywhere else
// (Enter still activates a focused button).

const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);

/** actions: {marker, record, mute, help, panel(name), live, device(n)} */
export function installShortcuts(actions) {
  addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const t = e.target;
    if (t && (TYPING.has(t.tagName) || t.isContentEditable)) {
      if (e.key === "Escape") t.blur();
      return;
    }
    // A modal dialog (record form, help) takes its own keys.
    if (document.querySelector("dialog[open]")) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    let handled = true;
    switch (key) {
      case " ": actions.marker(); break;
      case "r": actions.record(); break;
      case "m": actions.mute(); break;
      case "?": case "h": actions.help(); break;
      case "d": actions.panel("devices"); break;
      case "s": actions.panel("sessions"); break;
      case "k": actions.panel("detector"); break;
      case "l": case "Escape": actions.live(); break;
      default:
        if (/^[1-9]$/.test(key)) actions.device(Number(key)); else handled = false;
    }
    if (handled) e.preventDefault();
  });
  // A focused button would take Space on key-up as a click (e.g. Stop right after Record): not here.
  addEventListener("keyup", (e) => {
    const t = e.target;
    if (e.key === " " && !(t && (TYPING.has(t.tagName) || t.isContentEditable)) && !document.querySelector("dialog[open]")) {
      e.preventDefault();
    }
  });
}
