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
    from provisioner.app.connection import AppUnreachable
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


# ---- out of process: the provider as the engine runs it -------------------------------------

def _dynamic_providers() -> list[type]:
    """Every dynamic provider the program's resources use: the ResourceProvider classes of
    provisioner/app/dynamic.py."""
    import inspect

    from pulumi.dynamic import ResourceProvider

    import provisioner.app.dynamic as module

    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, ResourceProvider) and c is not ResourceProvider
            and c.__module__ == module.__name__]


class _ProviderProcess:
    """`python -m pulumi.dynamic` in a fresh interpreter, outside the repository, as the
    launcher starts it; it prints its port, then serves ResourceProvider over gRPC."""

    def __init__(self, cwd: Path, log: Path) -> None:
        import os
        import subprocess

        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic", "127.0.0.1:1"], cwd=cwd,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            stdout=subprocess.PIPE, stderr=self._log, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line.isdigit(), f"no port printed: {line!r} {log.read_text()!r}"
        self.port = int(line)

    def stub(self):
        import grpc
        from pulumi.runtime.proto import provider_pb2_grpc

        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        return provider_pb2_grpc.ResourceProviderStub(self.channel)

    def close(self) -> None:
        self.channel.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self._log.close()


def _struct(props: dict):
    import asyncio

    from pulumi.runtime import rpc

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def _plain(struct) -> dict:
    from pulumi.runtime import rpc

    return rpc.deserialize_properties(struct)


def test_each_dynamic_provider_serializes_to_a_fresh_interpreter(tmp_path: Path) -> None:
    """What the SDK stores in state for each provider (dynamic.Resource: `_serialize(True,
    serialize_provider, provider)`) loads in another interpreter started outside the checkout."""
    import base64
    import subprocess

    from pulumi.runtime._serialization import _serialize

    providers = _dynamic_providers()
    assert providers == [StepsProvider]
    for cls in providers:
        data, has_secrets = _serialize(True, serialize_provider, cls())
        assert not has_secrets  # the provider carries no data; secrets come as inputs
        code = ("import base64, sys, dill; p = dill.loads(base64.b64decode(sys.stdin.read()));"
                " print(type(p).__module__, type(p).__qualname__)")
        out = subprocess.run([sys.executable, "-c", code], input=data, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120, check=True).stdout
        assert out.split() == [cls.__module__, cls.__qualname__]
        assert base64.b64decode(data)  # base64, as the state holds it


def test_the_provider_out_of_process_over_grpc(env, tmp_path: Path) -> None:
    """Check, Diff, Create, Update, Read, Delete through the gRPC server the engine talks to,
    against the real server, with the provider serialized by the SDK's own function."""
    from pulumi.runtime._serialization import _serialize
    from pulumi.runtime.proto import provider_pb2

    provider_blob, _ = _serialize(True, serialize_provider, StepsProvider())
    urn = "urn:pulumi:nandu::tenants::pulumi-python:dynamic/app:Step::{}"

    def inputs(name: str, steps: list[str]) -> dict:
        return {**_props(env, name, steps), "website_id": None, "changes": None,
                "__provider": provider_blob}

    server = _ProviderProcess(tmp_path, tmp_path / "provider.log")
    try:
        stub = server.stub()
        configured = stub.Configure(provider_pb2.ConfigureRequest(args=_struct({})))
        assert configured.acceptSecrets is False  # the engine then sends secrets as plain values

        website_in = inputs("app-website", ["website", "database"])
        checked = stub.Check(provider_pb2.CheckRequest(urn=urn.format("app-website"),
                                                       olds=_struct({}),
                                                       news=_struct(website_in)))
        assert not checked.failures
        assert _plain(checked.inputs)["uuid"] == website_in["uuid"]
        assert env.query("SELECT COUNT(*) FROM websites") == [(0,)]  # Check writes nothing

        created = stub.Create(provider_pb2.CreateRequest(urn=urn.format("app-website"),
                                                         properties=checked.inputs))
        website_outs = _plain(created.properties)
        assert created.id == f"{website_in['uuid']}/app-website"
        assert env.query("SELECT id, uuid FROM websites") == [(1, website_in["uuid"])]
        assert int(website_outs["website_id"]) == 1

        migrate_in = inputs("app-migrate", ["migrate", "seed"])
        stub.Create(provider_pb2.CreateRequest(urn=urn.format("app-migrate"),
                                               properties=_struct(migrate_in)))
        account_in = inputs("app-account", ["client", "tenant", "sync"])
        account = stub.Create(provider_pb2.CreateRequest(urn=urn.format("app-account"),
                                                         properties=_struct(account_in)))
        account_outs = _plain(account.properties)
        assert env.query("SELECT locked_tenant FROM clients") == [(0,)]

        same = stub.Diff(provider_pb2.DiffRequest(id=account.id, urn=urn.format("app-account"),
                                                  olds=account.properties,
                                                  news=_struct(account_in)))
        assert same.changes == provider_pb2.DiffResponse.DIFF_NONE
        locked = {**account_in, "account": account_in["account"].replace(
            '"locked_tenant": 0', '"locked_tenant": 1')}
        diff = stub.Diff(provider_pb2.DiffRequest(id=account.id, urn=urn.format("app-account"),
                                                  olds=account.properties,
                                                  news=_struct(locked)))
        assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME and not diff.replaces
        assert env.query("SELECT locked_tenant FROM clients") == [(0,)]  # Diff writes nothing

        updated = stub.Update(provider_pb2.UpdateRequest(
            id=account.id, urn=urn.format("app-account"), olds=account.properties,
            news=_struct(locked)))
        assert _plain(updated.properties)["changes"] == [
            "sync: clients: locked_tenant", "sync: configurations: locked_tenant"]
        assert env.query("SELECT locked_tenant FROM clients") == [(1,)]

        read = stub.Read(provider_pb2.ReadRequest(id=account.id, urn=urn.format("app-account"),
                                                  properties=updated.properties))
        assert read.id == account.id

        stub.Delete(provider_pb2.DeleteRequest(id=account.id, urn=urn.format("app-account"),
                                               properties=_struct(account_outs)))
        assert env.query("SELECT COUNT(*) FROM clients") == [(1,)]  # only the website removes
        stub.Delete(provider_pb2.DeleteRequest(id=created.id, urn=urn.format("app-website"),
                                               properties=created.properties))
        assert env.query("SELECT COUNT(*) FROM websites") == [(0,)]
        assert env.server.execute("SHOW DATABASES LIKE %s", (website_in["uuid"],)) == []
        gone = stub.Read(provider_pb2.ReadRequest(id=account.id, urn=urn.format("app-account"),
                                                  properties=updated.properties))
        assert gone.id == ""  # refresh: gone
    finally:
        server.close()


