"""Put a plan through the physics: muscle -> skin -> MyoWare -> ADC, and
thumb -> FSR -> ADC -> nominal newtons, with the ground truth.

Randomness is split into independent streams (plan, force, EMG, artifacts,
noise, converter) derived from the seed, and the plan and physiology streams
do not depend on the board, rate or mains: the same seed gives the same
session (same presses, same events at the same times) on every board, so
conditions can be compared event by event.  Only amplitudes scale with the
condition's noise floor.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import adc, artifacts, bursts, frontend, noise, scenes
from .conditions import AMP_NOISE_RMS, FS_INT, HUM_FUND_RANGE, Condition, floor_rms
from .force import FsrPart, Press, nominal_newtons, press_force
from .motor_units import fuglevand_pool

MARGIN = 0.3          #: minimum spacing between events (s)
LTR_RESERVE = 0.5     #: time reserved for an LTR before its waveform exists
SNAP_LATENCY = (0.020, 0.050)   #: reflex latency after a snap (spinal, derived)


@dataclass
class Result:
    rate: int
    emg_codes: np.ndarray
    emg_scale: float
    fsr_codes: np.ndarray
    fsr_scale: float
    vs_nominal: float
    truth: list[dict]
    meta: dict = field(default_factory=dict)

    @property
    def emg_v(self) -> np.ndarray:
        return self.emg_codes * self.emg_scale

    @property
    def force_n(self) -> np.ndarray:
        return nominal_newtons(self.fsr_codes * self.fsr_scale, self.vs_nominal)


class Occupancy:
    """Time intervals already taken by events and artifacts."""

    def __init__(self) -> None:
        self.items: list[tuple[float, float, object]] = []

    def add(self, a: float, b: float, tag: object) -> None:
        self.items.append((a, b, tag))

    def free(self, a: float, b: float, margin: float = MARGIN, ignore: object = None) -> bool:
        return all(b + margin <= x or a - margin >= y for x, y, tag in self.items if tag is not ignore)


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ["plan", "force", "emg", "art", "noise", "adc", "fsr", "place"]
    return {n: np.random.default_rng([seed, i]) for i, n in enumerate(names)}


def _hold_spans(p: Press, arts: dict[tuple[int, str, int], artifacts.Artifact], pi: int) -> list[tuple[float, float]]:
    """Steady-hold spans of a press: after landing has settled (and its
    artifact ended), before the lift, without snap / re-grip transitions."""
    if p.kind != "hold":
        return []
    a = p.land_end + 0.4
    la = arts.get((pi, "landing", 0))
    if la is not None:
        a = max(a, la.end + 0.05)
    b = p.t_lift - 0.05
    lf = arts.get((pi, "lift", 0))
    if lf is not None:
        b = min(b, lf.onset - 0.05)
    cuts = []
    for j, s in enumerate(p.snaps):
        e = s.t + s.dur + 0.3
        art = arts.get((pi, "snap", j))
        if art is not None:
            e = max(e, art.end + 0.05)
        cuts.append((s.t - 0.1, e))
    for j, r in enumerate(p.regrips):
        e = r.end + 0.3
        art = arts.get((pi, "regrip", j))
        if art is not None:
            e = max(e, art.end + 0.05)
        cuts.append((r.t - 0.1, e))
    spans = [(a, b)]
    for c0, c1 in sorted(cuts):
        new = []
        for s0, s1 in spans:
            if c1 <= s0 or c0 >= s1:
                new.append((s0, s1))
                continue
            if c0 > s0:
                new.append((s0, c0))
            if c1 < s1:
                new.append((c1, s1))
        spans = new
    return [(s0, s1) for s0, s1 in spans if s1 - s0 >= 0.5]


def _press_episodes(f: np.ndarray, rate: int) -> list[tuple[int, int]]:
    """Index spans where force rises past 2 N until it falls below 1 N."""
    up = np.flatnonzero(f > 2.0)
    dn = np.flatnonzero(f < 1.0)
    out = []
    i = 0
    while len(up):
        k = np.searchsorted(up, i)
        if k >= len(up):
            break
        s = up[k]
        m = np.searchsorted(dn, s)
        e = dn[m] if m < len(dn) else len(f) - 1
        out.append((int(s), int(e)))
        i = e + 1
    return out


def simulate(cond: Condition, minutes: float, seed: int, scenario: str = "session") -> Result:
    rng = _streams(seed)
    fs, rate = FS_INT, cond.rate
    T = minutes * 60.0
    n_out = int(round(T * rate))
    up = fs // rate
    n_int = n_out * up
    t_out = np.arange(n_out) / rate
    floor = floor_rms(cond)
    plan = scenes.plan(rng["plan"], T, scenario)

    # --- thumb force ---------------------------------------------------------
    f_true = np.zeros(n_out)
    for p in plan.presses:
        i0 = max(0, int((p.t_contact - 0.05) * rate))
        i1 = min(n_out, int((p.t_end + 0.05) * rate) + 1)
        f_true[i0:i1] += press_force(rng["force"], p, t_out[i0:i1])

    # --- artifacts at pressure changes --------------------------------------
    occ = Occupancy()
    arts: dict[tuple[int, str, int], artifacts.Artifact] = {}
    for pi, p in enumerate(plan.presses):
        changes = []
        if p.light > 0:
            changes.append(("contact", 0, p.t_contact, p.light))
        changes.append(("landing", 0, p.t_land, p.f_hold - p.light))
        for j, s in enumerate(p.snaps):
            changes.append(("snap", j, s.t, s.amp))
        for j, r in enumerate(p.regrips):
            changes.append(("regrip", j, r.t, r.delta))
        changes.append(("lift", 0, p.t_lift, p.f_hold))
        for cause, j, tc, d in changes:
            a = artifacts.make_artifact(rng["art"], fs, tc, cause, d, floor)
            if a is not None and a.end < T - 0.05:
                arts[(pi, cause, j)] = a
                occ.add(a.onset, a.end, ("art", pi, cause, j))
    holds = {pi: _hold_spans(p, arts, pi) for pi, p in enumerate(plan.presses)}

    # --- EMG events ------------------------------------------------------------
    er, pr = rng["emg"], rng["place"]
    pool = fuglevand_pool(er, fs)
    sites = [bursts.new_site(er, fs, cond.snr) for _ in range(max(plan.n_sites, 1))]
    placed: list[tuple[float, bursts.Burst]] = []
    rest_ok = lambda a, b: bool(np.all(f_true[max(0, int((a - 0.5) * rate)): min(n_out, int((b + 0.5) * rate))] == 0.0))

    def hold_slot(length: float, weights: dict[int, float] | None = None) -> tuple[float, int] | None:
        cand = [(pi, s) for pi, ss in holds.items() for s in ss if s[1] - s[0] >= length]
        if not cand:
            return None
        w = np.array([(s[1] - s[0] - length) * (weights.get(pi, 1.0) if weights else 1.0) for pi, s in cand])
        if w.sum() <= 0:
            return None
        pi, (a, b) = cand[int(pr.choice(len(cand), p=w / w.sum()))]
        return pr.uniform(a, b - length), pi

    for _ in range(plan.n_contraction):
        b = bursts.contraction(er, fs, pool)
        for _try in range(60):
            if pr.random() < 0.5:
                slot = hold_slot(b.duration)
                if slot is None:
                    continue
                t0 = slot[0]
            else:
                t0 = pr.uniform(0.5, T - b.duration - 0.5)
                if not rest_ok(t0, t0 + b.duration):
                    continue
            if occ.free(t0, t0 + b.duration):
                occ.add(t0, t0 + b.duration, b)
                placed.append((t0, b))
                break

    ltr_slots: list[tuple[float, int, object]] = []      # (time, site, reservation tag)
    per_press: dict[int, int] = {}
    for pi, p in enumerate(plan.presses):
        for j, s in enumerate(p.snaps):
            if len(ltr_slots) >= plan.n_ltr:
                break
            site = sites[p.site]
            if pr.random() >= 0.65 * site.habituation ** len([x for x in ltr_slots if x[1] == p.site]):
                continue
            t0 = s.peak_t + pr.uniform(*SNAP_LATENCY)
            own = ("art", pi, "snap", j)
            tag = object()
            ok = all(t0 + LTR_RESERVE + MARGIN <= x or t0 - MARGIN >= y
                     for x, y, g in occ.items if g != own)
            if ok and t0 + LTR_RESERVE < T - 0.5:
                occ.add(t0, t0 + LTR_RESERVE, tag)
                ltr_slots.append((t0, p.site, tag))
                per_press[pi] = per_press.get(pi, 0) + 1
    visit_no: dict[int, int] = {}
    weights = {}
    for pi, p in enumerate(plan.presses):
        k = visit_no.get(p.site, 0)
        visit_no[p.site] = k + 1
        weights[pi] = sites[p.site].irritability * 0.8 ** k
    for _try in range(plan.n_ltr * 40):
        if len(ltr_slots) >= plan.n_ltr:
            break
        w = {pi: x for pi, x in weights.items() if per_press.get(pi, 0) < 6}
        slot = hold_slot(LTR_RESERVE, w)
        if slot is None:
            break
        t0, pi = slot
        if occ.free(t0, t0 + LTR_RESERVE):
            tag = object()
            occ.add(t0, t0 + LTR_RESERVE, tag)
            ltr_slots.append((t0, plan.presses[pi].site, tag))
            per_press[pi] = per_press.get(pi, 0) + 1
    # waveforms in time order, so each site's later LTRs are the habituated ones
    lo_floor = 4.0 if cond.snr == "normal" else 2.0
    for t0, si, tag in sorted(ltr_slots, key=lambda x: x[0]):
        site = sites[si]
        k = site.n_ltr
        b = bursts.ltr(er, fs, site)
        ratio = max(site.first_ratio * site.habituation ** k, lo_floor)
        b.scale_to(ratio * floor)
        b.meta["snr"] = ratio
        occ.items = [it for it in occ.items if it[2] is not tag]
        occ.add(t0, t0 + b.duration, b)
        placed.append((t0, b))

    tw_lo, tw_hi = (4.0, 10.0) if cond.snr == "normal" else (2.0, 3.5)
    for _ in range(plan.n_twitch):
        b = bursts.twitch(er, fs)
        ratio = er.uniform(tw_lo, tw_hi)
        b.scale_to(ratio * floor)
        b.meta["snr"] = ratio
        for _try in range(200):
            t0 = pr.uniform(0.5, T - 1.0)
            if rest_ok(t0, t0 + b.duration) and occ.free(t0, t0 + b.duration):
                occ.add(t0, t0 + b.duration, b)
                placed.append((t0, b))
                break
    con_lo, con_hi = (10.0, 30.0) if cond.snr == "normal" else (5.0, 12.0)
    for t0, b in placed:
        if b.kind == "contraction":
            ratio = er.uniform(con_lo, con_hi)
            b.scale_to(ratio * floor)
            b.meta["snr"] = ratio

    # --- the muscle pushes back on the thumb ------------------------------------
    for t0, b in placed:
        i0 = int(round(t0 * rate))
        if i0 >= n_out or f_true[i0] <= 0:
            continue
        if b.kind == "ltr" and "bump_n" in b.meta:
            s = np.arange(int(0.4 * rate)) / rate
            T_ = b.meta["bump_T"]
            d = b.meta["bump_delay"]
            x = np.clip(s - d, 0, None) / T_
            bump = b.meta["bump_n"] * x * np.exp(1 - x)
            j1 = min(n_out, i0 + len(bump))
            f_true[i0:j1] += bump[: j1 - i0]
        elif b.kind == "contraction" and b.push is not None:
            amp = er.uniform(0.5, 2.5)
            push = np.interp(np.arange(int(b.duration * rate)) / rate, np.arange(len(b.push)) / fs, b.push)
            j1 = min(n_out, i0 + len(push))
            f_true[i0:j1] += amp * push[: j1 - i0] * (f_true[i0:j1] > 0)
            b.meta["push_n"] = amp

    # --- skin signal ---------------------------------------------------------------
    nr = rng["noise"]
    skin = np.zeros(n_int)
    for t0, b in placed:
        i0 = int(round(t0 * fs))
        j1 = min(n_int, i0 + len(b.wave))
        skin[i0:j1] += b.wave[: j1 - i0]
    for a, b_ in plan.tonic_spans:
        if b_ - a < 1.0:
            continue
        w = bursts.tonic(er, fs, pool, b_ - a)
        pad = int(0.05 * fs)
        yb = frontend.snr_band(frontend.band(np.concatenate([np.zeros(pad), w]), fs), fs)[pad:]
        r = float(np.sqrt(np.mean(yb ** 2)))
        if r > 0:
            w *= er.uniform(0.4, 1.2) * floor / r
        i0 = int(a * fs)
        j1 = min(n_int, i0 + len(w))
        skin[i0:j1] += w[: j1 - i0]
    touch = np.interp(np.arange(n_int) / fs, t_out, (f_true > 0.1).astype(float))
    hum_amp = nr.uniform(*HUM_FUND_RANGE[cond.snr])
    skin += noise.hum(nr, n_int, fs, cond.mains, hum_amp, touch)
    filt = frontend.band(skin, fs)
    filt += noise.amplifier_noise(nr, n_int, fs, AMP_NOISE_RMS[cond.snr])
    for a in arts.values():
        i0 = int(round(a.start * fs))
        j1 = min(n_int, i0 + len(a.wave))
        filt[i0:j1] += a.wave[: j1 - i0]

    # --- converters --------------------------------------------------------------
    board = cond.board
    ar, fr = rng["adc"], rng["fsr"]
    t_int = np.arange(n_int) / fs
    part = FsrPart.draw(fr)
    if board.name == "uno":
        vs = float(fr.uniform(4.85, 5.15))      # USB 5 V: 4.75-5.25 V allowed
        raw = frontend.raw_pin(filt, vs)
        conv = adc.AvrAdc(ar)
        k = np.arange(board.emg_conv)
        tc = t_out[:, None] + 10e-6 + k[None, :] * 55e-6 + ar.uniform(0, 4e-6, (n_out, board.emg_conv))
        codes = conv.convert(ar, np.interp(tc, t_int, raw) / vs).sum(axis=1)
        emg_codes = board.emg_mult * codes
        emg_scale = 5.0 / 8191.0
        vf = part.divider_volts(fr, f_true, rate, vs)
        fc = conv.convert(ar, np.repeat((vf / vs)[:, None], board.fsr_conv, axis=1)).sum(axis=1)
        fsr_codes = board.fsr_mult * fc
        fsr_scale = 5.0 / 4095.0
    else:
        vs = float(fr.normal(3.3, 0.02))
        raw = frontend.raw_pin(filt, vs)
        conv = adc.Esp32Adc(ar)
        tc = t_out + np.abs(ar.normal(0.0, 15e-6, n_out))
        emg_codes = conv.convert(ar, np.interp(tc, t_int, raw), rate)
        emg_scale = 3.3 / 4095.0
        vf = part.divider_volts(fr, f_true, rate, vs)
        fsr_codes = conv.convert(ar, vf, rate)
        fsr_scale = 3.3 / 4095.0

    # --- truth -----------------------------------------------------------------
    def f_at(t: float) -> float:
        return float(f_true[min(n_out - 1, max(0, int(round(t * rate))))])

    truth: list[dict] = []
    for t0, b in placed:
        truth.append({"kind": b.kind, "onset_s": t0, "end_s": t0 + b.duration, "force_n": f_at(t0)})
    for a in arts.values():
        truth.append({"kind": "artifact", "onset_s": a.onset, "end_s": a.end, "force_n": f_at(a.onset)})
    for s, e in _press_episodes(f_true, rate):
        truth.append({"kind": "press", "onset_s": s / rate, "end_s": e / rate,
                      "force_n": float(f_true[s:e + 1].max())})
    for pi, spans in holds.items():
        for a, b_ in spans:
            truth.append({"kind": "hold", "onset_s": a, "end_s": b_, "force_n": f_at(a)})
    truth.sort(key=lambda d: (d["onset_s"], d["kind"]))
    for d in truth:
        d["onset_s"] = round(d["onset_s"], 6)
        d["end_s"] = round(d["end_s"], 6)
        d["force_n"] = round(d["force_n"], 4)

    meta = {
        "generator": "twitchd benchmarks/sim2",
        "seed": seed, "minutes": minutes, "scenario": scenario,
        "rate": rate, "bits": cond.bits, "mains": cond.mains, "snr": cond.snr,
        "board": board.name, "vs_true": vs, "floor_rms_skin_v": floor,
        "hum_fundamental_skin_v": hum_amp,
        "fsr_part": part.__dict__,
        "tonic_spans": plan.tonic_spans,
        "events": [dict(kind=b.kind, onset_s=round(t0, 6), **{k: (round(v, 4) if isinstance(v, float) else v)
                                                               for k, v in b.meta.items()})
                   for t0, b in sorted(placed, key=lambda x: x[0])],
        "artifacts": [dict(cause=a.cause, onset_s=round(a.onset, 6)) for a in sorted(arts.values(), key=lambda a: a.onset)],
        "planned": {"ltr": plan.n_ltr, "twitch": plan.n_twitch, "contraction": plan.n_contraction},
    }
    return Result(rate, emg_codes.astype(np.int64), emg_scale, fsr_codes.astype(np.int64), fsr_scale,
                  board.vs_nominal, truth, meta)
