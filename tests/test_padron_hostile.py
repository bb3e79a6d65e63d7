"""The padrón as it really is (Windows-1252 bytes in an ISO-8859-1 file) and as it
arrives damaged (truncated downloads, corrupt zip members): every outcome is an import or a
one-line message, never an internal error, and the previous index is kept."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from provisioner.ruc.lookup import lookup_index
from provisioner.ruc.padron import PadronError, decode_line, import_padron, parse_line

HEADER = ("RUC|NOMBRE O RAZÓN SOCIAL|ESTADO DEL CONTRIBUYENTE|CONDICIÓN DE DOMICILIO|UBIGEO|"
          "TIPO DE VÍA|NOMBRE DE VÍA|CÓDIGO DE ZONA|TIPO DE ZONA|NÚMERO|INTERIOR|LOTE|"
          "DEPARTAMENTO|MANZANA|KILÓMETRO|").encode("latin-1")
ROW = b"|ACTIVO|HABIDO|150101|-|-|-|-|-|-|-|-|-|-|"


def padron(*names: bytes) -> bytes:
    rucs = ["20131312955", "10054148289", "20512333797", "20600055519"]
    return b"\n".join([HEADER, *(r.encode() + b"|" + n + ROW for r, n in zip(rucs, names,
                                                                           strict=False))])


def zipped(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("padron_reducido_ruc.txt", data)
    return buf.getvalue()


@pytest.mark.parametrize(("raw", "expected"), [
    (b"CONSTRUCCIONES \x96 SERVICIOS S.A.C.", "CONSTRUCCIONES – SERVICIOS S.A.C."),
    (b"\x93EL SOL\x94 E.I.R.L.", "“EL SOL” E.I.R.L."),
    (b"PE\xd1A \x85 HNOS", "PEÑA … HNOS"),
])
def test_windows_1252_bytes_are_kept_as_the_characters_they_are(
        tmp_path: Path, raw: bytes, expected: str) -> None:
    src = tmp_path / "p.txt"
    src.write_bytes(padron(raw))
    index = tmp_path / "i.sqlite3"
    result = import_padron(src, index)
    assert result.bad == 0 and result.rows == 1
    assert lookup_index("20131312955", index).name == expected  # type: ignore[union-attr]


@given(st.binary(min_size=1, max_size=40))
@example(b"\xc2\x80")  # valid UTF-8 for U+0080: cp1252 "Â€", never the control
def test_no_decoded_line_keeps_a_c1_control_that_cp1252_defines(raw: bytes) -> None:
    text = decode_line(raw)
    undefined = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
    if not any(b in undefined for b in raw):
        assert not any(0x80 <= ord(c) <= 0x9F for c in text)


def test_undefined_cp1252_bytes_still_skip_the_line() -> None:
    assert parse_line(b"20131312955|BAD \x81 BYTE" + ROW) == "not ISO-8859-1 text (control bytes)"


def test_truncated_zip_is_named_as_such(tmp_path: Path) -> None:
    data = zipped(padron(b"SUNAT"))
    src = tmp_path / "padron_reducido_ruc.zip"
    src.write_bytes(data[: len(data) // 2])
    with pytest.raises(PadronError, match="truncated or damaged zip"):
        import_padron(src, tmp_path / "i.sqlite3")


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_zip_is_imported_or_refused_never_a_crash(tmp_path: Path,
                                                            data: st.DataObject) -> None:
    good = zipped(padron(b"SUNAT", b"PEREZ", b"FERRETERIA", b"HOTEL") * 50)
    damaged = bytearray(good)
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        damaged = damaged[: data.draw(st.integers(1, len(damaged)))]
    src = tmp_path / "p.zip"
    src.write_bytes(bytes(damaged))
    index = tmp_path / "i.sqlite3"
    try:
        import_padron(src, index)
    except PadronError as exc:
        assert "\n" not in str(exc)
        assert not index.exists() or index.stat().st_size > 0


def test_damaged_member_from_the_cli_is_a_message(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    good = zipped(padron(b"SUNAT") * 200)
    # corrupt the deflate stream in the middle of the member
    damaged = bytearray(good)
    for i in range(60, 90):
        damaged[i] ^= 0xFF
    src = tmp_path / "p.zip"
    src.write_bytes(bytes(damaged))
    code, _, err = run_cli("ruc", "import", src, "--index", tmp_path / "i.sqlite3")
    assert code == 1 and "internal error" not in err and "damaged" in err


def test_a_utf8_line_with_a_bidi_override_is_skipped() -> None:
    line = "20131312955|SUNAT \u202eCAS\u202c".encode() + ROW
    assert parse_line(line) == "invisible or format characters (e.g. bidi overrides)"


@pytest.mark.parametrize("names", [[""], ["", "otro.csv"], ["", "padron_reducido_ruc.txt"],
                                   ["dir/", ""]])
def test_a_member_without_a_name_is_skipped_never_an_index_error(tmp_path: Path,
                                                                 names: list[str]) -> None:
    """What the property test above once found: a damaged central directory whose member name
    is empty (ZipInfo.is_dir() then raised IndexError)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(zipfile.ZipInfo(name), padron(b"SUNAT") if name.endswith(".txt") or
                        not name else b"")
    src = tmp_path / "p.zip"
    src.write_bytes(buf.getvalue())
    index = tmp_path / "i.sqlite3"
    if "padron_reducido_ruc.txt" in names:
        assert import_padron(src, index).rows == 1
    else:
        with pytest.raises(PadronError, match=r"holds no padron_reducido_ruc\.txt"):
            import_padron(src, index)
        assert not index.exists()


def test_a_nameless_member_from_the_cli_is_a_message(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo(""), padron(b"SUNAT"))
    src = tmp_path / "p.zip"
    src.write_bytes(buf.getvalue())
    code, _, err = run_cli("ruc", "import", src, "--index", tmp_path / "i.sqlite3")
    assert code == 1 and "internal error" not in err and "no named file" in err


@pytest.mark.parametrize(("ci", "derandomized"), [("true", True), (None, False)])
def test_ci_runs_property_tests_derandomized(ci: str | None, derandomized: bool) -> None:
    """tests/conftest.py loads the "ci" Hypothesis profile when CI is set (.ci/run sets it):
    every CI run draws the same examples; found ones are kept as @example."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": ci} if ci else {})
    code = ("import tests.conftest, hypothesis; s = hypothesis.settings.default; "
            "print(s.derandomize, s.database is None)")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout.split()
    assert out == [str(derandomized), str(derandomized)]
    assert 'CI="${CI:-true}"' in (root / ".ci" / "run").read_text(encoding="utf-8")
