"""`provisioner init DIR`: a reseller's own repository of tenants, with this tool pinned.

Values come from flags, or from prompts on a terminal or answers piped in (never with
`--no-input`).
reseller.yaml is checked like `validate` before anything is written. `--upgrade` rewrites only
the tool's files init generated and nobody changed since (scaffold.MANIFEST, scaffold.is_generated)
for the running version and shows the diff; it keeps and names the others.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.cli import exit_codes
from provisioner.numbers import int_type

if TYPE_CHECKING:
    from provisioner.errors import Finding
    from provisioner.newtenant import Prompter
    from provisioner.scaffold import InitAnswers

# (answer attribute, flag, prompt, location in reseller.yaml or None, default)
PLATFORM_QUESTIONS: list[tuple[str, str, str, tuple[str, ...], str | None]] = [
    ("hosted_zone_id", "--hosted-zone-id", "Route 53 hosted zone id",
     ("platform", "hosted_zone_id"), None),
    ("load_balancer_dns_name", "--load-balancer-dns-name", "Load balancer DNS name",
     ("platform", "load_balancer", "dns_name"), None),
    ("load_balancer_zone_id", "--load-balancer-zone-id", "Load balancer hosted zone id",
     ("platform", "load_balancer", "zone_id"), None),
    ("shared_database_host", "--shared-database-host", "Shared MySQL server host",
     ("platform", "shared_database", "host"), None),
    ("shared_database_admin_secret_arn", "--shared-database-admin-secret-arn",
     "Secrets Manager ARN of its admin password",
     ("platform", "shared_database", "admin_secret_arn"), None),
    ("kms_key_id", "--kms-key-id", "KMS key (id, ARN or alias/...)", ("platform", "kms_key_id"),
     None),
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, nargs="?", default=Path("."), metavar="DIR",
                        help="the new repository (default: the current directory)")
    parser.add_argument("--base-domain", help="the app's APP_URL_BASE, e.g. facturador.example.pe")
    parser.add_argument("--database-prefix", help="the app's PREFIX_DATABASE (default: tenancy)")
    parser.add_argument("--region", help="AWS region of the platform (default: us-east-1)")
    parser.add_argument("--max-accounts", type=int_type(), help="the app's LIMITE_RESELLER")
    parser.add_argument("--stack-reference", metavar="ORG/PROJECT/STACK",
                        help="a platform stack whose outputs give the platform's values")
    for attr, flag, prompt, _, _ in PLATFORM_QUESTIONS:
        parser.add_argument(flag, dest=attr, help=prompt)
    parser.add_argument("--shared-database-port", type=int_type(),  # range: the model's
                        help="(default: 3306)")
    parser.add_argument("--shared-database-admin-user", help="(default: admin)")
    parser.add_argument("--db-subnet-group", help="RDS subnet group for silo tenants")
    parser.add_argument("--security-group-id", action="append", default=[], metavar="SG",
                        help="security group of silo databases (repeatable)")
    parser.add_argument("--backend-url", help="Pulumi state backend: s3://BUCKET, file://DIR, "
                                              "https://api.pulumi.com ... (Pulumi.yaml backend)")
    parser.add_argument("--secrets-provider",
                        help="stack secrets provider: awskms://alias/NAME or passphrase; "
                             "`default` only with the Pulumi Cloud backend (https://)")
    parser.add_argument("--app-db-host", help="the app's system database host (its DB_HOST); "
                                              "reseller.yaml app.system_database")
    parser.add_argument("--app-db-port", type=int, help="its port (default: 3306)")
    parser.add_argument("--app-db-name", help="the app's DB_DATABASE")
    parser.add_argument("--app-db-user", help="a user that may create databases and users "
                                              "(password: the appDatabasePassword secret)")
    parser.add_argument("--app-command", metavar="COMMAND",
                        help="the command line that runs the app's artisan, e.g. "
                             "'ssh deploy@app php /var/www/artisan' (tenancy:migrate and "
                             "tenancy:db:seed follow it)")
    add_platform_flags(parser)
    parser.add_argument("--no-input", action="store_true", help="never prompt")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty directory (files of the same name are "
                             "replaced)")
    parser.add_argument("--upgrade", action="store_true",
                        help="in an existing repository: rewrite the tool's files for this "
                             "version and show what changed")
    parser.add_argument("--check", action="store_true",
                        help="with --upgrade: write nothing, exit 1 if a file would change")
    parser.epilog = exit_codes.epilog("init")


def run(args: argparse.Namespace) -> int:
    from provisioner.errors import UsageError

    if args.check and not args.upgrade:
        raise UsageError("--check goes with --upgrade")
    target: Path = args.dir
    if args.upgrade:
        return upgrade(target, check=args.check)
    if args.platform and (target / "reseller.yaml").is_file() and not args.force:
        return add_platform(target, args)
    return create(target, args)


# ---- a new repository -----------------------------------------------------------------------

def _answers_from_args(args: argparse.Namespace) -> InitAnswers:
    from provisioner.scaffold import InitAnswers

    return InitAnswers(
        base_domain=args.base_domain, database_prefix=args.database_prefix, region=args.region,
        max_accounts=args.max_accounts, stack_reference=args.stack_reference,
        hosted_zone_id=args.hosted_zone_id,
        load_balancer_dns_name=args.load_balancer_dns_name,
        load_balancer_zone_id=args.load_balancer_zone_id,
        shared_database_host=args.shared_database_host,
        shared_database_port=args.shared_database_port,
        shared_database_admin_user=args.shared_database_admin_user,
        shared_database_admin_secret_arn=args.shared_database_admin_secret_arn,
        kms_key_id=args.kms_key_id, db_subnet_group=args.db_subnet_group,
        security_group_ids=list(args.security_group_id),
        backend_url=args.backend_url, secrets_provider=args.secrets_provider,
        app_db_host=args.app_db_host, app_db_port=args.app_db_port, app_db_name=args.app_db_name,
        app_db_user=args.app_db_user, app_command=args.app_command)


def _occupied(target: Path) -> list[str]:
    """What is already in `target`; a fresh clone's .git does not count."""
    if not target.exists():
        return []
    if not target.is_dir():
        return [target.name]
    return sorted(p.name for p in target.iterdir() if p.name != ".git")


