"""The dashboard ships inside the wheel, so `pip install twitchd` serves it too."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_the_wheel_carries_the_dashboard_and_the_protocol(tmp_path: Path) -> None:
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("twitchd-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"twitchd/_web/index.html", "twitchd/_web/app.js", "twitchd/cli.py", "twitchd/protocol/decoder.py"} <= names
    web = {p.relative_to(ROOT / "web").as_posix() for p in (ROOT / "web").rglob("*") if p.is_file()}
    assert {f"twitchd/_web/{name}" for name in web} <= names
