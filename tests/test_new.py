"""`provisioner new`: a tenant file from flags or prompts, checked like `validate` before it is
written, never over an existing tenant, then the Pulumi commands still to run."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from provisioner import newtenant
from provisioner.model.repository import load_repository
from provisioner.secrets import (
    FALLBACK_ENV,
    SECRETS_PROVIDER_ENV,
    required_stack_secrets,
    stack_init_command,
)
from tests.padron_sample import STRUCK_OFF
from tests.padron_sample import padron_index as sample_index

Run = Callable[..., tuple[int, str, str]]

PADRON_ROWS = (STRUCK_OFF,)

BASE_FLAGS = ("--ruc", "20131312955", "--company-name", "Aduanas del Perú S.A.",
              "--subdomain", "aduanas", "--email", "ti@aduanas.example.pe", "--plan", "pyme")


KMS = "awskms://alias/acme-pulumi?region=us-east-1"


@pytest.fixture(autouse=True)
def padron_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The RUC lookup reads a small index of our own, never the developer's ~/.cache."""
    index = sample_index(tmp_path, *PADRON_ROWS)
    monkeypatch.setenv("PROVISIONER_PADRON_INDEX", str(index))
    return index


def tenant_files(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / "tenants").iterdir())


def test_new_from_flags_writes_a_valid_file_and_prints_the_pulumi_commands(
        repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRETS_PROVIDER_ENV, KMS)
    code, out, err = run_cli(
        "--repo", repo, "new", *BASE_FLAGS, "--trade-name", "Aduanas",
        "--environment", "production", "--sol-user", "ADUANA01", "--certificate",
        "--preset", "hotel", "--add-module", "ecommerce", "--remove-module", "pos,hotels",
        "--smtp-host", "smtp.gmail.com", "--smtp-username", "ti@aduanas.example.pe",
        "--smtp-from-name", "Aduanas — Comprobantes", "--no-allow-production-switch",
        "--limit-emission")
    assert code == 0, err
    path = repo / "tenants" / "aduanas.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../schema/tenant.schema.json\n")
    assert "add: [ecommerce]" in text and "remove: [pos, hotels]" in text

    loaded = load_repository(repo)
    assert loaded.errors == []  # exactly what `validate` checks
    spec = loaded.tenant("aduanas").spec
    assert (spec.company_name, spec.trade_name, spec.plan) == ("Aduanas del Perú S.A.",
                                                               "Aduanas", "pyme")
    assert spec.soap.sol_user == "ADUANA01" and spec.certificate and spec.limit_emission
    assert spec.smtp is not None and spec.smtp.from_name == "Aduanas — Comprobantes"
    assert spec.allow_production_switch is False

    lines = out.splitlines()
    assert lines[0].startswith("created ") and lines[0].endswith("tenants/aduanas.yaml")
    init = f"  pulumi stack init --secrets-provider '{KMS}' aduanas"
    assert init in lines
    commands = [c.command("aduanas") for c in required_stack_secrets(spec)]
    assert len(commands) == 4  # SOL password, SMTP password, certificate and its password
    for command in commands:
        assert f"  {command}" in lines
    assert lines.index(init) < lines.index(f"  {commands[0]}")
    assert lines[-1] == "  git add tenants/aduanas.yaml Pulumi.aduanas.yaml"
    assert [p for p in tenant_files(repo) if p.startswith(".")] == []  # no temp file left


def test_company_name_comes_from_the_ruc_lookup(repo: Path, run_cli: Run) -> None:
    code, _, err = run_cli("--repo", repo, "new", "--ruc", "20131312955", "--subdomain",
                           "sunat2", "--email", "a@sunat.example.pe", "--plan", "ilimitado",
                           "--no-allow-production-switch")
    assert code == 0, err
    assert "SUNAT: SUPERINTENDENCIA NACIONAL DE ADUANAS" in err
    spec = load_repository(repo).tenant("sunat2").spec
    assert spec.company_name == ("SUPERINTENDENCIA NACIONAL DE ADUANAS Y DE ADMINISTRACION "
                                 "TRIBUTARIA - SUNAT")