def create(target: Path, args: argparse.Namespace) -> int:

    from provisioner import newtenant as nt
    from provisioner import scaffold
    from provisioner.cli.output import print_findings
    from provisioner.errors import ProvisionerError, UsageError

    occupied = _occupied(target)
    if occupied and not target.is_dir():
        raise UsageError(f"{target}: not a directory")
    if occupied and not args.force:
        shown = ", ".join(occupied[:5]) + (" ..." if len(occupied) > 5 else "")
        raise ProvisionerError(f"{target} is not empty ({shown}); use --force to write into "
                               "it, or --upgrade to update a repository init made")
    answers = _answers_from_args(args)
    _check_flag_values(answers)
    if not args.no_input and nt.stdin_gives_answers():
        print(f"New tenant repository in {target} (Enter takes the [default]; Ctrl-C cancels)")
        ask(answers, nt.prompter())
    if not answers.base_domain:
        raise UsageError("missing --base-domain; give it as a flag, or run in a terminal "
                         "(or pipe the answers in) to be asked")
    _check_app_flags(answers)
    pin = scaffold.current_pin()
    requirement = pin.requirement
    platform = platform_answers(args, answers.region) if args.platform else None
    if platform is not None and not answers.stack_reference:
        answers.stack_reference = platform.stack_reference()
    files = scaffold.initial_files(answers, requirement)
    if platform is not None:
        files.update(scaffold.platform_files(platform, answers.backend_url))
        files[scaffold.MANIFEST] = scaffold.manifest_text(  # the platform's files too
            requirement, {rel: text for rel, text in files.items() if rel != scaffold.MANIFEST})
    links = scaffold.generated_links()
    for rel, to in links.items():
        if (target / rel).is_dir() and not (target / rel).is_symlink():
            raise ProvisionerError(f"{target / rel} is a directory; the tool's files need a "
                                   f"link there to {to} (move it away first)")
    findings = check_reseller(target / "reseller.yaml", files["reseller.yaml"])
    if findings:
        print_findings(findings)
        print(f"nothing written to {target}", file=sys.stderr)
        return 1
    for rel, text in files.items():
        write_file(target / rel, text)
    for rel, to in links.items():
        write_link(target / rel, to)
    print(f"wrote {len(files) + len(links)} files to {target} ({requirement})")
    if pin.problem:
        print(f"warning: requirements.txt pins {requirement}: {pin.problem}", file=sys.stderr)
    for gap in answers.platform_gaps():
        print(f"  to do: the platform's {gap} (reseller.yaml `platform:`), or a stack reference")
    if not answers.backend_url:
        print("  to do: the Pulumi state backend (Pulumi.yaml backend.url, or "
              "PULUMI_BACKEND_URL), e.g. s3://BUCKET")
    if not answers.secrets_provider:
        print("  to do: the secrets provider (PROVISIONER_SECRETS_PROVIDER), e.g. "
              "awskms://alias/NAME or passphrase")
    if not answers.app_db_host:
        print("  to do: reseller.yaml `app:` (the app's system database and command), "
              "before `provisioner onboard` or the first apply")
    from provisioner.safe_text import command_line

    print("next steps:")
    print(f"  {command_line('cd', str(target))}")
    print("  git init && git add -A && git commit -m 'tenant repository'   # if not a clone yet")
    print("  provisioner new                 # the first tenant")
    if answers.backend_url:
        print("  " + command_line("gh", "variable", "set", "PULUMI_BACKEND_URL", "--body",
                                  answers.backend_url))
    if answers.secrets_provider:
        print("  " + command_line("gh", "variable", "set", "PULUMI_SECRETS_PROVIDER", "--body",
                                  answers.secrets_provider))
    return 0


