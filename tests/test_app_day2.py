"""Day 2 on MariaDB: each kind of edit writes exactly what the app's edit dialog writes.

The expected rows are transcribed from pro5's `ClientController::update()` (and `lockedTenant`,
`lockedUser`, `lockedEmission`), not from `provisioner.app.day2_sync`: on every "Guardar"
update() writes `clients` (plan_id, smtp_host/port/user/encryption, smtp_password unless
empty, updated_at through Eloquent), `configurations` row 1 (plan = json_encode of the plans
row now, config_system_env, limit_documents of that row, the client's SMTP columns, its
password unless empty), `companies` row 1 (soap_type_id, soap_send_id, soap_username,
soap_password, soap_url, certificate), deletes user 1's module_user and module_level_user rows
and inserts the tenant ids whose `value` is that of the posted system ids, then sets
is_pharmacy on every configurations row from user 1's digemid module. Each test compares the
whole account (every table of the tenant database, the system rows) before and after, so a
column written that update() does not write fails, and so does a touched client-created row.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from provisioner.app.onboarding import STEPS
from tests.app_env import SMTP_PASSWORD, SOL_PASSWORD, dict_rows, make_app_env
from tests.test_app_onboarding import BASIC, _all_levels, _edit

RUC_DEMO = "20123456789"  # pruebademo's as it stands (an invented one: a demo may have it)
RUC = "20123456786"  # pruebademo's invented RUC with its check digit: production needs one


@pytest.fixture
def env(mariadb_server, tmp_path):
    environment = make_app_env(mariadb_server, tmp_path)
    yield environment
    environment.drop()




def _client_data(env, uuid: str) -> None:
    """What the client creates after onboarding: a user with its permissions, a series, an
    item and a document (stand-in tables: the schema fixture has only the form's tables)."""
    run = lambda sql: env.server.execute(sql, database=uuid)  # noqa: E731
    run("INSERT INTO users (name, email, password, type) VALUES ('Vendedor', 'v@x.pe', 'x',"
        " 'seller')")
    run("INSERT INTO module_user (module_id, user_id) VALUES (1, 2), (6, 2)")
    run("INSERT INTO module_level_user (module_level_id, user_id) VALUES (1, 2)")
    run("INSERT INTO series (establishment_id, document_type_id, number) VALUES (1, '01',"
        " 'F002')")
    run("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, description VARCHAR(100))")
    run("INSERT INTO items (description) VALUES ('Paracetamol 500 mg')")
    run("CREATE TABLE documents (id INT AUTO_INCREMENT PRIMARY KEY, series VARCHAR(4),"
        " number INT)")
    run("INSERT INTO documents (series, number) VALUES ('F001', 1)")


def _snapshot(env, uuid: str) -> dict[str, Any]:
    """Every row of the tenant database and the account's system rows, by table and id;
    permission rows as (user, id) sets, since update() deletes and inserts them."""
    out: dict[str, Any] = {}
    tables = [t for (t,) in env.server.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (uuid,))]
    for table in tables:
        rows = dict_rows(env, f"SELECT * FROM `{table}`", uuid)
        if table in ("module_user", "module_level_user"):
            col = "module_id" if table == "module_user" else "module_level_id"
            out[table] = {(r["user_id"], r[col]) for r in rows}
        else:
            out.update({(table, r["id"]): r for r in rows})
    for table in ("clients", "websites", "hostnames", "plans"):
        out.update({("system." + table, r["id"]): r
                    for r in dict_rows(env, f"SELECT * FROM `{table}`", env.system_db)})
    return out


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{(table, id, column): new value} for every changed column; permission sets whole."""
    out: dict[str, Any] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if isinstance(key, str):
            if old != new:
                out[key] = new
            continue
        if old is None or new is None:
            out[key] = new
            continue
        for col in old.keys() | new.keys():
            if old.get(col) != new.get(col):
                out[(*key, col)] = new.get(col)
    return out


def _without_clients_updated_at(diff: dict[str, Any]) -> dict[str, Any]:
    """Eloquent's save() touches updated_at only when a `clients` column changed (NOW() has
    whole seconds: a sync in the creation's second leaves the same value)."""
    touched = ("system.clients", 1, "updated_at") in diff
    others = any(k[0] == "system.clients" for k in diff if isinstance(k, tuple)
                 and k[-1] != "updated_at")
    assert others or not touched
    return {k: v for k, v in diff.items() if k != ("system.clients", 1, "updated_at")}


