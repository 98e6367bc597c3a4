// Review of a recorded session: the practitioner accepts, rejects or relabels
// the detector's events and adds the ones it missed. The detector's events are
// never changed: each correction is stored on its own (who, when, what it
// replaced), and the reviewed labels are what the corrections leave. This
// module turns a session's JSON into the rows shown, and runs the controls.

import { post } from "./api.js";
import { eventRow } from "./events.js";
import { KINDS, siteLabel } from "./kinds.js";
import { loadAuthor, saveAuthor } from "./prefs.js";
import { Beeper } from "./sound.js";

/** Kinds a reviewer may give an event (the daemon's list, less the ones that are not bursts). */
export const LABEL_KINDS = ["ltr", "twitch", "contraction", "artifact", "felt"];
/** An added event without an end lasts this long (the daemon's default too). */
export const ADDED_LENGTH_S = 0.1;

const STATUS_TEXT = {
  accepted: "✓ accepted", rejected: "✗ rejected", relabelled: "relabelled", added: "+ added", detector: "",
};

const clock = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "?" : d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
};

/**
 * The rows of a session as review leaves them, in time order: every detector event (with
 * `review` = accepted | rejected | relabelled, `was` = its detector kind when relabelled) and
 * every added event (`review` = added, or rejected with `added`). `id` is the row's ref ("e12", "a3").
 */
export function reviewRows(session) {
  const corrections = Array.isArray(session.corrections) ? session.corrections : [];
  const latestEvent = new Map(), latestAdded = new Map();
  for (const c of corrections) {
    if (c.event_id != null) latestEvent.set(c.event_id, c);
    if (c.added_id != null) latestAdded.set(c.added_id, c);
  }
  const rows = [];
  for (const e of session.event_list ?? []) {
    if (!KINDS[e.kind] || e.kind === "gap") continue;
    const c = e.review !== undefined ? (e.review && { ...e.review, action: e.review.action }) : latestEvent.get(e.id) ?? null;
    const row = { ...e, ref: `e${e.id}`, event_id: e.id, added_id: null, correction: c, review: undefined };
    if (c?.action === "accept") row.review = "accepted";
    else if (c?.action === "reject") row.review = "rejected";
    else if (c?.action === "relabel" && KINDS[c.kind]) { row.review = "relabelled"; row.was = e.kind; row.kind = c.kind; }
    rows.push(row);
  }
  const timeline = Array.isArray(session.sites) ? session.sites : [];
  for (const a of corrections) {
    if (a.action !== "add" || !KINDS[a.kind]) continue;
    const c = latestAdded.get(a.id) ?? null;
    const row = { ref: `a${a.id}`, kind: a.kind, onset_s: a.onset_s, end_s: a.end_s, event_id: null, added_id: a.id,
      site: siteAt(timeline, a.onset_s), review: "added", added: a, correction: c ?? a, author: a.author };
    if (c?.action === "reject") row.review = "rejected";
    else if (c?.action === "relabel" && KINDS[c.kind]) row.kind = c.kind;
    rows.push(row);
  }
  for (const r of rows) r.id = r.ref;
  return rows.sort((a, b) => a.onset_s - b.onset_s || (a.ref < b.ref ? -1 : 1));
}

function siteAt(timeline, t) {
  let site = null;
  for (const s of timeline) if (s.t_s <= t) site = s.muscle ? s : null;
  return site;
}

/** One row of the session's table: the event's own cells, then what review made of it. */
export function reviewRow(r) {
  const tr = eventRow(r);
  tr.dataset.ref = r.ref;
  delete tr.dataset.id;
  tr.dataset.review = r.review ?? "detector";
  if (r.review === "rejected") tr.classList.add("rev-rejected");
  if (r.added) tr.classList.add("rev-added");
  const td = document.createElement("td");
  td.className = "review";
  let text = STATUS_TEXT[r.review ?? "detector"];
  if (r.review === "relabelled") text = `relabelled (was ${KINDS[r.was]?.label ?? r.was})`;
  if (r.review === "rejected" && r.added) text = "✗ rejected (added)";
  if (r.added && r.review === "added" && r.kind !== r.added.kind) text = `+ added, relabelled (was ${KINDS[r.added.kind]?.label})`;
  td.textContent = text;
  if (r.correction) td.title = `${r.correction.author ?? ""}, ${clock(r.correction.created_at)}${r.correction.note ? ": " + r.correction.note : ""}`;
  tr.insertBefore(td, tr.lastElementChild);
  return tr;
}

