"""Recording stand-in for the Pulumi CLI (rehearsal of the workflows; see
tests/workflow_rehearsal.py). It answers what the Automation API asks and does what the engine
does before a program runs, as read in pulumi/pulumi:
- the Python language host uses Pulumi.yaml's `virtualenv`; when `<venv>/bin/python` is missing
  it creates the venv and installs the *program directory's* requirements.txt, else it uses the
  venv as is (sdk/python/toolchain/pip.go EnsureVenv/InstallDependencies);
- secrets: Pulumi.<stack>.yaml's provider, else with PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER
  the state's, else the default passphrase manager, which takes PULUMI_CONFIG_PASSPHRASE even
  when empty (pkg/cmd/pulumi/stack/secrets.go, pkg/secrets/passphrase/manager.go).
State lives in $REHEARSAL_DIR; every call is appended to pulumi.log."""
import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

STATE = Path(os.environ["REHEARSAL_DIR"])
VALUED = {"--stack", "--event-log", "--secrets-provider", "--exec-kind", "--page-size", "--page",
          "--client", "--parallel", "--message", "--color", "--config-file", "--target"}


def parse(argv):
    words, flags, i = [], {}, 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--"):
            if "=" in a:
                k, v = a.split("=", 1)
                flags[k] = v
            elif a in VALUED:
                flags[a] = argv[i + 1]
                i += 1
            else:
                flags[a] = True
        elif a.startswith("-") and len(a) == 2:
            flags[a] = True
        else:
            words.append(a)
        i += 1
    return words, flags


def fail(message, code=255):
    sys.stderr.write(message + "\n")
    sys.exit(code)


def program_environment(cwd, record):
    import yaml

    project = yaml.safe_load((cwd / "Pulumi.yaml").read_text())
    options = (project.get("runtime") or {}).get("options") or {}
    venv = options.get("virtualenv")
    if not venv:
        record["program"] = "ambient python"
        return
    venv = cwd / venv
    python = venv / "bin" / "python"
    if not python.exists():
        program_dir = cwd / project.get("main", ".")
        record["program"] = "engine created an empty venv"
        if not (program_dir / "requirements.txt").exists():
            fail("error: It looks like the Pulumi SDK has not been installed. Have you run pip "
                 "install? (the engine created the virtualenv with nothing in it)", 1)
        fail("error: the engine would install program requirements itself (not rehearsed)", 1)
    key = hashlib.sha1(str(venv.resolve()).encode()).hexdigest()
    marker = STATE / f"venv-ok-{key}"
    if not marker.exists():
        proc = subprocess.run([str(python), "-c", "import os, pulumi, pulumi_aws, provisioner; "
                               "print(os.path.realpath(provisioner.__file__))"],
                              capture_output=True, text=True, cwd=cwd)
        if proc.returncode != 0:
            record["program"] = "imports failed"
            fail("error: It looks like the Pulumi SDK has not been installed: "
                 + proc.stderr.strip().splitlines()[-1], 1)
        marker.write_text(proc.stdout.strip())
    record["program"] = "ok"
    record["provisioner_file"] = marker.read_text()


def secrets_manager(cwd, stack, stacks, record):
    import yaml

    cfg_path = cwd / f"Pulumi.{stack}.yaml"
    cfg = yaml.safe_load(cfg_path.read_text()) if cfg_path.exists() else {}
    cfg = cfg or {}
    if cfg.get("secretsprovider") and cfg["secretsprovider"] not in ("passphrase", "default"):
        manager = cfg["secretsprovider"]
    elif cfg.get("encryptionsalt"):
        manager = "passphrase"
    elif os.environ.get("PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER", "").lower() in ("1", "true") \
            and stack in stacks:
        manager = stacks[stack]["provider"]
    else:
        manager = "passphrase (default)"
    if manager.startswith("passphrase"):
        if "PULUMI_CONFIG_PASSPHRASE" in os.environ:
            if os.environ["PULUMI_CONFIG_PASSPHRASE"] == "":
                manager += " EMPTY"
        elif not os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
            record["secrets_manager"] = manager
            fail("error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
                 "PULUMI_CONFIG_PASSPHRASE_FILE environment variables")
    record["secrets_manager"] = manager


def event_log(flags, changes):
    path = flags.get("--event-log")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"sequence": 1, "timestamp": 0, "summaryEvent": {
                "maybeCorrupt": False, "durationSeconds": 0, "resourceChanges": changes,
                "PolicyPacks": {}}}) + "\n")
            # the CLI's last event: the Automation API stops reading the log on it
            f.write(json.dumps({"sequence": 2, "timestamp": 0, "cancelEvent": {}}) + "\n")


