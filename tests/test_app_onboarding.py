"""Onboarding against a real MariaDB server: the rows equal what the app's store() writes.

The expected rows here are derived from the app's source independently of
`provisioner.app.account`: module ids from ClientController::tables()'s preset id lists, level
ids from the migrations (tests/app_schema.py), literal defaults from store().
"""

from __future__ import annotations

import hashlib
import json

import bcrypt
import pytest

from provisioner.app.connection import AppError
from provisioner.app.journal import JOURNAL
from provisioner.app.onboarding import STEPS, StepFailed
from provisioner.app.removal import remove_account
from tests import app_schema
from tests.app_env import (
    ADMIN_PASSWORD,
    APP_KEY,
    SMTP_PASSWORD,
    SOL_PASSWORD,
    dict_rows,
    make_app_env,
)

BASIC = {7, 1, 6, 17, 18, 5, 14}  # ClientController::tables() group_basic
LEVELS_BY_MODULE: dict[int, set[int]] = {}
LEVEL_ID = {}
for _id, _module, _value, _ in app_schema.SYSTEM_LEVELS:
    LEVELS_BY_MODULE.setdefault(_module, set()).add(_id)
    LEVEL_ID.setdefault((_module, _value), _id)


def _all_levels(modules: set[int]) -> set[int]:
    return {lv for m in modules for lv in LEVELS_BY_MODULE.get(m, set())}


def _expected_permissions(sub: str) -> tuple[set[int], set[int]]:
    if sub == "contaapi":  # integrator: store() ignores the chosen modules
        return {1, 3, 5}, set()
    if sub == "bodegaperez":  # basico - pos + inventory
        mods = (BASIC - {6}) | {8}
        return mods, _all_levels(mods)
    if sub == "ferreteriaandina":
        mods = {7, 1, 2, 8, 4, 17, 18, 5, 14, 3}
        return mods, _all_levels(mods - {3}) | {47, 48}
    if sub == "hotelsol":  # hotel preset + ecommerce, chosen levels for three modules
        mods = BASIC | {8, 4, 15, 10}
        return mods, (_all_levels(mods - {1, 6, 10}) | {1, 2, 3, 6, 8} | {15, 16} | {17, 18})
    if sub == "nandu":  # restaurante: basico + inventory, reports + restaurant_app (23)
        mods = BASIC | {8, 4, 23}
        return mods, _all_levels(mods)
    return BASIC, _all_levels(BASIC)  # pruebademo


EXAMPLES = ["bodegaperez", "contaapi", "ferreteriaandina", "hotelsol", "nandu", "pruebademo"]


@pytest.fixture
def env(mariadb_server, tmp_path):
    environment = make_app_env(mariadb_server, tmp_path)
    yield environment
    environment.drop()




def _dump(env, uuid) -> dict:
    """Every row of the account, system and tenant, to compare runs."""
    out = {}
    for table in ("websites", "hostnames", "clients", JOURNAL):
        out[table] = env.query(f"SELECT * FROM `{table}` ORDER BY 1")
    for table in ("companies", "configurations", "establishments", "warehouses", "series",
                  "users", "module_user", "module_level_user"):
        out[table] = env.server.execute(f"SELECT * FROM `{table}` ORDER BY id", database=uuid)
    return out


