"""`scripts/demo_engine.py` (the real part of `bash scripts/demo.sh`) creates the platform stack
first, provisions every example tenant on it (hotelsol on its own RDS instance) by stack
reference, shows them, re-runs both with nothing to change and tears everything down."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.engine, pytest.mark.timeout(1500)]
NOTHING = "0 created, 0 updated, 0 replaced, 0 deleted"


def test_the_demo_makes_the_platform_first_then_the_tenants_on_it_and_tears_down(
        engine: None) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_engine.py")],
                          capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    out = proc.stdout
    assert "Traceback" not in out + proc.stderr

    # the platform stack first, then the tenants, each reading it by stack reference only
    assert out.index("provisioner platform up production") < out.index(
        "provisioner apply --all")
    platform = re.search(r"platform up: +(\d+) created, 0 updated, 0 replaced, 0 deleted", out)
    assert platform and int(platform.group(1)) >= 25, out
    assert ("platform first: all 6 tenant stacks read organization/platform/production; each "
            "holds exactly the platform stack's outputs") in out, out
    first = re.search(r"first apply: +(\d+) created, 0 updated, 0 replaced, 0 deleted", out)
    assert first and int(first.group(1)) >= 120, out

    # what exists: every tenant's DNS in the platform's zone, hotelsol's own instance
    for tenant in ("pruebademo", "hotelsol"):
        assert f"Route53  {tenant}.facturador.example.pe." in out
    assert re.search(r"RDS +tenancy-hotelsol +master tenancyhotelsol +subnet group "
                     r"tenancy-production-db", out), out
    assert "tenancy_pruebademo: companies 1, establishments 1, warehouses 1, series 11" in out

    # a second run of both changes nothing
    assert re.search(rf"second platform up: +{NOTHING}", out), out
    assert re.search(rf"second apply: +{NOTHING}", out), out

    # torn down: the CI's access gone; the data and what holds it left, each with its reason
    left = out[out.index("-- what is left, and why"):]
    assert "IAM roles left: none" in left
    assert "bucket tenancy-production-pulumi-state: it holds every stack's state" in left
    assert "RDS tenancy-production-mysql (master login admin)" in left
    assert "RDS tenancy-hotelsol (master login tenancyhotelsol)" in left
    assert "tenancy_hotelsol" in left and "retained in every environment" in left