def main():
    argv = sys.argv[1:]
    words, flags = parse(argv)
    cwd = Path.cwd()
    passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE")
    record = {
        "argv": argv, "cmd": " ".join(words[:2]), "stack": flags.get("--stack"),
        "job": os.environ.get("REHEARSAL_JOB"), "cwd": str(cwd),
        "environment": os.environ.get("REHEARSAL_ENVIRONMENT"),
        "role": os.environ.get("REHEARSAL_ROLE"),
        "backend": os.environ.get("PULUMI_BACKEND_URL"),
        "passphrase": "unset" if passphrase is None else ("empty" if passphrase == "" else "set"),
        "passphrase_file": bool(os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")),
        "all_proxy": os.environ.get("ALL_PROXY"),
    }
    if argv[:1] == ["up"]:
        record["head"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd,
                                        capture_output=True, text=True).stdout.strip()
    with open(STATE / "pulumi.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = locked(words, flags, cwd, record)
    if out is not None:
        print(out)


def locked(words, flags, cwd, record):
    """One call at a time, as a real backend's state file would serialise them."""
    db_path = STATE / "stacks.json"
    stacks = json.loads(db_path.read_text()) if db_path.exists() else {}
    try:
        out = run(words, flags, cwd, stacks, record)
    finally:
        with open(STATE / "pulumi.log", "a") as log:
            log.write(json.dumps(record) + "\n")
    db_path.write_text(json.dumps(stacks, indent=1, sort_keys=True))
    return out


def run(words, flags, cwd, stacks, record):
    if not words:
        fail("usage", 2)
    if words[0] == "version":
        return "v3.200.0"
    if words[0] == "whoami":
        return "rehearsal"
    if words[:2] == ["plugin", "install"]:
        return ""
    if words[:2] == ["stack", "select"]:
        name = flags.get("--stack") or words[2]
        if name not in stacks:
            fail(f"error: no stack named '{name}' found")
        return ""
    if words[:2] == ["stack", "init"]:
        name = words[2]
        record["stack"] = name
        if name in stacks:
            fail(f"error: stack '{name}' already exists")
        provider = flags.get("--secrets-provider") or "passphrase (default)"
        stacks[name] = {"provider": provider, "resources": 0, "updates": 0,
                        "created_by": record["job"]}
        if not provider.startswith("passphrase"):  # written on this machine only
            (cwd / f"Pulumi.{name}.yaml").write_text(
                f"secretsprovider: {provider}\nencryptedkey: AQICAHrehearsal\n")
        return ""
    if words[:2] == ["stack", "history"]:
        return json.dumps([{"kind": "update", "startTime": "2026-01-01T00:00:00.000000Z",
                            "endTime": "2026-01-01T00:00:01.000000Z", "message": "",
                            "environment": {}, "config": {}, "result": "succeeded",
                            "resourceChanges": {"same": 3}}])
    if words[:2] == ["stack", "output"]:
        return "{}"
    if words[:2] == ["stack", "export"]:  # destroy reads the state to unprotect retained data
        name = flags["--stack"]
        if name not in stacks:
            fail(f"error: no stack named '{name}' found")
        return json.dumps({"version": 3, "deployment": {"resources": []}})
    if words[:2] == ["stack", "import"]:
        return ""
    op = words[0]
    if op in ("preview", "up", "refresh", "destroy"):
        name = flags["--stack"]
        if name not in stacks:
            fail(f"error: no stack named '{name}' found")
        secrets_manager(cwd, name, stacks, record)
        if op != "destroy":
            program_environment(cwd, record)
        entry = stacks[name]
        if op == "preview":
            event_log(flags, {"same": entry["resources"]} if entry["resources"] else
                      {"create": 3})
        elif op == "up":
            event_log(flags, {"same": 3} if entry["resources"] else {"create": 3})
            entry["resources"] = 3
            entry["updates"] += 1
            entry["last_head"] = record.get("head")
        elif op == "refresh":
            event_log(flags, {"same": entry["resources"]})
        else:
            event_log(flags, {"delete": entry["resources"]})
            entry["resources"] = 0
            entry["destroyed"] = True
        return ""
    fail(f"rehearsal pulumi: unsupported command {words}", 2)


main()
