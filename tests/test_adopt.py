"""Adopting accounts the app made itself, on a real MariaDB server with the app's schema.

The accounts are made the way store() makes them (the onboarding, then our journal row is
removed: the app's form keeps no journal), in every shape the examples cover: admin and
integrator, SUNAT and OSE, demo and production, presets and chosen levels, SMTP, a silo plan;
one more with every lock on. Then `provisioner adopt` writes the specs from the databases.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator

import pytest

from provisioner.app.adopt_kept import kept_secrets
from provisioner.app.journal import JOURNAL
from provisioner.model.repository import load_repository
from provisioner.orchestrate.local import client, moto_server
from tests.app_env import SMTP_PASSWORD, SOL_PASSWORD, make_app_env

EXAMPLES = ["bodegaperez", "contaapi", "ferreteriaandina", "hotelsol", "nandu", "pruebademo"]
TENANT_TABLES = ("companies", "configurations", "establishments", "warehouses", "series",
                 "users", "module_user", "module_level_user")


def _point_at(env) -> None:
    """reseller.yaml's app.system_database -> the test server."""
    path = env.repo / "reseller.yaml"
    text = path.read_text(encoding="utf-8")
    block = (f"  system_database:\n    host: {env.server.host}\n    port: {env.server.port}\n"
             f"    database: {env.system_db}\n    user: {env.server.user}\n")
    text = re.sub(r"  system_database:\n(    .*\n)+", block, text, count=1)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def aws(moto: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """adopt looks for secrets kept by a destroy in Secrets Manager: moto's server, as boto3
    finds it (AWS_ENDPOINT_URL), with the keys an operator's profile would give; emptied after
    each test."""
    for name, value in {"AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    yield moto
    sm = client("secretsmanager", moto)
    for entry in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]:
        sm.delete_secret(SecretId=entry["ARN"], ForceDeleteWithoutRecovery=True)


@pytest.fixture
def app(mariadb_server, tmp_path, monkeypatch):
    """An app whose accounts were made by its form: onboarded, then our journal dropped, and
    the tenant files moved away (the reseller has only the app)."""
    env = make_app_env(mariadb_server, tmp_path)
    _point_at(env)
    locked = env.repo / "tenants" / "cerrado.yaml"
    locked.write_text((env.repo / "tenants" / "pruebademo.yaml").read_text(encoding="utf-8")
                      .replace("pruebademo", "cerrado").replace("20123456789", "20131312955")
                      + "suspended: true\nlock_users: true\nlimit_emission: true\n"
                      "allow_production_switch: false\n", encoding="utf-8")
    text = locked.read_text(encoding="utf-8")
    text = re.sub(r"company_name: .*", "company_name: Cerrado SAC", text)
    locked.write_text(text, encoding="utf-8")
    for sub in [*EXAMPLES, "cerrado"]:
        env.onboarding(sub).run()
    env.query(f"DROP TABLE {JOURNAL}")
    originals = tmp_path / "originals"
    shutil.move(env.repo / "tenants", originals)
    monkeypatch.setenv("PROVISIONER_APP_DB_PASSWORD", env.server.password)
    env.originals = originals
    yield env
    env.drop()


def _dump(env, uuids) -> dict:
    out = {t: env.query(f"SELECT * FROM `{t}` ORDER BY 1")
           for t in ("websites", "hostnames", "clients")}
    for uuid in uuids:
        for table in TENANT_TABLES:
            out[(uuid, table)] = env.server.execute(f"SELECT * FROM `{table}` ORDER BY id",
                                                    database=uuid)
    return out


def _uuids(env) -> list[str]:
    return [u for (u,) in env.query("SELECT uuid FROM websites ORDER BY id")]


ALL = [*EXAMPLES, "cerrado"]


def test_every_shape_is_adopted_validates_and_onboarding_it_changes_no_row(app, run_cli):
    before = _dump(app, _uuids(app))
    code, out, _err = run_cli("--repo", app.repo, "adopt", "--all", "--format", "json")
    report = json.loads(out)
    assert code == 0, report
    assert sorted(a["tenant"] for a in report["adopted"]) == sorted(ALL)
    assert all(not a["differences"] and a["error"] is None for a in report["adopted"])
    assert _dump(app, _uuids(app)) == before  # adopt reads; it never rewrites the app's rows

    repo = load_repository(app.repo)
    repo.raise_for_errors()  # each spec validates (schema, catalog, cross-file rules)
    # what the spec says, field by field, as the admin answered the form
    by = {sub: repo.tenant(sub).spec for sub in ALL}
    orig = load_repository(app.repo)  # same reseller; the originals parsed against it
    from provisioner.model.repository import load_tenant

    for sub in ALL:
        spec, _ = load_tenant(app.originals / f"{sub}.yaml", orig.reseller, orig.catalog)
        a = by[sub]
        s = spec.spec
        assert (a.ruc, a.company_name, a.plan, a.user_type, a.soap.send, a.soap.environment,
                a.soap.ose_url, a.limit_emission, a.suspended, a.lock_users,
                a.allow_production_switch) == (
            s.ruc, s.company_name, s.plan, s.user_type, s.soap.send, s.soap.environment,
            s.soap.ose_url, s.limit_emission, s.suspended, s.lock_users,
            s.allow_production_switch), sub
        if s.soap.needs_sol_user:
            assert a.soap.sol_user == s.soap.sol_user  # the RUC prefix stripped
        assert (a.smtp is None) == (s.smtp is None)
        if s.smtp:
            assert (a.smtp.host, a.smtp.port, a.smtp.username) == (
                s.smtp.host, s.smtp.port, s.smtp.username)
        assert a.adopted is not None and a.adopted.website_id > 0
    from provisioner.app.account import desired_account
    from provisioner.model.semantics import resolve_modules

    for sub in ALL:
        if by[sub].user_type == "admin":
            spec, _ = load_tenant(app.originals / f"{sub}.yaml", orig.reseller, orig.catalog)
            assert resolve_modules(by[sub], repo.catalog) == resolve_modules(spec.spec,
                                                                             repo.catalog)
    assert desired_account  # rows compared through onboarding below

    # rendering each spec and onboarding it onto the adopted account changes no row
    for sub in ALL:
        result = app.onboarding(sub).run()
        assert result.changes == [], (sub, result.changes)
    assert _dump(app, _uuids(app)) == before


def test_secrets_never_reach_files_or_output(app, run_cli, monkeypatch):
    monkeypatch.setenv("PROVISIONER_SECRETS_PROVIDER", "awskms://alias/acme pulumi")
    code, out, err = run_cli("--repo", app.repo, "adopt", "--all")
    assert code == 0
    for path in (app.repo / "tenants").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert SOL_PASSWORD not in text and SMTP_PASSWORD not in text
    assert SOL_PASSWORD not in out + err and SMTP_PASSWORD not in out + err
    # listed as still to set, with the command that sets them
    assert "secret solPassword still to set: pulumi config set --secret --stack bodegaperez" \
        in out
    assert "secret smtpPassword still to set" in out
    # ... on a stack made with the reseller's secrets provider, never the backend's default
    lines = out.splitlines()
    init = lines.index("  stack, if not made yet: pulumi stack init --secrets-provider "
                       "'awskms://alias/acme pulumi' bodegaperez")
    assert init < next(i for i, line in enumerate(lines) if "--stack bodegaperez" in line)
    assert "commit Pulumi.bodegaperez.yaml" in out


def test_resumable_second_run_skips_what_is_adopted(app, run_cli):
    code, _, _ = run_cli("--repo", app.repo, "adopt", "bodegaperez", "nandu")
    assert code == 0
    assert sorted(p.stem for p in (app.repo / "tenants").glob("*.yaml")) == [
        "bodegaperez", "nandu"]
    code, out, _ = run_cli("--repo", app.repo, "adopt", "--all", "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert sorted(report["skipped"]) == ["bodegaperez", "nandu"]
    assert sorted(a["tenant"] for a in report["adopted"]) == sorted(set(ALL) - {
        "bodegaperez", "nandu"})
    assert not list((app.repo / "tenants").glob("*.tmp"))


def test_a_hand_edited_account_is_reported_not_overwritten(app, run_cli):
    uuid = next(u for u in _uuids(app) if u.endswith("_nandu"))
    # hand edits the spec language cannot express: a trade name, a demo tenant's own SOAP
    # user, a level of a module the admin user does not have
    app.server.execute("UPDATE companies SET trade_name = 'Nandu Grill', soap_username = "
                       "'20600000001ADMIN' WHERE id = 1", database=uuid)
    app.server.execute("INSERT INTO module_level_user (module_level_id, user_id) "
                       "SELECT id, 1 FROM module_levels WHERE module_id = 11 LIMIT 1",
                       database=uuid)
    before = _dump(app, [uuid])
    code, out, _err = run_cli("--repo", app.repo, "adopt", "nandu", "--format", "json")
    assert code == 1
    [report] = json.loads(out)["adopted"]
    fields = {d["field"] for d in report["differences"]}
    assert "companies.trade_name" in fields
    # a demo tenant's SOAP user is a field the edit dialog hides: update() writes the row's own
    # value back, and so does the sync, so it is kept and is no difference
    assert "companies.soap_username" not in fields
    assert any(f.startswith("module_levels[") for f in fields)
    assert _dump(app, [uuid]) == before  # reported, not overwritten
    assert (app.repo / "tenants" / "nandu.yaml").is_file()  # what could be written, is

    code, out, _ = run_cli("--repo", app.repo, "adopt", "nandu", "--force")
    assert code == 1 and "the first apply would change" in out and "trade_name" in out


def test_an_unknown_plan_is_not_adopted(app, run_cli):
    app.query("INSERT INTO plans (name, pricing, limit_users, limit_documents, plan_documents,"
              " locked, created_at, updated_at) VALUES ('Especial', 1, 1, 1, '[1]', 0, NOW(),"
              " NOW())")
    app.query("UPDATE clients SET plan_id = (SELECT id FROM plans WHERE name = 'Especial')"
              " WHERE number = (SELECT number FROM (SELECT number FROM clients LIMIT 1) x)")
    code, out, _ = run_cli("--repo", app.repo, "adopt", "--all")
    assert code == 1
    assert "NOT ADOPTED: plan 'Especial'" in out


def test_usage_errors(app, run_cli):
    assert run_cli("--repo", app.repo, "adopt")[0] == 2
    code, _, err = run_cli("--repo", app.repo, "adopt", "nosuchaccount")
    assert code == 2 and "nosuchaccount" in err


def test_set_secrets_through_the_automation_api(app, run_cli, monkeypatch):
    from unittest import mock

    from pulumi import automation as auto

    stacks: dict[str, mock.Mock] = {}

    def create_or_select(name, workspace):
        stacks[name] = mock.create_autospec(auto.Stack, instance=True)
        return stacks[name]

    monkeypatch.setattr(auto, "LocalWorkspace", mock.Mock())
    monkeypatch.setattr(auto.Stack, "create_or_select", create_or_select)
    from provisioner.orchestrate import automation

    monkeypatch.setattr(automation, "require_pulumi_cli", lambda _project=None: "/usr/bin/pulumi")
    monkeypatch.setenv("PROVISIONER_SECRETS_PROVIDER", "awskms://alias/pulumi?region=us-east-1")
    (app.repo / "Pulumi.yaml").write_text("name: tenants\nruntime: python\n")
    code, out, err = run_cli("--repo", app.repo, "adopt", "bodegaperez", "nandu", "--set-secrets")
    assert code == 0, out + err
    calls = {(n, c.args[0]): (c.args[1].value, c.args[1].secret) for n, s in stacks.items()
             for c in s.set_config.call_args_list}
    assert calls[("bodegaperez", "solPassword")] == (SOL_PASSWORD, True)
    assert calls[("nandu", "smtpPassword")] == (SMTP_PASSWORD, True)
    assert "secret solPassword: set in stack bodegaperez" in out
    assert SOL_PASSWORD not in out


def test_first_run_needs_the_password(app, run_cli, monkeypatch):
    monkeypatch.delenv("PROVISIONER_APP_DB_PASSWORD")
    code, _, err = run_cli("--repo", app.repo, "adopt", "--all")
    assert code == 2 and "PROVISIONER_APP_DB_PASSWORD" in err




def test_a_tenant_database_the_stack_could_not_import_is_reported(app, run_cli):
    """pulumi-mysql imports a Database only when its character set and collation are the ones
    the stack declares; another one is a difference, before any `up` fails on it."""
    uuid = next(u for u in _uuids(app) if u.endswith("_nandu"))
    app.server.execute(f"ALTER DATABASE `{uuid}` CHARACTER SET utf8mb4 "
                       "COLLATE utf8mb4_general_ci")
    code, out, _err = run_cli("--repo", app.repo, "adopt", "nandu", "--format", "json")
    assert code == 1
    [report] = json.loads(out)["adopted"]
    [diff] = [d for d in report["differences"] if d["field"] == "database"]
    assert diff["app"] == "utf8mb4/utf8mb4_general_ci"
    assert diff["spec"] == "utf8mb4/utf8mb4_unicode_ci"


def test_the_stacks_steps_on_an_adopted_account_write_nothing(app, run_cli):
    """The onboarding resources as the program declares them for an adopted pooled tenant
    (provisioner/infra/onboarding.py: website; database with the adopted user host, migrate,
    seed; client,
    tenant, sync) find the account existing through the journal adopt wrote: no row, user,
    password or grant changes, and no app command runs."""
    assert run_cli("--repo", app.repo, "adopt", "--all")[0] == 0
    repo = load_repository(app.repo)
    uuids = _uuids(app)
    before = _dump(app, uuids)
    users = app.server.execute("SELECT User, Host, Password FROM mysql.user ORDER BY 1, 2")
    grants = {u: app.server.execute(f"SHOW GRANTS FOR `{u}`@'{h}'")
              for u, h, _ in users if u in uuids}
    commands: list = []
    app.runner = lambda args, stdin: commands.append(args)
    for sub in ("bodegaperez", "nandu", "contaapi"):
        spec = repo.tenant(sub).spec
        assert spec.adopted is not None
        for steps in (["website"], ["database", "migrate", "seed"], ["client", "tenant", "sync"]):
            result = app.onboarding(sub, user_host=spec.adopted.database_user_host).run(steps)
            assert result.changes == [], (sub, steps, result.changes)
            assert result.website_id == spec.adopted.website_id
    assert commands == []
    assert _dump(app, uuids) == before
    assert app.server.execute("SELECT User, Host, Password FROM mysql.user ORDER BY 1, 2") \
        == users
    assert {u: app.server.execute(f"SHOW GRANTS FOR `{u}`@'{h}'")
            for u, h, _ in users if u in uuids} == grants


def test_an_account_on_the_alternate_server_keeps_it(app, run_cli):
    """A client switched to SUNAT's alternate server by hand keeps it: the spec says so, and
    onboarding the adopted spec writes no row."""
    uuid = next(u for u in _uuids(app) if u.endswith("_nandu"))
    app.server.execute("UPDATE configurations SET sunat_alternate_server = 1", database=uuid)
    before = _dump(app, [uuid])
    code, out, _err = run_cli("--repo", app.repo, "adopt", "nandu", "--format", "json")
    assert code == 0, out
    spec = load_repository(app.repo).tenant("nandu").spec
    assert spec.sunat_alternate_server is True
    assert app.onboarding("nandu").run().changes == []
    assert _dump(app, [uuid]) == before


def test_a_rewrite_keeps_the_operators_dns_record_of_the_same_account(app, run_cli):
    """docs/adopt.md step 5 is the operator's (adopt does not look at Route53): `--force`
    (e.g. to run --set-secrets) keeps it; lost, the first apply would create an existing
    record. A file of another website (an account made again) does not pass it on."""
    assert run_cli("--repo", app.repo, "adopt", "pruebademo", "nandu")[0] == 0
    tenants = app.repo / "tenants"
    for sub, website_id in (("pruebademo", None), ("nandu", 999999)):
        path = tenants / f"{sub}.yaml"
        text = path.read_text(encoding="utf-8").replace(
            "adopted:\n", "adopted:\n  dns_record: true\n", 1)
        if website_id is not None:
            text = re.sub(r"website_id: \d+", f"website_id: {website_id}", text)
        path.write_text(text, encoding="utf-8")
    assert run_cli("--repo", app.repo, "adopt", "pruebademo", "nandu", "--force")[0] == 0
    repo = load_repository(app.repo)
    assert repo.tenant("pruebademo").spec.adopted.dns_record is True
    nandu = repo.tenant("nandu").spec.adopted
    assert nandu.dns_record is False and nandu.website_id != 999999


def _save_through_the_edit_form(app, uuid: str) -> None:
    """What update() leaves of user 1's levels: the tenant's ids of their values (every id of a
    value, so a value the tenant has twice gets both), where store() wrote the system's ids."""
    ids = [i for (i,) in app.server.execute(
        "SELECT module_level_id FROM module_level_user WHERE user_id = 1", database=uuid)]
    if not ids:
        return
    marks = ", ".join(["%s"] * len(ids))
    values = [v for (v,) in app.query(f"SELECT value FROM module_levels WHERE id IN ({marks})",
                                      ids)]
    marks = ", ".join(["%s"] * len(values))
    mapped = [i for (i,) in app.server.execute(
        f"SELECT id FROM module_levels WHERE value IN ({marks}) ORDER BY id", values,
        database=uuid)]
    app.server.execute("DELETE FROM module_level_user WHERE user_id = 1", database=uuid)
    for i in mapped:
        app.server.execute("INSERT INTO module_level_user (module_level_id, user_id) VALUES "
                           "(%s, 1)", (i,), database=uuid)


def test_accounts_saved_through_the_edit_form_are_adopted_clean(app, run_cli):
    """The edit form writes the tenant's level ids (shifted from 76 on), store() the system's:
    adopt reads either as the app means them, reports no difference, and onboarding the
    adopted spec changes no row."""
    shifted = []
    for uuid in _uuids(app):
        before = app.server.execute("SELECT module_level_id FROM module_level_user WHERE "
                                    "user_id = 1 ORDER BY 1", database=uuid)
        _save_through_the_edit_form(app, uuid)
        if app.server.execute("SELECT module_level_id FROM module_level_user WHERE "
                              "user_id = 1 ORDER BY 1", database=uuid) != before:
            shifted.append(uuid)
    assert len(shifted) >= 3, shifted  # the examples have levels from 76 on
    rows = _dump(app, _uuids(app))
    code, out, _err = run_cli("--repo", app.repo, "adopt", "--all", "--format", "json")
    report = json.loads(out)
    assert code == 0, [(a["tenant"], a["differences"]) for a in report["adopted"]
                       if a["differences"]]
    repo = load_repository(app.repo)
    orig = load_repository(app.repo)
    from provisioner.app.account import desired_account
    from provisioner.app.day2_sync import tenant_level_ids
    from provisioner.model.repository import load_tenant
    from provisioner.model.semantics import resolve_modules

    for sub in ALL:
        spec, _ = load_tenant(app.originals / f"{sub}.yaml", orig.reseller, orig.catalog)
        adopted = repo.tenant(sub).spec
        if spec.spec.user_type == "admin" and resolve_modules(adopted, repo.catalog) != \
                resolve_modules(spec.spec, repo.catalog):
            # only where the rows cannot tell the two apart: the adopted spec in store()'s
            # form is the very rows the original's update() wrote (ids from 76 on)
            uuid = f"{repo.reseller.database_prefix}_{sub}"
            have = sorted(i for (i,) in app.server.execute(
                "SELECT module_level_id FROM module_level_user WHERE user_id = 1",
                database=uuid))
            tenant = dict(app.server.execute("SELECT id, value FROM module_levels",
                                             database=uuid))
            original = desired_account(spec.spec, repo.reseller, repo.catalog)
            ours = desired_account(adopted, repo.reseller, repo.catalog)
            assert tenant_level_ids(tenant, original.level_values) == have, sub
            assert sorted(ours.level_ids) == have, sub
            shifted.remove(uuid)  # counted below: most are read as the app means them
        assert app.onboarding(sub).run().changes == [], sub
    assert len(shifted) >= 2, shifted
    assert _dump(app, _uuids(app)) == rows


def _journal(app) -> list[str]:
    return sorted(stack for (stack,) in app.query(f"SELECT stack FROM {JOURNAL}"))


def test_an_account_whose_secrets_a_destroy_kept_is_not_adopted_until_they_are_gone(
        app, run_cli, aws):
    """A production destroy keeps the tenant's secrets; its stack would make them again at the
    first apply and fail there. adopt leaves such an account out before writing anything for
    it, names what is kept (one scheduled for deletion counts: it blocks the name too) and
    the commands that clear the way; a neighbour whose name only starts alike is adopted, and
    so is an account whose tenant file is there (re-adopting a managed one)."""
    p = app.load().reseller.database_prefix  # each test's own
    sm = client("secretsmanager", aws)
    for concern in ("database", "admin"):
        sm.create_secret(Name=f"{p}/tenants/nandu/{concern}", SecretString="kept")
    sm.create_secret(Name=f"{p}/tenants/contaapi/sol", SecretString="kept")
    sm.delete_secret(SecretId=f"{p}/tenants/contaapi/sol", RecoveryWindowInDays=7)
    sm.create_secret(Name=f"{p}/tenants/nandu2/database", SecretString="other")
    sm.create_secret(Name="other/tenants/bodegaperez/database", SecretString="other prefix")

    code, out, err = run_cli("--repo", app.repo, "adopt", "--all", "--format", "json")
    report = {a["tenant"]: a for a in json.loads(out)["adopted"]}
    assert code == 1, err
    refused = {t for t, a in report.items() if a["error"]}
    assert refused == {"nandu", "contaapi"}
    assert f"{p}/tenants/nandu/admin, {p}/tenants/nandu/database" in \
        report["nandu"]["error"]
    command = re.search(r"`(.*)`", report["contaapi"]["error"]).group(1)
    assert command == (f"for s in {p}/tenants/contaapi/sol; do aws secretsmanager delete-secret"
                       ' --secret-id "$s" --force-delete-without-recovery; done')
    assert report["nandu"]["file"] is None and report["nandu"]["differences"] == []
    written = sorted(p.stem for p in (app.repo / "tenants").glob("*.yaml"))
    assert written == sorted(set(ALL) - refused)
    assert _journal(app) == written  # no journal row for the accounts left out

    for entry in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]:
        if entry["Name"].startswith((f"{p}/tenants/nandu/", f"{p}/tenants/contaapi/")):
            sm.delete_secret(SecretId=entry["ARN"], ForceDeleteWithoutRecovery=True)
    code, out, _err = run_cli("--repo", app.repo, "adopt", "nandu", "contaapi")
    assert code == 0, out
    assert (app.repo / "tenants" / "nandu.yaml").is_file()
    assert _journal(app) == sorted(ALL)
    # an account with its tenant file has its stack: the secrets are that stack's own
    sm.create_secret(Name=f"{p}/tenants/bodegaperez/database", SecretString="its stack's")
    code, out, _err = run_cli("--repo", app.repo, "adopt", "bodegaperez", "--force")
    assert code == 0 and "bodegaperez: adopted" in out, out


def test_without_aws_credentials_adopt_warns_and_adopts(app, run_cli, monkeypatch):
    """An account the app made has no secrets of ours, and adopt needs no AWS: a lookup that
    cannot be made is one warning, and nothing is refused for it."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(app.repo / "no-such-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(app.repo / "no-such-config"))
    code, out, err = run_cli("--repo", app.repo, "adopt", "nandu")
    assert code == 0, out + err
    (warning,) = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "could not look for secrets kept by an earlier destroy (NoCredentialsError" in warning
    assert "docs/data-safety.md#destroy" in warning
    assert (app.repo / "tenants" / "nandu.yaml").is_file()


def test_kept_secrets_are_found_across_calls_and_pages(aws):
    """More accounts than one ListSecrets filter takes (10) and more secrets than a page
    holds: every kept name is found, and each under its own account only."""
    sm = client("secretsmanager", aws)
    kept = {f"shop{i:02d}": [f"tenancy/tenants/shop{i:02d}/{c}" for c in ("admin", "database")]
            for i in range(0, 25, 2)}
    for names in kept.values():
        for name in names:
            sm.create_secret(Name=name, SecretString="kept")
    sm.create_secret(Name="tenancy/tenants/shop01x/database", SecretString="neighbour")
    wanted = [f"shop{i:02d}" for i in range(25)]
    assert kept_secrets("tenancy", wanted, sm.list_secrets, page_size=3) == kept
    assert kept_secrets("tenancy", ["shop01"], sm.list_secrets) == {}
    assert kept_secrets("acme", wanted, sm.list_secrets) == {}