def _posted_permissions(env, uuid: str, modules: set[int], levels: set[int],
                        user: int = 1) -> tuple[set, set]:
    """update()'s mapping, as SQL: the tenant ids whose value is that of the posted system
    ids (modules and module_levels of the system database)."""
    def mapped(table: str, ids: set[int]) -> set[int]:
        if not ids:
            return set()
        marks = ", ".join(["%s"] * len(ids))
        values = [v for (v,) in env.query(f"SELECT value FROM `{table}` WHERE id IN ({marks})",
                                          tuple(ids))]
        marks = ", ".join(["%s"] * len(values))
        return {i for (i,) in env.server.execute(
            f"SELECT id FROM `{table}` WHERE value IN ({marks})", tuple(values), database=uuid)}
    return ({(user, m) for m in mapped("modules", modules)},
            {(user, lv) for lv in mapped("module_levels", levels)})


def _others(snap: dict[str, Any], table: str, user: int = 1) -> set:
    return {p for p in snap[table] if p[0] != user}


def _run(env, sub: str, **kw):
    return env.onboarding(sub, **kw).run()


def _second_run_changes_nothing(env, sub: str, uuid: str, **kw) -> None:
    before = _snapshot(env, uuid)
    assert _run(env, sub, **kw).changes == []
    assert _snapshot(env, uuid) == before


def _plan(env, name: str) -> dict[str, Any]:
    [row] = dict_rows(env, "SELECT * FROM plans WHERE name = %s", env.system_db, (name,))
    return row


def _php_plan_json(row: dict[str, Any]) -> dict[str, Any]:
    """json_encode($plan) as Plan's accessors give it (decoded, to compare values)."""
    out = dict(row)
    out["plan_documents"] = {str(i): v for i, v in enumerate(json.loads(row["plan_documents"]))}
    out["pricing"] = float(row["pricing"])
    for key in ("created_at", "updated_at"):
        out[key] = row[key].strftime("%Y-%m-%d %H:%M:%S")
    return out


# -- 1. modules and levels ------------------------------------------------------------------


def test_modules_and_levels_are_replaced_by_value_and_is_pharmacy_follows(env) -> None:
    uuid = env.onboarding("pruebademo").run().uuid
    _client_data(env, uuid)
    before = _snapshot(env, uuid)
    _edit(env, "pruebademo", "preset: basico", "preset: farmacia")
    _run(env, "pruebademo")
    after = _snapshot(env, uuid)
    posted = BASIC | {8, 4, 19}  # ClientController::tables() group_pharmacy
    modules, levels = _posted_permissions(env, uuid, posted, _all_levels(posted))
    assert _diff(before, after) == {
        "module_user": modules | _others(before, "module_user"),
        "module_level_user": levels | _others(before, "module_level_user"),
        ("configurations", 1, "is_pharmacy"): 1}
    # the edit dialog's levels map by value: configuration_company is the tenant's own id
    assert ("configuration_company",) in env.server.execute(
        "SELECT l.value FROM module_level_user u JOIN module_levels l ON l.id ="
        " u.module_level_id WHERE u.user_id = 1", database=uuid)
    _second_run_changes_nothing(env, "pruebademo", uuid)
    _edit(env, "pruebademo", "preset: farmacia", "preset: basico")  # and back: 0 again
    _run(env, "pruebademo")
    assert dict_rows(env, "SELECT is_pharmacy FROM configurations", uuid) == [
        {"is_pharmacy": 0}]


# -- 2. plan and document limit -------------------------------------------------------------


