"""Where the app's and SUNAT's reference files are: `../shared/reference` beside the repository.

They are not part of the repository (the app's PHP source and SUNAT's WSDLs are not ours to
ship), so tests that compare against them skip, saying where they looked, in a clone that does
not have them beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference"
APP_MIGRATIONS = REFERENCE / "app" / "pro5" / "database" / "migrations"
SUNAT_WSDL = REFERENCE / "sunat-wsdl"


def require(path: Path, what: str) -> Path:
    """`path`, or skip the test: the reference files are not beside this clone."""
    if not path.exists():
        pytest.skip(f"{what} not found at {path}: these reference files are not part of the "
                    "repository; put them at ../shared/reference beside the clone to run this")
    return path