def _check_app_flags(answers: InitAnswers) -> None:
    """The `app:` section is all or nothing: a host needs the database, user and command."""
    from provisioner.errors import UsageError

    given = {"--app-db-port": answers.app_db_port, "--app-db-name": answers.app_db_name,
             "--app-db-user": answers.app_db_user, "--app-command": answers.app_command}
    if not answers.app_db_host:
        extra = [flag for flag, value in given.items() if value]
        if extra:
            raise UsageError(f"{', '.join(extra)} without --app-db-host")
        return
    missing = [flag for flag, value in given.items() if not value and flag != "--app-db-port"]
    if missing:
        raise UsageError(f"--app-db-host needs {', '.join(missing)} (reseller.yaml `app:`)")


def field_problem(loc: tuple[str, ...], value: Any) -> str | None:
    """What the reseller model says about one value, so prompts re-ask with validate's words
    (the model stays the one place the rules live)."""
    from pydantic import ValidationError

    from provisioner.model.models import ResellerSpec

    doc: dict[str, Any] = {"base_domain": "example.com"}
    node = doc
    for key in loc[:-1]:
        node = node.setdefault(key, {})
    node[loc[-1]] = value
    try:
        ResellerSpec.model_validate(doc)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            if tuple(err["loc"]) == loc:
                return str(err["msg"]).removeprefix("Value error, ")
    return None


def _url_problem(kind: str, value: str) -> str | None:
    from provisioner import scaffold

    pattern = (scaffold.BACKEND_PATTERN if kind == "backend"
               else scaffold.SECRETS_PROVIDER_PATTERN)
    if pattern.fullmatch(value):
        return None
    return ("a Pulumi backend URL: s3://, gs://, azblob://, file:// or https://"
            if kind == "backend" else
            "a Pulumi secrets provider: default, passphrase, awskms://, azurekeyvault://, "
            "gcpkms:// or hashivault://")


def _provider_problem(provider: str, backend_url: str | None) -> str | None:
    """What `doctor` and `apply` would refuse about this secrets provider with this backend."""
    if (problem := _url_problem("secrets", provider)):
        return f"expected {problem}"
    cloud = bool(backend_url and backend_url.startswith(("https://", "http://")))
    if provider == "default" and not cloud:
        return ("`default` is the Pulumi Cloud's own encryption; a self-managed backend needs "
                "awskms://alias/NAME (or another KMS) or passphrase")
    return None


def _check_flag_values(answers: InitAnswers) -> None:
    from provisioner.errors import UsageError

    if answers.backend_url and (problem := _url_problem("backend", answers.backend_url)):
        raise UsageError(f"--backend-url: expected {problem}")
    if answers.secrets_provider and answers.backend_url and (
            problem := _provider_problem(answers.secrets_provider, answers.backend_url)):
        raise UsageError(f"--secrets-provider: {problem}")
    if answers.secrets_provider and (problem := _url_problem("secrets",
                                                             answers.secrets_provider)):
        raise UsageError(f"--secrets-provider: expected {problem}")


