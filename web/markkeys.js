// The mark keys, set in a small form: click a field and press the key (a USB
// foot pedal types one: press the pedal). Kept in this browser. The help
// dialog and the mark buttons' hints always name the keys as they are set.
// The same form sets the patient's "pain now" key of a PPT series (ppt).

import {
  DEFAULT_MARK_KEYS, DEFAULT_PPT_KEY, RESERVED_KEYS, keyName, loadMarkKeys, loadPptKey, normKey, saveMarkKeys, savePptKey,
} from "./prefs.js";

const FIELDS = ["felt", "pain", "note", "ppt"];
const MARK_FIELDS = ["felt", "pain", "note", "pedal"]; // what is stored as the mark keys (ppt is stored on its own)

export class MarkKeys {
  constructor(dialog, { toast, onChange }) {
    this.dialog = dialog;
    this.form = dialog.querySelector("form");
    this.error = dialog.querySelector(".error");
    this.toast = toast;
    this.onChange = onChange;
    const marks = loadMarkKeys();
    this.keys = { ...marks, ppt: loadPptKey(marks) };
    this.draft = { ...this.keys };
    for (const name of FIELDS) {
      const input = this.form.elements[name];
      // The field shows the key's name; the key itself is what is pressed in it.
      input.addEventListener("keydown", (e) => {
        if (e.key === "Tab") return;       // moving on, not choosing Tab
        e.preventDefault();
        e.stopPropagation();
        if (e.key === "Escape") { this.dialog.close(); return; }
        const key = normKey(e.key);
        if (RESERVED_KEYS.has(key)) {
          this.say(`${keyName(key)} already does something on this page; choose another key`);
          return;
        }
        this.draft[name] = key;
        this.say("");
        this.fill();
      });
    }
    this.form.addEventListener("submit", (e) => this.onSubmit(e));
    dialog.querySelector('[data-testid="mark-keys-reset"]').addEventListener("click", () => {
      this.draft = { ...DEFAULT_MARK_KEYS, ppt: DEFAULT_PPT_KEY };
      this.fill();
    });
  }

  open() {
    this.draft = { ...this.keys };
    this.say("");
    this.fill();
    this.dialog.showModal();
    this.form.elements.felt.focus();
  }

  fill() {
    for (const name of FIELDS) this.form.elements[name].value = keyName(this.draft[name]);
    this.form.elements.pedal.checked = this.draft.pedal;
  }

  say(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  onSubmit(e) {
    const action = e.submitter?.value ?? "save";
    if (action === "cancel") return; // method=dialog closes it
    e.preventDefault();
    this.draft.pedal = this.form.elements.pedal.checked;
    if (new Set(FIELDS.map((n) => this.draft[n])).size !== FIELDS.length) {
      this.say("Each mark, and the patient's pain key, needs a key of its own");
      return;
    }
    this.keys = { ...this.draft };
    saveMarkKeys(Object.fromEntries(MARK_FIELDS.map((n) => [n, this.keys[n]])));
    savePptKey(this.keys.ppt);
    this.dialog.close();
    this.onChange?.(this.keys);
    this.toast(`Mark keys: ${keyName(this.keys.felt)} felt LTR${this.keys.pedal ? " (pedal)" : ""}, ` +
      `${keyName(this.keys.pain)} referred pain, ${keyName(this.keys.note)} note, ${keyName(this.keys.ppt)} patient's pain (PPT)`);
  }
}

/** Writes the keys' names wherever the page names a mark key (help, buttons). */
export function showMarkKeys(keys) {
  for (const el of document.querySelectorAll("[data-key-for]")) el.textContent = keyName(keys[el.dataset.keyFor]);
  const shortcuts = { felt: "felt-ltr-button", pain: "referred-pain-button", note: "note-button", ppt: "ppt-pain" };
  for (const [name, id] of Object.entries(shortcuts)) {
    const b = document.querySelector(`[data-testid="${id}"]`);
    if (b) b.setAttribute("aria-keyshortcuts", keyName(keys[name]));
  }
}