def test_a_plan_change_writes_plan_json_limit_documents_and_recomputes_is_pharmacy(env) -> None:
    _edit(env, "pruebademo", "preset: basico", "preset: farmacia")
    uuid = env.onboarding("pruebademo").run(STEPS).uuid  # store() alone: is_pharmacy 0
    _client_data(env, uuid)
    before = _snapshot(env, uuid)
    assert before[("configurations", 1)]["is_pharmacy"] == 0
    _edit(env, "pruebademo", "plan: emprendedor", "plan: pyme")
    result = _run(env, "pruebademo")
    pyme = _plan(env, "Pyme")
    after = _snapshot(env, uuid)
    diff = _without_clients_updated_at(_diff(before, after))
    plan_json = json.loads(diff.pop(("configurations", 1, "plan")))
    assert plan_json == _php_plan_json(pyme) and list(plan_json) == list(pyme)
    assert diff == {("system.clients", 1, "plan_id"): pyme["id"],
                    ("configurations", 1, "limit_documents"): pyme["limit_documents"],
                    ("configurations", 1, "is_pharmacy"): 1}  # not limit_users: update()
    assert "sync: configurations: is_pharmacy = 1" in [str(c) for c in result.changes]
    assert result.warnings == [  # emprendedor's 2 users stay: update() never writes them
        f"pruebademo: plan 'Pyme' allows {pyme['limit_users']} users, but "
        "configurations.limit_users stays 2 (written only when the account is created; "
        "update() copies the plan's limit_documents and JSON, not limit_users): the tenant's "
        "user limit is the creation plan's until the account is re-created"]
    _second_run_changes_nothing(env, "pruebademo", uuid)
    # the plans row edited in the app: the next save copies it again, with no spec change
    env.query("UPDATE plans SET limit_documents = 2500 WHERE name = 'Pyme'")
    before = _snapshot(env, uuid)
    _run(env, "pruebademo")
    diff = _diff(before, _snapshot(env, uuid))
    assert json.loads(diff.pop(("configurations", 1, "plan")))["limit_documents"] == 2500
    assert diff == {("configurations", 1, "limit_documents"): 2500}
    _second_run_changes_nothing(env, "pruebademo", uuid)


# -- 3. demo to production, with a SOL user and a certificate --------------------------------


def test_demo_to_production_writes_the_soap_columns_and_the_certificate_name(env) -> None:
    _edit(env, "pruebademo", 'ruc: "20123456789"', f'ruc: "{RUC}"')
    uuid = env.onboarding("pruebademo").run().uuid
    _client_data(env, uuid)
    before = _snapshot(env, uuid)
    _edit(env, "pruebademo", "environment: demo", "environment: production\n"
          "  sol_user: FACTURA1\ncertificate: true\nacknowledge_demo_history: true")
    name = f"certificate_{RUC}.pem"
    desired = env.desired("pruebademo", certificate_name=name)
    pem = b"-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n"
    _run(env, "pruebademo", desired=desired, certificate_pem=pem)
    assert _diff(before, _snapshot(env, uuid)) == {
        ("companies", 1, "soap_type_id"): "02",
        ("companies", 1, "soap_username"): f"{RUC}FACTURA1",
        ("companies", 1, "soap_password"): SOL_PASSWORD,
        ("companies", 1, "certificate"): name}
    assert env.files == {name: pem}
    _second_run_changes_nothing(env, "pruebademo", uuid, desired=desired, certificate_pem=pem)


# -- 4. SUNAT to an OSE ---------------------------------------------------------------------


def test_sunat_to_ose_writes_send_url_and_the_oses_username(env) -> None:
    _edit(env, "pruebademo", 'ruc: "20123456789"', f'ruc: "{RUC}"')
    uuid = env.onboarding("pruebademo").run().uuid
    _client_data(env, uuid)
    before = _snapshot(env, uuid)
    url = "https://ose.example.pe/ol-ti-itcpe/billService"
    _edit(env, "pruebademo", "send: sunat\n  environment: demo",
          f"send: ose\n  environment: production\n  sol_user: OSEUSER1\n  ose_url: {url}\n"
          "acknowledge_demo_history: true")
    _run(env, "pruebademo")
    assert _diff(before, _snapshot(env, uuid)) == {
        ("companies", 1, "soap_send_id"): "02", ("companies", 1, "soap_type_id"): "02",
        ("companies", 1, "soap_username"): f"{RUC}OSEUSER1",
        ("companies", 1, "soap_password"): SOL_PASSWORD, ("companies", 1, "soap_url"): url}
    _second_run_changes_nothing(env, "pruebademo", uuid)


