"""`provisioner ruc import`: SUNAT's padrón reducido, every oddity of the real file, streaming
memory, and an index that is only ever replaced by a complete import."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from provisioner.ruc.lookup import lookup_index
from provisioner.ruc.padron import PadronError, import_padron, restore_enye

HEADER = ("RUC|NOMBRE O RAZÓN SOCIAL|ESTADO DEL CONTRIBUYENTE|CONDICIÓN DE DOMICILIO|UBIGEO|"
          "TIPO DE VÍA|NOMBRE DE VÍA|CÓDIGO DE ZONA|TIPO DE ZONA|NÚMERO|INTERIOR|LOTE|"
          "DEPARTAMENTO|MANZANA|KILÓMETRO|").encode("latin-1")

# (line number in the file, bytes); line 1 is the header
ODD_LINES: list[bytes] = [
    # 2: plain ASCII, `-` for empty, trailing `|`
    b"20131312955|SUPERINTENDENCIA NACIONAL DE ADUANAS Y DE ADMINISTRACION TRIBUTARIA - SUNAT"
    b"|ACTIVO|HABIDO|150115|AV.|GARCILASO DE LA VEGA|-|-|1472|-|-|-|-|-|",
    # 3: ISO-8859-1 accents, `?` for Ñ inside words, CRLF ending
    "10054148289|PE?A QUISPE JOSÉ|BAJA DE OFICIO|NO HABIDO|080101|JR.|MU?OZ|URB.|SANTA ROSA"
    "|12|B|-|301|-|-|\r".encode("latin-1"),
    # 4: U+FFFD (as UTF-8 bytes) for Ñ inside a Latin-1 line, and `?` that is a question mark
    "20512333797|FERRETER\xcdA CA".encode("latin-1") + b"\xef\xbf\xbd" +
    b"ETE QUE PASA? S.A.|ACTIVO|HABIDO|150501|-|----|-|-|-|-|-|-|-|-|",
    # 5: a whole line in UTF-8 (mixed files exist), `?` starting a word, no trailing `|`
    "20600055519|?AUPA ÑANDÚ E.I.R.L.|SUSPENSION TEMPORAL|HABIDO|-|CAL.|LOS ÁLAMOS|-|-|5|-|3"
    "|-|C|2.5".encode(),
    # 6: wrong column count
    b"20100070970|SHORT LINE|ACTIVO|HABIDO|",
    # 7: RUC not 11 digits
    b"2010007097|TEN DIGITS|ACTIVO|HABIDO|150101|-|-|-|-|-|-|-|-|-|-|",
    # 8: control bytes: not ISO-8859-1 text
    b"20100070971|BINARY\x00\x01GARBAGE|ACTIVO|HABIDO|150101|-|-|-|-|-|-|-|-|-|-|",
    # 9: blank line: not data, not an error
    b"",
    # 10: a later line for the RUC of line 2 replaces it
    b"20131312955|SUNAT RENAMED|ACTIVO|HABIDO|150115|AV.|GARCILASO DE LA VEGA|-|-|1472|-|-|-|-|-|",
]
GOOD_RUCS = {"20131312955", "10054148289", "20512333797", "20600055519"}


def odd_padron_bytes() -> bytes:
    return b"\n".join([HEADER, *ODD_LINES])  # no newline after the last line, as some exports


def write_txt(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_zip(path: Path, data: bytes, member: str = "padron_reducido_ruc.txt") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    return path


@pytest.fixture(params=["txt", "zip"])
def odd_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "zip":
        return write_zip(tmp_path / "padron_reducido_ruc.zip", odd_padron_bytes())
    return write_txt(tmp_path / "padron_reducido_ruc.txt", odd_padron_bytes())


def test_import_reads_every_oddity_of_the_real_file(
        odd_file: Path, tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]) -> None:
    index = tmp_path / "cache" / "padron.sqlite3"
    code, out, err = run_cli("ruc", "import", odd_file, "--index", index)
    assert code == 0, err
    assert "imported 4 taxpayers from 8 lines" in out
    assert "3 bad lines skipped" in out and "1 repeated RUC" in out
    assert f"index: {index}" in out
    # bad lines are named by line number and reason, not fatal
    assert f"{odd_file}:6: skipped: 5 columns, expected 15" in err
    assert f"{odd_file}:7: skipped: RUC '2010007097' is not 11 digits" in err
    assert f"{odd_file}:8: skipped: not ISO-8859-1 text" in err

    sunat = lookup_index("20131312955", index)
    assert sunat is not None and sunat.name == "SUNAT RENAMED"  # the later line won
    assert sunat.interior == "" and sunat.address == "AV. GARCILASO DE LA VEGA NRO. 1472"

    pena = lookup_index("10054148289", index)
    assert pena is not None
    assert (pena.name, pena.state, pena.condition) == ("PEÑA QUISPE JOSÉ", "BAJA DE OFICIO",
                                                       "NO HABIDO")
    assert pena.address == "JR. MUÑOZ NRO. 12 INT. B DPTO. 301 URB. SANTA ROSA"
    assert pena.ubigeo == "080101"

    ferreteria = lookup_index("20512333797", index)
    assert ferreteria is not None
    assert ferreteria.name == "FERRETERÍA CAÑETE QUE PASA? S.A."
    assert ferreteria.address == ""  # `-` and `----` are empty

    naupa = lookup_index("20600055519", index)
    assert naupa is not None
    assert naupa.name == "ÑAUPA ÑANDÚ E.I.R.L." and naupa.ubigeo == ""
    assert naupa.address == "CAL. LOS ÁLAMOS NRO. 5 MZA. C LOTE. 3 KM. 2.5"

    assert lookup_index("20100070970", index) is None
    assert [p.name for p in index.parent.iterdir()] == ["padron.sqlite3"]  # no temp files


@pytest.mark.parametrize(("text", "restored"), [
    ("PE?A", "PEÑA"), ("MU?OZ", "MUÑOZ"), ("?AUPA", "ÑAUPA"), ("CA\ufffdETE", "CAÑETE"),
    ("BRI\ufffd", "BRIÑ"), ("pe?a", "peña"), ("QUE PASA?", "QUE PASA?"), ("A ? B", "A ? B"),
    ("LOTE 1?2", "LOTE 1?2"), ("¿QUE?", "¿QUE?"),
])
def test_lost_enye_is_restored_only_inside_words(text: str, restored: str) -> None:
    assert restore_enye(text) == restored


def test_not_a_padron_is_refused_and_creates_no_index(
        tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]) -> None:
    other = write_txt(tmp_path / "clientes.csv", b"ruc,nombre\n20131312955,SUNAT\n")
    index = tmp_path / "padron.sqlite3"
    code, _, err = run_cli("ruc", "import", other, "--index", index)
    assert code == 1
    assert "not SUNAT's padrón reducido" in err and "'ruc,nombre'" in err
    assert "Traceback" not in err
    assert not index.exists() and list(tmp_path.iterdir()) == [other]


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing.zip", "no such file"),
    (lambda d: write_zip(d / "other.zip", b"x", member="a.csv"),
     "the zip holds no padron_reducido_ruc.txt"),
    (lambda d: write_txt(d / "empty.txt", b""), "the file is empty"),
    (lambda d: write_txt(d / "only-bad.txt", HEADER + b"\nnot|a|row|\n"), "no valid rows"),
])
def test_unusable_files_fail_with_a_message(
        tmp_path: Path, make: Callable[[Path], Path], message: str,
        run_cli: Callable[..., tuple[int, str, str]]) -> None:
    code, _, err = run_cli("ruc", "import", make(tmp_path), "--index", tmp_path / "i.sqlite3")
    assert code == 1
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "i.sqlite3").exists()


def _damaged_zip(path: Path, lines: int) -> Path:
    """A zip whose data breaks after the first few thousand lines, like a cut download."""
    body = b"\n".join([HEADER, *(
        f"{20100000000 + i}|EMPRESA {i} S.A.C.|ACTIVO|HABIDO|150101|-|-|-|-|-|-|-|-|-|-|".encode()
        for i in range(lines))])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("padron_reducido_ruc.txt", body)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle: middle + 64] = bytes(64)  # garbage in the deflate stream
    path.write_bytes(bytes(data))
    return path


def test_failed_import_leaves_the_previous_index_intact(
        tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]) -> None:
    index = tmp_path / "padron.sqlite3"
    good = write_txt(tmp_path / "good.txt", odd_padron_bytes())
    assert run_cli("ruc", "import", good, "--index", index)[0] == 0
    before = index.read_bytes()

    damaged = _damaged_zip(tmp_path / "padron_reducido_ruc.zip", 50_000)
    code, out, err = run_cli("ruc", "import", damaged, "--index", index)
    assert code == 1, out
    assert "damaged file after line" in err and "not replaced" in err
    assert "Traceback" not in err
    assert index.read_bytes() == before
    found = lookup_index("10054148289", index)
    assert found is not None and found.name == "PEÑA QUISPE JOSÉ"
    assert lookup_index("20100000001", index) is None  # nothing of the damaged file
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "good.txt", "padron.sqlite3", "padron_reducido_ruc.zip"]


def test_interrupted_import_leaves_the_previous_index_intact(tmp_path: Path) -> None:
    index = tmp_path / "padron.sqlite3"
    import_padron(write_txt(tmp_path / "good.txt", odd_padron_bytes()), index)
    before = index.read_bytes()
    big = tmp_path / "big.txt"
    big.write_bytes(b"\n".join([HEADER, *(
        f"{20200000000 + i}|EMPRESA {i}|ACTIVO|HABIDO|-|-|-|-|-|-|-|-|-|-|-|".encode()
        for i in range(20_000))]))

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt  # Ctrl-C during the first batch

    with pytest.raises(KeyboardInterrupt):
        import_padron(big, index, interrupt)
    assert index.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt", "good.txt",
                                                          "padron.sqlite3"]


def test_an_endless_line_is_skipped_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(HEADER + b"\n" + b"X" * 300_000 + b"\n" + ODD_LINES[0] + b"\n")
    result = import_padron(path, tmp_path / "i.sqlite3")
    assert (result.rows, result.bad) == (1, 1)
    assert result.bad_examples[0].line == 2
    assert "longer than" in result.bad_examples[0].reason


def test_an_index_path_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(PadronError, match="cannot write the index"):
        import_padron(write_txt(tmp_path / "p.txt", odd_padron_bytes()), blocker / "i.sqlite3")


def test_default_index_path_comes_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        run_cli: Callable[..., tuple[int, str, str]]) -> None:
    index = tmp_path / "env" / "padron.sqlite3"
    monkeypatch.setenv("PROVISIONER_PADRON_INDEX", str(index))
    code, out, _ = run_cli("ruc", "import", write_txt(tmp_path / "p.txt", odd_padron_bytes()))
    assert code == 0 and f"index: {index}" in out
    assert lookup_index("20131312955", index) is not None


def _read_pty(fd: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    source = tmp_path / "p.txt"
    source.write_bytes(b"\n".join([HEADER, *(
        f"{20300000000 + i}|EMPRESA {i}|ACTIVO|HABIDO|-|-|-|-|-|-|-|-|-|-|-|".encode()
        for i in range(30_000))]))
    cmd = [sys.executable, "-m", "provisioner", "ruc", "import", str(source), "--index",
           str(tmp_path / "i.sqlite3")]
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=secondary, env=env)
    os.close(secondary)
    shown = _read_pty(primary, proc)
    stdout = proc.communicate(timeout=60)[0]
    os.close(primary)
    assert proc.returncode == 0
    assert b"importing" in shown  # the bar, on stderr
    assert b"imported 30,000 taxpayers" in stdout

    plain = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0 and plain.stderr == ""  # no bar when not a terminal


# Peak resident memory of this process image: VmHWM resets at exec, whereas ru_maxrss keeps
# the high-water mark of the (large) pytest process the child was forked from.
MEMORY_CHILD = textwrap.dedent("""
    import json, re, sys, time
    from pathlib import Path
    from provisioner.ruc.padron import import_padron
    started = time.perf_counter()
    r = import_padron(Path(sys.argv[1]), Path(sys.argv[2]))
    status = Path("/proc/self/status").read_text()
    peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
    print(json.dumps({"rows": r.rows, "bad": r.bad, "seconds": time.perf_counter() - started,
                      "peak_mb": peak_kb / 1024}))
""")


@pytest.mark.slow
def test_a_million_lines_import_in_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "padron_reducido_ruc.zip"
    lines = 1_000_000
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("padron_reducido_ruc.txt", "w", force_zip64=True) as member:
        member.write(HEADER + b"\n")
        for start in range(0, lines, 20_000):
            member.write("".join(
                f"{20000000000 + i * 7}|EMPRESA PE?A {i} S.A.C.|ACTIVO|HABIDO|150101|AV.|"
                f"LOS ÁLAMOS|URB.|SANTA ROSA|{i % 999}|-|-|-|-|-|\n"
                for i in range(start, start + 20_000)).encode("latin-1"))
    index = tmp_path / "padron.sqlite3"
    child = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(source), str(index)],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    stats = json.loads(child.stdout)
    assert stats["rows"] == lines and stats["bad"] == 0
    assert stats["peak_mb"] < 200, stats  # the text alone is ~110 MB, its rows ~1 GB as objects
    last = lookup_index(str(20000000000 + (lines - 1) * 7), index)
    assert last is not None and last.name == f"EMPRESA PEÑA {lines - 1} S.A.C."
