"""Where the session database lives: ``--data-dir``, else the platform's data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DB_NAME = "twitchd.sqlite3"


def default_data_dir() -> Path:
    """``$TWITCHD_DATA_DIR``, else the XDG data folder (or its macOS/Windows equivalent).

    Recordings are user data, not cache: they go where backups look.
    """
    env = os.environ.get("TWITCHD_DATA_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "twitchd"


def database_path(data_dir: Path | None) -> Path:
    return (data_dir if data_dir is not None else default_data_dir()) / DB_NAME
