"""What `pulumi up` runs (Pulumi.yaml `main: infra/`): the tenant named like this stack."""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# Pulumi runs this directory as a script, which puts infra/ itself first on sys.path: drop it,
# or infra/platform.py would shadow the standard library's `platform`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from infra.program import main  # noqa: E402

main()