def _step_props(name: str, steps: list[str], account: str, production: bool = False) -> dict:
    return {"name": name, "uuid": json.loads(account)["uuid"], "steps": steps,
            "production": production, "account": account, "website_id": None}


# day-2 edits the app's edit dialog and lock buttons carry out (docs/app.md, "Day 2")
DAY_2_EDITS = {
    "plan": {"plan": "pyme"},
    "modules": {"modules": {"preset": "restaurante"}},
    "levels": {"modules": {"preset": "basico", "levels": {"documents": ["new_document"]}}},
    "soap": {"soap": {"send": "ose", "environment": "demo",
                      "ose_url": "https://ose.example.pe/billService"}},
    "locks": {"lock_users": True, "limit_emission": True, "suspended": True},
    "smtp": {"smtp": {"host": "smtp.zoho.com", "port": 587, "username": "a@b.pe"}},
    "production switch": {"allow_production_switch": False},
}


@pytest.mark.parametrize("edit", sorted(DAY_2_EDITS))
def test_a_day_2_edit_updates_the_account_step_and_leaves_the_website_step_alone(
        edit: str) -> None:
    """The website step writes only the website and hostname: were it updated by a day-2
    edit, a preview could not know its website id, so hyn's password, the database user and
    the database secret's version would show as changing, and the apply would not change them."""
    from provisioner.app.account import desired_account
    from provisioner.model.repository import load_repository

    repo = load_repository(Path(__file__).resolve().parent.parent / "examples")
    spec = repo.tenant("pruebademo").spec
    edited = spec.model_validate({**spec.model_dump(mode="json", exclude_none=True),
                                  **DAY_2_EDITS[edit]})
    before, after = (_account_json(desired_account(s, repo.reseller, repo.catalog))
                     for s in (spec, edited))
    assert before != after
    provider = StepsProvider()
    website = _step_props("app-website", ["website"], before)
    assert provider.diff("id", website, _step_props("app-website", ["website"], after)
                         ).changes is False
    account = _step_props("app-account", ["client", "tenant", "sync"], before)
    diff = provider.diff("id", account, _step_props("app-account",
                                                    ["client", "tenant", "sync"], after))
    assert diff.changes is True and not diff.replaces


def test_the_website_step_still_changes_with_what_it_writes_or_how_it_is_removed() -> None:
    from provisioner.app.account import desired_account
    from provisioner.model.repository import load_repository

    repo = load_repository(Path(__file__).resolve().parent.parent / "examples")
    spec = repo.tenant("pruebademo").spec
    renamed = spec.model_copy(update={"subdomain": "otrodemo"})
    before, moved = (_account_json(desired_account(s, repo.reseller, repo.catalog))
                     for s in (spec, renamed))
    silo = _account_json(desired_account(spec, repo.reseller, repo.catalog, silo=True))
    provider = StepsProvider()
    old = _step_props("app-website", ["website"], before)
    diff = provider.diff("id", old, _step_props("app-website", ["website"], moved))
    assert diff.replaces == ["uuid"] and diff.delete_before_replace
    silo_diff = provider.diff("id", old, {**old, "account": silo})
    assert silo_diff.changes is True and not silo_diff.replaces  # its silo connection
    # production keeps the account on removal (delete reads `production` from the state)
    assert provider.diff("id", old, {**old, "production": True}).changes is True
