"""`make` checks the Python version before it installs anything (issue 14: `make run` with Python 3.12
used to download 4.7 GB before failing)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_another_python_is_refused_before_anything_is_installed(tmp_path):
    fake = tmp_path / "python3.12"
    fake.write_text("#!/bin/sh\necho 3.12\n")  # answers the version probe as Python 3.12 would
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    out = subprocess.run(["make", "-C", str(ROOT), "run", f"PYTHON={fake}", f"VENV={venv}"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    assert f"medcite-rag needs Python 3.11, and {fake} is 3.12; nothing was installed" in out.stderr
    assert not venv.exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_python_311_passes_the_check(tmp_path):
    out = subprocess.run(["make", "-C", str(ROOT), "check-python", f"PYTHON={sys.executable}",
                          f"VENV={tmp_path / 'none'}"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