@pytest.mark.parametrize("sub", EXAMPLES)
def test_rows_equal_what_store_writes(env, sub) -> None:
    repo = env.load()
    spec = repo.tenant(sub).spec
    plan_def = repo.catalog.plans[spec.plan]
    result = env.onboarding(sub).run(STEPS)  # store() alone: the sync (update()) is day 2
    uuid = f"{repo.reseller.database_prefix}_{sub}"
    fqdn = f"{sub}.facturador.example.pe"
    website_id = result.website_id

    [(wid, managed)] = env.query(
        "SELECT id, managed_by_database_connection FROM websites WHERE uuid = %s", (uuid,))
    assert wid == website_id
    assert managed == (f"tenant_{sub}" if plan_def.tier.value == "silo" else None)
    assert env.query("SELECT fqdn FROM hostnames WHERE website_id = %s", (wid,)) == [(fqdn,)]
    plan = dict_rows(env, "SELECT * FROM plans WHERE name = %s", env.system_db,
                 (plan_def.label or plan_def.name,))[0]
    [client] = dict_rows(env, "SELECT c.* FROM clients c JOIN hostnames h ON h.id = c.hostname_id"
                     " WHERE h.website_id = %s", env.system_db, (wid,))
    assert (client["email"], client["name"], client["number"], client["plan_id"],
            client["locked_emission"]) == (spec.admin_email.lower(), spec.company_name, spec.ruc,
                                            plan["id"], int(spec.limit_emission))
    assert len(client["token"]) == 50 and client["token"].isalnum()
    assert client["start_billing_cycle"] is None  # pro5's store()

    [company] = dict_rows(env, "SELECT * FROM companies", uuid)
    soap_user = {"bodegaperez": f"{spec.ruc}FACTURA1", "contaapi": spec.ruc,
                 "ferreteriaandina": f"{spec.ruc}OSEUSER1", "hotelsol": f"{spec.ruc}HOTELSOL"
                 }.get(sub)
    assert {k: company[k] for k in ("identity_document_type_id", "number", "name", "trade_name",
                                    "soap_type_id", "soap_send_id", "soap_username",
                                    "soap_password", "soap_url", "certificate")} == {
        "identity_document_type_id": "6", "number": spec.ruc, "name": spec.company_name,
        "trade_name": spec.company_name, "soap_type_id": spec.soap.environment.app_code,
        "soap_send_id": spec.soap.send.app_code, "soap_username": soap_user,
        "soap_password": SOL_PASSWORD if soap_user else None, "soap_url": spec.soap.ose_url,
        "certificate": None}  # store()'s fallback: the admin's configurations.certificate

    [config] = dict_rows(env, "SELECT * FROM configurations", uuid)
    expected_plan = dict(plan)
    expected_plan["plan_documents"] = {str(i): v for i, v in
                                       enumerate(json.loads(plan["plan_documents"]))}
    expected_plan["pricing"] = float(plan["pricing"])
    for key in ("created_at", "updated_at"):
        expected_plan[key] = plan[key].strftime("%Y-%m-%d %H:%M:%S")
    assert json.loads(config["plan"]) == expected_plan
    assert list(json.loads(config["plan"])) == list(plan)  # the row's column order
    assert config["login"] == (
        '{"type":"image","image":"http:\\/\\/' + fqdn + '\\/images\\/fondo-5.svg",'
        '"position_form":"right","show_logo_in_form":false,"position_logo":"top-left",'
        '"show_socials":false,"facebook":null,"twitter":null,"instagram":null,"linkedin":null}')
    assert config["visual"] == ('{"bg":"white","header":"light","navbar":"fixed",'
                                '"sidebars":"light","sidebar_theme":"white"}')
    assert {k: config[k] for k in (
        "send_auto", "locked_emission", "locked_tenant", "locked_users", "limit_documents",
        "limit_users", "quantity_documents", "config_system_env", "skin_id", "top_menu_a_id",
        "top_menu_b_id", "top_menu_c_id", "is_pharmacy")} == {
        "send_auto": 1, "locked_emission": int(spec.limit_emission), "locked_tenant": 0,
        "locked_users": 0, "limit_documents": plan["limit_documents"],
        "limit_users": plan["limit_users"], "quantity_documents": 0,
        "config_system_env": int(spec.allow_production_switch), "skin_id": 2,
        "top_menu_a_id": 1, "top_menu_b_id": 15, "top_menu_c_id": 76, "is_pharmacy": 0}
    assert config["date_time_start"] is not None
    if spec.smtp is None:  # store() writes no SMTP
        assert (config["smtp_host"], config["smtp_port"], config["smtp_user"],
                config["smtp_password"], config["smtp_encryption"]) == (None, 0, None, None, None)
        assert (client["smtp_host"], client["smtp_port"]) == (None, 0)
    else:  # as update() writes it, on both rows
        enc = "" if spec.smtp.encryption == "none" else spec.smtp.encryption
        want = (spec.smtp.host, spec.smtp.port, spec.smtp.username, SMTP_PASSWORD, enc)
        for row in (config, client):
            assert (row["smtp_host"], row["smtp_port"], row["smtp_user"],
                    row["smtp_password"], row["smtp_encryption"]) == want

    [est] = dict_rows(env, "SELECT * FROM establishments", uuid)
    assert (est["id"], est["description"], est["country_id"], est["department_id"],
            est["province_id"], est["district_id"], est["address"], est["email"],
            est["telephone"], est["code"]) == (1, "Oficina Principal", "PE", "15", "1501",
                                               "150101", "-", spec.admin_email, "-", "0000")
    assert env.server.execute("SELECT establishment_id, description FROM warehouses",
                              database=uuid) == [(1, "Almacén Oficina Principal")]
    assert env.server.execute("SELECT establishment_id, document_type_id, number FROM series"
                              " ORDER BY id", database=uuid) == [
        (1, "01", "F001"), (1, "03", "B001"), (1, "07", "FC01"), (1, "07", "BC01"),
        (1, "08", "FD01"), (1, "08", "BD01"), (1, "20", "R001"), (1, "09", "T001"),
        (1, "40", "P001"), (1, "80", "NV01"), (1, "04", "L001")]
    [user] = dict_rows(env, "SELECT * FROM users", uuid)
    assert (user["id"], user["name"], user["email"], user["type"], user["locked"],
            user["permission_edit_cpe"], user["establishment_id"], user["api_token"]) == (
        1, "Administrador", spec.admin_email, spec.user_type, 1, 1, 1, client["token"])
    assert user["password"].startswith("$2y$")
    assert bcrypt.checkpw(ADMIN_PASSWORD.encode(), user["password"].replace("$2y$", "$2b$", 1)
                          .encode())
    modules, levels = _expected_permissions(sub)
    got_modules = env.server.execute("SELECT module_id FROM module_user WHERE user_id = 1",
                                     database=uuid)
    got_levels = env.server.execute("SELECT module_level_id FROM module_level_user"
                                    " WHERE user_id = 1", database=uuid)
    assert sorted(m for (m,) in got_modules) == sorted(modules)
    assert sorted(lv for (lv,) in got_levels) == sorted(levels)
    # the rows the tenant migration left for user 0 stay as they are
    assert env.server.execute("SELECT module_level_id FROM module_level_user WHERE user_id = 0"
                              " ORDER BY id", database=uuid) == [(77,), (78,), (79,)]


