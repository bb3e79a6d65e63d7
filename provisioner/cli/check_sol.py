"""`provisioner check-sol`: do a tenant's SOL credentials work, before documents bounce?

Calls billService `getStatus` with a made-up ticket at the tenant's endpoint (SUNAT or its
OSE): SUNAT authenticates before looking the ticket up, so its answer classifies the
credentials without sending a document. The password never reaches stdout, stderr or logs.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from provisioner.cli import exit_codes

if TYPE_CHECKING:  # annotations only: the real imports happen in run(), keeping --help fast
    from provisioner.model.models import ResellerSpec, TenantSpec
    from provisioner.sunat.credentials import SolPassword
    from provisioner.sunat.profile import SoapProfile

PASSWORD_SOURCES = """\
Password, in order: $PROVISIONER_SOL_PASSWORD, `pulumi config get solPassword --stack
<subdomain>` (if pulumi is on PATH), Secrets Manager <prefix>/tenants/<subdomain>/sol."""

MAX_SECONDS = 3600.0  # timeouts and backoff
MAX_RETRIES = 100


def _number(kind: type, minimum: float, maximum: float) -> Any:
    from provisioner.numbers import parse_decimal, parse_int

    def parse(text: str) -> Any:
        try:
            value = parse_int(text) if kind is int else parse_decimal(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if value < minimum or value != value:  # value != value: NaN
            raise argparse.ArgumentTypeError(f"must be at least {minimum}: {text!r}")
        if value > maximum:  # inf or a huge value overflows the socket timeout or the backoff
            raise argparse.ArgumentTypeError(f"must be at most {maximum:g}: {text!r}")
        return value

    return parse


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_format

    parser.add_argument("tenant", metavar="TENANT", help="the tenant's subdomain or file")
    parser.add_argument("--endpoint", metavar="URL",
                        help="billService URL to call instead of the tenant's (https; plain "
                             "http only to a loopback address, for tests)")
    parser.add_argument("--timeout", type=_number(float, 0.001, MAX_SECONDS), default=30.0,
                        metavar="S",
                        help="seconds to wait for an answer (default: 30)")
    parser.add_argument("--connect-timeout", type=_number(float, 0.001, MAX_SECONDS), default=10.0,
                        metavar="S", help="seconds to wait for a connection (default: 10)")
    parser.add_argument("--retries", type=_number(int, 0, MAX_RETRIES), default=3, metavar="N",
                        help="extra attempts while SUNAT is unavailable (default: 3)")
    parser.add_argument("--backoff", type=_number(float, 0, MAX_SECONDS), default=2.0, metavar="S",
                        help="wait before the first retry, doubled for each next (default: 2)")
    parser.add_argument("--alternate-server", action="store_true",
                        help="SUNAT production: use the alternate server (www.sunat.gob.pe)")
    add_format(parser)
    import textwrap

    parser.epilog = (textwrap.fill(exit_codes.epilog("check-sol"), 92) + "\n"
                     + PASSWORD_SOURCES)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def check_endpoint(url: str) -> str:
    """https anywhere; http only to this machine, since the request carries the password."""
    from provisioner.errors import UsageError

    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise UsageError("--endpoint is not a valid URL") from None
    if "@" in parts.netloc:  # never echoed: the part before @ may be a password
        raise UsageError("--endpoint must not hold a user or password (user:password@host); "
                         "the SOL credentials come from the tenant and its secrets")
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if loopback:
            return url
        raise UsageError(f"--endpoint {url}: plain http is only allowed to a loopback address; "
                         "use https")
    raise UsageError(f"--endpoint {url!r} is not an http(s) URL")


def run(args: argparse.Namespace) -> int:
    from provisioner.model.listing import prefetch

    prefetch(args.repo)  # the other tenants' stats, on another core while we import
    from provisioner.model.display import display_path
    from provisioner.model.index import load_one
    from provisioner.model.models import SoapEnvironment, SoapSend
    from provisioner.sunat.classify import Verdict
    from provisioner.sunat.endpoints import Service
    from provisioner.sunat.profile import soap_profile

    repo = load_one(args.repo, args.tenant)
    if repo.reseller is None:  # its settings choose the server and name the secret
        from provisioner.errors import SpecErrors

        where = display_path(repo.reseller_path or repo.root)
        raise SpecErrors(sorted(f for f in repo.errors if f.file == where))
    spec = repo.tenant(args.tenant).spec
    report: dict[str, Any] = {"tenant": spec.subdomain, "send": spec.soap.send.value,
                              "environment": spec.soap.environment.value}
    if spec.soap.environment is SoapEnvironment.INTERNAL:
        report |= {"result": Verdict.NOT_APPLICABLE.value, "exit_code": 0,
                   "message": "nothing to check: the internal environment sends no documents "
                              "to SUNAT or an OSE, so it has no SOL credentials"}
        _print(args, report)
        return 0

    alternate = args.alternate_server or spec.uses_alternate_server(
        bool(repo.reseller and repo.reseller.sunat_alternate_server))
    profile = soap_profile(spec, alternate_server=alternate)
    if profile.username is None:
        report |= {"result": Verdict.NOT_APPLICABLE.value, "exit_code": 0,
                   "message": "nothing to check: an OSE in demo without a sol_user sends the "
                              "credentials the app pre-fills from its admin's configuration"}
        _print(args, report)
        return 0
    endpoint = args.endpoint or profile.endpoints[Service.INVOICES]
    if endpoint is None:  # the endpoint table always has billService; guard the type
        from provisioner.errors import ProvisionerError

        raise ProvisionerError(f"no billService endpoint for tenant {spec.subdomain!r}")
    endpoint = check_endpoint(endpoint)
    who = "the OSE" if spec.soap.send is SoapSend.OSE else "SUNAT"
    password = _password(spec, repo.reseller, profile)
    return _check(args, report, endpoint, profile.username, password, who)


def _password(spec: TenantSpec, reseller: ResellerSpec | None,
              profile: SoapProfile) -> SolPassword:
    from provisioner.sunat.credentials import resolve_sol_password

    return resolve_sol_password(spec, reseller, profile)


def _check(args: argparse.Namespace, report: dict[str, Any], endpoint: str, username: str,
           password: SolPassword, who: str) -> int:
    from provisioner.sunat.client import RetryPolicy, Timeouts, check_credentials, redacted_logging

    for warning in password.warnings:
        print(f"provisioner check-sol: warning: {warning}", file=sys.stderr)
    with redacted_logging(password.value) as redactor:
        result = check_credentials(
            endpoint, username, password.value,
            timeouts=Timeouts(connect=args.connect_timeout, read=args.timeout),
            retry=RetryPolicy(retries=args.retries, backoff=args.backoff), who=who)
        outcome = result.outcome
        report |= {
            "result": outcome.verdict.value,
            "exit_code": outcome.exit_code,
            # a server could echo anything back; what we print goes through the redactor
            "message": redactor.redact(outcome.sentence),
            "sunat_code": outcome.code,
            "http_status": outcome.http_status,
            "endpoint": endpoint,
            "username": username,
            "password_source": password.source,
            "attempts": result.attempts,
        }
        _print(args, report)
    return outcome.exit_code


def _print(args: argparse.Namespace, report: dict[str, Any]) -> None:
    from provisioner.cli.output import print_json

    if args.format == "json":
        print_json(report)
        return
    ok = report["exit_code"] == 0
    print(f"{report['tenant']}: {'OK' if ok else 'FAILED'}: {report['message']}",
          file=sys.stdout if ok else sys.stderr)
    if "endpoint" in report:
        print(f"  endpoint {report['endpoint']}, user {report['username']}, password from "
              f"{report['password_source']}, {report['attempts']} attempt(s)",
              file=sys.stdout if ok else sys.stderr)