def test_lookup_warns_about_a_taxpayer_sunat_would_reject(repo: Path, run_cli: Run) -> None:
    code, _, err = run_cli("--repo", repo, "new", "--ruc", "20100070970", "--subdomain",
                           "panaderia", "--email", "a@pan.example.pe", "--plan", "pyme",
                           "--no-allow-production-switch")
    assert code == 0, err
    assert "not ACTIVO and HABIDO" in err
    assert load_repository(repo).tenant("panaderia").spec.company_name == "PANADERÍA PEÑA S.A.C."


def test_without_company_name_or_lookup_result_it_is_a_usage_error(
        repo: Path, run_cli: Run) -> None:
    code, _, err = run_cli("--repo", repo, "new", "--ruc", "20512333797", "--subdomain", "x1",
                           "--email", "a@b.pe", "--plan", "pyme", "--no-input")
    assert code == 2
    assert "RUC 20512333797 was not found" in err
    assert "missing --company-name (the RUC lookup found no company name)" in err
    assert tenant_files(repo) == sorted(p.name for p in (repo / "tenants").iterdir())
    assert not (repo / "tenants" / "x1.yaml").exists()


def test_never_overwrites_an_existing_tenant(repo: Path, run_cli: Run) -> None:
    path = repo / "tenants" / "nandu.yaml"
    before = path.read_bytes()
    flags = list(BASE_FLAGS)
    flags[flags.index("aduanas")] = "Nandu"  # the same tenant, whatever the case
    code, out, err = run_cli("--repo", repo, "new", *flags)
    assert (code, out) == (1, "")
    assert "nandu.yaml: already exists; `new` never overwrites a tenant" in err
    assert path.read_bytes() == before


def test_a_race_with_another_writer_does_not_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "tenants" / "x.yaml"
    path.parent.mkdir()
    path.write_text("theirs\n")
    with pytest.raises(Exception, match="already exists"):
        newtenant.write_new_file(path, "ours\n")
    assert path.read_text() == "theirs\n"
    assert [p.name for p in path.parent.iterdir()] == ["x.yaml"]


def test_the_reseller_account_cap_is_enforced(repo: Path, run_cli: Run) -> None:
    reseller = repo / "reseller.yaml"
    current = len(load_repository(repo).tenants)
    reseller.write_text(re.sub(r"(?m)^max_accounts: .*$", f"max_accounts: {current}",
                               reseller.read_text(encoding="utf-8")), encoding="utf-8")
    before = tenant_files(repo)
    code, _, err = run_cli("--repo", repo, "new", *BASE_FLAGS)
    assert code == 1
    assert "max_accounts: Ha alcanzado el límite de clientes permitidos" in err
    assert f"{current + 1} tenants for a cap of {current}" in err
    assert tenant_files(repo) == before

    reseller.write_text(reseller.read_text(encoding="utf-8").replace(
        f"max_accounts: {current}", f"max_accounts: {current + 1}"), encoding="utf-8")
    assert run_cli("--repo", repo, "new", *BASE_FLAGS)[0] == 0  # one more fits exactly


def test_invalid_values_give_located_errors_and_write_nothing(repo: Path, run_cli: Run) -> None:
    before = tenant_files(repo)
    code, out, err = run_cli(
        "--repo", repo, "new", "--ruc", "2013131295", "--company-name", "X", "--subdomain",
        "nueva", "--email", "no-at-sign", "--plan", "pyme", "--send", "ose")
    assert (code, out) == (1, "")
    assert re.search(r"tenants/nueva\.yaml:3:\d+: ruc: '2013131295' does not match the "
                     r"expected format .* \(set with --ruc\)", err)
    assert re.search(r"tenants/nueva\.yaml:6:\d+: admin_email: .*@-sign.*\(set with --email\)",
                     err)
    assert re.search(r"tenants/nueva\.yaml:\d+:\d+: soap(\.ose_url)?: "
                     r"ose_url is required when send is 'ose'", err)
    assert "tenants/nueva.yaml was not written; it would have read:" in err
    assert "   3  ruc: '2013131295'" in err  # the numbered text the positions refer to
    assert tenant_files(repo) == before


