#!/usr/bin/env bash
# The main job on the bundled examples: set up, validate every spec, render each tenant's
# documents (secrets masked), and show what each tenant's stack declares; then, on the Pulumi
# engine setup.sh built (scripts/demo_engine.py), create the platform stack and provision every
# example tenant on it by stack reference: what exists, a second run of both that changes
# nothing, the tenants destroyed, then the platform taken down (what is kept, and why).
# DEMO_VERBOSE=1 prints every command's own output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
P=.venv/bin/provisioner
OUT=${OUT:-out}

echo "== validate"
$P --repo examples validate

echo "== render --all (secrets masked; one process, all or nothing) -> $OUT/<tenant>/"
$P --repo examples render --all --out "$OUT"
ls "$OUT"

echo "== explain --all (declared resources, mock run; not a diff against the cloud)"
$P --repo examples explain --all

echo "== onboard --dry-run (the rows the app's \"Guardar\" writes, as SQL; secrets masked; no database touched)"
$P --repo examples onboard nandu --dry-run

echo "== provision for real: the platform stack, then the example tenants on it, on the built"
echo "   Pulumi engine (file backend, moto's AWS APIs, a private MariaDB behind every RDS"
echo "   instance; stand-in provider plugins; docs/engine.md)"
.venv/bin/python scripts/demo_engine.py ${DEMO_VERBOSE:+-v}

echo "== init: a reseller's own repository in a temporary directory, then its first tenant"
RESELLER_REPO=$(mktemp -d)/acme
$P init "$RESELLER_REPO" --no-input --base-domain facturador.acme.pe --database-prefix acme \
  --region us-east-1 --stack-reference acme/platform/prod --backend-url s3://acme-pulumi-state \
  --secrets-provider awskms://alias/pulumi
P_ABS=$(cd "$(dirname "$P")" && pwd)/$(basename "$P")
(
  cd "$RESELLER_REPO"
  "$P_ABS" new --no-input --no-lookup --ruc 20131312955 --company-name "Aduanas del Perú S.A." \
    --subdomain aduanas --email ti@aduanas.example.pe --plan pyme --no-allow-production-switch \
    >/dev/null
  "$P_ABS" validate
  "$P_ABS" explain aduanas | sed -n 3p   # the stack, platform values from the mock platform stack
  "$P_ABS" init --upgrade
  ls -A
)
rm -rf "$(dirname "$RESELLER_REPO")"
