"""Signal processing: calibration to physical units, filters, and the detector.

The kernel's modules read each other's slot and parameter numbers as
compile-time constants, and numba's cache only notices a change to the file
that holds a function, so an edit to slots.py or params.py alone would leave
kernel.py and bumps.py running from a stale cache with the old layout. The
compiled kernels are therefore cached under a name made of this package's
sources: any change to them compiles afresh.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numba

_HERE = Path(__file__).resolve().parent
_FINGERPRINT = hashlib.sha1(b"".join(p.read_bytes() for p in sorted(_HERE.glob("*.py")))).hexdigest()[:12]


def _use_fingerprinted_cache() -> None:
    cache = _HERE / "__pycache__" / f"numba-{_FINGERPRINT}"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a read-only install: numba's own fallback (the user's cache) applies
    if not os.access(cache, os.W_OK):
        return
    for old in cache.parent.glob("numba-*"):
        if old != cache:
            shutil.rmtree(old, ignore_errors=True)
    numba.config.CACHE_DIR = str(cache)


_use_fingerprinted_cache()
