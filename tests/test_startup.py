"""`provisioner --help` must stay fast: registering commands may not import the heavy stack."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT, run_subprocess

HEAVY = ("pulumi", "pulumi_aws", "zeep", "boto3", "botocore", "jinja2", "rich", "pydantic",
         "yaml", "email_validator", "requests")


def test_help_works() -> None:
    proc = run_subprocess("--help", cwd=ROOT)
    assert proc.returncode == 0
    assert "validate" in proc.stdout and "schema" in proc.stdout


def test_parser_and_help_import_nothing_heavy() -> None:
    code = (
        "import contextlib, io, json, sys\n"
        "import provisioner.cli as c\n"
        "parser = c.build_parser()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        c.main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    loaded = set(json.loads(proc.stdout))
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == [], f"`provisioner --help` imports {heavy}"


def test_validate_help_imports_nothing_heavy() -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "provisioner", "validate",
                           "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert imported and not imported & set(HEAVY)
