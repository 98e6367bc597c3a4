"""The firmware's portable C++ core, built with g++ under ASan/UBSan, against docs/protocol_vectors.tsv."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT, require

pytestmark = pytest.mark.firmware


def test_the_cpp_core_matches_every_protocol_vector() -> None:
    require(shutil.which("g++") is not None and shutil.which("make") is not None, "g++ and make")
    done = subprocess.run(["make", "-C", str(ROOT / "firmware"), "host-test"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert " 0 failures" in done.stdout
