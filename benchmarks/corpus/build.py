"""Real surface EMG recorded by others, as sessions `twitchd detect` reads.

Source: the PyPI wheel biosignalsnotebooks 0.6.14 (MIT licence), which ships
PLUX recordings at 1 kHz: the adductor pollicis (the thumb) making short
bursts, and the biceps brachii in cyclic and fatiguing contractions. The
wheel is fetched with pip and checked against its sha256; nothing of it is
committed but the short clips of tests/signal/corpus_clips/ (MIT allows it;
their README attributes them).

Each recording is mapped to what a MyoWare 2.0 RAW pin gives (x200, centred
on Vs/2, its 20.8-498 Hz band) and quantised as the two boards do; a force
channel (rest, or a thumb's press with tremor and drift) is added; reference
bursts come from an offline double threshold on a zero-phase RMS envelope
(benchmarks/corpus/README.md says which numbers and why).

Usage: .venv/bin/python benchmarks/corpus/build.py [--out DIR] [--clips] [--plots]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import signal

Array = npt.NDArray[np.float64]
HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
WHEEL = "biosignalsnotebooks-0.6.14-py3-none-any.whl"
WHEEL_SHA256 = "9ba3839680f7364f37a672c2288044f20b7bbbbef74fb3915b6c218c8597cac2"
SAMPLES = "biosignalsnotebooks/notebook_files/osf_files/signal_samples/"
RATE = 1000
#: Length of each test clip: 12 s holds a press of the LTR session and 2-4 bursts.
CLIP_S = 12.0


@dataclass(frozen=True)
class Source:
    """One channel of one recording, and what the muscle did."""

    name: str
    file: str
    device: str
    channel: str
    bits: int
    muscle: str


#: Left out: emg_1000_hz_8_16_bits.h5 (the thumb again, for an 8- against 16-bit
#: comparison): low-level activity between its bursts leaves their ends to taste.
SOURCES = (
    Source("thumb-a", "emg_1000_hz_16_bits.h5", "00:07:80:D8:A7:F9", "channel_6", 16, "adductor pollicis"),
    Source("thumb-b", "emg_1000_hz_16_bits_solo.h5", "00:07:80:D8:A8:82", "channel_1", 16, "adductor pollicis"),
    Source("biceps-a", "emg_bursts.h5", "00:07:80:3B:46:61", "channel_3", 16, "biceps brachii"),
    Source("biceps-b", "emg_fatigue.h5", "00:07:80:4C:01:B1", "channel_2", 12, "biceps brachii"),
)

# -- the reference: an offline double threshold (Hodges & Bui 1996; Bonato 1998) --
#: Zero-phase band of the reference envelope: the surface-EMG band (SENIAM).
REF_BAND_HZ = (20.0, 450.0)
#: RMS window of the envelope (Hodges & Bui used 25-50 ms moving averages).
REF_RMS_S = 0.05
#: Threshold: baseline mean + H x SD of the quietest second (Hodges & Bui: h 1-3 with
#: a 25 ms window; these recordings' bursts are 20-60x their baseline, and h = 8 put
#: the onsets at the first visible potential on the saved plots without taking noise).
REF_H = 8.0
#: ... and the low and high levels, times the envelope's REF_LOCAL_PCT percentile over
#: the REF_LOCAL_S around it (see local_level): a burst spans where the envelope is
#: over the low level and must somewhere clear the high one. 20x keeps the bursts a
#: person marks on the plots (50-150x their surroundings) and leaves the low-level
#: activity between them (at most ~10x) as background.
REF_LOW = 3.0
REF_HIGH = 12.0
REF_LOCAL_S = 6.0
REF_LOCAL_PCT = 10
#: A burst must stay over the threshold this long; shorter pieces are dropped.
REF_MIN_S = 0.03
#: Pieces closer than this are one burst (issue 17: a pause under ~100 ms is one event).
REF_MERGE_S = 0.1
#: Short bursts (twitch, LTR) end by this length; contractions start at CONTRACTION_S.
#: Bursts between are cut out of the sessions (replaced by quiet EMG) so that the
#: classes cannot be argued (the detector calls > 1 s a contraction).
SHORT_MAX_S = 0.7
CONTRACTION_S = 1.5

# -- the sensor --
MYOWARE_GAIN = 200.0
MYOWARE_BAND_HZ = (20.8, 498.4)
FSR_DIVIDER_OHM = 10_000.0
FSR_EXPONENT = float(np.log10(6.0))
#: The ADC's own noise per conversion, in codes, for the Uno's summed channels.
ADC_NOISE_LSB = 0.3


def fetch_wheel() -> Path:
    """The pinned wheel, downloaded once with pip and checked against its hash."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / WHEEL
    if not path.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "biosignalsnotebooks==0.6.14",
                        "-d", str(CACHE)], check=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{path}: sha256 {digest}, expected {WHEEL_SHA256}; delete it and run again")
    return path