def ask(a: InitAnswers, p: Prompter) -> None:
    """Prompt for what the flags left out; optional ones take Enter to leave them for later."""

    def checked(loc: tuple[str, ...]) -> Any:
        return lambda value: field_problem(loc, value)

    if a.base_domain is None:
        a.base_domain = p.ask("Base domain (the app's APP_URL_BASE)",
                              check=checked(("base_domain",)))
    if a.database_prefix is None:
        a.database_prefix = p.ask("Database prefix (PREFIX_DATABASE)", "tenancy",
                                  check=checked(("database_prefix",)))
    if a.region is None:
        a.region = p.ask("AWS region", "us-east-1", check=checked(("platform", "region")))
    explicit = any(getattr(a, attr) for attr, *_ in PLATFORM_QUESTIONS)
    if a.stack_reference is None and not explicit:
        a.stack_reference = p.ask(
            "Platform stack reference (org/project/stack; Enter to give the values one by one)",
            required=False, check=checked(("platform", "stack_reference"))) or None
    if not a.stack_reference:
        for attr, _, prompt, loc, default in PLATFORM_QUESTIONS:
            if getattr(a, attr) is None:
                setattr(a, attr, p.ask(f"{prompt} (Enter: later)", default, required=False,
                                       check=checked(loc)) or None)
    if a.backend_url is None:
        a.backend_url = p.ask(
            "Pulumi state backend URL (s3://BUCKET, file://DIR, https://api.pulumi.com)",
            check=lambda v: _url_problem("backend", v))
    if a.secrets_provider is None:
        cloud = a.backend_url.startswith(("https://", "http://"))
        a.secrets_provider = p.ask(
            "Secrets provider (awskms://alias/NAME, passphrase"
            + (", default: the Pulumi Cloud's)" if cloud else ")"),
            "default" if cloud else None,
            check=lambda v: _provider_problem(v, a.backend_url))
    if a.app_db_host is None:
        a.app_db_host = p.ask(
            "The app's system database host (its DB_HOST; Enter: later, needed to onboard)",
            required=False, check=checked(("app", "system_database", "host"))) or None
    if a.app_db_host:
        if a.app_db_port is None:
            a.app_db_port = int(p.ask("Its port", "3306", check=lambda v: None if (
                v.isdigit() and 1 <= int(v) <= 65535) else "a port number, 1 to 65535"))
        if a.app_db_name is None:
            a.app_db_name = p.ask("The app's database (DB_DATABASE)",
                                  check=checked(("app", "system_database", "database")))
        if a.app_db_user is None:
            a.app_db_user = p.ask("A user that creates tenant databases (hyn's system "
                                  "connection)", check=checked(("app", "system_database",
                                                               "user")))
        if a.app_command is None:
            a.app_command = p.ask("The command that runs the app's artisan (e.g. ssh "
                                  "deploy@app php /var/www/artisan)", check=_command_problem)


def _command_problem(value: str) -> str | None:
    import shlex

    try:
        return None if shlex.split(value) else "a command line"
    except ValueError as exc:
        return f"not a command line: {exc}"


def check_reseller(path: Path, text: str) -> list[Finding]:
    """The located errors `validate` would report for this reseller.yaml."""
    from pydantic import ValidationError

    from provisioner.errors import Finding
    from provisioner.model.models import ResellerSpec
    from provisioner.model.pydantic_findings import validation_findings
    from provisioner.model.yaml_source import Source, parse_mapping

    source = Source(path, text)
    data = parse_mapping(source)
    if isinstance(data, Finding):
        return [data]
    try:
        ResellerSpec.model_validate(data)
    except ValidationError as exc:
        return validation_findings(source, ResellerSpec, exc)
    return []


def write_file(path: Path, text: str) -> None:
    """Replace `path` whole (temporary file + rename): never a half-written file."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def write_link(path: Path, to: str) -> None:
    """Make `path` a symbolic link to `to` (relative), replacing a file or link of that name."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.is_file():
        path.unlink()
    os.symlink(to, path)


def _link_differs(path: Path, to: str) -> bool:
    import os

    return not path.is_symlink() or os.readlink(path) != to


# ---- --upgrade ------------------------------------------------------------------------------

