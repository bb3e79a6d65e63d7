#!/usr/bin/env bash
# The app's schema on a local MariaDB or MySQL, for trying `provisioner onboard` without the app
# (docs/try-locally.md). Needs python3 and the `mariadb` (or `mysql`) client; runs without the
# provisioner installed. Connection: the client's own options after `--`, e.g.
#   bash scripts/app-schema.sh facturador -- -h 127.0.0.1 -P 3306 -u root -p
# creates the system database `facturador` (dropped first if it exists) with the catalog rows
# and the plans of the default catalog. For each tenant, `tenancy:migrate` is stood in for by
#   python3 -m tests.app_schema tenant | mariadb ... DATABASE
# (what reseller.yaml's app.commands.migrate runs in docs/try-locally.md).
set -euo pipefail
cd "$(dirname "$0")/.."
database="${1:-facturador}"
shift || true
[ "${1:-}" = "--" ] && shift
client="$(command -v mariadb || command -v mysql || true)"
if [ -z "$client" ]; then
  echo "app-schema.sh: no mariadb or mysql client on PATH (Debian: apt-get install mariadb-client)" >&2
  exit 1
fi
case "$database" in
  *[!A-Za-z0-9_]*|"") echo "app-schema.sh: $database: letters, digits and _ only" >&2; exit 2 ;;
esac
"$client" "$@" -e "DROP DATABASE IF EXISTS \`$database\`; CREATE DATABASE \`$database\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
# the default catalog's plans (provisioner/model/catalog.py), by the names the app shows
python3 -m tests.app_schema system --plan Emprendedor:29:2:300 --plan Pyme:59:5:1500 \
  --plan Corporativo:199:0:0 | "$client" "$@" "$database"
echo "app-schema.sh: system database $database ready (tables, catalog rows, 4 plans)"