def test_an_ose_in_demo_without_a_user_keeps_the_credentials_the_row_holds(env) -> None:
    """form.vue hides the user fields for OSE + demo unless "Ingresar Usuario" is ticked: at
    creation it posts what it pre-filled from the admin's configuration; on edit the form holds
    the company row (`record()`), so update() writes the row's own values back."""
    created = env.desired("pruebademo", system_soap=("ADMINSOAP", "admin-soap-pass"))
    uuid = env.onboarding("pruebademo", desired=created).run().uuid
    before = _snapshot(env, uuid)
    assert (before[("companies", 1)]["soap_username"],
            before[("companies", 1)]["soap_password"]) == ("ADMINSOAP", "admin-soap-pass")
    url = "https://demo-ose.nubefact.com/ol-ti-itcpe/billService"
    _edit(env, "pruebademo", "send: sunat", f"send: ose\n  ose_url: {url}")
    # the admin's configuration changed since: hidden fields still post the row's values
    desired = env.desired("pruebademo", system_soap=("OTHERADMIN", "other-pass"))
    _run(env, "pruebademo", desired=desired)
    assert _diff(before, _snapshot(env, uuid)) == {
        ("companies", 1, "soap_send_id"): "02", ("companies", 1, "soap_url"): url}
    _second_run_changes_nothing(env, "pruebademo", uuid, desired=desired)
    # "Ingresar Usuario" ticked: the user is posted, with its password
    _edit(env, "pruebademo", f"ose_url: {url}", f"ose_url: {url}\n  sol_user: DEMOUSER")
    before = _snapshot(env, uuid)
    _run(env, "pruebademo")
    assert _diff(before, _snapshot(env, uuid)) == {
        ("companies", 1, "soap_username"): f"{RUC_DEMO}DEMOUSER",
        ("companies", 1, "soap_password"): SOL_PASSWORD}


def test_fields_the_dialog_hides_keep_what_the_company_row_holds(env) -> None:
    """The client's own settings (its certificate, a SOAP user on a SUNAT demo, an old OSE
    URL) stay: on edit the dialog posts the row's values for the fields it hides."""
    uuid = env.onboarding("pruebademo").run().uuid
    env.server.execute("UPDATE companies SET certificate = 'certificate_propio.pem',"
                       " soap_username = 'PROPIO', soap_password = 'propio',"
                       " soap_url = 'https://ose.antigua.pe/billService'", database=uuid)
    before = _snapshot(env, uuid)
    _edit(env, "pruebademo", "plan: emprendedor", "plan: pyme")
    _run(env, "pruebademo")
    assert not [k for k in _diff(before, _snapshot(env, uuid)) if k[0] == "companies"]


# -- 5. SMTP ----------------------------------------------------------------------------------


def test_smtp_is_written_to_both_rows_and_an_absent_password_keeps_the_stored_one(env) -> None:
    uuid = env.onboarding("pruebademo").run().uuid
    _client_data(env, uuid)
    before = _snapshot(env, uuid)
    _edit(env, "pruebademo", "plan: emprendedor", "plan: emprendedor\nsmtp:\n"
          "  host: smtp.example.pe\n  port: 587\n  username: avisos@example.pe\n"
          "  encryption: tls")
    _run(env, "pruebademo")
    smtp = {"smtp_host": "smtp.example.pe", "smtp_port": 587, "smtp_user": "avisos@example.pe",
            "smtp_encryption": "tls", "smtp_password": SMTP_PASSWORD}
    assert _without_clients_updated_at(_diff(before, _snapshot(env, uuid))) == {
        **{("system.clients", 1, k): v for k, v in smtp.items()},
        **{("configurations", 1, k): v for k, v in smtp.items()}}
    _second_run_changes_nothing(env, "pruebademo", uuid)
    # no password this time: update() keeps the client's and copies it into configurations
    env.server.execute("UPDATE configurations SET smtp_password = NULL", database=uuid)
    desired = env.desired("pruebademo", smtp_password=None)
    before = _snapshot(env, uuid)
    _run(env, "pruebademo", desired=desired)
    assert _diff(before, _snapshot(env, uuid)) == {
        ("configurations", 1, "smtp_password"): SMTP_PASSWORD}
    _second_run_changes_nothing(env, "pruebademo", uuid, desired=desired)


# -- 6. the three locks ---------------------------------------------------------------------


