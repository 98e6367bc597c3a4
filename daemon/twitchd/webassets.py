"""Where the dashboard's files are: inside the wheel, or in the source tree."""

from __future__ import annotations

from pathlib import Path

from twitchd.errors import ConfigError


def web_root() -> Path:
    """``twitchd/_web`` in an installed wheel; ``web/`` at the top of a checkout
    (an editable install points into the source tree, where it lives)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_web", here.parent.parent / "web"):
        if (candidate / "index.html").is_file():
            return candidate
    raise ConfigError(f"dashboard files not found next to {here}; reinstall twitchd")
