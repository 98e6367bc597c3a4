"""Small inline SVG plots for the printable report: no library, no script, no network.

A report must open on a clinic laptop with no internet and print in
black and white, so the plots are plain SVG strings with their own axes,
drawn in strokes and patterns that survive a greyscale printer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape


def _nice_max(v: float) -> float:
    if not v > 0 or not math.isfinite(v):
        return 1.0
    step = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * step:
            return m * step
    return 10 * step


def trace(t0_s: float, dt_s: float, emg_lo: Sequence[float | None], emg_hi: Sequence[float | None],
          force: Sequence[float | None], marker_s: float, width: int = 260, height: int = 70, label: str = "") -> str:
    """EMG as a min/max band and force as a line, around one event; a dashed line at its onset."""
    n = len(emg_hi)
    if n == 0:
        return ""
    span = max(abs(v) for v in [*emg_lo, *emg_hi] if v is not None) if any(v is not None for v in emg_hi) else 1.0
    span = span or 1.0
    fmax = _nice_max(max((f for f in force if f is not None), default=0.0))
    x = [k * width / max(1, n - 1) for k in range(n)]
    mid = height * 0.42

    def ye(v: float) -> float:
        return mid - v / span * (height * 0.38)

    top = " ".join(f"{x[k]:.1f},{ye(v):.1f}" for k, v in enumerate(emg_hi) if v is not None)
    bottom = " ".join(f"{x[k]:.1f},{ye(v):.1f}" for k, v in reversed(list(enumerate(emg_lo))) if v is not None)
    fpts = " ".join(f"{x[k]:.1f},{height - 2 - f / fmax * (height * 0.45):.1f}" for k, f in enumerate(force)
                    if f is not None)
    mx = (marker_s - t0_s) / (dt_s * max(1, n - 1)) * width
    return (f'<svg class="trace" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
            f' aria-label="{escape(label)}"><rect width="{width}" height="{height}" fill="none" stroke="#ccc"/>'
            f'<polygon points="{top} {bottom}" fill="#555" stroke="#222" stroke-width="0.4"/>'
            f'<polyline points="{fpts}" fill="none" stroke="#000" stroke-width="1.2" stroke-dasharray="4 2"/>'
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="0" y2="{height}" stroke="#000" stroke-dasharray="2 2"/>'
            f'<text x="{width - 3}" y="10" font-size="9" text-anchor="end">force ≤ {fmax:g} N (dashed)</text></svg>')


def habituation(peaks_mv: Sequence[float | None], forces_n: Sequence[float | None], width: int = 300,
                height: int = 120, label: str = "") -> str:
    """Each LTR in order: its peak EMG as a bar (mV at the sensor's RAW output, left axis) and the force it
    took as a dot (N, right axis). Habituation shows as bars that shrink."""
    n = len(peaks_mv)
    if n == 0:
        return '<p class="muted">No LTR at this site.</p>'
    pmax = _nice_max(max((p for p in peaks_mv if p is not None), default=0.0))
    fmax = _nice_max(max((f for f in forces_n if f is not None), default=0.0))
    left, right, top, bottom = 34, 30, 8, 18
    w, h = width - left - right, height - top - bottom
    slot = w / n
    parts = [f'<svg class="habituation" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
             f' aria-label="{escape(label)}">',
             f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#000"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#000"/>',
             f'<text x="{left - 3}" y="{top + 8}" font-size="9" text-anchor="end">{pmax:g}</text>',
             f'<text x="{left - 3}" y="{top + h}" font-size="9" text-anchor="end">0</text>',
             f'<text x="2" y="{top + h / 2}" font-size="9" transform="rotate(-90 8 {top + h / 2})">mV</text>',
             f'<text x="{left + w + 3}" y="{top + 8}" font-size="9">{fmax:g} N</text>',
             f'<text x="{left + w / 2}" y="{height - 3}" font-size="9" text-anchor="middle">LTR 1 … {n} in order</text>']
    for k in range(n):
        p, f = peaks_mv[k], forces_n[k]
        x = left + k * slot
        if p is not None:
            bh = p / pmax * h
            parts.append(f'<rect x="{x + slot * 0.15:.1f}" y="{top + h - bh:.1f}" width="{slot * 0.7:.1f}"'
                         f' height="{bh:.1f}" fill="#888" stroke="#000" stroke-width="0.5"><title>LTR {k + 1}:'
                         f' {p:.2f} mV</title></rect>')
        if f is not None:
            parts.append(f'<circle cx="{x + slot / 2:.1f}" cy="{top + h - f / fmax * h:.1f}" r="2.6" fill="#fff"'
                         f' stroke="#000"><title>LTR {k + 1}: {f:.1f} N</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def visits(labels: Sequence[str], series: dict[str, Sequence[float | None]], unit: str, width: int = 360,
           height: int = 140) -> str:
    """One line per site across visits (PPT or LTR counts), each with its own dash so print tells them apart."""
    n = len(labels)
    vmax = _nice_max(max((v for s in series.values() for v in s if v is not None), default=0.0))
    left, right, top, bottom = 34, 8, 8, 30
    w, h = width - left - right, height - top - bottom
    dashes = ["", "5 3", "2 2", "8 3 2 3", "1 3"]
    parts = [f'<svg class="visits" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
             f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#000"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#000"/>',
             f'<text x="{left - 3}" y="{top + 8}" font-size="9" text-anchor="end">{vmax:g}</text>',
             f'<text x="{left - 3}" y="{top + h}" font-size="9" text-anchor="end">0 {escape(unit)}</text>']

    def xat(k: int) -> float:
        return left + (k + 0.5) * w / max(1, n)

    for k, lab in enumerate(labels):
        parts.append(f'<text x="{xat(k):.1f}" y="{top + h + 12}" font-size="9" text-anchor="middle">{escape(lab)}</text>')
    for j, (name, values) in enumerate(series.items()):
        pts = [(xat(k), top + h - v / vmax * h) for k, v in enumerate(values) if v is not None]
        if len(pts) > 1:
            parts.append(f'<polyline points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in pts)}" fill="none" stroke="#000"'
                         f' stroke-dasharray="{dashes[j % len(dashes)]}"/>')
        for a, b in pts:
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.4" fill="#fff" stroke="#000"><title>{escape(name)}'
                         f'</title></circle>')
    parts.append("</svg>")
    return "".join(parts)
