#!/usr/bin/env bash
# Copy a tenant's data from its old database into the new, empty one after an acknowledged
# database move (plan tier, database_prefix or subdomain change; docs/data-safety.md).
#
#   scripts/copy-tenant-database.sh FROM.cnf OLD_DB TO.cnf NEW_DB
#
# FROM.cnf / TO.cnf: MySQL option files ([client] host, port, user, password, ssl-mode...),
# mode 600, so no password is on a command line. The old database is only read; the new one
# must have no tables (nothing is overwritten). Exit 0 copied, 1 refused or failed.
set -euo pipefail
if [ "$#" -ne 4 ]; then
  sed -n '5,6p' "$0" >&2
  exit 1
fi
from_cnf=$1 old_db=$2 to_cnf=$3 new_db=$4
for name in "$old_db" "$new_db"; do
  [[ "$name" =~ ^[a-z][a-z0-9_]{0,79}$ ]] || { echo "not a tenant database name: $name" >&2; exit 1; }
done
dump=$(command -v mysqldump || command -v mariadb-dump) || { echo "no mysqldump on PATH" >&2; exit 1; }
client=$(command -v mysql || command -v mariadb) || { echo "no mysql client on PATH" >&2; exit 1; }
tables=$("$client" --defaults-extra-file="$to_cnf" -N -B -e \
  "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '$new_db'")
if [ "$tables" != "0" ]; then
  echo "$new_db already has $tables table(s): nothing copied (the copy never overwrites)" >&2
  exit 1
fi
# one consistent snapshot of InnoDB tables; routines, triggers and events with them
"$dump" --defaults-extra-file="$from_cnf" --single-transaction --routines --triggers --events \
  --hex-blob --no-tablespaces --default-character-set=utf8mb4 "$old_db" \
  | "$client" --defaults-extra-file="$to_cnf" --default-character-set=utf8mb4 "$new_db"
echo "copied $old_db into $new_db"