def test_the_tenant_user_signs_in_with_hyns_password(env) -> None:
    result = env.onboarding("nandu").run()
    uuid = result.uuid
    password = hashlib.md5(f"{APP_KEY}.{result.website_id}".encode()).hexdigest()
    conn = env.server.connect(uuid, user=uuid, password=password)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM companies")
            assert cur.fetchall() == (('Ñandú "El Gaucho" S.A.C.',),)
    finally:
        conn.close()


def test_a_second_run_changes_nothing(env) -> None:
    first = env.onboarding("hotelsol").run()
    before = _dump(env, first.uuid)
    commands = len(env.commands)
    again = env.onboarding("hotelsol").run()
    assert again.changes == []
    assert _dump(env, first.uuid) == before
    assert len(env.commands) == commands  # migrate and seed ran once


# the certificate step's crash: test_the_certificate_is_placed_once_and_named_in_the_company
@pytest.mark.parametrize("step", [s for s in STEPS if s != "certificate"])
def test_a_crash_after_any_step_is_finished_by_the_next_run(env, mariadb_server, tmp_path,
                                                            step) -> None:
    with pytest.raises(StepFailed) as failed:
        env.onboarding("bodegaperez", fail_after=step).run()
    assert step in str(failed.value)
    result = env.onboarding("bodegaperez").run()
    reference = make_app_env(mariadb_server, tmp_path)
    try:
        fresh = reference.onboarding("bodegaperez").run()
        mine, theirs = _dump(env, result.uuid), _dump(reference, fresh.uuid)
        for table in ("companies", "configurations", "users", "module_user",
                      "module_level_user", "series"):
            assert len(mine[table]) == len(theirs[table]), table
        assert len(mine["clients"]) == 1 and len(mine["websites"]) == 1
        assert env.commands.count(env.commands[0]) == 1  # migrate ran once overall
    finally:
        reference.drop()


