"""What an adopted tenant's first apply relies on: its journal rows and its resources' import ids.

`mark_adopted` writes our journal row (`provisioner_accounts`) with every onboarding step done,
so the stack's onboarding steps find the account existing and write only what the spec changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.app.adopt_spec import Adoption
from provisioner.app.clock import app_now
from provisioner.app.connection import Server
from provisioner.app.journal import JOURNAL, ensure_journal
from provisioner.model.catalog import Catalog, DatabaseTier
from provisioner.model.models import TenantSpec
from provisioner.model.store_defaults import APP_TIMEZONE

# the steps an account made by the app's form has done, in our journal's words
ADOPTED_STEPS = ("website", "database", "migrate", "seed", "client", "tenant")


def mark_adopted(system: Server, adoptions: Sequence[Adoption],
                 timezone: str = APP_TIMEZONE) -> None:
    """Journal rows saying every onboarding step is done for these accounts (one transaction);
    a row already there is left as it is (re-running adopt is safe). Timestamps in the app's
    zone, like every row we write into its databases."""
    now = app_now(timezone)
    rows = [(a.uuid, a.website_id, a.subdomain, ",".join(ADOPTED_STEPS), now, now)
            for a in adoptions if a.spec is not None]
    if not rows:
        return
    conn = system.connect()
    try:
        with conn.cursor() as cur:
            ensure_journal(cur)
            cur.executemany(f"INSERT IGNORE INTO {JOURNAL} (uuid, website_id, stack, steps,"
                            " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s)",
                            rows)
        conn.commit()
    finally:
        conn.close()


# Import ids for the first `pulumi up` of an adopted tenant, checked against the providers the
# stack pins (provisioner/infra/tenant.py, provisioner/infra/database.py pass them as
# `ResourceOptions(import_=...)`):
# - pulumi-mysql bridges terraform-providers/terraform-provider-mysql v1.9.0 (pulumi/pulumi-mysql
#   .gitmodules and its `upstream` submodule, commit d264286 "v1.9.0"). There, mysql_database has
#   `Importer: schema.ImportStatePassthrough`, so its id is the database name; mysql_user and
#   mysql_grant have NO importer (resource_user.go / resource_grant.go at that commit), and the
#   bridge then refreshes a state holding only the id (pulumi-terraform-bridge pkg/tfbridge/
#   provider.go Read: the importer runs only `if !isRefresh && res.TF.Importer() != nil`):
#   ReadUser looks up `User=''` and ReadGrant fails with "user with host or a role is required",
#   so `import_` on them can only fail. The `user@host` and `user@host@database@*` formats of
#   petoju/terraform-provider-mysql (github.com/petoju/terraform-provider-mysql/issues/194
#   and /237) belong to a fork pulumi-mysql does not use.
#   An adopted pooled tenant therefore declares no mysql.User / mysql.Grant: hyn's user and grant
#   are kept by the onboarding `database` step (CREATE USER IF NOT EXISTS / GRANT, as hyn does),
#   which writes nothing while hyn's password logs in.
# - aws.rds.Instance (pulumi-aws v7 docs, "Import"): the DB instance identifier.
# - aws.route53.Record (pulumi-aws v7 docs, "Import"): `ZONEID_NAME_TYPE` joined by underscores.


def first_apply_imports(spec: TenantSpec, catalog: Catalog, ipv6: bool) -> list[str]:
    """What the stack of an adopted tenant imports at its first apply
    (provisioner/infra/tenant.py and provisioner/infra/database.py decide it the same way), for
    `plan`'s PR comment."""
    silo = catalog.plans[spec.plan].tier is DatabaseTier.SILO
    out = ["RDS instance" if silo else "database"]
    if spec.adopted is not None and spec.adopted.dns_record:
        out.append("DNS records (A, AAAA)" if ipv6 else "DNS record (A)")
    return out


def database_import_id(uuid: str) -> str:
    """pulumi-mysql Database: imported by its name."""
    return uuid


def dns_import_id(zone_id: str, fqdn: str, kind: str) -> str:
    """aws.route53.Record's import id: zone, name and type joined by underscores."""
    return f"{zone_id}_{fqdn}_{kind}"
