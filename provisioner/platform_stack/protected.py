"""The platform's resources that tenants and CI depend on: each is `protect`ed and
`retain_on_delete`, and `provisioner platform up` refuses a change that would replace or
delete one, with the way to do it by hand. Names only (no Pulumi import), for the
orchestrator."""

from __future__ import annotations

from typing import Final

from provisioner.doc_links import doc_url

# logical name -> what to do instead of letting the engine replace it
PROTECTED: Final[dict[str, str]] = {
    "hosted-zone": (
        "a new zone gets new name servers and every tenant's records are lost with the old "
        "one: create the new zone by hand, copy the records, change the delegation at the "
        "registrar, then adopt it with `pulumi config set hostedZoneId ID` and "
        "`pulumi state delete` the old one"),
    "state-key": (
        "the Pulumi state and every stack's secrets are encrypted with it: create the new key, "
        "run `pulumi stack change-secrets-provider` on every stack, then retire the old key"),
    "tenant-secrets-key": (
        "every tenant secret and RDS instance is encrypted with it: keep the key; to rotate, "
        "KMS rotates its material in place (enable_key_rotation is on)"),
    "state-bucket": (
        "it holds every stack's state: create the new bucket by hand, copy the objects "
        "(`aws s3 sync`), point PULUMI_BACKEND_URL at it, then `pulumi state delete` the old"),
    "shared-mysql": (
        "every pooled tenant's database lives on it: restore a snapshot into a new instance "
        f"by hand, move the tenants ({doc_url('docs/data-safety.md')}), then adopt the new "
        "one with "
        "`pulumi import`"),
    "shared-mysql-admin-secret": (
        "the tenant stacks read the admin password from this ARN: update its value instead "
        "of replacing it"),
}
