#!/usr/bin/env bash
# The main job on the bundled examples: set up, validate every spec, render each tenant's
# documents (secrets masked), and show what each tenant's stack declares. With the Pulumi CLI on
# PATH it then provisions the examples in local mode (file backend + moto); without it, it says
# what is missing for that part.
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

mysql_up() {  # pooled tenants need a MySQL 8 server on localhost in local mode
  .venv/bin/python - <<'PY'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", 3306), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

if command -v pulumi >/dev/null 2>&1; then
  if mysql_up; then
    echo "== apply --local (file backend in .pulumi-local/, AWS APIs served by moto)"
    $P --repo examples apply --local --all
  else
    echo "== apply --local: skipped. No MySQL server on 127.0.0.1:3306 for the pooled tenants;"
    echo "   start a MySQL 8 server as docs/data-safety.md ('Local mode') shows, then run again."
  fi
else
  echo "== apply --local: skipped. The Pulumi CLI is not installed on this machine"
  echo "   (https://www.pulumi.com/docs/install/); with it, this step provisions the examples"
  echo "   against a local moto server and Pulumi's file backend."
fi

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
