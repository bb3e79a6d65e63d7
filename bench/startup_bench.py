"""Cold start of each command's cheapest invocation, as a whole process, against its floor.

The floor of a command is a fresh interpreter importing the third-party libraries that
command genuinely needs (`NEEDS`), exactly the submodules of them the command itself loads
(read from its `sys.modules`): what no implementation of the command could avoid. Anything
else the command loads is the project's own cost, and a third-party package it loads outside
`NEEDS` is printed as "extra" (an import that should be lazy).

    .venv/bin/python bench/startup_bench.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIT_ID = ("-c", "user.email=b@x", "-c", "user.name=b")

# the spec models: pydantic and what its validators use (e-mail, RUC check digits)
MODELS = {"yaml", "pydantic", "pydantic_core", "email_validator", "stdnum", "annotated_types",
          "typing_extensions", "typing_inspection", "idna", "dns"}
TEMPLATES = {"jinja2", "markupsafe"}
# the Pulumi SDK and providers the program declares resources with, and what they import
PULUMI = {"pulumi", "pulumi_aws", "pulumi_random", "pulumi_mysql", "grpc", "google", "dill",
          "semver", "parver", "arpeggio", "attr", "attrs", "six", "debugpy", "pip"}
# command name -> (arguments, third-party packages it cannot do without)
COMMANDS: dict[str, tuple[list[str], set[str]]] = {
    "--help": (["--help"], set()),
    "plan --list": (["plan", "--list", "--base", "base"], {"yaml"}),
    "validate": (["validate"], MODELS),
    "render": (["render", "nandu"], MODELS | TEMPLATES),
    "explain": (["explain", "nandu"], MODELS | TEMPLATES | PULUMI),
    "schema": (["schema"], MODELS),
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *GIT_ID, *args], cwd=repo, check=True, capture_output=True)


def tiny_repo(dest: Path) -> None:
    """The bundled examples in git, with one tenant edited since tag `base`."""
    shutil.copytree(ROOT / "examples", dest)
    (dest / "Pulumi.yaml").write_text("name: tenants\nruntime: python\nmain: infra/\n")
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "base")
    git(dest, "tag", "base")
    with (dest / "tenants" / "nandu.yaml").open("a") as f:
        f.write("# edited\n")
    git(dest, "commit", "-q", "-am", "one")


def loaded_modules(args: list[str], cwd: Path) -> list[str]:
    code = ("import contextlib, io, json, sys\nfrom provisioner.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            f"        main({args!r})\n"
            "    except SystemExit:\n"
            "        pass\n"
            "sys.stderr.write(json.dumps(sorted(sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stderr.strip().splitlines()[-1])


def third_party(modules: list[str]) -> list[str]:
    stdlib = set(sys.stdlib_module_names)
    purelib = sysconfig.get_paths()["purelib"]
    out = []
    for name in modules:
        top = name.split(".")[0]
        if top in stdlib or top.startswith("_") or top in (
                "provisioner", "infra", "__main__", "cython_runtime"):
            continue
        mod_file = getattr(sys.modules.get(top), "__file__", None)
        if mod_file is not None and not str(mod_file).startswith(purelib):
            continue
        out.append(name)
    return out


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    print(f"{'command':<12} {'project s':>10} {'floor s':>8} {'ratio':>6}  extra third-party")
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        tiny_repo(repo)
        for name, (cli_args, needs) in COMMANDS.items():
            modules = loaded_modules(cli_args, repo)
            theirs = third_party(modules)
            floor_mods = [m for m in theirs if m.split(".")[0] in needs]
            extra = sorted({m.split(".")[0] for m in theirs} - needs)
            floor_code = "".join(f"import {m}\n" for m in floor_mods) or "pass\n"
            if name == "plan --list":  # the git work no implementation avoids
                floor_code += ("import subprocess\nsubprocess.run(['git', 'diff', '--raw', "
                               "'-z', 'base...HEAD'], capture_output=True)\n")
            project_cmd = [sys.executable, "-m", "provisioner", *cli_args]
            floor_cmd = [sys.executable, "-c", floor_code]
            p, f = [], []
            for _ in range(args.repeat):  # paired: both see the same machine load
                p.append(timed(project_cmd, repo))
                f.append(timed(floor_cmd, repo))
            pm, fm = statistics.median(p), statistics.median(f)
            print(f"{name:<12} {pm:>10.3f} {fm:>8.3f} {pm / fm:>6.2f}  {' '.join(extra) or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
