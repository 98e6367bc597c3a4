"""How many true twitches and LTRs rise above the noise at all, per ADC and SNR.

The accuracy benchmark says what the detector found; this one says what any
detector working on the EMG energy could find. For each simulated session it
runs the detector's own band (high-pass, notch, low-pass), computes the
smoothed Teager-Kaiser energy with the detector's smoothing, and takes the
noise's reach: the median over quiet seconds (no true event within 1 s) of
each second's largest energy. A burst whose peak energy stays under that
reach is indistinguishable from a quiet second by its energy; one under the
detector's `onset_peak_ratio` times the reach is below the onset threshold
when the quiet maximum sets it. Those bursts are left to the force channel
(an LTR's bump) or are not there to be seen (a twitch, no pressure).
Seeds alternate between 50 and 60 Hz hum.

Usage: .venv/bin/python benchmarks/visibility.py [--seeds 21 22 23 24] [--minutes 4]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import numpy.typing as npt

from twitchd.signal.detector import Detector
from twitchd.signal.params import P_A_ENERGY, DetectorParams, kernel_params
from twitchd.sim import sensors
from twitchd.sim.session import SessionSimulator, SimConfig
from twitchd.sim.shapes import one_pole

Array = npt.NDArray[np.float64]


def energy(band: Array, rate_hz: float, params: DetectorParams) -> Array:
    """The kernel's smoothed Teager-Kaiser energy of an already band-passed signal
    (the kernel keeps only its running value), with the kernel's own smoothing."""
    psi = np.zeros_like(band)
    psi[2:] = np.abs(band[1:-1] ** 2 - band[2:] * band[:-2])
    return one_pole(psi, float(kernel_params(params, rate_hz)[P_A_ENERGY]))


def peaks_over_reach(rate: int, bits: int, mains: float, snr: str, seed: int, minutes: float) -> dict[str, list[float]]:
    """Each true twitch's and LTR's peak energy, as a multiple of the noise's reach."""
    cfg = SimConfig.board(bits, seed=seed, rate_hz=rate, mains_hz=mains, snr=snr)
    sim = SessionSimulator(cfg)
    counts = sim.read(int(minutes * 60 * rate))
    lsb = cfg.volts_per_count
    params = DetectorParams()
    volts = counts.astype(np.float64) * lsb
    _, band = Detector(rate, params, adc_lsb_v=lsb[0]).process(volts[:, 0], sensors.fsr_newtons(volts[:, 2], cfg.supply_v))
    e = energy(band, rate, params)
    truth = sim.truth_until(minutes * 60 - 1.0)
    quiet = np.ones(len(e), dtype=bool)
    quiet[:5 * rate] = False  # filters and floor settling
    for t in truth:
        quiet[max(0, int((t.onset_s - 1.0) * rate)):int((t.end_s + 1.0) * rate)] = False
    seconds = [e[i:i + rate] for i in range(0, len(e) - rate, rate) if quiet[i:i + rate].all()]
    reach = float(np.median([s.max() for s in seconds]))
    out: dict[str, list[float]] = {"twitch": [], "ltr": []}
    for t in truth:
        if t.kind in out:
            i0, i1 = int(t.onset_s * rate), int((t.end_s + 0.02) * rate)
            out[t.kind].append(float(e[i0:i1].max()) / reach)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[21, 22, 23, 24])
    ap.add_argument("--minutes", type=float, default=4.0)
    args = ap.parse_args()
    ratio = DetectorParams().onset_peak_ratio
    print(f"| condition | twitches under 1x / {ratio}x the noise's reach | LTRs under 1x / {ratio}x |")
    print("| --- | --- | --- |")
    for rate, bits, snr in itertools.product((1000, 2000), (10, 12), ("normal", "low")):
        got: dict[str, list[float]] = {"twitch": [], "ltr": []}
        for seed, mains in zip(args.seeds, itertools.cycle((50.0, 60.0))):
            for kind, values in peaks_over_reach(rate, bits, mains, snr, seed, args.minutes).items():
                got[kind] += values
        cells = []
        for kind in ("twitch", "ltr"):
            v = np.array(got[kind])
            cells.append(f"{np.mean(v < 1.0):.0%} / {np.mean(v < ratio):.0%} of {len(v)}")
        print(f"| {rate} Hz, {bits}-bit, {snr} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