def upgrade(target: Path, check: bool) -> int:
    """Rewrite the tool's files init wrote and nobody changed since (scaffold.is_generated);
    keep and name the others; refuse, before writing anything, a file it cannot read or a
    Pulumi.yaml it must keep the backend of and cannot parse."""
    import difflib

    from provisioner import scaffold
    from provisioner.errors import ProvisionerError

    pulumi_yaml = target / "Pulumi.yaml"
    if not pulumi_yaml.is_file() or not (target / "infra" / "__main__.py").is_file():
        raise ProvisionerError(f"{target}: no Pulumi.yaml and infra/__main__.py here; "
                               "--upgrade updates a repository `provisioner init` made")
    if (target / "provisioner" / "infra" / "program.py").is_file():
        raise ProvisionerError(f"{target} holds the tool's own source "
                               "(provisioner/infra/program.py); "
                               "--upgrade is for a repository `provisioner init` made")
    manifest_path = target / scaffold.MANIFEST
    manifest = None
    if manifest_path.exists():
        try:
            manifest = scaffold.read_manifest(_read(manifest_path, scaffold.MANIFEST))
        except ValueError as exc:
            raise ProvisionerError(f"{scaffold.MANIFEST}: cannot be read ({exc}); restore it "
                                   "from git, nothing was written") from None
    pin = scaffold.current_pin()
    requirement = pin.requirement
    if pin.problem:
        print(f"warning: the pin would be {requirement}: {pin.problem}", file=sys.stderr)
    current = {rel: _read(target / rel, rel) if (target / rel).exists() else None
               for rel in scaffold.generated_files(requirement, None)}
    kept = sorted(rel for rel, old in current.items()
                  if old is not None and not scaffold.is_generated(rel, old, manifest))
    backend = None
    if "Pulumi.yaml" not in kept:
        try:
            backend = scaffold.backend_of(current["Pulumi.yaml"] or "")
        except ValueError as exc:
            raise ProvisionerError(f"{pulumi_yaml}: {exc}; --upgrade keeps its backend: and "
                                   "must read it: fix the file, nothing was written") from None
    wanted = scaffold.generated_files(requirement, backend)
    platform_yaml = target / scaffold.PLATFORM_DIR / "Pulumi.yaml"
    if platform_yaml.is_file():  # `init --platform` made it: its tool files are upgraded too
        try:
            platform_backend = scaffold.backend_of(_read(platform_yaml, str(platform_yaml)))
        except ValueError as exc:
            raise ProvisionerError(f"{platform_yaml}: {exc}; fix the file, nothing was "
                                   "written") from None
        for rel, text in scaffold.platform_generated_files(platform_backend).items():
            old = _read(target / rel, rel) if (target / rel).exists() else None
            current[rel] = old
            if old is not None and not scaffold.is_generated(rel, old, manifest):
                kept.append(rel)
            wanted[rel] = text
    changed: list[tuple[str, str]] = []
    for rel, text in wanted.items():
        old = current.get(rel)
        if rel in kept or old == text:
            continue
        diff = difflib.unified_diff((old or "").splitlines(keepends=True),
                                    text.splitlines(keepends=True),
                                    f"a/{rel}" if old else "/dev/null", f"b/{rel}")
        sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in diff)
        changed.append((rel, text))
    links = {rel: to for rel, to in scaffold.generated_links().items()
             if _link_differs(target / rel, to)}
    for rel in links:
        if (target / rel).is_dir() and not (target / rel).is_symlink():
            raise ProvisionerError(f"{target / rel} is a directory; the tool's files need a "
                                   f"link there to {links[rel]} (move it away, then --upgrade)")
    for rel, to in links.items():
        print(f"link b/{rel} -> {to}")
    for rel in kept:
        print(f"kept {rel}: not as `provisioner init` wrote it (made or changed by hand); "
              "--upgrade leaves it alone", file=sys.stderr)
    ours = {rel: text for rel, text in wanted.items() if rel not in kept}
    manifest_new = scaffold.manifest_text(requirement, ours)
    stale_manifest = manifest is None or manifest != scaffold.read_manifest(manifest_new)
    if not changed and not links:
        if stale_manifest and not check:
            write_file(manifest_path, manifest_new)
        print(f"up to date: the tool's files are those of {requirement}")
        return 0
    if check:
        print(f"{len(changed) + len(links)} file(s) differ from {requirement}; run "
              "`provisioner init --upgrade` to update them", file=sys.stderr)
        return 1
    for rel, text in changed:
        write_file(target / rel, text)
    for rel, to in links.items():
        write_link(target / rel, to)
    write_file(manifest_path, manifest_new)
    print(f"updated {len(changed) + len(links)} file(s) for {requirement}: "
          + ", ".join([rel for rel, _ in changed] + list(links)))
    return 0