/** A correction in words: "#5 · 07.12.26 10:31 · Ana rejected LTR e12 at 9.114 s · replaces #3 (accept)". */
function describeCorrection(c, byId, session) {
  const ev = c.event_id != null ? (session.event_list ?? []).find((e) => e.id === c.event_id) : null;
  const added = c.added_id != null ? byId.get(c.added_id) : null;
  const what = c.action === "add" ? `added ${KINDS[c.kind]?.label ?? c.kind} at ${(+c.onset_s).toFixed(3)}–${(+c.end_s).toFixed(3)} s` :
    `${{ accept: "accepted", reject: "rejected", relabel: "relabelled" }[c.action] ?? c.action} ` +
    (ev ? `${KINDS[ev.kind]?.label ?? ev.kind} e${ev.id} at ${ev.onset_s.toFixed(3)} s` :
      added ? `added ${KINDS[added.kind]?.label ?? added.kind} a${added.id} at ${(+added.onset_s).toFixed(3)} s` : "?") +
    (c.action === "relabel" ? ` as ${KINDS[c.kind]?.label ?? c.kind}` : "");
  const prev = c.replaces != null ? byId.get(c.replaces) : null;
  const replaces = prev ? ` · replaces #${prev.id} (${prev.action}${prev.kind && prev.action === "relabel" ? " " + prev.kind : ""} by ${prev.author})` : "";
  return `#${c.id} · ${clock(c.created_at)} · ${c.author} ${what}${replaces}${c.note ? ` · “${c.note}”` : ""}`;
}

/**
 * The review controls under the session's plot. view: the SessionView (its session, rows,
 * draw(), reload(), goTo()); beeper plays an event's cue; toast confirms.
 */
export class ReviewControls {
  constructor(root, { view, beeper, toast }) {
    this.root = root;
    this.view = view;
    this.beeper = beeper;
    this.toast = toast;
    const q = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.el = {
      selected: q("review-selected"), accept: q("review-accept"), reject: q("review-reject"),
      relabel: q("review-relabel"), kind: q("review-kind"), cue: q("review-cue"), note: q("review-note"),
      add: q("review-add"), draft: root.querySelector(".add-draft"), onset: q("review-add-onset"), end: q("review-add-end"),
      addKind: q("review-add-kind"), save: q("review-add-save"), cancel: q("review-add-cancel"),
      author: q("review-author"), error: q("review-error"), corrections: q("corrections"),
    };
    for (const sel of [this.el.kind, this.el.addKind]) {
      sel.replaceChildren(...LABEL_KINDS.map((k) => new Option(KINDS[k].label, k)));
    }
    this.selected = null;  // the ref of the picked row
    this.addMode = false;
    this.draft = null;     // {onset_s, end_s, kind, endSet}
    this.busy = false;
    this.el.accept.addEventListener("click", () => this.accept());
    this.el.reject.addEventListener("click", () => this.reject());
    this.el.relabel.addEventListener("click", () => this.relabel());
    this.el.cue.addEventListener("click", () => this.cue());
    this.el.add.addEventListener("click", () => this.toggleAdd());
    this.el.save.addEventListener("click", () => this.saveDraft());
    this.el.cancel.addEventListener("click", () => this.cancelDraft());
    this.el.author.addEventListener("change", () => saveAuthor(this.el.author.value.trim()));
    for (const input of [this.el.onset, this.el.end]) input.addEventListener("input", () => this.draftFromInputs());
    this.el.addKind.addEventListener("change", () => { if (this.draft) { this.draft.kind = this.el.addKind.value; this.view.draw(); } });
  }

