// WebSocket link to the daemon: reconnects with backoff and backfills missed
// events over REST, so a dropped Wi-Fi link never silently loses an LTR.

// The page's ?token= is passed on to every request: the daemon may require it.
const token = new URLSearchParams(location.search).get("token");

/** URL of a REST path relative to the page (works under any prefix), plus token. */
export function apiUrl(path, params = {}) {
  const u = new URL(path, location.href);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
  if (token !== null) u.searchParams.set("token", token);
  return u.href;
}

/** ws:/wss: URL of the live feed, same host and prefix as the page. */
export function liveUrl() {
  const u = new URL("./ws/live", location.href);
  u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  u.search = token !== null ? "?token=" + encodeURIComponent(token) : "";
  u.hash = "";
  return u.href;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;
// Status arrives every second; this much silence means a half-open socket.
const SILENCE_MS = 5000;

/**
 * Keeps one live socket open. Callbacks:
 *   onMessage(msg)  every parsed JSON object with a string `kind`
 *   onState(state)  "connecting" | "connected" | "reconnecting"
 *   onOpen()        after each successful (re)connect, to backfill
 */
export class LiveLink {
  constructor({ onMessage, onState, onOpen }) {
    this.onMessage = onMessage;
    this.onState = onState;
    this.onOpen = onOpen;
    this.backoff = BACKOFF_MIN_MS;
    this.ws = null;
    this.everConnected = false;
    this.timer = null;
    this.lastRx = 0;
    // Watchdog: a socket can stay "open" after the laptop slept or the cable moved.
    setInterval(() => {
      if (this.ws && this.ws.readyState === WebSocket.OPEN &&
          performance.now() - this.lastRx > SILENCE_MS) this.ws.close();
    }, 1000);
    // Coming back online or to the tab: retry now instead of waiting out the backoff.
    const retryNow = () => { if (!this.ws) { this.backoff = BACKOFF_MIN_MS; this.connect(); } };
    addEventListener("online", retryNow);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) retryNow(); });
  }

  connect() {
    clearTimeout(this.timer);
    if (this.ws) return;
    this.onState(this.everConnected ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(liveUrl());
    } catch (e) {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastRx = performance.now();
      this.openedAt = performance.now();
    };
    ws.onmessage = (ev) => {
      this.lastRx = performance.now();
      let got;
      try { got = JSON.parse(ev.data); } catch { return; }
      // Messages that were waiting together come as one array, in order.
      for (const msg of Array.isArray(got) ? got : [got]) this.receive(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      // A link that held for a while earns a fast first retry.
      if (this.openedAt && performance.now() - this.openedAt > 5000) this.backoff = BACKOFF_MIN_MS;
      this.openedAt = 0;
      this.onState(this.everConnected ? "reconnecting" : "connecting");
      this.scheduleRetry();
    };
    ws.onerror = () => { /* onclose follows and handles it */ };
  }

  receive(msg) {
    if (!msg || typeof msg.kind !== "string") return;
    if (msg.kind === "hello") {
      // Only a hello proves the daemon (not a proxy) is talking to us.
      this.everConnected = true;
      this.onState("connected");
      this.onMessage(msg);
      this.onOpen();
      return;
    }
    this.onMessage(msg);
  }

  scheduleRetry() {
    // Jitter so several open tabs don't hammer a restarting daemon in step.
    const wait = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.timer = setTimeout(() => this.connect(), wait);
  }
}

/**
 * Fetches every event after `since`, following the cursor until caught up.
 * Returns {events, lastId}. Throws on HTTP errors.
 */
export async function fetchEventsSince(since) {
  const all = [];
  let cursor = since;
  let lastId = since;
  for (let page = 0; page < 50; page++) {
    const r = await fetch(apiUrl("./api/events", { since: cursor }), { cache: "no-store" });
    if (!r.ok) throw new Error("events: HTTP " + r.status);
    const body = await r.json();
    const evs = Array.isArray(body.events) ? body.events : [];
    lastId = typeof body.last_id === "number" ? body.last_id : lastId;
    all.push(...evs);
    const maxId = evs.reduce((m, e) => Math.max(m, e.id ?? m), cursor);
    // Stop when the page was empty or reached the daemon's last id.
    if (!evs.length || maxId >= lastId || maxId <= cursor) break;
    cursor = maxId;
  }
  return { events: all, lastId };
}
