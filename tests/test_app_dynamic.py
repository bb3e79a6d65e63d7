"""The dynamic provider the stack uses, run directly against the real server: the inputs the
Pulumi program builds make the same account, diff/update/delete mean what the engine expects."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from provisioner.app.dynamic import StepsProvider
from provisioner.infra.onboarding import _account_json
from tests.app_env import APP_KEY, make_app_env

HOOK = str(Path(__file__).resolve().parent / "app_command_hook.py")


def test_the_provider_is_stored_by_reference_to_an_importable_class() -> None:
    data = serialize_provider(StepsProvider())
    provider = dill.loads(__import__("base64").b64decode(data))
    assert type(provider) is StepsProvider
    assert b"provisioner.app.dynamic" in pickle.dumps(StepsProvider())


@pytest.fixture
def env(mariadb_server, tmp_path, monkeypatch):
    environment = make_app_env(mariadb_server, tmp_path)
    monkeypatch.setenv("HOOK_DB_PORT", str(mariadb_server.port))
    monkeypatch.setenv("HOOK_DB_PASSWORD", mariadb_server.password)
    yield environment
    environment.drop()


def _props(env, name: str, steps: list[str], production: bool = False) -> dict:
    desired = env.desired("nandu")
    secrets = {"app_key": APP_KEY, "system_password": env.server.password,
               "token": "T" * 50, "password_hash": "$2y$04$" + "a" * 53}
    return {"name": name, "uuid": desired.uuid, "steps": steps, "stack": "nandu",
            "production": production, "account": _account_json(desired),
            "system": {"host": env.server.host, "port": env.server.port,
                       "user": env.server.user, "database": env.system_db},
            "commands": {"migrate": [sys.executable, HOOK, "migrate", "{uuid}"],
                         "seed": [sys.executable, HOOK, "seed", "{uuid}"],
                         "put_certificate": None},
            "start_billing_cycle": False, "drop_database": True, "drop_user": True,
            "secrets": json.dumps(secrets), "tenant_server": None}


def test_create_diff_update_delete(env) -> None:
    provider = StepsProvider()
    website = provider.create(_props(env, "app-website", ["website", "database"]))
    assert website.outs["website_id"] == 1
    migrate = provider.create(_props(env, "app-migrate", ["migrate", "seed"]))
    assert [c.split(":")[0] for c in migrate.outs["changes"]] == ["migrate", "seed"]
    props = _props(env, "app-account", ["client", "tenant", "sync"])
    account = provider.create(props)
    assert env.query("SELECT COUNT(*) FROM clients") == [(1,)]
    assert provider.diff(account.id, account.outs, props).changes is False
    changed = {**props, "account": props["account"].replace('"locked_tenant": 0',
                                                            '"locked_tenant": 1')}
    diff = provider.diff(account.id, account.outs, changed)
    assert diff.changes is True and not diff.replaces
    outs = provider.update(account.id, account.outs, changed).outs
    assert outs["changes"] == ["sync: clients: locked_tenant",
                               "sync: configurations: locked_tenant"]
    assert provider.read(account.id, props).id == account.id
    provider.delete(account.id, props)  # only the website resource removes the account
    assert env.query("SELECT COUNT(*) FROM clients") == [(1,)]
    provider.delete(website.id, website.outs)
    assert env.query("SELECT COUNT(*) FROM websites") == [(0,)]
    assert provider.read(account.id, props).id is None  # refresh: gone
    assert env.server.execute("SHOW DATABASES LIKE %s", (props["uuid"],)) == []


def _closed_port() -> int:
    """A loopback port nothing listens on: a stopped server, as a client sees it."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with(props: dict, *, system: dict | None = None, **secrets: str) -> dict:
    return {**props, "system": {**props["system"], **(system or {})},
            "secrets": json.dumps({**json.loads(props["secrets"]), **secrets})}


def test_refresh_reads_the_app_and_never_guesses(env) -> None:
    """read(): exists while the rows are there, gone only once the row is really absent, and a
    clear error (secrets masked) when the server cannot be reached or refuses the password."""
    from provisioner.app.store import AppUnreachable
    from provisioner.errors import ProvisionerError

    provider = StepsProvider()
    website_props = _props(env, "app-website", ["website", "database"])
    website = provider.create(website_props)
    provider.create(_props(env, "app-migrate", ["migrate", "seed"]))
    props = _props(env, "app-account", ["client", "tenant", "sync"])
    account = provider.create(props)
    assert provider.read(account.id, account.outs).id == account.id  # present
    assert provider.read(website.id, website.outs).id == website.id

    wrong = "Wrong-Pa55-" + "x" * 8
    failures = {
        "wrong system password": _with(account.outs, system_password=wrong),
        "stopped server": _with(account.outs, system={"port": _closed_port()}),
        # another APP_KEY: hyn's tenant password no longer logs in to the tenant database
        "wrong tenant password": _with(account.outs, app_key="base64:" + wrong),
    }
    for what, bad in failures.items():
        with pytest.raises(AppUnreachable) as caught:
            provider.read(account.id, bad)
        message = str(caught.value)
        assert isinstance(caught.value, ProvisionerError), what
        assert "refresh of app-account" in message and props["uuid"] in message, message
        assert wrong not in message and APP_KEY not in message, what
        assert env.server.password not in message, what
        assert "\n" not in message, what

    # the clients row deleted by hand: the resource that writes it is gone, the website not
    env.query("DELETE FROM clients")
    assert provider.read(account.id, account.outs).id is None
    assert provider.read(website.id, website.outs).id == website.id
    # the website deleted: every step of the account is gone
    provider.delete(website.id, website.outs)  # drops the tenant database and user too
    assert provider.read(website.id, website.outs).id is None
    assert provider.read(account.id, account.outs).id is None
