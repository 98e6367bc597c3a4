// Recording controls: start (with the session details), stop, notes, the
// elapsed time, and a banner when the daemon reports a failed recording (full
// disk): the live view goes on, the practitioner must know it is not saved.
// Marks (felt LTR, referred pain, notes at a moment) are marks.js's.

import { get, post } from "./api.js";
import { loadRecordingForm, saveRecordingForm } from "./prefs.js";

const FIELDS = ["patient", "muscle", "side", "technique", "practitioner", "notes"];
const REMEMBERED = ["patient", "muscle", "side", "technique", "practitioner"];

function clock(s) {
  const t = Math.max(0, Math.floor(s));
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  const mm = String(m).padStart(2, "0"), ss = String(sec).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class Recording {
  /** beforeStop(): awaited before the page stops a recording (the PPT series ends with it). */
  constructor({ button, statusEl, notesBtn, dialog, banner, toast, onChange, beforeStop }) {
    Object.assign(this, { button, statusEl, notesBtn, dialog, banner, toast, onChange, beforeStop });
    this.form = dialog.querySelector("form");
    this.formError = dialog.querySelector(".error");
    this.status = { state: "idle", session_id: null, error: "", elapsed_s: 0 };
    this.at = performance.now();
    this.dismissed = "";
    this.busy = false;
    button.addEventListener("click", () => this.toggle());
    notesBtn.addEventListener("click", () => this.openForm("notes"));
    banner.querySelector(".dismiss").addEventListener("click", () => { this.dismissed = this.status.error; this.render(); });
    this.form.addEventListener("submit", (e) => this.onSubmit(e));
    setInterval(() => { if (this.recording) this.renderClock(); }, 250);
    this.render();
  }

  get recording() { return this.status.state === "recording"; }

  /** A `recording` WS message or a GET /api/recording answer. */
  update(st) {
    if (!st || typeof st.state !== "string") return;
    this.status = st;
    this.at = performance.now();
    this.render();
    this.onChange?.(st);
  }

  async refresh() {
    try { this.update(await get("./api/recording")); } catch { /* the WS message will come */ }
  }

  /** R key and the record button: open the form when idle, stop when recording. */
  toggle() {
    if (this.busy) return;
    if (this.recording) this.stop(); else this.openForm("start");
  }

  openForm(mode) {
    if (this.dialog.open) return;
    const saved = loadRecordingForm();
    for (const name of FIELDS) {
      const input = this.form.elements[name];
      input.value = mode === "start" ? (REMEMBERED.includes(name) ? String(saved[name] ?? "") : "") : input.value;
      input.disabled = mode === "notes" && name !== "notes";
    }
    if (mode === "notes") this.form.elements.notes.value = this.notes ?? "";
    this.dialog.querySelector("h2").textContent = mode === "start" ? "Record a session" : `Notes · session ${this.status.session_id}`;
    this.dialog.querySelector('[value="start"]').hidden = mode !== "start";
    this.dialog.querySelector('[value="notes"]').hidden = mode !== "notes";
    this.formError.hidden = true;
    this.dialog.showModal();
    this.form.elements[mode === "start" ? "patient" : "notes"].focus();
  }

  async onSubmit(e) {
    const action = e.submitter?.value ?? "start";
    if (action === "cancel") return; // method=dialog closes it
    e.preventDefault();
    const values = Object.fromEntries(FIELDS.map((f) => [f, String(this.form.elements[f].value ?? "").trim()]));
    try {
      if (action === "notes") {
        await post("./api/recording/notes", { notes: values.notes });
        this.notes = values.notes;
        this.toast("Notes saved");
      } else {
        saveRecordingForm(Object.fromEntries(REMEMBERED.map((f) => [f, values[f]])));
        this.busy = true;
        this.update(await post("./api/recording/start", values));
        this.notes = values.notes;
        this.dismissed = "";
        this.toast(`Recording session ${this.status.session_id}`);
      }
      this.dialog.close();
    } catch (err) {
      this.formError.textContent = err.message;
      this.formError.hidden = false;
    } finally {
      this.busy = false;
    }
  }

  async stop() {
    this.busy = true;
    this.button.disabled = true;
    try {
      try { await this.beforeStop?.(); } catch { /* the recording stops all the same */ }
      const st = await post("./api/recording/stop");
      this.update(st);
      this.toast(`Session ${st.session_id} saved (${clock(st.elapsed_s)})`);
    } catch (e) {
      this.toast(`Could not stop: ${e.message}`);
    } finally {
      this.busy = false;
      this.button.disabled = false;
    }
  }

  elapsed() {
    const base = Number(this.status.elapsed_s) || 0;
    return this.recording ? base + (performance.now() - this.at) / 1000 : base;
  }

  renderClock() {
    const text = this.recording ? `REC ${clock(this.elapsed())} · session ${this.status.session_id}` :
      this.status.state === "failed" ? "recording failed" : "";
    if (this.statusEl.textContent !== text) this.statusEl.textContent = text;
  }

  render() {
    const rec = this.recording;
    document.body.classList.toggle("recording", rec);
    this.button.textContent = rec ? "■ Stop" : "● Record";
    this.button.setAttribute("aria-pressed", String(rec));
    this.button.title = rec ? "Stop recording (R)" : "Record a session (R)";
    this.notesBtn.hidden = !rec;
    this.renderClock();
    const failed = this.status.state === "failed" && this.status.error && this.status.error !== this.dismissed;
    this.banner.hidden = !failed;
    if (failed) {
      this.banner.querySelector(".text").textContent =
        `⚠ Recording of session ${this.status.session_id ?? "?"} failed: ${this.status.error}. ` +
        "The live view goes on, but nothing more is being saved.";
    }
  }
}
