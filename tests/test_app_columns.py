"""Column by column, the values "Guardar" writes, on MariaDB with the app's schema.

One test per class of column where a literal reading of the spec would differ from the app:
the e-mail (as typed, lower-cased only in `clients`), the timestamps (wall-clock time in the
app's `timezone`, config/app.php), the numbers of `configurations.plan` (PHP's json_encode),
the document series (store()'s 11 rows, the same list bootstrap.json publishes). The expected
values are derived here from ClientController::store() and PHP's documented behaviour, not from
provisioner.app.account.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provisioner.app.account import php_number, plan_json
from provisioner.app.journal import JOURNAL
from tests.app_env import dict_rows, make_app_env

SYSTEM_TABLES = ("websites", "hostnames", "clients")
TENANT_TABLES = ("companies", "configurations", "establishments", "warehouses", "series",
                 "users", "module_user", "module_level_user")
# 03:30 UTC on 7 December is 22:30 on the 6th in Lima (UTC-5) and 04:30 on the 7th in Madrid
INSTANT = dt.datetime(2026, 12, 7, 3, 30, 0, tzinfo=dt.UTC)


@pytest.fixture
def env(mariadb_server, tmp_path):
    environment = make_app_env(mariadb_server, tmp_path)
    yield environment
    environment.drop()


def _set(env, tenant: str, old: str, new: str) -> None:
    path = env.repo / "tenants" / f"{tenant}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _set_timezone(env, zone: str) -> None:
    path = env.repo / "reseller.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^  commands:", f"  timezone: {zone}\n  commands:", text, count=1),
                    encoding="utf-8")




@pytest.mark.parametrize("typed", ["Ana.Perez@Example.PE", "Ñandú.Soto@Facturador.Example.pe"])
def test_email_as_typed_in_users_and_establishments_lower_case_only_in_clients(env,
                                                                               typed) -> None:
    _set(env, "pruebademo", "admin_email: demo@facturador.example.pe", f"admin_email: {typed}")
    repo = env.load()
    assert repo.tenant("pruebademo").spec.admin_email == typed  # validated, kept as typed
    env.onboarding("pruebademo").run()
    uuid = f"{repo.reseller.database_prefix}_pruebademo"
    # store(): $client->email = strtolower(email); establishments and users get it as typed.
    # strtolower changes ASCII letters only (PHP 8.2; the "C" locale before): Ñ and ú stay.
    php_lower = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in typed)
    assert env.query("SELECT email FROM clients") == [(php_lower,)]
    assert env.server.execute("SELECT email FROM establishments", database=uuid) == [(typed,)]
    assert env.server.execute("SELECT email FROM users", database=uuid) == [(typed,)]


def _timestamps(env, uuid: str) -> dict[str, object]:
    """Every non-NULL date/time value of the account's rows, by table.column."""
    out: dict[str, object] = {}
    for database, tables in ((env.system_db, (*SYSTEM_TABLES, JOURNAL)), (uuid, TENANT_TABLES)):
        columns = env.server.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE"
            " table_schema = %s AND data_type IN ('datetime', 'timestamp', 'date')",
            (database,))
        for table, column in columns:
            if table not in tables:
                continue
            for (value,) in env.server.execute(
                    f"SELECT `{column}` FROM `{table}` WHERE `{column}` IS NOT NULL",
                    database=database):
                out[f"{table}.{column}"] = value
    return out


@pytest.mark.parametrize(("zone", "wall_clock"), [
    (None, dt.datetime(2026, 12, 6, 22, 30)),  # the default: the app's America/Lima
    ("Europe/Madrid", dt.datetime(2026, 12, 7, 4, 30)),
])
def test_every_timestamp_is_the_apps_wall_clock_time(env, zone, wall_clock) -> None:
    if zone:
        _set_timezone(env, zone)
    repo = env.load()
    uuid = f"{repo.reseller.database_prefix}_pruebademo"
    [(before,)] = env.server.execute("SELECT @@GLOBAL.time_zone")
    env.server.execute("SET GLOBAL time_zone = '+00:00'")  # a server in UTC, as RDS is
    try:
        env.onboarding("pruebademo", clock=lambda: INSTANT).run()
    finally:
        env.server.execute(f"SET GLOBAL time_zone = '{before}'")
    stamps = _timestamps(env, uuid)
    # store(): websites/hostnames/clients (Eloquent timestamps), warehouses (now()),
    # configurations.date_time_start (date()), all in config('app.timezone')
    for column in ("websites.created_at", "hostnames.created_at", "clients.created_at",
                   "clients.updated_at", "warehouses.created_at",
                   "configurations.date_time_start"):
        assert column in stamps, column
    assert stamps == dict.fromkeys(stamps, wall_clock)


def test_the_dry_run_prints_the_same_wall_clock_time_never_now(env, monkeypatch) -> None:
    from provisioner.app import clock, plan

    monkeypatch.setattr(plan, "app_now", lambda zone: clock.app_now(zone, now=INSTANT))
    steps = plan.plan_onboarding(env.desired("pruebademo"), database_host="db", migrate=["m"],
                                 seed=["s"], put_certificate=None, certificate=False,
                                 limits=(1, 100), start_billing_cycle=True)
    text = "\n".join(s for step in steps for s in step.statements)
    assert "NOW()" not in text and "CURDATE()" not in text
    assert "'2026-12-06 22:30:00'" in text and "'2026-12-06'" in text


