"""The schema check names what the code's own SQL needs: every table a statement in
provisioner/app/ (and onboard's CLI) reads or writes is in the check, and every column a
system INSERT or UPDATE names is too; the tenant side is derived from tenant_rows' SQL."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from provisioner.app.journal import JOURNAL
from provisioner.app.schema_check import SYSTEM_NEEDS, statement_needs, tenant_needs

ROOT = Path(__file__).resolve().parent.parent / "provisioner"
SOURCES = [*sorted((ROOT / "app").glob("*.py")), ROOT / "cli" / "onboard.py",
           ROOT / "cli" / "adopt.py"]
TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+`?([A-Za-z_{}.]+)`?", re.I)
UPDATE_SET = re.compile(r"UPDATE\s+`?(\w+)`?\s+SET\s+(.+?)(?:\s+WHERE|$)", re.I | re.S)
OUTSIDE = {"information_schema.tables", "information_schema.columns", "mysql.user",
           "information_schema.SCHEMATA", JOURNAL}


def _sql_strings() -> list[str]:
    out = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            elif isinstance(node, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "{}"
                               for v in node.values)
            else:
                continue
            if re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE)\b", text):
                out.append(text)
    return out


def test_every_table_the_code_names_is_checked() -> None:
    tenant = set(tenant_needs())
    named = set()
    for sql in _sql_strings():
        for table in TABLE.findall(sql):
            if "{" in table:
                table = table.rsplit(".", 1)[-1]  # `{db}.companies`: a tenant database's
                if "{" in table:
                    continue  # a table chosen at run time (the journal, day 2's modules)
            named.add(table)
    assert named, "no SQL found: the scan is broken"
    unchecked = sorted(named - set(SYSTEM_NEEDS) - tenant - OUTSIDE)
    assert unchecked == []


def test_every_column_a_system_statement_writes_is_checked() -> None:
    system_sql = [s for s in _sql_strings() if "{" not in s]
    tenant = tenant_needs()

    def known(table: str) -> frozenset[str]:
        # `configurations` is a table of both databases: a statement may be either's
        return SYSTEM_NEEDS[table] | tenant.get(table, frozenset())
    for table, columns in statement_needs(system_sql).items():
        if table in SYSTEM_NEEDS:
            assert columns <= known(table), (table, sorted(columns - known(table)))
    for sql in system_sql:
        match = UPDATE_SET.search(sql)
        if match and match.group(1) in SYSTEM_NEEDS:
            columns = {c.split("=")[0].strip(" `") for c in match.group(2).split(",")}
            assert columns <= known(match.group(1)), (sql, columns)


def test_the_tenant_side_is_what_the_tenant_rows_insert() -> None:
    needs = tenant_needs()
    assert {"companies", "configurations", "establishments", "warehouses", "series", "users",
            "module_user", "module_level_user"} <= set(needs)
    assert {"number", "name", "soap_username"} <= needs["companies"]