def test_the_three_lock_buttons_write_clients_and_configuration_row_1(env) -> None:
    uuid = env.onboarding("pruebademo").run().uuid
    _client_data(env, uuid)
    before = _snapshot(env, uuid)
    _edit(env, "pruebademo", "plan: emprendedor", "plan: emprendedor\nlimit_emission: true\n"
          "suspended: true\nlock_users: true")
    _run(env, "pruebademo")
    locks = ("locked_emission", "locked_tenant", "locked_users")
    assert _without_clients_updated_at(_diff(before, _snapshot(env, uuid))) == {
        **{("system.clients", 1, k): 1 for k in locks},
        **{("configurations", 1, k): 1 for k in locks}}
    _second_run_changes_nothing(env, "pruebademo", uuid)


# -- an integrator's modules ----------------------------------------------------------------


def test_an_integrators_modules_are_store_s_then_what_the_edit_dialog_posts(env) -> None:
    """store() forces modules 1, 3, 5 and no levels for an integrator; update() writes the
    posted modules whatever the type: the sync posts the spec's."""
    uuid = env.onboarding("contaapi").run(STEPS).uuid
    before = _snapshot(env, uuid)
    assert {m for u, m in before["module_user"] if u == 1} == {1, 3, 5}
    assert {lv for u, lv in before["module_level_user"] if u == 1} == set()
    _run(env, "contaapi")  # modules include [documents, reports], documents: [list_document]
    modules, levels = _posted_permissions(env, uuid, {1, 4}, {2} | _all_levels({4}))
    assert _diff(before, _snapshot(env, uuid)) == {
        "module_user": modules | _others(before, "module_user"),
        "module_level_user": levels | _others(before, "module_level_user")}
    _second_run_changes_nothing(env, "contaapi", uuid)


# -- what the app keeps from creation -------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "field"), [
    ("company_name: Empresa de Prueba S.A.C.", "company_name: Empresa Renombrada S.A.C.",
     "company_name"),
    ('ruc: "20123456789"', 'ruc: "20987654321"', "ruc"),
    ("admin_email: demo@facturador.example.pe", "admin_email: otro@facturador.example.pe",
     "admin_email"),
    ("plan: emprendedor", "plan: emprendedor\nsunat_alternate_server: true",
     "sunat_alternate_server"),
])
def test_a_field_the_app_keeps_from_creation_is_not_written_and_is_said(env, old, new,
                                                                         field) -> None:
    uuid = env.onboarding("pruebademo").run().uuid
    _client_data(env, uuid)
    before = _snapshot(env, uuid)
    _edit(env, "pruebademo", old, new)
    result = _run(env, "pruebademo")
    assert result.changes == []
    assert _snapshot(env, uuid) == before
    assert [w.split(" differs", 1)[0] for w in result.warnings] == [f"pruebademo: {field}"]
    assert "only when the account is created" in result.warnings[0]


@pytest.mark.parametrize(("sub", "edit"), [
    ("contaapi", None), ("pruebademo", ("preset: basico", "preset: farmacia")),
    ("hotelsol", None)])
def test_the_dry_runs_sync_step_writes_what_the_first_sync_writes(env, mariadb_server, tmp_path,
                                                                  sub, edit) -> None:
    """`onboard --dry-run` prints a `sync` step after store()'s rows when the first sync
    changes them (an integrator's modules, a pharmacy's flag): run on store()'s rows, its
    statements leave what the real sync leaves, and nothing when it prints none."""
    from provisioner.app.day2_sync import first_sync_plan

    other = make_app_env(mariadb_server, tmp_path)
    try:
        for e in (env, other):
            if edit:
                _edit(e, sub, *edit)
        planned_uuid = env.onboarding(sub).run(STEPS).uuid
        statements = first_sync_plan(env.desired(sub))
        assert bool(statements) == (sub != "hotelsol")
        for sql, params in statements:
            env.server.execute(sql, params, database=planned_uuid)
        synced_uuid = other.onboarding(sub).run().uuid
        for table, column in (("module_user", "module_id"),
                              ("module_level_user", "module_level_id")):
            sql = f"SELECT user_id, {column} FROM {table} ORDER BY 1, 2"
            assert env.server.execute(sql, database=planned_uuid) == \
                other.server.execute(sql, database=synced_uuid), table
        sql = "SELECT is_pharmacy FROM configurations"
        assert env.server.execute(sql, database=planned_uuid) == \
            other.server.execute(sql, database=synced_uuid)
    finally:
        other.drop()
