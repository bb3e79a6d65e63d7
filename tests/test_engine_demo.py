"""`scripts/demo_engine.py` (the real part of `bash scripts/demo.sh`) provisions the example
tenants on the engine, shows them, re-applies with nothing to change and destroys them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.engine, pytest.mark.timeout(1200)]


def test_the_demo_provisions_shows_reapplies_and_tears_down(engine: None) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_engine.py")],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    out = proc.stdout
    first = re.search(r"first apply: +(\d+) created, 0 updated, 0 replaced, 0 deleted", out)
    assert first and int(first.group(1)) >= 100, out
    assert "second apply: 0 created, 0 updated, 0 replaced, 0 deleted" in out
    assert "Route53  pruebademo.facturador.example.pe." in out
    assert "tenancy_pruebademo: companies 1, establishments 1, warehouses 1, series 11" in out
    assert "Traceback" not in out + proc.stderr