@pytest.mark.parametrize(("flags", "expected"), [
    (("--plan", "pymes"), r"plan: unknown plan 'pymes' \(did you mean: pyme\?\)"),
    (("--add-module", "inventario"), r"modules\.add\[0\]: unknown module 'inventario'"),
    (("--ruc", "20600055519"), r"ruc: RUC already used by \S*tenants/hotelsol\.yaml"),
    (("--company-name", "ferretería andina s.a."),
     r"company_name: company name already used by \S*tenants/ferreteriaandina\.yaml"),
    (("--subdomain", "admin"), r"subdomain: 'admin' is reserved"),
    (("--environment", "production"),
     r"soap(\.sol_user)?: sol_user is required for sunat production"),
])
def test_rules_of_validate_apply(repo: Path, run_cli: Run, flags: tuple[str, ...],
                                 expected: str) -> None:
    args = list(BASE_FLAGS)
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    code, _, err = run_cli("--repo", repo, "new", *args)
    assert code == 1
    assert re.search(rf"tenants/\w+\.yaml:\d+:\d+: {expected}", err), err
    assert not (repo / "tenants" / "aduanas.yaml").exists()


@pytest.mark.parametrize(("flags", "message"), [
    (("--modules", "documents", "--preset", "hotel"), "--modules lists every module"),
    (("--smtp-port", "abc"), "is not a whole number in ASCII digits"),
    (("--send", "email"), "invalid choice"),
])
def test_usage_errors_exit_2(repo: Path, run_cli: Run, flags: tuple[str, ...],
                             message: str) -> None:
    code, _, err = run_cli("--repo", repo, "new", *BASE_FLAGS, *flags)
    assert code == 2 and message in err
    assert not (repo / "tenants" / "aduanas.yaml").exists()


def test_missing_values_without_a_terminal_name_the_flags(repo: Path, run_cli: Run) -> None:
    code, _, err = run_cli("--repo", repo, "new", "--ruc", "20131312955")
    assert code == 2
    assert "missing --subdomain, --email, --plan" in err and "run in a terminal" in err


def test_dry_run_prints_the_file_and_writes_nothing(repo: Path, run_cli: Run) -> None:
    before = tenant_files(repo)
    code, out, _ = run_cli("--repo", repo, "new", *BASE_FLAGS, "--modules",
                           "documents,reports", "--dry-run")
    assert code == 0
    assert out.startswith("# yaml-language-server") and "include: [documents, reports]" in out
    assert tenant_files(repo) == before


def test_new_finds_the_repository_from_the_working_directory(
        repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "tenants")
    code, out, err = run_cli("new", *BASE_FLAGS)
    assert code == 0, err
    assert (repo / "tenants" / "aduanas.yaml").is_file()
    assert out.splitlines()[0] == "created aduanas.yaml"  # relative to where you are


# ---- interactive ---------------------------------------------------------------------------

