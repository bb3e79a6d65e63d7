"""The aws stand-in's RDS instances have a real MySQL behind them (the run's MariaDB,
tests/engine_plugins/aws_rds_mysql.py): the master login signs in and can grant, the outputs are
that server's, a password change moves the login, deletion protection and the final snapshot
rule hold as upstream, and a master user the one server cannot give an instance is refused
before anything is made. The handlers are called as the plugin calls them, on moto's server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from tests.engine_plugins import aws_plugin, aws_rds_mysql

pytestmark = [pytest.mark.engine, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def moto(mariadb_server: Any) -> Iterator[str]:
    from provisioner.orchestrate.local import client, moto_server

    with moto_server() as url:
        yield url
        mariadb_server.execute(f"DROP DATABASE IF EXISTS `{aws_rds_mysql.BOOK}`")
        for d in client("rds", url).describe_db_instances()["DBInstances"]:
            client("rds", url).delete_db_instance(DBInstanceIdentifier=d["DBInstanceIdentifier"],
                                                  SkipFinalSnapshot=True)


@pytest.fixture
def rds(moto: str, mariadb_server: Any, monkeypatch: pytest.MonkeyPatch
        ) -> aws_rds_mysql.Backing:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    monkeypatch.setenv(aws_rds_mysql.ENV, aws_rds_mysql.login(mariadb_server))
    backing = aws_rds_mysql.backing()
    assert backing is not None
    return backing


def _inputs(identifier: str, username: str, password: str, **extra: Any) -> dict[str, Any]:
    return {"identifier": identifier, "engine": "mysql", "username": username,
            "password": password, "instanceClass": "db.t4g.micro", "allocatedStorage": 20,
            "skipFinalSnapshot": True, **extra}


def _signs_in(b: aws_rds_mysql.Backing, user: str, password: str) -> bool:
    try:
        b.connect(user, password).close()
    except pymysql.MySQLError:
        return False
    return True


def test_an_instance_is_the_mariadb_and_its_master_login_can_grant(
        rds: aws_rds_mysql.Backing) -> None:
    p = _inputs("standin-grant", "mastergrant", "Grant-pass-0001")
    id_, outs = aws_plugin.instance_create({}, p)
    assert (outs["address"], outs["port"]) == (rds.host, rds.port)
    assert outs["endpoint"] == f"{rds.host}:{rds.port}"
    conn = rds.connect("mastergrant", "Grant-pass-0001")
    try:
        with conn.cursor() as cur:  # what the silo onboarding does through the master login
            cur.execute("CREATE DATABASE standin_grant_db")
            cur.execute("CREATE USER 'standin_app'@'%' IDENTIFIED BY 'App-pass-0001'")
            cur.execute("GRANT ALL PRIVILEGES ON standin_grant_db.* TO 'standin_app'@'%'")
            cur.execute("DROP USER 'standin_app'@'%'")
            cur.execute("DROP DATABASE standin_grant_db")
    finally:
        conn.close()
    outs_read, inputs_read = aws_plugin.instance_read({}, id_, {})  # refresh and import
    assert {k: outs_read[k] for k in ("address", "port", "endpoint")} == {
        k: outs[k] for k in ("address", "port", "endpoint")}
    assert inputs_read["username"] == "mastergrant"
    aws_plugin.instance_delete({}, id_, p)
    assert not _signs_in(rds, "mastergrant", "Grant-pass-0001")


def test_a_password_change_moves_the_login_and_keeps_the_servers_port(
        rds: aws_rds_mysql.Backing) -> None:
    old = _inputs("standin-pass", "masterpass", "Old-pass-00001", port=3306)
    aws_plugin.instance_create({}, old)
    new = {**old, "password": "New-pass-00002"}
    outs = aws_plugin.instance_update({}, "standin-pass", old, new)
    assert outs["port"] == rds.port  # not the 3306 the program declares
    assert _signs_in(rds, "masterpass", "New-pass-00002")
    assert not _signs_in(rds, "masterpass", "Old-pass-00001")
    tags_only = aws_plugin.instance_update({}, "standin-pass", new, {**new, "tags": {"a": "b"}})
    assert tags_only["port"] == rds.port
    aws_plugin.instance_delete({}, "standin-pass", new)


def test_deletion_protection_and_a_missing_final_snapshot_name_keep_the_instance(
        rds: aws_rds_mysql.Backing) -> None:
    p = _inputs("standin-kept", "masterkept", "Kept-pass-0001", deletionProtection=True,
                skipFinalSnapshot=False, finalSnapshotIdentifier="standin-kept-final")
    aws_plugin.instance_create({}, p)
    with pytest.raises(Exception, match="deletion protection"):
        aws_plugin.instance_delete({}, "standin-kept", p)
    with pytest.raises(ValueError, match="final_snapshot_identifier is required"):
        aws_plugin.instance_delete({}, "standin-kept", {**p, "deletionProtection": False,
                                                        "finalSnapshotIdentifier": None})
    assert _signs_in(rds, "masterkept", "Kept-pass-0001")
    off = {**p, "deletionProtection": False}
    aws_plugin.instance_update({}, "standin-kept", p, off)
    aws_plugin.instance_delete({}, "standin-kept", off)  # with its final snapshot
    from provisioner.orchestrate.local import client

    snapshots = client("rds", os.environ["AWS_ENDPOINT_URL"]).describe_db_snapshots(
        DBSnapshotIdentifier="standin-kept-final")["DBSnapshots"]
    assert snapshots and not _signs_in(rds, "masterkept", "Kept-pass-0001")


def test_a_master_user_the_one_server_cannot_give_is_refused_before_anything_is_made(
        rds: aws_rds_mysql.Backing) -> None:
    from provisioner.orchestrate.local import client

    first = _inputs("standin-one", "mastershared", "Shared-pass-001")
    aws_plugin.instance_create({}, first)
    other = _inputs("standin-two", "mastershared", "Other-pass-0002")
    root = _inputs("standin-root", rds.user, "Root-pass-00003")
    for p, why in ((other, "with another password"), (root, "did not make")):
        with pytest.raises(aws_rds_mysql.StandInLimit, match=why):
            aws_plugin.instance_create({}, p)
    names = {d["DBInstanceIdentifier"] for d in client(
        "rds", os.environ["AWS_ENDPOINT_URL"]).describe_db_instances()["DBInstances"]}
    assert "standin-two" not in names and "standin-root" not in names
    assert _signs_in(rds, "mastershared", "Shared-pass-001")
    # the same login (a replacement, create before delete) shares the account until the last
    # instance holding it is deleted
    same = _inputs("standin-three", "mastershared", "Shared-pass-001")
    aws_plugin.instance_create({}, same)
    aws_plugin.instance_delete({}, "standin-one", first)
    assert _signs_in(rds, "mastershared", "Shared-pass-001")
    aws_plugin.instance_delete({}, "standin-three", same)
    assert not _signs_in(rds, "mastershared", "Shared-pass-001")
