"""`provisioner init`: a reseller's own repository, from flags or prompts, that validates,
renders and explains its first tenant; `--upgrade` rewrites only the tool's files."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner import __version__, scaffold
from provisioner.explain.mock_runtime import run_stack
from provisioner.model.repository import load_repository

ROOT = Path(__file__).resolve().parent.parent
Run = Any

PLATFORM_FLAGS = (
    "--region", "us-east-1", "--hosted-zone-id", "Z0123456789ACME",
    "--load-balancer-dns-name", "acme-alb-1.us-east-1.elb.amazonaws.com",
    "--load-balancer-zone-id", "Z35SXDOTRQ7X7K",
    "--shared-database-host", "acme-shared.cluster-x.us-east-1.rds.amazonaws.com",
    "--shared-database-admin-secret-arn",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/mysql-admin-AbCdEf",
    "--kms-key-id", "alias/acme-tenants")
FLAGS = ("--no-input", "--base-domain", "facturador.acme.pe", "--database-prefix", "acme",
         "--backend-url", "s3://acme-pulumi-state", "--secrets-provider", "awskms://alias/pulumi",
         *PLATFORM_FLAGS)
FIRST_TENANT = ("--no-input", "--no-lookup", "--ruc", "20131312955", "--company-name",
                "Aduanas del Perú S.A.", "--subdomain", "aduanas", "--email",
                "ti@aduanas.example.pe", "--plan", "pyme")


def workflows_here() -> dict[str, str]:
    """The workflows and the lock they install with (requirements.lock), as init copies them."""
    folder = ROOT / ".github" / "workflows"
    return {p.name: p.read_text(encoding="utf-8")
            for p in sorted([*folder.glob("*.y*ml"), folder / "requirements.lock"])}


def test_init_from_flags_writes_a_ready_repository(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "acme"
    code, out, err = run_cli("init", target, *FLAGS)
    assert code == 0, err
    assert "next steps" in out and "provisioner new" in out
    repo = load_repository(target)
    assert [str(f) for f in repo.findings if f.severity == "error"] == []
    assert repo.reseller is not None and repo.reseller.database_prefix == "acme"
    assert repo.reseller.platform.kms_key_id == "alias/acme-tenants" and repo.tenants == []
    # the project: same runtime contract as the workflows, program = the installed tool
    project = yaml.safe_load((target / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["main"] == "infra/" and project["runtime"]["options"]["virtualenv"] == ".venv"
    # the dynamic provider resolves `.venv` from infra/ (tests/test_dynamic_launcher.py)
    assert os.readlink(target / "infra" / ".venv") == "../.venv"
    assert project["backend"] == {"url": "s3://acme-pulumi-state"}
    program = (target / "infra" / "__main__.py").read_text(encoding="utf-8")
    assert "from provisioner.infra.head_start import run_program" in program
    assert len([line for line in program.splitlines() if not line.startswith(("#", '"'))
                and line.strip() and not line.startswith("stack,")]) <= 3
    # pinned as the running tool was installed (tests/test_wheel.py: from a git URL)
    pin = scaffold.current_pin().requirement
    requirements = (target / "requirements.txt").read_text(encoding="utf-8")
    assert f"\n{pin}\n" in requirements
    hooks = yaml.safe_load((target / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hook = hooks["repos"][0]["hooks"][0]
    assert hook["entry"] == "provisioner validate"
    assert hook["additional_dependencies"] == [pin]
    # this repository's workflows, copied from the one source
    copied = {p.name: p.read_text(encoding="utf-8")
              for p in (target / ".github" / "workflows").iterdir()}
    assert copied == workflows_here() and copied
    assert (target / "schema" / "tenant.schema.json").read_text(encoding="utf-8") == (
        ROOT / "schema" / "tenant.schema.json").read_text(encoding="utf-8")
    assert (target / "reseller.yaml").read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=schema/reseller.schema.json\n")
    assert ".venv/" in (target / ".gitignore").read_text(encoding="utf-8")
    readme = (target / "README.md").read_text(encoding="utf-8")
    for topic in ("provisioner new", "--secret", "What CI does", "init --upgrade",
                  "s3://acme-pulumi-state"):
        assert topic in readme


def test_explain_before_the_platform_exists_shows_placeholders(
        tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing but a base domain: explain declares the stack with the values still to set shown
    as `<platform.field>` (as render shows the database host), and says so on stderr."""
    target = tmp_path / "acme"
    assert run_cli("init", target, "--no-input", "--base-domain", "facturador.acme.pe")[0] == 0
    monkeypatch.chdir(target)
    assert run_cli("new", *FIRST_TENANT)[0] == 0
    code, out, err = run_cli("explain", "aduanas")
    assert code == 0, err
    assert "zoneId=<platform.hosted_zone_id>" in out
    assert "kmsKeyId=<platform.kms_key_id>" in out
    assert "endpoint=<platform.shared_database.host>:3306" in out
    assert "platform value(s) not set yet" in err and len(err.strip().splitlines()) == 1
    (target / "reseller.yaml").write_text(
        (target / "reseller.yaml").read_text(encoding="utf-8")
        + "platform:\n  hosted_zone_id: Z0123456789ACME\n", encoding="utf-8")
    code, out, err = run_cli("explain", "aduanas")
    assert code == 0 and "zoneId=Z0123456789ACME" in out, err  # a value set is used