def test_prompts_fill_what_the_flags_did_not_give(
        repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []
    answers = iter([
        "2013131295",           # RUC: 10 digits, asked again
        "20131312955",          # RUC (found in the index)
        "",                     # company name: the looked-up one
        "Aduanas Perú",         # trade name
        "Aduanas-Peru",         # subdomain: no hyphens, asked again
        "nandu",                # subdomain: taken, asked again
        "",                     # subdomain: the suggestion
        "ti@aduanas.example.pe",
        "",                     # user type: admin
        "",                     # admin password: generate
        "platino",              # plan: not a choice, asked again
        "emprendedor",
        "y",                    # limit emission
        "restaurante",          # preset
        "ecommerce",            # add modules
        "",                     # remove modules
        "",                     # send: sunat
        "production",
        "SOLUSER1",             # sol user
        "",                     # certificate: yes
        "n",                    # own SMTP: no
        "n",                    # allow production switch: no
        "",                     # write the file: yes
    ])

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(newtenant, "read_line", fake_input)
    monkeypatch.setattr(newtenant, "stdin_is_terminal", lambda: True)
    code, out, err = run_cli("--repo", repo, "new")
    assert code == 0, err
    assert "a RUC has 11 digits" in out and "already used by nandu.yaml" in out
    assert "choose one of: ilimitado, emprendedor, pyme, corporativo" in out
    assert any(p.startswith("Company name (razón social) [SUPERINTENDENCIA") for p in prompts)
    assert "Subdomain [aduanasperu]: " in prompts
    assert "Environment (demo/production/internal) [demo]: " in prompts
    # the safe answer is the default: Enter keeps the client in demo
    assert "Allow the client to switch itself from demo to production [y/N]: " in prompts
    spec = load_repository(repo).tenant("aduanasperu").spec
    assert spec.company_name.startswith("SUPERINTENDENCIA NACIONAL")
    assert (spec.trade_name, spec.plan, spec.limit_emission) == ("Aduanas Perú", "emprendedor",
                                                                  True)
    assert (spec.modules.preset, spec.modules.add) == ("restaurante", ["ecommerce"])
    assert spec.soap.sol_user == "SOLUSER1" and spec.certificate
    assert spec.smtp is None and spec.allow_production_switch is False
    assert "pulumi config set --secret --stack aduanasperu solPassword" in out


def test_flags_given_are_not_asked_again(repo: Path, run_cli: Run,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return "ilimitado" if prompt.startswith("Plan") else ""  # the rest: defaults

    monkeypatch.setattr(newtenant, "read_line", answer)
    monkeypatch.setattr(newtenant, "stdin_is_terminal", lambda: True)
    flags = [f for f in BASE_FLAGS if f not in ("--plan", "pyme")]
    code, _, err = run_cli("--repo", repo, "new", *flags, "--environment", "demo",
                           "--no-allow-production-switch")
    assert code == 0, err
    asked = [p.split(" (")[0].split(" [")[0].rstrip(": ") for p in prompts]
    assert asked == ["Trade name", "User type", "Admin password", "Plan", "Limit emission to "
                     "the plan's document quota", "Modules preset", "Add modules",
                     "Remove modules", "SOAP send", "Own SMTP server",
                     f"Write {repo / 'tenants' / 'aduanas.yaml'}"]
    assert load_repository(repo).tenant("aduanas").spec.plan == "ilimitado"


def test_end_of_input_cancels_without_writing(repo: Path, run_cli: Run,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def eof(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(newtenant, "read_line", eof)
    monkeypatch.setattr(newtenant, "stdin_is_terminal", lambda: True)
    before = tenant_files(repo)
    code, _, err = run_cli("--repo", repo, "new")
    assert code == 1 and "cancelled" in err and "no file was written" in err
    assert tenant_files(repo) == before


class _Terminal:
    """`provisioner new` on a pseudo-terminal: what an operator sees and types."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.fd, secondary = pty.openpty()
        self.proc = subprocess.Popen(args, stdin=secondary, stdout=secondary, stderr=secondary,
                                     env=env, close_fds=True)
        os.close(secondary)
        self.seen = ""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} never shown; the terminal shows:\n{self.seen}")
            ready, _, _ = select.select([self.fd], [], [], min(remaining, 0.2))
            if ready:
                try:
                    self.seen += os.read(self.fd, 4096).decode("utf-8", "replace")
                except OSError:  # the child closed the terminal
                    raise AssertionError(f"{text!r} never shown:\n{self.seen}") from None

    def send(self, line: str) -> None:
        os.write(self.fd, f"{line}\n".encode())

    def close(self) -> int:
        try:
            code = self.proc.wait(timeout=30)
        finally:
            os.close(self.fd)
        return code


@pytest.fixture
def terminal_env(padron_index: Path) -> Iterator[dict[str, str]]:
    yield {**os.environ, "PROVISIONER_PADRON_INDEX": str(padron_index), "TERM": "dumb"}


def test_interactive_session_on_a_terminal(repo: Path, terminal_env: dict[str, str]) -> None:
    term = _Terminal([sys.executable, "-m", "provisioner", "--repo", str(repo), "new",
                      "--plan", "pyme", "--no-allow-production-switch"], terminal_env)
    for prompt, answer in [
        ("RUC: ", "20131312955"),
        ("Company name (razón social) [SUPERINTENDENCIA NACIONAL", ""),
        ("Trade name", "Aduanas"),
        ("Subdomain [aduanas]: ", ""),
        ("Admin e-mail", "ti@aduanas.example.pe"),
        ("User type (admin/integrator) [admin]: ", ""),
        ("Admin password (generate/stack_secret) [generate]: ", "stack_secret"),
        ("Limit emission", ""),
        ("Modules preset (giro de negocio)", ""),
        ("Add modules", ""),
        ("Remove modules", "pos"),
        ("SOAP send (sunat/ose) [sunat]: ", ""),
        ("Environment (demo/production/internal) [demo]: ", ""),
        ("Own SMTP server", ""),
        ("aduanas.yaml [Y/n]: ", "y"),
    ]:
        term.expect(prompt)
        term.send(answer)
    term.expect("pulumi stack init --secrets-provider")
    term.expect("pulumi config set --secret --stack aduanas adminPassword")
    # the last line printed: reading up to it avoids racing the child's final writes
    term.expect("git add tenants/aduanas.yaml Pulumi.aduanas.yaml")
    assert term.close() == 0, term.seen
    assert "SUNAT: SUPERINTENDENCIA NACIONAL" in term.seen
    spec = load_repository(repo).tenant("aduanas").spec
    assert spec.admin_password == "stack_secret" and spec.modules.remove == ["pos"]
    assert spec.plan == "pyme" and spec.trade_name == "Aduanas"


def test_interactive_answers_are_checked_like_validate_before_writing(
        repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    reseller = repo / "reseller.yaml"
    current = len(load_repository(repo).tenants)
    reseller.write_text(re.sub(r"(?m)^max_accounts: .*$", f"max_accounts: {current}",
                               reseller.read_text(encoding="utf-8")), encoding="utf-8")
    monkeypatch.setattr(newtenant, "read_line",
                        lambda prompt: "pyme" if prompt.startswith("Plan") else "")
    monkeypatch.setattr(newtenant, "stdin_is_terminal", lambda: True)
    flags = [f for f in BASE_FLAGS if f not in ("--plan", "pyme")]
    before = tenant_files(repo)
    code, _, err = run_cli("--repo", repo, "new", *flags)
    assert code == 1
    assert "Ha alcanzado el límite de clientes permitidos" in err
    assert "(set with --" not in err  # no flag hints for answers typed at prompts
    assert tenant_files(repo) == before


def _fake_pulumi(tmp_path: Path) -> dict[str, str]:
    """PATH with a `pulumi` that prints its arguments one a line (what a shell passed it)."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != SECRETS_PROVIDER_ENV}
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    return env


@pytest.mark.parametrize("provider", [
    KMS, "passphrase", "awskms://1234abcd-12ab?region=us-east-1&context_x=a b'c",
    "hashivault://my key", None])
def test_printed_stack_init_names_the_secrets_provider_through_a_shell(
        repo: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        provider: str | None) -> None:
    """Run by a shell as printed, `stack init` gets --secrets-provider and the provider verbatim
    (never the backend's default); with none configured the shell stops before pulumi runs."""
    if provider is None:
        monkeypatch.delenv(SECRETS_PROVIDER_ENV, raising=False)
    else:
        monkeypatch.setenv(SECRETS_PROVIDER_ENV, provider)
    code, out, err = run_cli("--repo", repo, "new", *BASE_FLAGS)
    assert code == 0, err
    line = next(x.strip() for x in out.splitlines() if "pulumi stack init" in x)
    assert line == stack_init_command("aduanas", provider)
    env = _fake_pulumi(tmp_path)
    ran = subprocess.run(["/bin/sh", "-c", line], env=env, capture_output=True, text=True,
                         timeout=30)
    if provider is None:
        assert ran.returncode != 0 and ran.stdout == ""
        assert SECRETS_PROVIDER_ENV in ran.stderr
        env[SECRETS_PROVIDER_ENV] = KMS  # exported as the repository's README says
        ran = subprocess.run(["/bin/sh", "-c", line], env=env, capture_output=True, text=True,
                             timeout=30)
    assert ran.stdout.splitlines() == ["stack", "init", "--secrets-provider", provider or KMS,
                                       "aduanas"]
    # the secrets still to set say how they work on another clone
    assert "Pulumi.aduanas.yaml" in out and FALLBACK_ENV in out


def test_every_documented_stack_init_names_the_secrets_provider() -> None:
    """The docs and the README `init` writes show no bare `pulumi stack init` (it would take the
    backend's default secrets manager)."""
    from provisioner import scaffold

    root = Path(__file__).resolve().parent.parent
    texts = {str(p.relative_to(root)): p.read_text(encoding="utf-8")
             for p in [*sorted((root / "docs").glob("*.md")), root / "README.md"]}
    texts["init's README.md"] = scaffold.readme(
        scaffold.InitAnswers(base_domain="x.example.pe"), "tenant-provisioner==0")
    shown = 0
    for name, text in texts.items():
        for line in text.splitlines():
            for match in re.finditer(r"pulumi stack init\b[^`\n]*", line):
                shown += 1
                assert "--secrets-provider" in match.group(0), (name, line)
    assert shown >= 2


@given(provider=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                        min_size=1).filter(str.strip))
@example(provider="awskms://alias/x?region=us-east-1&a=$(rm -rf ~)'\"`")
def test_stack_init_command_passes_any_provider_verbatim(provider: str) -> None:
    import shlex

    assert shlex.split(stack_init_command("aduanas", provider)) == [
        "pulumi", "stack", "init", "--secrets-provider", provider, "aduanas"]


def test_every_secret_the_stack_reads_is_printed(repo: Path, run_cli: Run) -> None:
    """With reseller.yaml's `app:` (the examples have it) the app's APP_KEY and system database
    password are stack secrets too; without it they are not asked for."""
    from provisioner.secrets import APP_DATABASE_PASSWORD, APP_KEY

    code, out, err = run_cli("--repo", repo, "new", *BASE_FLAGS)
    assert code == 0, err
    for secret in (APP_KEY, APP_DATABASE_PASSWORD):
        assert f"  {secret.command('aduanas')}" in out.splitlines()
    reseller = repo / "reseller.yaml"
    text = reseller.read_text(encoding="utf-8")
    reseller.write_text(text[:text.index("\napp:")] + "\n", encoding="utf-8")
    flags = [f if f != "aduanas" else "aduanas2" for f in BASE_FLAGS]
    flags[1], flags[3] = "20100070970", "Otra Empresa S.A.C."
    code, out, err = run_cli("--repo", repo, "new", *flags)
    assert code == 0, err
    assert "appKey" not in out and "appDatabasePassword" not in out


def test_a_subdomain_in_capitals_is_said_and_one_with_a_hyphen_refused(repo: Path,
                                                                      run_cli: Run) -> None:
    flags = list(BASE_FLAGS)
    flags[flags.index("aduanas")] = "Tercera-x"
    code, _, err = run_cli("--repo", repo, "new", *flags)
    assert code == 2 and err.strip().endswith(
        "--subdomain 'Tercera-x': letters and digits only (no accents, ñ, dots, hyphens or "
        "spaces)"), err
    assert not (repo / "tenants" / "tercera-x.yaml").exists()
    flags[flags.index("Tercera-x")] = "Tercera"
    code, _, err = run_cli("--repo", repo, "new", *flags)
    assert code == 0, err
    assert "subdomain 'Tercera' is written as 'tercera'" in err
    spec = load_repository(repo).tenant("tercera").spec
    assert spec.allow_production_switch is False  # not asked: the safe answer


def test_every_flag_of_new_has_help() -> None:
    import argparse

    from provisioner.cli import new

    parser = argparse.ArgumentParser()
    new.configure(parser)
    missing = [a.option_strings[0] for a in parser._actions
               if a.option_strings and a.option_strings[0] != "-h"
               and (not a.help or a.help == argparse.SUPPRESS)]
    assert missing == []
