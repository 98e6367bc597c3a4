// Scrolling EMG + force traces on one canvas with one shared time axis, so an
// LTR flag lines up with both the EMG burst and the force at that instant.

import { KINDS, markKind } from "./kinds.js";

export const DEFAULT_WINDOW_S = 10;
const INK = "#1f2933", MUTED = "#6b7785", GRID = "#e3e8ee", PANEL = "#ffffff";
const EMG_COLOR = "#1e3a5f", ENV_COLOR = "#b45309", FORCE_COLOR = "#0f766e";
const TARGET_FILL = "rgba(15,118,110,0.10)", HILITE = "#111827";
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

// "Nice" axis ranges (1-2-5 steps) keep the scale from flickering every frame.
function niceCeil(x) {
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

export class Traces {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.cssW = 0; this.cssH = 0; this.dpr = 1;
    this.emgRange = 0.001; // V, half-height of the EMG panel
    this.map = null;       // the last drawing's time axis, for turning a click into a time
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    this.dpr = window.devicePixelRatio || 1;
    this.cssW = Math.max(1, r.width); this.cssH = Math.max(1, r.height);
    this.canvas.width = Math.round(this.cssW * this.dpr);
    this.canvas.height = Math.round(this.cssH * this.dpr);
    this.sized = true; // caller redraws
  }

  /**
   * view: {buf, tEnd, windowS, events, onsets, marks, draft, threshold, target, live, note, paused, highlightId}
   *  buf: TraceBuffer or null; tEnd: device time at the right edge;
   *  events: this device's recent events (in review each may have `review`: accepted, rejected,
   *    relabelled (with `was`, the detector's kind) or added); onsets: provisional flags ({onset_s, likely});
   *  marks: the practitioner's marks [{t, kind, text, pending}]; draft: an event being added ({onset_s, end_s, kind});
   *  target: {lo, hi} N or null; live: false draws the "not live" veil; fitScale: the EMG axis fits this window;
   *  paused: a label when the view is held at a past time (the data is real, not current).
   */
  draw(view) {
    this.sized = false;
    const WINDOW_S = view.windowS ?? DEFAULT_WINDOW_S;
    const { ctx, dpr, cssW: W, cssH: H } = this;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const L = 64, R = 12, TOP = 26, BOT = 26, GAP = 22;
    const plotW = W - L - R;
    const avail = H - TOP - BOT - GAP;
    const emg = { x: L, y: TOP, w: plotW, h: Math.round(avail * 0.58) };
    const frc = { x: L, y: emg.y + emg.h + GAP, w: plotW, h: avail - emg.h };
    const tEnd = Number.isFinite(view.tEnd) ? view.tEnd : WINDOW_S;
    const tStart = tEnd - WINDOW_S;
    const xOf = (t) => L + ((t - tStart) / WINDOW_S) * plotW;
    // Clicks are turned into times with this very mapping (timeAt), so what is hit is what was drawn.
    this.map = { L, plotW, tStart, windowS: WINDOW_S, xOf };

    for (const p of [emg, frc]) { ctx.fillStyle = PANEL; ctx.fillRect(p.x, p.y, p.w, p.h); }

    // Scales from the visible data only.
    let emgAbs = 0, fMax = 0;
    const buf = view.buf;
    if (buf) buf.each(tStart, tEnd, (t, lo, hi, f) => {
      if (!Number.isNaN(lo)) emgAbs = Math.max(emgAbs, -lo, hi);
      if (!Number.isNaN(f)) fMax = Math.max(fMax, f);
    });
    // Grow at once, shrink only when the signal is well inside, so the scale rarely jumps.
    const want = niceCeil(Math.max(emgAbs * 1.1, 0.0005));
    // (A review's window is looked at, not watched scrolling: it always fits its own data.)
    if (view.fitScale || want > this.emgRange || want < this.emgRange / 4) this.emgRange = want;
    const eR = this.emgRange;
    // Force: whole ticks of a 1-2-5 step, so 10.1 N gives a 15 N axis rather than 20.
    const fWant = Math.max(fMax * 1.1, (view.threshold ?? 0) * 2, (view.target?.hi ?? 0) * 1.15, 5);
    const fStep = niceCeil(fWant / 4);
    const fTop = fStep * Math.ceil(fWant / fStep);
    const yE = (v) => emg.y + emg.h / 2 - (v / eR) * (emg.h / 2);
    const yF = (f) => frc.y + frc.h - (f / fTop) * frc.h;

    this.grid(ctx, emg, frc, tStart, tEnd, xOf, eR, fTop, fStep, yE, yF, WINDOW_S);

    ctx.save();
    ctx.beginPath(); ctx.rect(L, 0, plotW, H); ctx.clip();
    if (view.target) this.targetBand(ctx, view.target, frc, yF, L, plotW);
    this.shadeEvents(ctx, view.events, xOf, emg, frc, tStart, tEnd, yF);
    if (buf) this.plot(ctx, buf, tStart, tEnd, plotW, L, emg, frc, yE, yF, WINDOW_S);
    if (view.threshold != null) {
      ctx.setLineDash([6, 5]); ctx.strokeStyle = FORCE_COLOR; ctx.lineWidth = 1.5;
      const y = Math.round(yF(view.threshold)) + 0.5;
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(L + plotW, y); ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = FORCE_COLOR; ctx.font = `12px ${FONT}`; ctx.textAlign = "right"; ctx.textBaseline = "bottom";
      ctx.fillText(`press ≥ ${view.threshold} N`, L + plotW - 6, y - 3);
    }
    if (view.draft) this.draftBox(ctx, view.draft, xOf, emg, frc);
    this.flags(ctx, view.events, xOf, emg, frc, tStart, tEnd, view.highlightId);
    if (view.onsets?.length) this.onsetFlags(ctx, view.onsets, xOf, emg, frc, tStart, tEnd);
    if (view.marks?.length) this.markLines(ctx, view.marks, xOf, emg, frc, tStart, tEnd);
    ctx.restore();

    // Panel titles.
    // Panel titles run up the y axis, out of the way of flags.
    ctx.fillStyle = INK; ctx.font = `600 13px ${FONT}`; ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const [p, title] of [[emg, "EMG (mV)"], [frc, "Force (N)"]]) {
      ctx.save(); ctx.translate(4, p.y + p.h / 2); ctx.rotate(-Math.PI / 2);
      ctx.fillText(title, 0, 0); ctx.restore();
    }

    if (view.paused && view.live) {
      // Held at a past moment: say so in words at the top, the traces stay readable.
      ctx.font = `700 15px ${FONT}`; ctx.textAlign = "center"; ctx.textBaseline = "middle";
      const tw = ctx.measureText(view.paused).width + 24;
      ctx.fillStyle = HILITE; ctx.fillRect(L + plotW / 2 - tw / 2, 1, tw, 22);
      ctx.fillStyle = "#fff"; ctx.fillText(view.paused, L + plotW / 2, 12);
    }
    if (!view.live) {
      // Never let old data look current: veil it and say why.
      ctx.fillStyle = "rgba(240,242,245,0.78)"; ctx.fillRect(L, TOP, plotW, H - TOP - BOT);
      ctx.fillStyle = INK; ctx.font = `600 22px ${FONT}`; ctx.textAlign = "center"; ctx.textBaseline = "middle";
      ctx.fillText(view.note || "Not live", L + plotW / 2, TOP + (H - TOP - BOT) / 2);
    }
  }

  grid(ctx, emg, frc, tStart, tEnd, xOf, eR, fTop, fStep, yE, yF, windowS) {
    ctx.lineWidth = 1; ctx.strokeStyle = GRID;
    ctx.font = `12px ${FONT}`; ctx.fillStyle = MUTED;
    // Time: about ten lines across the window, labelled with device time.
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    const step = niceCeil(windowS / 11);
    for (let s = Math.ceil(tStart / step) * step; s <= tEnd; s += step) {
      const x = Math.round(xOf(s)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, emg.y); ctx.lineTo(x, emg.y + emg.h);
      ctx.moveTo(x, frc.y); ctx.lineTo(x, frc.y + frc.h); ctx.stroke();
      if (s >= 0) ctx.fillText(`${+s.toFixed(2)} s`, x, frc.y + frc.h + 6);
    }
    // EMG: zero line and ±range, in mV.
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    const mv = (v) => { const m = v * 1000; return m === 0 ? "0" : String(+m.toPrecision(3)); };
    for (const v of [eR, eR / 2, 0, -eR / 2, -eR]) {
      const y = Math.round(yE(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(emg.x, y); ctx.lineTo(emg.x + emg.w, y); ctx.stroke();
      ctx.fillText(mv(v), emg.x - 8, y);
    }
    for (let f = 0; f <= fTop + 1e-9; f += fStep) {
      const y = Math.round(yF(f)) + 0.5;
      ctx.beginPath(); ctx.moveTo(frc.x, y); ctx.lineTo(frc.x + frc.w, y); ctx.stroke();
      ctx.fillText(String(+f.toFixed(1)), frc.x - 8, y);
    }
  }

  plot(ctx, buf, tStart, tEnd, plotW, L, emg, frc, yE, yF, WINDOW_S) {
    // One column per device pixel: min/max envelope so a 5 ms twitch still shows.
    const cols = Math.max(1, Math.round(plotW * this.dpr));
    const px = 1 / this.dpr;
    const colOf = (t) => Math.floor(((t - tStart) / WINDOW_S) * cols);
    const maxGap = buf.dt * 2.5; // farther apart than this = missing data: break the line
    ctx.fillStyle = EMG_COLOR;
    ctx.beginPath();
    let col = -1, lo = Infinity, hi = -Infinity, prevLo = NaN, prevHi = NaN, prevT = -Infinity;
    const flushEmg = (gapBefore) => {
      if (col < 0 || lo > hi) return;
      // Overlap the previous column so a fast swing draws as a connected stroke.
      let a = lo, b = hi;
      if (!gapBefore && !Number.isNaN(prevLo)) { a = Math.min(a, prevHi); b = Math.max(b, prevLo); }
      const y1 = yE(b), y2 = yE(a);
      ctx.rect(L + col * px, y1, px, Math.max(px, y2 - y1));
      prevLo = lo; prevHi = hi;
    };
    let fPath = [], fSegs = [], pendingGap = false;
    let ePath = [], eSegs = [], eCol = -2;
    buf.each(tStart - buf.dt, tEnd, (t, mn, mx, f, env) => {
      const gap = t - prevT > maxGap;
      prevT = t;
      const c = colOf(t);
      if (c !== col || gap) {
        flushEmg(pendingGap);
        pendingGap = gap;
        if (gap) { prevLo = NaN; prevHi = NaN; }
        col = c; lo = Infinity; hi = -Infinity;
      }
      if (!Number.isNaN(mn)) { lo = Math.min(lo, mn); hi = Math.max(hi, mx); }
      if (gap || Number.isNaN(f)) { if (fPath.length) fSegs.push(fPath); fPath = []; }
      if (!Number.isNaN(f)) fPath.push(xOfCol(t), yF(f));
      // Envelope: one point per device pixel is plenty for a smooth line.
      if (gap || Number.isNaN(env)) { if (ePath.length) eSegs.push(ePath); ePath = []; eCol = -2; }
      else if (c !== eCol) { ePath.push(xOfCol(t), yE(env)); eCol = c; }
    });
    flushEmg(pendingGap);
    if (fPath.length) fSegs.push(fPath);
    if (ePath.length) eSegs.push(ePath);
    ctx.fill();

    ctx.strokeStyle = ENV_COLOR; ctx.lineWidth = 1.5; ctx.lineJoin = "round";
    strokeSegs(ctx, eSegs);

    function xOfCol(t) { return L + ((t - tStart) / WINDOW_S) * plotW; }
    ctx.strokeStyle = FORCE_COLOR; ctx.lineWidth = 2; ctx.lineJoin = "round";
    strokeSegs(ctx, fSegs);
  }

  targetBand(ctx, target, frc, yF, L, plotW) {
    const y1 = Math.max(frc.y, yF(target.hi)), y2 = Math.min(frc.y + frc.h, yF(target.lo));
    if (y2 <= y1) return;
    ctx.fillStyle = TARGET_FILL; ctx.fillRect(L, y1, plotW, y2 - y1);
    ctx.strokeStyle = FORCE_COLOR; ctx.lineWidth = 1; ctx.setLineDash([2, 4]);
    ctx.beginPath(); ctx.moveTo(L, Math.round(y1) + 0.5); ctx.lineTo(L + plotW, Math.round(y1) + 0.5);
    ctx.moveTo(L, Math.round(y2) + 0.5); ctx.lineTo(L + plotW, Math.round(y2) + 0.5); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = FORCE_COLOR; ctx.font = `12px ${FONT}`; ctx.textAlign = "left"; ctx.textBaseline = "top";
    ctx.fillText(`target ${target.lo}–${target.hi} N`, L + 6, y1 + 2);
  }

  /** Provisional flags: a burst has begun; hollow and dashed with "?" until the final event replaces it. */
  onsetFlags(ctx, onsets, xOf, emg, frc, tStart, tEnd) {
    for (const o of onsets) {
      if (o.onset_s < tStart || o.onset_s > tEnd) continue;
      const k = KINDS[o.likely] ?? KINDS.twitch;
      const x = Math.round(xOf(o.onset_s)) + 0.5;
      ctx.strokeStyle = k.color; ctx.lineWidth = 2; ctx.setLineDash([4, 3]);
      ctx.beginPath(); ctx.moveTo(x, emg.y - 4); ctx.lineTo(x, frc.y + frc.h); ctx.stroke();
      ctx.setLineDash([]);
      const txt = k.letter + "?";
      ctx.font = `700 13px ${FONT}`;
      const tw = ctx.measureText(txt).width + 10, ty = emg.y - 22;
      ctx.fillStyle = PANEL; ctx.fillRect(x - 1, ty, tw, 18);
      ctx.lineWidth = 1.5; ctx.strokeRect(x - 0.5, ty + 0.5, tw - 1, 17);
      ctx.fillStyle = k.color; ctx.textAlign = "left"; ctx.textBaseline = "middle";
      ctx.fillText(txt, x + 4, ty + 9);
    }
  }

  /** The practitioner's marks: a thin solid line and a glyph pill in the gap between the panels. */
  markLines(ctx, marks, xOf, emg, frc, tStart, tEnd) {
    ctx.font = `600 12px ${FONT}`; ctx.textBaseline = "middle"; ctx.textAlign = "left";
    const mid = emg.y + emg.h + (frc.y - emg.y - emg.h) / 2;
    // Pills of close marks take turns in three rows (the gap, then just above, then just below) rather than overlap.
    const rows = [mid, mid - 18, mid + 18], rowRight = [-Infinity, -Infinity, -Infinity];
    for (const m of [...marks].sort((a, b) => a.t - b.t)) {
      if (!(m.t >= tStart && m.t <= tEnd)) continue;
      const k = markKind(m.kind);
      const x = Math.round(xOf(m.t)) + 0.5;
      ctx.globalAlpha = m.pending ? 0.55 : 1;
      ctx.strokeStyle = k.color; ctx.lineWidth = 1.5; ctx.setLineDash(m.pending ? [2, 2] : []);
      ctx.beginPath(); ctx.moveTo(x, emg.y); ctx.lineTo(x, frc.y + frc.h); ctx.stroke();
      ctx.setLineDash([]);
      const word = m.kind === "note" ? (m.text || "note") : k.label;
      const txt = `${k.glyph} ${word.length > 24 ? word.slice(0, 23) + "…" : word}`;
      const tw = ctx.measureText(txt).width + 10;
      let row = rowRight.findIndex((r) => x - 6 > r + 2);
      if (row < 0) row = rowRight.indexOf(Math.min(...rowRight));
      rowRight[row] = x - 6 + tw;
      const y = rows[row];
      ctx.fillStyle = k.color;
      roundRect(ctx, x - 6, y - 8, tw, 16, 8); ctx.fill();
      ctx.fillStyle = "#fff"; ctx.fillText(txt, x - 1, y + 0.5);
      ctx.globalAlpha = 1;
    }
  }

  /** An event being added in review: a dashed box over its span. */
  draftBox(ctx, d, xOf, emg, frc) {
    const k = KINDS[d.kind] ?? KINDS.ltr;
    const x1 = xOf(d.onset_s), x2 = Math.max(xOf(d.end_s ?? d.onset_s), x1 + 2);
    ctx.fillStyle = "rgba(17,24,39,0.06)"; ctx.fillRect(x1, emg.y, x2 - x1, frc.y + frc.h - emg.y);
    ctx.strokeStyle = k.color; ctx.lineWidth = 2; ctx.setLineDash([5, 4]);
    ctx.strokeRect(x1, emg.y + 1, x2 - x1, frc.y + frc.h - emg.y - 2);
    ctx.setLineDash([]);
  }

  shadeEvents(ctx, events, xOf, emg, frc, tStart, tEnd, yF) {
    for (const e of events) {
      if (e.onset_s == null) continue;
      const end = e.end_s ?? e.onset_s;
      if (end < tStart || e.onset_s > tEnd) continue;
      const x1 = xOf(e.onset_s), x2 = Math.max(xOf(end), x1 + 1);
      if (e.kind === "gap") {
        // Missing samples: hatched across both panels.
        ctx.fillStyle = "rgba(107,114,128,0.18)";
        for (const p of [emg, frc]) ctx.fillRect(x1, p.y, x2 - x1, p.h);
        ctx.fillStyle = MUTED; ctx.font = `600 12px ${FONT}`; ctx.textAlign = "left"; ctx.textBaseline = "top";
        ctx.fillText("gap", x1 + 3, emg.y + emg.h - 18);
      } else if (e.kind === "ltr" && e.review !== "rejected") {
        ctx.fillStyle = "rgba(194,65,12,0.12)";
        ctx.fillRect(x1, emg.y, x2 - x1, emg.h);
      } else if (e.kind === "press") {
        // Bracket under the force trace with the daemon's LTR count for that press.
        const y = frc.y + frc.h - 10;
        ctx.strokeStyle = KINDS.press.color; ctx.lineWidth = 2;
        ctx.beginPath(); ctx.moveTo(x1, y - 5); ctx.lineTo(x1, y); ctx.lineTo(x2, y); ctx.lineTo(x2, y - 5); ctx.stroke();
        const n = e.ltr_count;
        const txt = `press${n != null ? ` · ${n} LTR` : ""}`;
        ctx.font = `600 12px ${FONT}`; ctx.textAlign = "center"; ctx.textBaseline = "bottom";
        // Label the part of the bracket that is on screen.
        const tw = ctx.measureText(txt).width + 8;
        const cx = (Math.max(x1, xOf(tStart) + tw / 2) + Math.min(x2, xOf(tEnd) - tw / 2)) / 2;
        ctx.fillStyle = PANEL; ctx.fillRect(cx - tw / 2, y - 19, tw, 16);
        ctx.fillStyle = KINDS.press.color; ctx.fillText(txt, cx, y - 4);
      }
    }
  }

  flags(ctx, events, xOf, emg, frc, tStart, tEnd, highlightId) {
    // Minor kinds first so LTR flags are drawn on top; rejected ones first of all.
    const order = (e) => (e.review === "rejected" ? 0 : e.kind === "ltr" ? 2 : 1);
    const list = events.filter((e) => e.onset_s != null && e.onset_s >= tStart - 1 && e.onset_s <= tEnd
      && e.kind !== "gap" && e.kind !== "press" && KINDS[e.kind])
      .sort((a, b) => order(a) - order(b) || a.onset_s - b.onset_s);
    const rowRight = [-Infinity, -Infinity]; // LTR tags stack in two rows when close together
    for (const e of list) {
      const k = KINDS[e.kind];
      const x = Math.round(xOf(e.onset_s)) + 0.5;
      const rejected = e.review === "rejected", added = e.review === "added";
      if (highlightId != null && e.id === highlightId) {
        // The event picked in the list: a dark frame around its whole burst.
        const x2 = Math.max(xOf(e.end_s ?? e.onset_s), x + 4);
        ctx.strokeStyle = HILITE; ctx.lineWidth = 3; ctx.setLineDash([]);
        ctx.strokeRect(x - 4, emg.y + 2, x2 - x + 8, frc.y + frc.h - emg.y - 4);
      }
      // What review made of it, in the tag itself: ✓ accepted, "T←LTR" relabelled, "+" added.
      let text = k.letter;
      if (e.review === "accepted") text += " ✓";
      else if (e.review === "relabelled") text += `←${KINDS[e.was]?.letter ?? "?"}`;
      else if (added) text = "+" + text;
      ctx.globalAlpha = rejected ? 0.45 : 1;
      ctx.strokeStyle = rejected ? MUTED : k.color;
      if (k.strong || added || e.review === "relabelled" || e.review === "accepted") {
        ctx.lineWidth = 2; ctx.setLineDash(added ? [6, 3] : rejected ? [2, 3] : []);
        ctx.beginPath(); ctx.moveTo(x, emg.y - 4); ctx.lineTo(x, frc.y + frc.h); ctx.stroke();
        ctx.setLineDash([]);
        ctx.font = `700 13px ${FONT}`;
        const tw = ctx.measureText(text).width + 10;
        const row = x - 1 > rowRight[0] + 2 ? 0 : 1;
        rowRight[row] = x - 1 + tw;
        const ty = emg.y - 22 + row * 20;
        if (added || !k.strong) {
          // Hollow: an added event (the practitioner's) or a relabelled minor kind.
          ctx.fillStyle = PANEL; ctx.fillRect(x - 1, ty, tw, 18);
          ctx.lineWidth = 2; ctx.setLineDash(added ? [4, 2] : []);
          ctx.strokeRect(x - 0.5, ty + 0.5, tw - 1, 17);
          ctx.setLineDash([]);
          ctx.fillStyle = k.color;
        } else {
          ctx.fillStyle = rejected ? MUTED : k.color; ctx.fillRect(x - 1, ty, tw, 18);
          ctx.fillStyle = "#fff";
        }
        ctx.textAlign = "left"; ctx.textBaseline = "middle";
        ctx.fillText(text, x + 4, ty + 9);
        if (rejected) strike(ctx, x - 3, x + tw + 1, ty + 9);
      } else {
        ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
        ctx.beginPath(); ctx.moveTo(x, emg.y + 22); ctx.lineTo(x, emg.y + emg.h); ctx.stroke();
        ctx.setLineDash([]);
        ctx.font = `600 12px ${FONT}`;
        const tw = ctx.measureText(text).width + 8;
        ctx.fillStyle = PANEL; ctx.fillRect(x - tw / 2, emg.y + 6, tw, 16);
        ctx.strokeRect(x - tw / 2 + 0.5, emg.y + 6.5, tw - 1, 15);
        ctx.fillStyle = rejected ? MUTED : k.color; ctx.textAlign = "center"; ctx.textBaseline = "middle";
        ctx.fillText(text, x, emg.y + 14);
        if (rejected) strike(ctx, x - tw / 2 - 2, x + tw / 2 + 2, emg.y + 14);
      }
      ctx.globalAlpha = 1;
    }
  }

  /** The time under a CSS-pixel x of the canvas, by the last drawing's own axis (null outside the plot). */
  timeAt(x) {
    const m = this.map;
    if (!m || x < m.L || x > m.L + m.plotW) return null;
    return m.tStart + ((x - m.L) / m.plotW) * m.windowS;
  }

  /** The event whose flag is drawn under x (within `slop` px of its onset line, or inside its span). */
  eventAt(x, events, slop = 7) {
    const m = this.map;
    if (!m) return null;
    let best = null, bestD = Infinity;
    for (const e of events) {
      if (e.onset_s == null || e.kind === "gap" || e.kind === "press" || !KINDS[e.kind]) continue;
      const x1 = m.xOf(e.onset_s), x2 = Math.max(m.xOf(e.end_s ?? e.onset_s), x1);
      const d = x < x1 ? x1 - x : x > x2 ? x - x2 : 0;
      const onLine = Math.abs(x - x1);
      if (d <= slop && (d < bestD || (d === bestD && onLine < Math.abs(x - m.xOf(best.onset_s))))) { best = e; bestD = d; }
    }
    return best;
  }
}

function strike(ctx, x1, x2, y) {
  ctx.strokeStyle = INK; ctx.lineWidth = 2; ctx.setLineDash([]);
  ctx.beginPath(); ctx.moveTo(x1, y); ctx.lineTo(x2, y); ctx.stroke();
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y); ctx.lineTo(x + w - r, y); ctx.arcTo(x + w, y, x + w, y + r, r);
  ctx.lineTo(x + w, y + h - r); ctx.arcTo(x + w, y + h, x + w - r, y + h, r);
  ctx.lineTo(x + r, y + h); ctx.arcTo(x, y + h, x, y + h - r, r);
  ctx.lineTo(x, y + r); ctx.arcTo(x, y, x + r, y, r); ctx.closePath();
}

function strokeSegs(ctx, segs) {
  ctx.beginPath();
  for (const seg of segs) {
    ctx.moveTo(seg[0], seg[1]);
    for (let i = 2; i < seg.length; i += 2) ctx.lineTo(seg[i], seg[i + 1]);
  }
  ctx.stroke();
}