  /** A session was opened: who reviews (remembered here, else the session's practitioner). */
  opened(session) {
    this.el.author.value = loadAuthor() || session.practitioner || "";
    this.selected = null;
    this.addMode = false;
    this.draft = null;
    this.say("");
    this.render();
  }

  get row() { return this.view.rows.find((r) => r.ref === this.selected) ?? null; }

  select(ref) {
    this.selected = ref;
    this.render();
  }

  /** The session's JSON changed (after a correction): the list and the buttons follow. */
  render() {
    const r = this.row;
    for (const tr of this.view.eventsEl.querySelectorAll("tr.picked")) tr.classList.remove("picked");
    if (r) this.view.eventsEl.querySelector(`tr[data-ref="${r.ref}"]`)?.classList.add("picked");
    const k = r ? KINDS[r.kind] : null;
    this.el.selected.textContent = !r ? "Pick an event on the trace or in the table (, and . step through them)" :
      `${r.added ? "+" : ""}${k.label} at ${r.onset_s.toFixed(3)} s` +
      `${r.review ? ` · ${r.review === "relabelled" ? `relabelled, was ${KINDS[r.was]?.label}` : r.review}` : " · detector"}` +
      (siteLabel(r.site) ? ` · ${siteLabel(r.site)}` : "");
    const judgeable = !!r && r.kind !== "press";
    this.el.accept.disabled = !judgeable || this.busy;
    this.el.reject.disabled = !judgeable || this.busy || r.review === "rejected";
    this.el.relabel.disabled = !judgeable || this.busy;
    if (r && LABEL_KINDS.includes(r.kind) && document.activeElement !== this.el.kind) {
      // Offer the most likely other kind: an LTR is most often really a twitch, anything else an LTR.
      this.el.kind.value = r.kind === "ltr" ? "twitch" : "ltr";
    }
    this.el.cue.disabled = !r || !Beeper.hasCue(r.kind);
    this.el.add.setAttribute("aria-pressed", String(this.addMode));
    this.el.add.textContent = this.addMode ? "+ Adding: click the onset" : "+ Add event";
    this.view.canvas.classList.toggle("adding", this.addMode);
    this.el.draft.hidden = !this.draft;
    if (this.draft) {
      if (document.activeElement !== this.el.onset) this.el.onset.value = this.draft.onset_s.toFixed(3);
      if (document.activeElement !== this.el.end) this.el.end.value = this.draft.end_s.toFixed(3);
      this.el.addKind.value = this.draft.kind;
    }
    this.el.save.disabled = this.busy;
    this.renderCorrections();
  }

  renderCorrections() {
    const s = this.view.session;
    const list = Array.isArray(s?.corrections) ? s.corrections : [];
    const byId = new Map(list.map((c) => [c.id, c]));
    if (!list.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No corrections yet: the detector's events stand as they are.";
      this.el.corrections.replaceChildren(li);
      return;
    }
    this.el.corrections.replaceChildren(...[...list].reverse().map((c) => {
      const li = document.createElement("li");
      li.dataset.id = String(c.id);
      li.dataset.action = c.action;
      li.textContent = describeCorrection(c, byId, s);
      return li;
    }));
  }

  say(text) {
    this.el.error.textContent = text;
    this.el.error.hidden = !text;
  }

  author() {
    const a = this.el.author.value.trim();
    if (!a) {
      this.say("Who is reviewing? Fill in the author first.");
      this.el.author.focus();
      return null;
    }
    saveAuthor(a);
    return a;
  }

  target(r) {
    return r.added ? { added_id: r.added_id } : { event_id: r.event_id };
  }

  /** The picked row if it can be judged (a key may come with nothing picked). */
  judged() {
    const r = this.row;
    if (!r) this.toast("Pick an event first: click its flag or its row (, and . step through them)");
    else if (r.kind === "press") this.toast("A press is not judged: pick one of its bursts");
    return r && r.kind !== "press" ? r : null;
  }

