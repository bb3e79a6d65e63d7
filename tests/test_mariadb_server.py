"""The test MariaDB server itself: real SQL over loopback TCP, and its own user accounts."""

from __future__ import annotations


def test_server_answers_sql_over_loopback_tcp(mariadb_server) -> None:
    assert mariadb_server.host == "127.0.0.1"
    rows = mariadb_server.execute("SELECT VERSION(), @@port")
    assert "MariaDB" in rows[0][0]
    assert int(rows[0][1]) == mariadb_server.port


def test_a_created_user_can_sign_in_with_its_password(mariadb_server) -> None:
    import pymysql
    import pytest

    mariadb_server.execute("CREATE DATABASE IF NOT EXISTS fixture_check")
    mariadb_server.execute("CREATE USER IF NOT EXISTS 'fixture_user'@'%' IDENTIFIED BY 'pw-1'")
    mariadb_server.execute("GRANT ALL ON fixture_check.* TO 'fixture_user'@'%'")
    conn = mariadb_server.connect("fixture_check", user="fixture_user", password="pw-1")
    conn.close()
    with pytest.raises(pymysql.err.OperationalError):
        mariadb_server.connect("fixture_check", user="fixture_user", password="wrong")
    mariadb_server.execute("DROP USER 'fixture_user'@'%'")
    mariadb_server.execute("DROP DATABASE fixture_check")
