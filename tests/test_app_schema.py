"""The schema fixture folded from the app's migrations builds on a real MariaDB server."""

from __future__ import annotations

from tests import app_schema
from tests.reference_files import APP_MIGRATIONS, require


def test_every_table_builds_with_its_catalog_rows(mariadb_server) -> None:
    app_schema.create_system_database(mariadb_server, "schema_check_system")
    mariadb_server.execute("DROP DATABASE IF EXISTS schema_check_tenant")
    mariadb_server.execute("CREATE DATABASE schema_check_tenant")
    conn = mariadb_server.connect("schema_check_tenant", autocommit=False)
    try:
        app_schema.apply(conn, app_schema.TENANT_TABLES)
    finally:
        conn.close()
    system = dict(mariadb_server.execute("SELECT value, id FROM modules",
                                         database="schema_check_system"))
    assert system["digemid"] == 19 and system["restaurant_app"] == 23  # the form's app presets
    levels = mariadb_server.execute(
        "SELECT id FROM module_levels WHERE value = 'configuration_company'",
        database="schema_check_system")
    assert levels == [(76,)]  # the top_menu_c_id store() writes
    tenant_levels = mariadb_server.execute(
        "SELECT id FROM module_levels WHERE value = 'configuration_company'",
        database="schema_check_tenant")
    assert tenant_levels == [(77,)]
    assert mariadb_server.execute("SELECT COUNT(*) FROM module_level_user WHERE user_id = 0",
                                  database="schema_check_tenant") == [(3,)]
    assert mariadb_server.execute("SELECT name FROM plans", database="schema_check_system") == [
        ("Ilimitado",)]
    for db in ("schema_check_system", "schema_check_tenant"):
        mariadb_server.execute(f"DROP DATABASE {db}")


# the system `users` table (the reseller's admins) is not touched by the form
NOT_INVOLVED = {"2014_10_12_000000_create_users_table", "2020_03_31_151819_add_phone_users",
                "2022_01_30_104230_update_token_to_users", "2022_05_07_165152_update_user_to_users"}


def test_each_table_names_migrations_that_exist_and_every_migration_is_folded() -> None:
    REFERENCE = require(APP_MIGRATIONS, "the app's migrations")
    named = {m for t in (*app_schema.SYSTEM_TABLES, *app_schema.TENANT_TABLES)
             for m in t.migrations}
    present = {f.stem for f in [*REFERENCE.glob("*.php"), *(REFERENCE / "tenant").glob("*.php")]}
    assert present - named == NOT_INVOLVED
    for table in (*app_schema.SYSTEM_TABLES, *app_schema.TENANT_TABLES):
        folder = REFERENCE if table.database == "system" else REFERENCE / "tenant"
        for name in table.migrations:
            assert (folder / f"{name}.php").is_file(), (table.name, name)


def test_the_script_for_a_local_server_loads_the_same_schema(mariadb_server) -> None:
    """`python -m tests.app_schema system|tenant` (scripts/app-schema.sh, docs/try-locally.md)
    prints what the tests apply, as statements the `mariadb` client runs."""
    import subprocess
    import sys

    from tests.reference_files import ROOT

    for part, tables in (("system", app_schema.SYSTEM_TABLES),
                         ("tenant", app_schema.TENANT_TABLES)):
        sql = subprocess.run([sys.executable, "-m", "tests.app_schema", part, "--plan",
                              "Pyme:59:5:1500"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
        db = f"script_{part}"
        mariadb_server.execute(f"DROP DATABASE IF EXISTS {db}")
        mariadb_server.execute(f"CREATE DATABASE {db}")
        conn = mariadb_server.connect(db, autocommit=False)
        try:
            with conn.cursor() as cur:
                for statement in filter(str.strip, sql.split(";\n")):
                    cur.execute(statement)
            conn.commit()
        finally:
            conn.close()
        made = {name for (name,) in mariadb_server.execute("SHOW TABLES", database=db)}
        assert made == {t.name for t in tables}
        if part == "system":
            assert mariadb_server.execute("SELECT name, pricing FROM plans ORDER BY id",
                                          database=db) == [("Ilimitado", 99.0), ("Pyme", 59.0)]
        mariadb_server.execute(f"DROP DATABASE {db}")
