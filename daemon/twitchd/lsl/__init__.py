"""Lab Streaming Layer output: one EMG/force stream and one Markers stream per device.

Optional (``pip install twitchd[lsl]``): pylsl is imported only when LSL
output is switched on, as python-can imports a backend only when it is used,
so the daemon runs the same without it. docs/lsl.md says how to record
twitchd with LabRecorder next to other devices.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from twitchd.errors import LslError

INSTALL_HINT = "pip install twitchd[lsl]"


def pylsl_installed() -> bool:
    """Whether pylsl can be found, without loading liblsl (cheap: for the API's status)."""
    return importlib.util.find_spec("pylsl") is not None


def load_pylsl() -> Any:
    """The pylsl module, or an LslError that says how to install it.

    pylsl's wheels carry liblsl; a pylsl without a loadable liblsl raises at
    import, and that is reported the same way.
    """
    try:
        return importlib.import_module("pylsl")
    except ImportError as exc:
        raise LslError(f"LSL output needs pylsl, which is not installed: {INSTALL_HINT}") from exc
    except (OSError, RuntimeError) as exc:
        raise LslError(f"pylsl is installed but cannot load liblsl ({exc}): reinstall with {INSTALL_HINT}") from exc


def library_version(pylsl: Any) -> str:
    v = int(pylsl.library_version())
    return f"liblsl {v // 100}.{v % 100}, pylsl {getattr(pylsl, '__version__', '?')}"
