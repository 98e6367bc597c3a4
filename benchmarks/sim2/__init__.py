"""sim2: an independent, literature-based simulator of twitchd's sensor stream.

It renders what the board would report for a MyoWare 2.0 RAW pin (surface EMG)
and an FSR 402 under the practitioner's thumb, with a ground-truth list of
events, so that the project's LTR detector can be judged on data it was not
tuned on.  Written without looking at the project's own simulator or detector.

Modules, one job each:

- ``conditions``  board / rate / SNR condition and the noise floor it implies
- ``muaps``       motor-unit action-potential shapes (Hermite-Rodriguez)
- ``motor_units`` spike trains (time rescaling) and a Fuglevand 1993 pool
- ``bursts``      LTRs, spontaneous twitches, contractions, tonic guarding
- ``artifacts``   electrode-motion artifacts at pressure changes
- ``noise``       amplifier / skin noise and mains hum
- ``frontend``    the MyoWare 2.0 RAW front end (gain 200, 20.8-498 Hz)
- ``force``       thumb force trajectories and the physical FSR 402
- ``adc``         AVR (summed conversions) and ESP32 converters
- ``scenes``      session / holds plans (what happens when)
- ``render``      puts it all together
- ``writers``     CSV / truth JSONL / meta JSON output
"""
