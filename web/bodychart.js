// The body chart: a front and a back view of the figure (./bodychart.svg) the
// practitioner clicks to choose where they are working. The SVG is inlined so
// its own <style> reaches the regions and a click on one can be caught; each
// region is class="region" with data-muscle (a name from the site catalog),
// data-side (the patient's side) and data-view. The chart shows the current
// site (.current) and, per site, whether it gave LTRs (.treated, with a count
// badge) or gave them and has stopped responding (.quieted).

const SVG_NS = "http://www.w3.org/2000/svg";
const SIDES = ["left", "right"];
let instances = 0;

/** The key of one region: a muscle on one side. */
export const regionKey = (muscle, side) => `${String(muscle ?? "")}|${String(side ?? "")}`;

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const unescape = (s) => s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e) => {
  if (e[0] !== "#") return ENTITIES[e.toLowerCase()];
  return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
});

/** The regions an SVG text holds, as [{ muscle, side, view }] in document order (no DOM needed). */
export function muscles(svgText) {
  const out = [];
  const text = String(svgText ?? "").replace(/<!--[\s\S]*?-->/g, "");
  for (const tag of text.matchAll(/<[A-Za-z][\w:-]*((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/g)) {
    const attrs = {};
    for (const a of tag[1].matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[a[1]] = unescape(a[2] ?? a[3]);
    if (!(attrs.class ?? "").split(/\s+/).includes("region")) continue;
    out.push({ muscle: attrs["data-muscle"] ?? "", side: attrs["data-side"] ?? "", view: attrs["data-view"] ?? "" });
  }
  return out;
}

/** The sides a site stands for on the chart: "bilateral" or no side lights both. */
const sidesOf = (side) => (SIDES.includes(side) ? [side] : side === "bilateral" || !side ? SIDES : []);

export class BodyChart {
  /** container: the element the chart goes in; onPick({ muscle, side }) when a region is clicked or activated. */
  constructor(container, { onPick } = {}) {
    this.container = container;
    this.onPick = onPick;
    this.svg = null;
    this.regions = new Map();   // regionKey -> [element, ...]
    this.current = null;
    this.stats = [];
    this.badges = null;         // the <g> that holds the count badges
    this.ready = this.load();
  }

  async load() {
    const res = await fetch("./bodychart.svg");
    if (!res.ok) throw new Error(`the body chart did not load (${res.status})`);
    const doc = new DOMParser().parseFromString(await res.text(), "image/svg+xml");
    const root = doc.documentElement;
    if (root.localName !== "svg" || doc.getElementsByTagName("parsererror").length) throw new Error("the body chart is not a valid SVG");
    for (const s of root.querySelectorAll("script, foreignObject")) s.remove();
    const svg = document.importNode(root, true);
    // The page's layout sizes the chart (the viewBox keeps its shape).
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    // Ids are the page's: give this chart its own hatch, so two charts (one hidden) never share one.
    const n = ++instances;
    const hatch = svg.querySelector("pattern[id]");
    if (hatch) {
      hatch.id = `${hatch.id}-${n}`;
      svg.style.setProperty("--bodychart-hatch", `url(#${hatch.id})`);
    }
    this.badges = document.createElementNS(SVG_NS, "g");
    this.badges.setAttribute("class", "badges");
    this.badges.setAttribute("aria-hidden", "true");
    svg.append(this.badges);
    for (const el of svg.querySelectorAll(".region")) {
      const key = regionKey(el.dataset.muscle, el.dataset.side);
      if (!this.regions.has(key)) this.regions.set(key, []);
      this.regions.get(key).push(el);
      const title = el.querySelector("title")?.textContent?.trim() || `${el.dataset.muscle} (${el.dataset.side})`;
      el.dataset.title = title;
      el.setAttribute("tabindex", "0");
      el.setAttribute("role", "button");
      el.setAttribute("aria-label", title);
    }
    svg.addEventListener("click", (e) => this.pick(e.target));
    svg.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" && e.key !== " " && e.key !== "Spacebar") return;
      if (!e.target.closest?.(".region")) return;
      e.preventDefault();
      this.pick(e.target);
    });
    this.container.replaceChildren(svg);
    this.svg = svg;
    // Badges are placed from the regions' boxes, which a hidden chart does not have: place them again once it shows.
    if (typeof ResizeObserver === "function") new ResizeObserver(() => this.placeBadges()).observe(this.container);
    this.setCurrent(this.current);
    this.setStats(this.stats);
  }

  pick(target) {
    const el = target?.closest?.(".region");
    if (!el || !this.svg?.contains(el)) return;
    this.onPick?.({ muscle: el.dataset.muscle, side: el.dataset.side });
  }

  /** The site being worked on ({ muscle, side } or null): its regions get .current. */
  setCurrent(site) {
    this.current = site && site.muscle ? { muscle: site.muscle, side: site.side ?? "" } : null;
    if (!this.svg) return;
    const on = new Set(this.current ? sidesOf(this.current.side).map((s) => regionKey(this.current.muscle, s)) : []);
    for (const [key, els] of this.regions) {
      for (const el of els) {
        el.classList.toggle("current", on.has(key));
        if (on.has(key)) el.setAttribute("aria-current", "true"); else el.removeAttribute("aria-current");
      }
    }
  }

  /** Per site [{ muscle, side, ltrs, quieted }]: .treated or .quieted and a count badge; other regions lose both. */
  setStats(list) {
    this.stats = Array.isArray(list) ? list : [];
    if (!this.svg) return;
    const by = new Map();   // regionKey -> { ltrs, quieted }
    for (const s of this.stats) {
      if (!s || typeof s.muscle !== "string") continue;
      const ltrs = Number.isFinite(Number(s.ltrs)) ? Math.max(0, Math.round(Number(s.ltrs))) : 0;
      for (const side of sidesOf(s.side ?? "")) {
        const key = regionKey(s.muscle, side);
        const had = by.get(key);
        by.set(key, had ? { ltrs: had.ltrs + ltrs, quieted: had.quieted && !!s.quieted } : { ltrs, quieted: !!s.quieted });
      }
    }
    this.badges.replaceChildren();
    for (const [key, els] of this.regions) {
      const st = by.get(key);
      for (const el of els) {
        el.classList.toggle("treated", !!st && !st.quieted);
        el.classList.toggle("quieted", !!st && st.quieted);
        const what = st ? `: ${st.ltrs} LTR${st.ltrs === 1 ? "" : "s"}${st.quieted ? ", quieted" : ""}` : "";
        el.setAttribute("aria-label", el.dataset.title + what);
        if (!st) continue;
        const badge = document.createElementNS(SVG_NS, "text");
        badge.setAttribute("class", "badge");
        badge.textContent = String(st.ltrs);
        badge.region = el;
        this.badges.append(badge);
      }
    }
    this.placeBadges();
  }

  placeBadges() {
    if (!this.badges) return;
    for (const badge of this.badges.children) {
      let box;
      try { box = badge.region.getBBox(); } catch { continue; }
      if (!box || (!box.width && !box.height)) continue;
      // The box is in the region's own coordinates: map its centre through the region's transform (rotated ellipses).
      let x = box.x + box.width / 2;
      let y = box.y + box.height / 2;
      const m = badge.region.transform?.baseVal?.consolidate?.()?.matrix;
      if (m) [x, y] = [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f];
      badge.setAttribute("x", x.toFixed(1));
      badge.setAttribute("y", y.toFixed(1));
    }
  }
}