def read_source(wheel: zipfile.ZipFile, src: Source) -> Array:
    """Skin EMG in volts: PLUX's EMG transfer function, (ADC/2^n - 1/2) x VCC / G, VCC 3 V, G 1000."""
    try:
        import h5py
    except ImportError as exc:
        raise SystemExit("reading the PLUX recordings needs h5py: .venv/bin/pip install 'twitchd[bench]'") from exc
    with h5py.File(io.BytesIO(wheel.read(SAMPLES + src.file)), "r") as h5:
        group = h5[src.device]
        if int(group.attrs["sampling rate"]) != RATE:
            raise SystemExit(f"{src.file}: expected {RATE} Hz")
        adc = np.asarray(group["raw"][src.channel][:, 0], dtype=np.float64)
    return (adc / 2 ** src.bits - 0.5) * 3.0 / 1000.0


def envelope(emg: Array) -> Array:
    band = _band(emg)
    n = int(REF_RMS_S * RATE)
    return np.sqrt(np.convolve(band * band, np.ones(n) / n, mode="same"))


def reference_bursts(emg: Array) -> tuple[list[tuple[float, float]], float, float]:
    """(onset, end) of each burst in seconds, the threshold and the baseline's RMS (V)."""
    env = envelope(emg)
    quiet = quietest_second(env)
    base = env[quiet:quiet + RATE]
    # Real muscle does not rest at one level: stretches of low tonic firing lift
    # the envelope 3-6x above the quietest second (thumb-a from 15 s on). So the
    # levels are relative to where the muscle rests around each moment as well
    # as to the quietest second (local_level), and a burst is a double threshold
    # (Bonato 1998): it spans where the envelope is over the low level, and it
    # counts only if somewhere it clears the high one.
    threshold = base.mean() + REF_H * base.std()
    local = np.repeat(local_level(env), RATE // 100)[:len(env)]
    low = np.maximum(threshold, REF_LOW * local)
    high = np.maximum(threshold, REF_HIGH * local)
    above = np.r_[False, env > low, False]
    edges = np.flatnonzero(np.diff(above.astype(int)))
    pieces = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    merged: list[list[int]] = []
    for a, b in pieces:
        if merged and a - merged[-1][1] < REF_MERGE_S * RATE:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    merged = [[a, b] for a, b in merged if np.any(env[a:b] > high[a:b])]
    bursts = [(a / RATE, b / RATE) for a, b in merged if b - a >= REF_MIN_S * RATE]
    band_rms = float(np.sqrt(np.mean(_band(emg[quiet:quiet + RATE]) ** 2)))
    return bursts, float(threshold), band_rms


def quietest_second(env: Array) -> int:
    """Where the second with the lowest mean envelope starts (not in the filter's edge seconds)."""
    means = np.convolve(env, np.ones(RATE) / RATE, mode="valid")
    return int(np.argmin(means[RATE:-RATE])) + RATE


def local_level(env: Array) -> Array:
    """The envelope's REF_LOCAL_PCT percentile over REF_LOCAL_S, at 100 Hz: where the
    muscle rests around each moment (a contraction of a few seconds between rests
    does not lift it, a stretch of tonic firing does)."""
    from scipy import ndimage
    return ndimage.percentile_filter(env[::RATE // 100], REF_LOCAL_PCT, size=int(REF_LOCAL_S * 100), mode="nearest")


def _band(x: Array) -> Array:
    b, a = signal.butter(4, REF_BAND_HZ, btype="bandpass", fs=RATE)
    return signal.filtfilt(b, a, x)


def quiet_fill(emg: Array, cut: list[tuple[float, float]]) -> Array:
    """The recording with the ``cut`` bursts replaced by its own quietest EMG, faded in and out."""
    out = emg.copy()
    start = quietest_second(envelope(emg))
    quiet = emg[start:start + RATE] - emg[start:start + RATE].mean()
    fade = 20
    for onset, end in cut:
        a, b = max(0, int(onset * RATE) - 60), min(len(emg), int(end * RATE) + 60)
        fill = np.resize(quiet, b - a) + np.median(emg)
        w = np.ones(b - a)
        w[:fade], w[-fade:] = np.linspace(0, 1, fade), np.linspace(1, 0, fade)
        out[a:b] = (1 - w) * emg[a:b] + w * fill
    return out


def myoware_raw(skin_v: Array, supply_v: float) -> Array:
    """RAW pin volts: x200 through the MyoWare's first-order band, centred on Vs/2."""
    b1, a1 = signal.butter(1, MYOWARE_BAND_HZ[0], btype="highpass", fs=RATE)
    b2, a2 = signal.butter(1, MYOWARE_BAND_HZ[1], btype="lowpass", fs=RATE)
    x = signal.lfilter(b1, a1, skin_v * MYOWARE_GAIN)
    x = signal.lfilter(b2, a2, x)
    return np.clip(x + supply_v / 2, 0.0, supply_v)


def quantise(volts: Array, bits: int, rng: np.random.Generator, sums: int) -> Array:
    """As the board reports it, in volts: one 12-bit ESP32 conversion at 3.3 V, or the
    Uno's sum of ``sums`` 10-bit conversions (each with its own noise) at 5 V."""
    if bits == 12:
        return np.clip(np.round(volts / 3.3 * 4095), 0, 4095) * 3.3 / 4095
    total = np.zeros_like(volts)
    for _ in range(sums):
        total += np.clip(np.round(volts / 5.0 * 1023 + rng.normal(0, ADC_NOISE_LSB, len(volts))), 0, 1023)
    declared = (1 << (10 + sums.bit_length() - 1)) - 1
    return total * 5.0 / declared


def fsr_read(force_n: Array, bits: int, rng: np.random.Generator) -> Array:
    """The FSR 402 in its 10 kOhm divider, quantised, and read back with the nominal curve."""
    supply = 3.3 if bits == 12 else 5.0
    f = np.maximum(force_n, 0.0)
    g = np.where(f >= 0.2, np.power(f, FSR_EXPONENT) / 6000.0, 0.0)
    v = quantise(supply * g * FSR_DIVIDER_OHM / (1 + g * FSR_DIVIDER_OHM), bits, rng, 4)
    v = np.clip(v, 0.0, supply * 0.9999)
    g = v / (FSR_DIVIDER_OHM * (supply - v))
    out = np.power(6000.0 * g, 1.0 / FSR_EXPONENT)
    return np.where(out >= 0.2, out, 0.0)


def press(n: int, land_s: float, lift_s: float, rng: np.random.Generator) -> tuple[Array, dict[str, float]]:
    """A thumb's press: a minimum-jerk landing to 5-20 N, a hold with physiological tremor
    (8-12 Hz, 0.05-0.3 N rms; Elble & Koller 1990) and drift (a random walk held within
    +-2 N), and a lift. Returns the force and its landmarks (press and hold spans)."""
    t = np.arange(n) / RATE
    target = rng.uniform(5.0, 20.0)
    ramp_in, ramp_out = rng.uniform(0.1, 0.5), rng.uniform(0.1, 0.3)
    u_in = np.clip((t - land_s) / ramp_in, 0, 1)
    u_out = np.clip((t - lift_s) / ramp_out, 0, 1)
    shape = lambda u: 10 * u ** 3 - 15 * u ** 4 + 6 * u ** 5  # noqa: E731 (minimum jerk)
    level = target * shape(u_in) * (1 - shape(u_out))
    hold = (t >= land_s + ramp_in) & (t < lift_s)
    b, a = signal.butter(2, (8.0, 12.0), btype="bandpass", fs=RATE)
    tremor = signal.lfilter(b, a, rng.normal(0, 1, n))
    tremor *= rng.uniform(0.05, 0.3) / max(tremor.std(), 1e-12)
    # Drift: a random walk of up to +-2 N over a 20 s hold, slow as a held thumb
    # wanders (below 1 Hz; the 8-12 Hz tremor is the fast part).
    walk = np.cumsum(rng.normal(0, 2.0 / np.sqrt(20 * RATE), n))
    bd, ad = signal.butter(2, 1.0, fs=RATE)
    walk = 2.0 * np.tanh(signal.lfilter(bd, ad, walk) / 2.0)
    force = level + (tremor + walk - walk[int(land_s * RATE)]) * shape(u_in) * (1 - shape(u_out))
    force = np.maximum(force, 0.0)
    on = int(np.argmax(force >= 2.0))
    off = on + int(np.argmax(force[on:] < 1.0))
    marks = {"press_on": on / RATE, "press_off": off / RATE, "peak": float(force[on:off].max()),
             "hold_on": land_s + ramp_in + 0.5, "hold_off": lift_s - 0.2}
    return force, marks


def plan_presses(bursts: list[tuple[float, float]], duration_s: float,
                 rng: np.random.Generator) -> list[tuple[float, float]]:
    """Presses over runs of three to five bursts: landing at least 1.5 s before the
    first and lifting at least 1 s after the last, never within 0.5 s of another."""
    presses: list[tuple[float, float]] = []
    i = 0
    while i < len(bursts):
        k = min(len(bursts), i + int(rng.integers(3, 6)))
        land, lift = bursts[i][0] - 1.5, bursts[k - 1][1] + 1.0
        clear = all(not (land - 0.5 < b1 and b0 < land + 0.5) and not (lift - 0.5 < b1 and b0 < lift + 0.8)
                    for b0, b1 in bursts)
        if land > 1.0 and lift < duration_s - 1.5 and clear:
            presses.append((land, lift))
            i = k + 1  # leave the next burst at rest: a twitch between presses
        else:
            i += 1
    return presses


def burst_rms_uv(skin: Array, bursts: list[tuple[float, float]]) -> float | None:
    """The median burst's RMS in the EMG band, in uV at the skin."""
    if not bursts:
        return None
    band = _band(skin)
    return round(float(np.median([np.sqrt(np.mean(band[int(a * RATE):int(b * RATE)] ** 2)) for a, b in bursts])) * 1e6, 1)


def build_source(wheel: zipfile.ZipFile, src: Source, out: Path, seed: int) -> dict[str, object]:
    skin = read_source(wheel, src)
    bursts, threshold, noise_v = reference_bursts(skin)
    short = [b for b in bursts if b[1] - b[0] <= SHORT_MAX_S]
    long_ = [b for b in bursts if b[1] - b[0] >= CONTRACTION_S]
    cut = [b for b in bursts if SHORT_MAX_S < b[1] - b[0] < CONTRACTION_S]
    skin = quiet_fill(skin, cut)
    duration = len(skin) / RATE
    rng = np.random.default_rng(seed)
    kind = "contraction" if long_ and not short else "twitch"
    variants = [("rest", [])] if kind == "contraction" else [("rest", []), ("press", plan_presses(short, duration, rng)),
                                                             ("quiet", [(2.0, duration / 2 - 1.0), (duration / 2 + 2.0, duration - 2.0)])]
    made = {"source": src.name, "muscle": src.muscle, "seconds": round(duration, 1), "bursts": len(bursts),
            "short": len(short), "contractions": len(long_), "cut": len(cut),
            "baseline_uv_rms": round(noise_v * 1e6, 1),
            "burst_uv_rms": burst_rms_uv(skin, bursts)}
    for variant, presses in variants:
        # "quiet": the muscle at rest under a steady press, every burst replaced by its quiet EMG
        emg = quiet_fill(skin, bursts) if variant == "quiet" else skin
        force = np.zeros(len(skin))
        truth: list[dict[str, object]] = []
        for land, lift in presses:
            f, marks = press(len(skin), land, lift, rng)
            force += f
            truth.append({"kind": "press", "onset_s": marks["press_on"], "end_s": marks["press_off"],
                          "force_n": round(marks["peak"], 3)})
            truth.append({"kind": "hold", "onset_s": marks["hold_on"], "end_s": marks["hold_off"],
                          "force_n": round(marks["peak"], 3)})
        for onset, end in ([] if variant == "quiet" else short + long_):
            pressed = any(land < onset < lift for land, lift in presses)
            k = "contraction" if end - onset >= CONTRACTION_S else ("ltr" if pressed else "twitch")
            truth.append({"kind": k, "onset_s": round(onset, 4), "end_s": round(end, 4),
                          "force_n": round(float(force[int(onset * RATE)]), 3)})
        truth.sort(key=lambda e: float(e["onset_s"]))  # type: ignore[arg-type]
        for bits in (12, 10):
            supply = 3.3 if bits == 12 else 5.0
            emg_v = quantise(myoware_raw(emg, supply), bits, np.random.default_rng(seed + bits), 8)
            force_n = fsr_read(force, bits, np.random.default_rng(seed + bits + 1))
            label = {"rest": kind, "press": "ltr", "quiet": "rest"}[variant]
            stem = f"{label}-{src.name}-{bits}bit"
            write_session(out / f"{stem}.csv", emg_v, force_n, truth)
    return made


def write_session(path: Path, emg_v: Array, force_n: Array, truth: list[dict[str, object]],
                  start: int = 0, stop: int | None = None) -> None:
    stop = len(emg_v) if stop is None else stop
    t = np.arange(stop - start) / RATE
    with path.open("w") as fh:
        fh.write("time_s,emg_v,force_n\n")
        np.savetxt(fh, np.column_stack([t, emg_v[start:stop], force_n[start:stop]]), delimiter=",",
                   fmt=["%.6f", "%.6f", "%.4f"])
    offset = start / RATE
    with path.with_name(path.stem + ".truth.jsonl").open("w") as fh:
        for e in truth:
            on, end = float(e["onset_s"]) - offset, float(e["end_s"]) - offset  # type: ignore[arg-type]
            if on >= 0 and end <= (stop - start) / RATE:
                fh.write(json.dumps({**e, "onset_s": round(on, 4), "end_s": round(end, 4)}) + "\n")


def plot(wheel: zipfile.ZipFile, out: Path) -> None:
    """One picture per recording with its reference bursts, to check the onsets by eye."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out.mkdir(parents=True, exist_ok=True)
    for src in SOURCES:
        skin = read_source(wheel, src)
        bursts, threshold, _ = reference_bursts(skin)
        env = envelope(skin)
        t = np.arange(len(skin)) / RATE
        fig, (a1, a2) = plt.subplots(2, 1, figsize=(16, 5), sharex=True)
        a1.plot(t, skin * 1e3, lw=0.3, color="k")
        a2.plot(t, env * 1e6, lw=0.6)
        a2.axhline(threshold * 1e6, color="r", lw=0.6)
        step = RATE // 100
        local = local_level(env)
        a2.plot(t[::step][:len(local)], REF_LOW * local * 1e6, color="g", lw=0.6)
        a2.plot(t[::step][:len(local)], REF_HIGH * local * 1e6, color="g", lw=0.6, ls="--")
        for on, end in bursts:
            colour = "tab:orange" if end - on <= SHORT_MAX_S else ("tab:purple" if end - on >= CONTRACTION_S else "0.7")
            for ax in (a1, a2):
                ax.axvspan(on, end, color=colour, alpha=0.3)
        a1.set_ylabel("skin EMG (mV)")
        a2.set_ylabel("RMS 50 ms (uV)")
        a2.set_yscale("log")
        a1.set_title(f"{src.name}: {src.file} ({src.muscle}); orange short, purple contraction, grey cut")
        fig.tight_layout()
        fig.savefig(out / f"{src.name}.png", dpi=50)
        plt.close(fig)


def clips(out: Path, clip_dir: Path) -> None:
    """Short clips of each kind for the test stories (tests/signal/corpus_clips/)."""
    clip_dir.mkdir(parents=True, exist_ok=True)
    wanted = [("twitch-thumb-b-12bit", "twitch-thumb", 0.0), ("ltr-thumb-b-12bit", "ltr-thumb", None),
              ("ltr-thumb-b-10bit", "ltr-thumb-10bit", None), ("contraction-biceps-b-12bit", "contraction-biceps", 0.0),
              ("rest-thumb-b-12bit", "rest-under-press-thumb", 1.0)]
    for stem, name, start_s in wanted:
        data = np.loadtxt(out / f"{stem}.csv", delimiter=",", skiprows=1)
        truth = [json.loads(line) for line in (out / f"{stem}.truth.jsonl").read_text().splitlines()]
        if start_s is None:  # the first press, from a second before it
            start_s = next(e["onset_s"] for e in truth if e["kind"] == "press") - 1.0
        a, b = int(start_s * RATE), int((start_s + CLIP_S) * RATE)
        write_session(clip_dir / f"{name}.csv", data[:, 1], data[:, 2], truth, a, b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "build")
    ap.add_argument("--clips", action="store_true", help="also write the test clips to tests/signal/corpus_clips/")
    ap.add_argument("--plots", action="store_true", help="also save benchmarks/corpus/plots/*.png")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(fetch_wheel()) as wheel:
        summary = [build_source(wheel, src, args.out, seed=100 + i) for i, src in enumerate(SOURCES)]
        if args.plots:
            plot(wheel, HERE / "plots")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    for s in summary:
        print(json.dumps(s))
    if args.clips:
        clips(args.out, HERE.parents[1] / "tests" / "signal" / "corpus_clips")


if __name__ == "__main__":
    main()
