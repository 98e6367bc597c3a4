"""twitchd: flags local twitch responses in EMG against the applied pressure.

The package in layers, from the ground up (docs/architecture.md; each layer
imports only its own and those below, tests/test_layers.py):

* foundation: errors, events, clock, marks, settings, ... (no twitchd imports above them)
* codec: ``protocol`` (frames, COBS, CRC, the stream decoder)
* signal: ``signal`` (filters, the numba detector kernel, force curves)
* sources: ``transports``, ``sim``, ``ble`` (links and simulated boards), ``calibrate``
* pipeline: ``pipeline`` (one per device: decode, detect, hand on) and ``hub``
* store and outputs: ``store`` (recording, sessions, review, exports), ``lsl``, ``evaluate``, ``report``
* daemon: ``daemon`` (the running system, no HTTP) and ``marking``
* web and CLI: ``api`` and ``routes`` (FastAPI around the daemon), ``cli``
"""

__version__ = "0.1.0"
