"""The committed JSON Schemas match the models, and the examples point editors at them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "schema"
EXAMPLES = ROOT / "examples"
TENANTS = sorted((EXAMPLES / "tenants").glob("*.yaml"))
Run = Callable[..., tuple[int, str, str]]


def validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_committed_schema_is_current(run_cli: Run) -> None:
    code, out, _ = run_cli("schema", "--check", "--out", SCHEMA_DIR)
    assert code == 0, f"run `provisioner schema` and commit schema/: {out}"


def test_schema_writes_both_files_and_check_sees_drift(tmp_path: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("schema", "--out", tmp_path)
    assert code == 0 and "tenant.schema.json" in out and "reseller.schema.json" in out
    for name in ("tenant.schema.json", "reseller.schema.json"):
        assert (tmp_path / name).read_text() == (SCHEMA_DIR / name).read_text()
    (tmp_path / "tenant.schema.json").write_text("{}\n")
    code, out, _ = run_cli("schema", "--check", "--out", tmp_path)
    assert code == 1 and "tenant.schema.json" in out


@pytest.mark.parametrize("path", TENANTS, ids=[p.stem for p in TENANTS])
def test_example_tenants_validate(path: Path) -> None:
    errors = [e.message for e in validator("tenant").iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def test_example_reseller_validates() -> None:
    data = yaml.safe_load((EXAMPLES / "reseller.yaml").read_text())
    assert [e.message for e in validator("reseller").iter_errors(data)] == []


def test_schema_rejects_what_validate_rejects() -> None:
    """An editor flags the same mistakes: unknown keys, a bad enum, a short RUC."""
    data = yaml.safe_load(TENANTS[0].read_text())
    data["compnay"] = "x"
    data["user_type"] = "root"
    data["ruc"] = "123"
    messages = " ".join(e.message for e in validator("tenant").iter_errors(data))
    assert "'compnay' was unexpected" in messages
    assert "'root' is not one of" in messages
    assert "'123' does not match" in messages


@pytest.mark.parametrize("path", [*TENANTS, EXAMPLES / "reseller.yaml"],
                         ids=[*(p.stem for p in TENANTS), "reseller"])
def test_examples_carry_schema_comment(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    kind = "reseller" if path.name == "reseller.yaml" else "tenant"
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    target = (path.parent / first.removeprefix(prefix)).resolve()
    assert target == SCHEMA_DIR / f"{kind}.schema.json"
