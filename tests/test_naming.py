"""Derived names must fit the limits of the systems that receive them."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from provisioner import naming

subdomains = st.from_regex(r"[a-z0-9]{1,24}", fullmatch=True)
prefixes = st.from_regex(r"[a-z][a-z0-9]{0,15}", fullmatch=True)


@given(prefix=prefixes, subdomain=subdomains)
def test_silo_master_user_is_what_rds_accepts(prefix: str, subdomain: str) -> None:
    user = naming.database_user(prefix, subdomain, silo=True)
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,15}", user), user


def test_pool_user_is_named_like_its_database() -> None:
    assert naming.database_user("tenancy", "nandu") == naming.database_name("tenancy", "nandu")
    assert naming.database_user("tenancy", "hotelsol", silo=True) == "tenancyhotelsol"


def test_longest_allowed_subdomain_fits_mysql_user_names() -> None:
    longest = "x" * naming.max_subdomain_length("tenancy")
    assert len(naming.database_user("tenancy", longest)) == naming.MYSQL_USER_NAME_MAX
    assert len(naming.database_name("tenancy", longest)) <= naming.MYSQL_DATABASE_NAME_MAX