def test_the_first_tenant_validates_renders_and_explains(tmp_path: Path, run_cli: Run,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "acme"
    assert run_cli("init", target, *FLAGS)[0] == 0
    monkeypatch.chdir(target)
    code, out, err = run_cli("new", *FIRST_TENANT)
    assert code == 0, err
    tenant = (target / "tenants" / "aduanas.yaml").read_text(encoding="utf-8")
    assert tenant.startswith("# yaml-language-server: $schema=../schema/tenant.schema.json\n")
    assert run_cli("validate")[0] == 0
    code, out, err = run_cli("render", "aduanas")
    assert code == 0 and "aduanas.facturador.acme.pe" in out, err
    code, out, err = run_cli("explain", "aduanas", "--format", "json")
    assert code == 0 and "acme_aduanas" in out, err


def test_the_generated_program_runs_as_pulumi_runs_it(tmp_path: Path, run_cli: Run,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """pulumi-language-python-exec: chdir to the program directory, runpy.run_path(".")."""
    target = tmp_path / "acme"
    assert run_cli("init", target, *FLAGS)[0] == 0
    monkeypatch.chdir(target)
    assert run_cli("new", *FIRST_TENANT)[0] == 0
    monkeypatch.chdir(target / "infra")
    monkeypatch.syspath_prepend(".")
    secrets = {"adminPassword": "x", "solPassword": "y"}
    run = run_stack("aduanas", lambda: runpy.run_path(".", run_name="__main__"), secrets=secrets)
    assert run.error is None, run.error
    assert run.outputs["databaseName"] == "acme_aduanas"


def test_refuses_a_non_empty_directory_without_force(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    code, _, err = run_cli("init", target, *FLAGS)
    assert code == 1 and "not empty (notes.txt)" in err and "--force" in err
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    code, _, err = run_cli("init", target, *FLAGS, "--force")
    assert code == 0, err
    assert (target / "notes.txt").read_text() == "mine\n" and (target / "reseller.yaml").is_file()


def test_a_fresh_clone_with_only_git_counts_as_empty(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "clone"
    (target / ".git").mkdir(parents=True)
    assert run_cli("init", target, *FLAGS)[0] == 0


def test_invalid_values_are_located_like_validate_and_nothing_is_written(
        tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "acme"
    code, _, err = run_cli("init", target, "--no-input", "--base-domain", "facturador.acme.pe",
                           "--database-prefix", "Bad-Prefix", "--kms-key-id", "not a key")
    assert code == 1
    assert "reseller.yaml:" in err and "database_prefix" in err and "platform.kms_key_id" in err
    assert not target.exists() or list(target.iterdir()) == []


@pytest.mark.parametrize(("flags", "message"), [
    (("--no-input",), "missing --base-domain"),
    (("--no-input", "--base-domain", "a.pe", "--backend-url", "ftp://x"), "--backend-url"),
    (("--no-input", "--base-domain", "a.pe", "--secrets-provider", "rot13"),
     "--secrets-provider"),
    (("--check",), "--check goes with --upgrade"),
])
def test_usage_errors_exit_2(tmp_path: Path, run_cli: Run, flags: tuple[str, ...],
                             message: str) -> None:
    code, _, err = run_cli("init", tmp_path / "x", *flags)
    assert code == 2 and message in err
    assert not (tmp_path / "x").exists()


def _tool_files(target: Path) -> dict[str, str]:
    return {rel: (target / rel).read_text(encoding="utf-8")
            for rel in scaffold.generated_files("x", None)}


def test_upgrade_is_idempotent_and_touches_only_the_tools_files(tmp_path: Path,
                                                                run_cli: Run) -> None:
    target = tmp_path / "acme"
    assert run_cli("init", target, *FLAGS)[0] == 0
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    code, out, _ = run_cli("init", target, "--upgrade")
    assert code == 0 and "up to date" in out
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    assert run_cli("init", target, "--upgrade", "--check")[0] == 0

    # an older tool wrote these (and recorded them in its manifest); the reseller edited
    # their own files
    requirements = target / "requirements.txt"
    requirements.write_text(requirements.read_text().replace(__version__, "0.0.9"))
    workflow = next((target / ".github" / "workflows").iterdir())
    workflow.write_text(workflow.read_text() + "# stale\n")
    manifest = json.loads((target / scaffold.MANIFEST).read_text())
    rel = workflow.relative_to(target).as_posix()
    manifest["files"][rel] = scaffold.digest(workflow.read_text())
    (target / scaffold.MANIFEST).write_text(json.dumps(manifest))
    (target / "README.md").write_text("our own notes\n")
    reseller = (target / "reseller.yaml").read_text() + "max_accounts: 7\n"
    (target / "reseller.yaml").write_text(reseller)

    code, out, err = run_cli("init", target, "--upgrade", "--check")
    assert code == 1 and "2 file(s) differ" in err
    assert "0.0.9" in requirements.read_text()  # --check wrote nothing
    code, out, _ = run_cli("init", target, "--upgrade")
    assert code == 0
    assert "-tenant-provisioner==0.0.9" in out and f"+tenant-provisioner=={__version__}" in out
    assert "-# stale" in out and "README.md" not in out
    assert f"tenant-provisioner=={__version__}" in requirements.read_text()
    assert "# stale" not in workflow.read_text()
    assert (target / "README.md").read_text() == "our own notes\n"
    assert (target / "reseller.yaml").read_text() == reseller
    project = yaml.safe_load((target / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["backend"] == {"url": "s3://acme-pulumi-state"}  # kept
    code, out, _ = run_cli("init", target, "--upgrade")
    assert code == 0 and "up to date" in out


def test_upgrade_needs_a_repository_init_made(tmp_path: Path, run_cli: Run) -> None:
    code, _, err = run_cli("init", tmp_path, "--upgrade")
    assert code == 1 and "--upgrade updates a repository" in err


def test_upgrade_never_rewrites_the_tools_own_checkout(run_cli: Run) -> None:
    before = (ROOT / "infra" / "__main__.py").read_bytes()
    code, _, err = run_cli("init", ROOT, "--upgrade")
    assert code == 1 and "the tool's own source" in err
    assert (ROOT / "infra" / "__main__.py").read_bytes() == before


@pytest.mark.parametrize(("direct", "expected", "portable"), [
    ({"url": "https://github.com/acme/tenant-provisioner",
      "vcs_info": {"vcs": "git", "requested_revision": "v0.2.0", "commit_id": "a" * 40}},
     f"tenant-provisioner @ git+https://github.com/acme/tenant-provisioner@{'a' * 40}", True),
    ({"url": "https://github.com/acme/tenant-provisioner",
      "vcs_info": {"vcs": "git", "commit_id": "b" * 40}},
     f"tenant-provisioner @ git+https://github.com/acme/tenant-provisioner@{'b' * 40}", True),
    ({"url": "file:///home/me/clone", "vcs_info": {"vcs": "git", "commit_id": "c" * 40}},
     f"tenant-provisioner @ git+file:///home/me/clone@{'c' * 40}", False),
    ({"url": "https://example.pe/tenant_provisioner-0.2.0-py3-none-any.whl",
      "archive_info": {}},
     "tenant-provisioner @ https://example.pe/tenant_provisioner-0.2.0-py3-none-any.whl", True),
    ({"url": "file:///home/me/dist/tenant_provisioner-0.2.0-py3-none-any.whl",
      "archive_info": {}},
     "tenant-provisioner @ file:///home/me/dist/tenant_provisioner-0.2.0-py3-none-any.whl",
     False),
    ({"url": "file:///home/me/src", "dir_info": {"editable": True}},
     "tenant-provisioner @ file:///home/me/src", False),
    (None, "tenant-provisioner==0.2.0", True),
])
def test_the_pin_is_what_was_installed(direct: dict[str, Any] | None, expected: str,
                                       portable: bool) -> None:
    """Exactly what pip installed (PEP 610's direct_url.json): a VCS URL at its commit, an
    archive's URL, a directory; `==version` only from an index (no direct_url.json). What a CI
    runner cannot install (a path of this machine) carries the reason, which init prints."""
    pin = scaffold.pin_from_direct_url(direct, "tenant-provisioner", "0.2.0")
    assert pin.requirement == expected
    assert (pin.problem is None) == portable


# ---- prompts over a real terminal ----------------------------------------------------------

def test_prompts_on_a_terminal(tmp_path: Path) -> None:
    from tests.test_new import _Terminal

    target = tmp_path / "acme"
    env = {**os.environ, "TERM": "dumb"}
    term = _Terminal([sys.executable, "-m", "provisioner", "init", str(target)], env)
    for prompt, answer in [
        ("Base domain (the app's APP_URL_BASE): ", "not a domain"),
        ("Base domain (the app's APP_URL_BASE): ", "facturador.acme.pe"),  # asked again
        ("Database prefix (PREFIX_DATABASE) [tenancy]: ", "acme"),
        ("AWS region [us-east-1]: ", ""),
        ("Platform stack reference", "acme/platform/prod"),
        ("Pulumi state backend URL", "ftp://nope"),
        ("Pulumi state backend URL", "s3://acme-state"),
        ("Secrets provider", ""),  # no default the tool would refuse later: asked again
        ("Secrets provider", "default"),  # the Pulumi Cloud's, refused for an s3 backend
        ("Secrets provider", "awskms://alias/pulumi"),
        ("system database host", ""),  # later
    ]:
        term.expect(prompt)
        term.send(answer)
    term.expect("provisioner new")
    assert term.close() == 0, term.seen
    assert "a Pulumi backend URL" in term.seen and "a value is required" in term.seen
    assert "a self-managed backend needs" in term.seen
    repo = load_repository(target)
    assert repo.reseller is not None and repo.reseller.base_domain == "facturador.acme.pe"
    assert repo.reseller.platform.stack_reference == "acme/platform/prod"
    assert repo.reseller.database_prefix == "acme"
    assert "Hosted zone" not in term.seen  # the stack reference gives the platform's values
    assert yaml.safe_load((target / "Pulumi.yaml").read_text())["backend"]["url"] == (
        "s3://acme-state")


def test_answers_piped_in_are_taken_as_from_a_terminal(tmp_path: Path) -> None:
    """One answer a line on a pipe, each echoed; the app section from its answers."""
    target = tmp_path / "acme"
    answers = ["facturador.acme.pe", "acme", "", "acme/platform/prod", "s3://acme-state",
               "passphrase", "app-db.internal", "", "facturador", "tenancy_admin",
               "ssh deploy@app.acme.pe php /var/www/facturador/artisan"]
    result = subprocess.run([sys.executable, "-m", "provisioner", "init", str(target)],
                            input="\n".join(answers) + "\n", capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Base domain (the app's APP_URL_BASE): facturador.acme.pe" in result.stdout
    repo = load_repository(target)
    assert repo.reseller is not None and repo.reseller.base_domain == "facturador.acme.pe"
    app = repo.reseller.app
    assert app is not None and app.system_database.host == "app-db.internal"
    assert (app.system_database.port, app.system_database.database,
            app.system_database.user) == (3306, "facturador", "tenancy_admin")
    assert app.commands.migrate == ["ssh", "deploy@app.acme.pe", "php",
                                    "/var/www/facturador/artisan", "tenancy:migrate",
                                    "--website_id={website_id}"]
    assert app.commands.seed[-2:] == ["tenancy:db:seed", "--website_id={website_id}"]
    assert app.timezone == "America/Lima"


def test_piped_input_that_ends_early_cancels_a_required_answer(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "provisioner", "init", str(tmp_path / "x")],
                            input="facturador.acme.pe\n", capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1 and "input ended" in result.stderr
    assert not (tmp_path / "x").exists()


def test_a_default_provider_with_a_self_managed_backend_is_refused_up_front(
        run_cli: Run, tmp_path: Path) -> None:
    code, _, err = run_cli("init", tmp_path / "x", "--no-input", "--base-domain", "a.pe",
                           "--backend-url", "s3://bucket", "--secrets-provider", "default")
    assert code == 2 and "a self-managed backend needs" in err
    assert not (tmp_path / "x").exists()


def test_app_flags_are_all_or_nothing(run_cli: Run, tmp_path: Path) -> None:
    code, _, err = run_cli("init", tmp_path / "x", "--no-input", "--base-domain", "a.pe",
                           "--app-db-host", "db.internal")
    assert code == 2 and "--app-db-name, --app-db-user, --app-command" in err
    code, _, err = run_cli("init", tmp_path / "x", "--no-input", "--base-domain", "a.pe",
                           "--app-command", "php artisan")
    assert code == 2 and "without --app-db-host" in err
    assert not (tmp_path / "x").exists()


def test_no_input_never_prompts_even_on_a_terminal(tmp_path: Path) -> None:
    from tests.test_new import _Terminal

    term = _Terminal([sys.executable, "-m", "provisioner", "init", str(tmp_path / "x"),
                      "--no-input"], {**os.environ, "TERM": "dumb"})
    term.expect("missing --base-domain")
    assert term.close() == 2


def test_help_names_the_flags() -> None:
    out = subprocess.run([sys.executable, "-m", "provisioner", "init", "--help"],
                         capture_output=True, text=True, timeout=60).stdout
    for flag in ("--base-domain", "--stack-reference", "--backend-url", "--secrets-provider",
                 "--no-input", "--force", "--upgrade"):
        assert flag in out


# ---- any accepted answers give a repository that validates ---------------------------------

_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(labels=st.lists(_label, min_size=1, max_size=3),
       tld=st.from_regex(r"[a-z]{2,6}", fullmatch=True),
       prefix=st.from_regex(r"[a-z][a-z0-9]{0,15}", fullmatch=True),
       max_accounts=st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)),
       stack=st.one_of(st.none(), st.from_regex(r"[a-z0-9_.-]{1,12}(/[a-z0-9_.-]{1,12}){0,2}",
                                                fullmatch=True)))
def test_accepted_answers_round_trip_through_reseller_yaml(
        labels: list[str], tld: str, prefix: str, max_accounts: int | None,
        stack: str | None) -> None:
    """What init writes is what was answered, and `validate` accepts it (YAML quoting of
    values such as `no`, `0123` or `1e5` included)."""
    from provisioner.cli.init import check_reseller

    domain = ".".join([*labels, tld])
    answers = scaffold.InitAnswers(base_domain=domain, database_prefix=prefix,
                                   max_accounts=max_accounts, stack_reference=stack)
    text = scaffold.reseller_yaml(answers)
    assert check_reseller(Path("reseller.yaml"), text) == []
    doc = yaml.safe_load(text)
    assert doc["base_domain"] == domain and doc["database_prefix"] == prefix
    assert doc.get("max_accounts") == max_accounts
    assert doc.get("platform", {}).get("stack_reference") == stack


def test_upgrade_restores_the_program_directorys_virtualenv_link(tmp_path: Path,
                                                                 run_cli: Run) -> None:
    """A repository an older init made has no infra/.venv: --check says so, --upgrade adds it."""
    target = tmp_path / "acme"
    assert run_cli("init", target, *FLAGS)[0] == 0
    (target / "infra" / ".venv").unlink()
    code, out, _ = run_cli("init", target, "--upgrade", "--check")
    assert code == 1 and "infra/.venv -> ../.venv" in out
    code, out, _ = run_cli("init", target, "--upgrade")
    assert code == 0 and "infra/.venv" in out
    assert os.readlink(target / "infra" / ".venv") == "../.venv"


def test_a_virtualenv_directory_in_infra_is_refused_before_anything_is_written(
        tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "acme"
    (target / "infra" / ".venv" / "bin").mkdir(parents=True)
    code, _, err = run_cli("init", target, *FLAGS, "--force")
    assert code == 1 and "infra/.venv is a directory" in err
    assert sorted(p.name for p in target.iterdir()) == ["infra"]
    assert sorted(p.name for p in (target / "infra").iterdir()) == [".venv"]
