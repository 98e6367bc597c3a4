"""Quick accuracy check of the detector on simulated sessions it was not tuned on.

Five 5-minute sessions per condition (seeds 500-504); an event matches a true
one of the same kind when their onsets are within 100 ms (press: 500 ms).
Prints (true positives, false positives, false negatives) and F1 per kind, and
the LTR decision latency from true onset. The full accuracy benchmark belongs to
the detector issue; this one records where the first detector stands.

Usage: .venv/bin/python benchmarks/accuracy_quick.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.signal.scoring import match, f1
from twitchd.signal.detector import detect_offline
from twitchd.signal.params import DetectorParams
from twitchd.sim import sensors
from twitchd.sim.session import SessionSimulator, SimConfig
import numpy as np
for label, kw in [("2k/12b/50Hz/normal", {}), ("1k/10b/60Hz/normal", dict(rate_hz=1000, adc_bits=10, supply_v=5.0, mains_hz=60.0)), ("2k/12b/50Hz/low", dict(snr="low")), ("1k/10b/50Hz/low", dict(rate_hz=1000, adc_bits=10, supply_v=5.0, snr="low"))]:
    tot={k:[0,0,0] for k in ("ltr","twitch","contraction","artifact","press")}; lat=[]
    for seed in range(500,505):
        cfg=SimConfig(seed=seed, **kw); sim=SessionSimulator(cfg); n=300*cfg.rate_hz
        c=sim.read(n); lsb=cfg.supply_v/cfg.full_scale
        p = DetectorParams()
        ev=detect_offline(c[:,0]*lsb, sensors.fsr_newtons(c[:,2]*lsb,cfg.supply_v), cfg.rate_hz, p)
        tr=sim.truth_until(299)
        for k in tot:
            r=match(tr,ev,k, 0.1 if k!="press" else 0.5)
            for i in range(3): tot[k][i]+=r[i]
        for t in tr:
            if t.kind=="ltr":
                m=[e for e in ev if e.kind=="ltr" and abs(e.onset_s-t.onset_s)<0.1]
                if m: lat.append(m[0].decided_s-t.onset_s)
    print(label, {k:(v, round(f1(*v),3)) for k,v in tot.items()}, "latency median %.0f ms p95 %.0f ms"%(1000*np.median(lat), 1000*np.percentile(lat,95)))
