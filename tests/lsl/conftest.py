"""LSL on loopback only, in a session of its own.

liblsl reads its configuration once, at first use, from the file named by
LSLAPICFG; so it is written and named here, before any test imports pylsl.
``ResolveScope = machine`` keeps discovery on this machine, and a SessionID
unique to this run makes every other LSL program here (another test run, a
LabRecorder) invisible to these tests and these tests invisible to it.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

RUN_ID = uuid.uuid4().hex[:8].upper()
_cfg_dir = Path(tempfile.mkdtemp(prefix="twitchd-lsl-"))
atexit.register(shutil.rmtree, _cfg_dir, True)
(_cfg_dir / "lsl_api.cfg").write_text(f"""\
[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
[lab]
SessionID = twitchd-tests-{RUN_ID}
[log]
level = -2
""")
os.environ["LSLAPICFG"] = str(_cfg_dir / "lsl_api.cfg")


def device_id(n: int) -> str:
    """A board id no other run uses: stream names and source ids derive from it."""
    return f"TW-{RUN_ID}{n}"


@pytest.fixture
def pylsl() -> Iterator[Any]:
    require(importlib.util.find_spec("pylsl") is not None, "pylsl is not installed (pip install twitchd[lsl])")
    import pylsl as module

    yield module


def resolve(pylsl: Any, prop: str, value: str, minimum: int = 1, timeout: float = 10.0) -> list[Any]:
    found = pylsl.resolve_byprop(prop, value, minimum=minimum, timeout=timeout)
    assert len(found) >= minimum, f"no LSL stream with {prop}={value!r} within {timeout} s"
    return list(found)