  accept() {
    const r = this.judged();
    if (r) this.send({ action: "accept", ...this.target(r) }, `Accepted ${KINDS[r.kind].label} at ${r.onset_s.toFixed(2)} s`);
  }

  reject() {
    const r = this.judged();
    if (r) this.send({ action: "reject", ...this.target(r) }, `Rejected ${KINDS[r.kind].label} at ${r.onset_s.toFixed(2)} s`);
  }

  relabel() {
    const r = this.judged();
    const kind = this.el.kind.value;
    if (r) this.send({ action: "relabel", kind, ...this.target(r) }, `${KINDS[r.kind].label} at ${r.onset_s.toFixed(2)} s is now ${KINDS[kind].label}`);
  }

  cue() {
    const r = this.row;
    if (!r) { this.toast("Pick an event first"); return; }
    if (!this.beeper.cue(r.kind)) this.toast(Beeper.hasCue(r.kind) ? "No sound: raise the volume" : `${KINDS[r.kind].label} has no cue (only LTR and twitch do)`);
  }

  /** Stores one correction, then shows the session as it now stands. */
  async send(body, done, selectAdded = false) {
    if (this.busy) return false;
    const author = this.author();
    if (!author) return false;
    const note = this.el.note.value.trim();
    this.busy = true;
    this.render();
    try {
      const c = await post(`./api/sessions/${this.view.session.id}/corrections`, { ...body, author, ...(note ? { note } : {}) });
      this.el.note.value = "";
      this.say("");
      this.toast(done);
      if (selectAdded) this.selected = `a${c.id}`;
      await this.view.reload();
      return true;
    } catch (e) {
      this.say(`Not saved: ${e.message}`);
      return false;
    } finally {
      this.busy = false;
      this.render();
    }
  }

  // ---- adding an event the detector missed ----
  toggleAdd() {
    this.addMode = !this.addMode;
    if (!this.addMode) this.draft = null;
    this.render();
    this.view.draw();
    if (this.addMode) this.toast("Click the trace at the onset (a second click or shift-drag gives the end)");
  }

  /** A click (or the start of a shift-drag) on the plot in add mode, at session time t. */
  point(t, { end = null } = {}) {
    const kind = this.draft?.kind ?? this.el.addKind.value ?? "ltr";
    if (end != null) {
      const [a, b] = t <= end ? [t, end] : [end, t];
      this.draft = { onset_s: a, end_s: Math.max(b, a), kind, endSet: true };
    } else if (this.draft && !this.draft.endSet && t > this.draft.onset_s) {
      this.draft = { ...this.draft, end_s: t, endSet: true };   // the second click: the end
    } else {
      this.draft = { onset_s: t, end_s: t + ADDED_LENGTH_S, kind, endSet: false };
    }
    this.render();
    this.view.draw();
  }

  draftFromInputs() {
    if (!this.draft) return;
    const a = Number(this.el.onset.value), b = Number(this.el.end.value);
    if (Number.isFinite(a)) this.draft.onset_s = a;
    if (Number.isFinite(b)) { this.draft.end_s = b; this.draft.endSet = true; }
    this.view.draw();
  }

  async saveDraft() {
    const d = this.draft;
    if (!d) return;
    if (!(d.end_s >= d.onset_s)) { this.say("The end must not come before the onset"); return; }
    const ok = await this.send({ action: "add", kind: d.kind, onset_s: round(d.onset_s), end_s: round(d.end_s) },
      `Added ${KINDS[d.kind].label} at ${d.onset_s.toFixed(3)} s`, true);
    if (ok) { this.draft = null; this.addMode = false; this.render(); this.view.draw(); }
  }

  /** Esc: drop the event being added (true if there was one to drop). */
  cancelDraft() {
    if (!this.addMode && !this.draft) return false;
    this.draft = null;
    this.addMode = false;
    this.render();
    this.view.draw();
    return true;
  }
}

const round = (t) => Math.round(t * 10000) / 10000;