def _edit(env, sub: str, old: str, new: str) -> None:
    path = env.repo / "tenants" / f"{sub}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_day_two_updates_what_update_and_the_lock_buttons_write(env) -> None:
    first = env.onboarding("pruebademo").run()
    uuid = first.uuid
    # the client's own data: another user with its modules, which no change may touch
    env.server.execute("INSERT INTO users (name, email, password, type) VALUES "
                       "('Vendedor', 'v@x.pe', 'x', 'seller')", database=uuid)
    env.server.execute("INSERT INTO module_user (module_id, user_id) VALUES (1, 2), (6, 2)",
                       database=uuid)
    before_other = env.server.execute("SELECT * FROM users WHERE id = 2", database=uuid)
    _edit(env, "pruebademo", "plan: emprendedor", "plan: pyme\nlimit_emission: true\n"
          "suspended: true\nlock_users: true\nallow_production_switch: false")
    _edit(env, "pruebademo", "preset: basico", "preset: farmacia")
    result = env.onboarding("pruebademo").run()
    what = " | ".join(str(c) for c in result.changes)
    assert "clients: locked_emission, locked_tenant, locked_users, plan_id" in what
    [(plan_id, pyme_limit)] = env.query("SELECT id, limit_documents FROM plans WHERE name='Pyme'")
    [config] = dict_rows(env, "SELECT * FROM configurations", uuid)
    assert (config["locked_emission"], config["locked_tenant"], config["locked_users"],
            config["config_system_env"], config["limit_documents"], config["is_pharmacy"]) == (
        1, 1, 1, 0, pyme_limit, 1)
    assert json.loads(config["plan"])["name"] == "Pyme"
    assert config["limit_users"] == 2  # update() does not touch limit_users
    assert env.query("SELECT plan_id, locked_tenant, locked_users FROM clients") == [
        (plan_id, 1, 1)]
    # update() maps the chosen system ids to the tenant's own ids by value
    mods = {m for (m,) in env.server.execute(
        "SELECT module_id FROM module_user WHERE user_id = 1", database=uuid)}
    assert mods == BASIC | {8, 4, 19}
    levels = {v for (v,) in env.server.execute(
        "SELECT l.value FROM module_level_user u JOIN module_levels l ON l.id ="
        " u.module_level_id WHERE u.user_id = 1", database=uuid)}
    assert {"digemid", "configuration_company", "inventory_item_extra_data"} <= levels
    assert env.server.execute("SELECT * FROM users WHERE id = 2", database=uuid) == before_other
    assert env.server.execute("SELECT module_id FROM module_user WHERE user_id = 2 ORDER BY 1",
                              database=uuid) == [(1,), (6,)]
    assert env.onboarding("pruebademo").run().changes == []


def test_soap_changes_reach_the_company_row(env) -> None:
    first = env.onboarding("pruebademo").run()
    _edit(env, "pruebademo", "send: sunat\n  environment: demo",
          "send: ose\n  environment: demo\n  sol_user: NUEVO1\n"
          "  ose_url: https://ose.example.pe/ol-ti-itcpe/billService")
    result = env.onboarding("pruebademo").run()
    assert [str(c) for c in result.changes] == [
        "sync: companies: soap_password, soap_send_id, soap_url, soap_username"]
    [company] = dict_rows(env, "SELECT * FROM companies", first.uuid)
    assert (company["soap_send_id"], company["soap_type_id"], company["soap_username"],
            company["soap_password"], company["soap_url"]) == (
        "02", "01", "20123456789NUEVO1", SOL_PASSWORD,
        "https://ose.example.pe/ol-ti-itcpe/billService")


def test_bad_system_state_gives_one_line_and_writes_nothing(env) -> None:
    env.query("DELETE FROM plans WHERE name = 'Emprendedor'")
    with pytest.raises(AppError) as err:
        env.onboarding("nandu").run()
    assert "plan 'Emprendedor' is not in the app's plans table" in str(err.value)
    assert "\n" not in str(err.value)
    assert env.query("SELECT COUNT(*) FROM websites") == [(0,)]
    assert env.query("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema ="
                     " DATABASE() AND table_name = %s", (JOURNAL,)) == [(0,)]


def test_a_foreign_website_on_the_subdomain_is_refused(env) -> None:
    uuid = env.desired("nandu").uuid
    env.query("INSERT INTO websites (uuid) VALUES (%s)", (uuid,))
    with pytest.raises(AppError, match="did not create"):
        env.onboarding("nandu").run()
    assert env.query("SELECT COUNT(*) FROM hostnames") == [(0,)]
    assert env.query("SELECT COUNT(*) FROM websites") == [(1,)]


def test_an_unreachable_server_is_one_line(env) -> None:
    from dataclasses import replace

    from tests.mariadb_server import free_port

    onboarding = env.onboarding("nandu")
    onboarding.system = replace(onboarding.system, port=free_port())
    with pytest.raises(AppError) as err:
        onboarding.run()
    assert "cannot connect to 127.0.0.1" in str(err.value) and "\n" not in str(err.value)


