"""`provisioner verify TENANT`: check in AWS that the tenant's resources exist and match its
spec (DNS record, secrets, published config compared with secrets masked)."""

from __future__ import annotations

import argparse

from provisioner.cli import exit_codes


def configure(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_format

    parser.add_argument("tenant", metavar="TENANT", help="the tenant's subdomain")
    parser.add_argument("--endpoint-url", metavar="URL",
                        help="AWS endpoint (a moto server in local mode)")
    parser.add_argument("--hosted-zone-id", metavar="ID",
                        help="the hosted zone to look in (default: reseller.yaml's, or the "
                             "zone named like base_domain)")
    add_format(parser)
    parser.epilog = exit_codes.epilog("verify")


def run(args: argparse.Namespace) -> int:
    from provisioner.model.listing import prefetch

    prefetch(args.repo)  # the other tenants' stats, on another core while we import
    from provisioner.cli.output import print_json
    from provisioner.cli.stacks_common import spec_root
    from provisioner.errors import ProvisionerError
    from provisioner.model.index import load_one
    from provisioner.orchestrate.verify import verify_tenant
    from provisioner.redaction import from_environment
    from provisioner.render.renderer import renderer_for

    root = spec_root(args)
    repo = load_one(root, args.tenant)  # its own file, the reseller file, the rules between
    repo.raise_for_errors()
    tenant = repo.tenant(args.tenant)
    assert repo.reseller is not None and repo.catalog is not None  # validated
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    kwargs = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    region = repo.reseller.platform.region
    if region:
        kwargs["region_name"] = region
    redactor = from_environment()
    try:
        result = verify_tenant(
            tenant.spec, repo.reseller, repo.catalog, renderer_for(repo.reseller, root),
            route53=boto3.client("route53", **kwargs),
            secretsmanager=boto3.client("secretsmanager", **kwargs),
            hosted_zone_id=args.hosted_zone_id, redactor=redactor)
    except (BotoCoreError, ClientError) as exc:
        raise ProvisionerError(f"AWS call failed: {redactor.text(str(exc))}") from exc
    if args.format == "json":
        print_json(result.as_dict())
    else:
        for c in result.checks:
            print(f"{'ok  ' if c.ok else 'FAIL'} {c.what}" + (f": {c.message}" if c.message
                                                              else ""))
        if result.unverified:
            print(f"{len(result.unverified)} masked value(s) not checked (no stored secret to "
                  "compare with)")
        print(f"{tenant.spec.subdomain}: " + ("verified" if result.ok else
              f"{sum(not c.ok for c in result.checks)} mismatch(es)"))
    return 0 if result.ok else 1