def _php_encode(value) -> str:
    """The test's own json_encode for the plan rows here: PHP writes a whole float without
    `.0` (no JSON_PRESERVE_ZERO_FRACTION), other floats in their shortest form."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_php_encode(str(k))}:{_php_encode(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, dt.datetime):
        return json.dumps(value.strftime("%Y-%m-%d %H:%M:%S"))
    return json.dumps(value, ensure_ascii=True).replace("/", "\\/")


def _plan_as_php(row: dict) -> str:
    docs = json.loads(row["plan_documents"])
    return _php_encode({k: ({str(i): d for i, d in enumerate(docs)} if k == "plan_documents"
                            else v) for k, v in row.items()})


def test_plan_json_numbers_as_php_writes_them_and_adopt_sees_no_difference(
        env, run_cli, tmp_path, monkeypatch) -> None:
    from tests.test_adopt import _point_at

    _point_at(env)
    env.query("INSERT INTO plans (name, pricing, limit_users, limit_documents, plan_documents,"
              " locked, created_at, updated_at) VALUES ('Medio', 29.9, 1, 100, '[1]', 0,"
              " '2026-01-02 03:04:05', '2026-01-02 03:04:05')")
    [medio] = dict_rows(env, "SELECT * FROM plans WHERE name = 'Medio'", env.system_db)
    assert '"pricing":29.9,' in plan_json(medio) and plan_json(medio) == _plan_as_php(medio)

    repo = env.load()
    spec = repo.tenant("pruebademo").spec
    plan_name = repo.catalog.plans[spec.plan].label or spec.plan
    [row] = dict_rows(env, "SELECT * FROM plans WHERE name = %s", env.system_db, (plan_name,))
    assert float(row["pricing"]).is_integer()  # a whole price: the case `99.0` got wrong
    env.onboarding("pruebademo").run()
    uuid = f"{repo.reseller.database_prefix}_pruebademo"
    [(written,)] = env.server.execute("SELECT plan FROM configurations", database=uuid)
    assert written == _plan_as_php(row)
    assert f'"pricing":{int(row["pricing"])},' in written

    # an account the form made: its configurations.plan is the app's own json_encode
    env.server.execute("UPDATE configurations SET plan = %s", (_plan_as_php(row),),
                       database=uuid)
    env.query(f"DROP TABLE {JOURNAL}")
    shutil.move(env.repo / "tenants", tmp_path / "originals")
    (env.repo / "tenants").mkdir()
    monkeypatch.setenv("PROVISIONER_APP_DB_PASSWORD", env.server.password)
    code, out, _ = run_cli("--repo", env.repo, "adopt", "--all", "--format", "json")
    report = json.loads(out)
    assert code == 0, report
    [adopted] = report["adopted"]
    assert adopted["differences"] == [] and adopted["error"] is None


def test_the_series_are_stores_eleven_and_bootstrap_lists_the_same(env) -> None:
    from provisioner.render.context import build_context
    from provisioner.render.documents import masked_secrets

    env.onboarding("pruebademo").run()
    repo = env.load()
    uuid = f"{repo.reseller.database_prefix}_pruebademo"
    # ClientController::store(), in its order, all on establishment 1
    store = [("01", "F001"), ("03", "B001"), ("07", "FC01"), ("07", "BC01"), ("08", "FD01"),
             ("08", "BD01"), ("20", "R001"), ("09", "T001"), ("40", "P001"), ("80", "NV01"),
             ("04", "L001")]
    rows = env.server.execute("SELECT establishment_id, document_type_id, number FROM series"
                              " ORDER BY id", database=uuid)
    assert rows == [(1, t, n) for t, n in store]
    spec = repo.tenant("pruebademo").spec
    context = build_context(spec, repo.reseller, repo.catalog, masked_secrets(spec),
                            db_host="db", db_port=3306)
    assert [(s["document_type_id"], s["number"]) for s in context["series"]] == store


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
@example(99.0)
@example(29.9)
@example(0.1)
@example(1e15)
@example(1e16)
@example(1e17)
@example(1e25)
@example(1e-4)
@example(1e-5)
@example(1.5e-5)
@example(5e-324)
@example(1.7976931348623157e308)
@example(123456789.125)
@example(5.245283901425298e16)
def test_php_number_reads_back_and_follows_php_gcvt(value: float) -> None:
    text = php_number(value)
    assert float(text) == value or (value == 0 and float(text) == 0)
    mantissa, e, exponent = text.lstrip("-").partition("e")
    magnitude = abs(value)
    if e:  # php_gcvt: an exponent only past 17 digits or beyond 3 leading zeros
        assert magnitude >= 1e17 or magnitude < 1e-4
        assert "." in mantissa and exponent[0] in "+-" and not exponent[1:].startswith("0")
    else:
        assert magnitude < 1e17 and (magnitude >= 1e-4 or magnitude == 0)
    if value.is_integer() and magnitude < 1e15:
        assert text == str(int(value)) or text == "-0"  # never `99.0`
    assert not math.isnan(float(text))


@pytest.mark.parametrize(("value", "php"), [
    (99.0, "99"), (29.9, "29.9"), (0.1, "0.1"), (1e25, "1.0e+25"), (1e-5, "1.0e-5"),
    (1.5e-7, "1.5e-7"), (1e16, "10000000000000000"), (1e17, "1.0e+17"), (0.0001, "0.0001"),
])
def test_php_number_known_values(value: float, php: str) -> None:
    # what `php -r 'echo json_encode(X);'` prints (PHP >= 7.1, serialize_precision -1)
    assert php_number(value) == php