def test_a_failing_app_command_names_the_step_and_the_next_run_finishes(env) -> None:
    env.fail_commands = True
    with pytest.raises(StepFailed, match="step 'migrate' failed"):
        env.onboarding("nandu").run()
    env.fail_commands = False
    result = env.onboarding("nandu").run()
    assert [c.step for c in result.changes] == ["migrate", "seed", "client", "tenant"]


def test_destroy_removes_a_non_production_account_and_retains_production(env) -> None:
    demo = env.onboarding("nandu").run()
    prod = env.onboarding("bodegaperez").run()
    assert remove_account(env.system, prod.uuid, production=True) == []
    assert remove_account(env.system, demo.uuid, production=False)
    assert env.query("SELECT uuid FROM websites") == [(prod.uuid,)]
    assert env.query("SELECT number FROM clients") == [("10054148289",)]
    # hyn keeps the database unless TENANCY_DATABASE_AUTO_DELETE
    assert env.server.execute("SHOW DATABASES LIKE %s", (demo.uuid,)) == [(demo.uuid,)]
    assert remove_account(env.system, demo.uuid, production=False) == []  # already gone
    env.server.execute(f"DROP DATABASE `{demo.uuid}`")
    again = env.onboarding("nandu").run()  # the subdomain can be onboarded again
    assert again.website_id != demo.website_id


def test_destroy_drops_database_and_user_when_the_reseller_says_so(env) -> None:
    demo = env.onboarding("nandu").run()
    done = remove_account(env.system, demo.uuid, production=False, drop_database=True,
                          drop_user=True)
    assert done == ["website, hostname and client rows", f"database {demo.uuid}",
                    f"user {demo.uuid}"]
    assert env.server.execute("SHOW DATABASES LIKE %s", (demo.uuid,)) == []
    assert env.server.execute("SELECT 1 FROM mysql.user WHERE user = %s", (demo.uuid,)) == []


def test_the_certificate_is_placed_once_and_named_in_the_company(env) -> None:
    from provisioner.app.certificate import load_certificate
    from tests.test_app_certificate import NOW, _cert, _pfx

    key, cert = _cert(ruc="10054148289")
    loaded = load_certificate(_pfx(key, cert), "pfx-pass", "10054148289", now=NOW)
    name = loaded.file_name("10054148289")
    desired = env.desired("bodegaperez", certificate_name=name)
    with pytest.raises(StepFailed, match="certificate"):
        env.onboarding("bodegaperez", desired=desired, certificate_pem=loaded.pem,
                       fail_after="certificate").run()
    result = env.onboarding("bodegaperez", desired=desired, certificate_pem=loaded.pem).run()
    assert env.files == {name: loaded.pem}
    assert "certificate" not in [c.step for c in result.changes]  # placed before the crash
    [company] = dict_rows(env, "SELECT certificate FROM companies", result.uuid)
    assert company["certificate"] == "certificate_10054148289.pem"
    puts = [c for c in env.commands if c[0] == "put-certificate"]
    assert len(puts) == 1
    key2, cert2 = _cert(ruc="10054148289")  # a renewed certificate is placed again
    renewed = load_certificate(_pfx(key2, cert2), "pfx-pass", "10054148289", now=NOW)
    again = env.onboarding("bodegaperez", desired=desired, certificate_pem=renewed.pem).run()
    assert [str(c) for c in again.changes] == [f"certificate: file {name}"]
    assert env.files[name] == renewed.pem


def test_the_alternate_server_setting_is_written_at_creation_and_kept_after(env) -> None:
    """store() leaves configurations.sunat_alternate_server at 0; the spec's setting (else the
    reseller's) is written when the account is created. update() never writes it, so a later
    change is not written either: onboard says so instead."""
    path = env.repo / "tenants" / "pruebademo.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "sunat_alternate_server: true\n",
                    encoding="utf-8")
    first = env.onboarding("pruebademo").run()
    [config] = dict_rows(env, "SELECT sunat_alternate_server FROM configurations", first.uuid)
    assert config["sunat_alternate_server"] == 1
    assert first.warnings == []
    _edit(env, "pruebademo", "sunat_alternate_server: true", "sunat_alternate_server: false")
    again = env.onboarding("pruebademo").run()
    assert again.changes == []
    [config] = dict_rows(env, "SELECT sunat_alternate_server FROM configurations", first.uuid)
    assert config["sunat_alternate_server"] == 1
    [warning] = again.warnings
    assert warning.startswith("pruebademo: sunat_alternate_server differs from what the "
                              "account holds")
