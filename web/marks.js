// The practitioner's live marks: felt LTR (the mark key, a foot pedal or the big
// button), referred pain, and a typed note. Each is posted to the recording,
// shown at once on every lane and in a toast, and replaced by the daemon's own
// copy (from /ws/live, which also brings marks of other clients and of the
// board's button) as soon as that arrives.

import { post } from "./api.js";
import { markKind } from "./kinds.js";

const CAP = 300;          // marks kept for drawing (the lanes show 10 s)
const PENDING_MS = 3000;  // a mark the daemon never confirmed stops being drawn

export class LiveMarks {
  /**
   * recording: the Recording (is one running?); toast(text); now(): {device: stream time at the
   *   lanes' right edge}, for drawing a mark before the daemon's copy arrives; onChange() redraws.
   */
  constructor({ recording, toast, now, onChange }) {
    Object.assign(this, { recording, toast, now, onChange });
    this.list = [];          // {key, id, session, t_s, kind, text, source, at: {device: t}, pending, born}
    this.toasted = new Set(); // "session:id" of marks already announced
    this.seq = 0;
  }

  reset() {
    this.list = [];
    this.toasted.clear();
    this.onChange?.();
  }

  /** Posts a mark made on this page; source: "key", "pedal" or "screen". */
  async mark(kind, text = "", source = "key") {
    if (!this.recording.recording) {
      this.toast("Not recording: marks go into a recording (R to record)");
      return null;
    }
    // Drawn now, where the lanes are now: the practitioner sees the key was taken.
    const local = { key: `p${++this.seq}`, id: null, session: null, kind, text, source, at: this.now(),
      pending: true, born: performance.now() };
    this.add(local);
    try {
      const m = await post("./api/recording/marks", { kind, text, source });
      local.id = m.id;
      local.session = m.session_id;
      // The live copy may have come first: then this one is not needed any more.
      if (this.list.some((x) => !x.pending && x.id === m.id && x.session === m.session_id)) this.drop(local);
      this.announce(m.session_id, m.id, kind, text, m.t_s, source);
      return m;
    } catch (e) {
      this.drop(local);
      this.toast(`${markKind(kind).label} not saved: ${e.message}`);
      return null;
    }
  }

  /** A `mark` message from /ws/live. */
  onMessage(msg) {
    if (typeof msg.mark !== "string") return;
    const at = msg.at && typeof msg.at === "object" ? msg.at : {};
    const m = { key: `m${msg.session_id}:${msg.id}:${++this.seq}`, id: msg.id, session: msg.session_id, t_s: msg.t_s, kind: msg.mark,
      text: typeof msg.text === "string" ? msg.text : "", source: msg.source, at, pending: false, born: performance.now() };
    // Our own mark, drawn while it was on its way: the daemon's time replaces ours.
    for (const p of this.list.filter((x) => x.pending && x.id === m.id && x.session === m.session)) this.drop(p);
    this.add(m);
    // Whichever comes first, this or the answer to our own post, is announced; the other is not.
    this.announce(msg.session_id, msg.id, m.kind, m.text, msg.t_s, msg.source);
  }

  add(m) {
    this.list.push(m);
    if (this.list.length > CAP) this.list.splice(0, this.list.length - CAP);
    this.onChange?.();
  }

  drop(m) {
    const i = this.list.indexOf(m);
    if (i >= 0) this.list.splice(i, 1);
    this.onChange?.();
  }

  announce(session, id, kind, text, t_s, source) {
    // A mark outside a recording has no number (the board's button): each is its own.
    if (session != null && id) {
      const key = `${session}:${id}`;
      if (this.toasted.has(key)) return;
      this.toasted.add(key);
    }
    const k = markKind(kind);
    const what = kind === "note" ? `${k.glyph} Note “${text}”` : `${k.glyph} ${k.label[0].toUpperCase()}${k.label.slice(1)}`;
    const from = source === "board" ? " (board button)" : source === "pedal" ? " (pedal)" : "";
    const when = typeof t_s === "number" && session != null ? ` · Marker ${id} at ${t_s.toFixed(1)} s` : " · not recording, not saved";
    this.toast(`${what}${from}${when}`);
  }

  /** Marks to draw on one device's lane: [{t, kind, text, pending}]. */
  forDevice(device, nowMs = performance.now()) {
    const out = [];
    for (const m of this.list) {
      if (m.pending && nowMs - m.born > PENDING_MS) continue;
      const t = m.at[device];
      if (typeof t === "number") out.push({ t, kind: m.kind, text: m.text, pending: m.pending });
    }
    return out;
  }
}

/**
 * The note composer: the note key opens a one-line field; typing goes into it,
 * Enter sends the note mark, Esc (or leaving the field empty) cancels.
 */
export class NoteComposer {
  constructor(form, { send, toast }) {
    this.form = form;
    this.input = form.querySelector("input");
    this.send = send;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (!text) { toast("A note needs its text (Esc cancels)"); return; }
      this.close();
      send(text);
    });
    this.input.addEventListener("keydown", (e) => {
      // Handled here, so the page's own Esc (back to live) does not also happen.
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); this.close(); }
    });
    form.querySelector(".cancel").addEventListener("click", () => this.close());
  }

  get isOpen() { return !this.form.hidden; }

  open() {
    this.form.hidden = false;
    this.input.value = "";
    this.input.focus();
  }

  close() {
    this.form.hidden = true;
    this.input.blur();
  }
}