def _read(path: Path, rel: str) -> str:
    """A file --upgrade must judge, as text; refused (nothing written) when it cannot be."""
    from provisioner.errors import ProvisionerError

    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ProvisionerError(f"{rel}: cannot be read ({reason}); --upgrade judges every "
                               "file before it writes one: nothing was written") from None


# ---- --platform: the platform project ---------------------------------------------------------

def add_platform_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "platform project (--platform)",
        "platform/: the Pulumi project that creates what the tenant stacks read "
        "(`provisioner platform up ENV`); with --hosted-zone-id the zone is adopted")
    group.add_argument("--platform", action="store_true",
                       help="also write platform/ and its stack settings; in a repository "
                            "init made, write only those")
    group.add_argument("--platform-environment", default="production", metavar="ENV",
                       help="the platform stack (default: production)")
    group.add_argument("--github-repository", metavar="OWNER/REPO",
                       help="this repository on GitHub: the CI roles trust its environments")
    group.add_argument("--vpc-id", help="the VPC of the shared MySQL server")
    group.add_argument("--subnet-id", action="append", default=[], metavar="SUBNET",
                       help="a subnet of its subnet group (repeat, two zones or more)")
    group.add_argument("--database-client-security-group-id", action="append", default=[],
                       metavar="SG", help="may reach MySQL: the app's and the runners' "
                                          "security groups (repeatable)")


def platform_answers(args: argparse.Namespace, region: str | None) -> Any:
    """The platform stack's settings from the flags, each checked like the program checks it
    (provisioner/platform_stack/settings.py), before anything is written."""
    import re

    from provisioner import scaffold
    from provisioner.errors import UsageError
    from provisioner.platform_stack import settings

    checks: list[tuple[str, str, list[str]]] = [
        ("--platform-environment", "", [args.platform_environment]),
        ("--github-repository", settings.GITHUB_REPOSITORY, [args.github_repository or ""]),
        ("--vpc-id", settings.VPC_ID, [args.vpc_id or ""]),
        ("--subnet-id", settings.SUBNET_IDS, list(args.subnet_id)),
        ("--database-client-security-group-id", settings.CLIENT_SECURITY_GROUP_IDS,
         list(args.database_client_security_group_id)),
    ]
    for flag, key, values in checks:
        for value in values:
            pattern = (settings.SETTING_PATTERNS[key] if key
                       else settings.ENVIRONMENT_PATTERN.pattern)
            if value and not re.fullmatch(pattern, value):
                raise UsageError(f"{flag}: {value!r} is not valid")
    return scaffold.PlatformAnswers(
        environment=args.platform_environment, github_repository=args.github_repository,
        vpc_id=args.vpc_id, subnet_ids=list(args.subnet_id),
        client_security_group_ids=list(args.database_client_security_group_id),
        load_balancer_dns_name=args.load_balancer_dns_name,
        load_balancer_zone_id=args.load_balancer_zone_id, hosted_zone_id=args.hosted_zone_id,
        region=region or args.region)


def add_platform(target: Path, args: argparse.Namespace) -> int:
    """`init --platform` in a repository init made: the platform files only; an existing
    stack file is the reseller's and is never replaced."""
    from provisioner import scaffold
    from provisioner.errors import ProvisionerError

    platform = platform_answers(args, args.region)
    backend = None
    if (target / "Pulumi.yaml").is_file():
        backend = scaffold.backend_of((target / "Pulumi.yaml").read_text(encoding="utf-8"))
    files = scaffold.platform_files(platform, args.backend_url or backend)
    stack_file = f"{scaffold.PLATFORM_DIR}/Pulumi.{platform.environment}.yaml"
    if (target / stack_file).exists():
        raise ProvisionerError(f"{target / stack_file} exists; nothing written (it holds the "
                               "platform stack's settings: edit it, or choose another "
                               "--platform-environment)")
    for rel, text in files.items():
        write_file(target / rel, text)
    print(f"wrote {', '.join(files)} to {target}")
    print("next steps:")
    print(f"  provisioner platform explain {platform.environment}   # what it will create")
    print(f"  provisioner platform up {platform.environment}")
    print(f"  in reseller.yaml: platform: {{stack_reference: {platform.stack_reference()}}}")
    return 0
