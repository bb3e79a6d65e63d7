"""Benchmark `provisioner ruc import` against its floors, and lookups, on a generated padrón.

    .venv/bin/python bench/padron_bench.py [--sizes 10000,100000,1000000] [--lines N]
                                          [--lookups N] [--zip] [--repeat 3]

Per size (lines), project / floor / ratio from paired runs (medians), all in this process:
* project: `import_padron` (decode, check and parse every line, write the index, rename);
* floor 1: a plain `executemany` of the same rows (parsed beforehand, outside the timing)
  into the same sqlite table, one transaction, journal and syncs off as the import has them;
* floor 2: `sqlite3 .import` (the CLI at /usr/bin/sqlite3) of the same text file into a table
  of text columns: no decoding, checks or ñ repair, so what a byte copy into sqlite costs.
Then, at --lines, the import in a child process for its peak memory (VmHWM) and lookups.
Targets: 1,000,000 lines in under 20 s and 200 MB; a lookup under 10 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from timing import paired  # the bench folder is the script's own: sys.path[0]

HEADER = ("RUC|NOMBRE O RAZÓN SOCIAL|ESTADO DEL CONTRIBUYENTE|CONDICIÓN DE DOMICILIO|UBIGEO|"
          "TIPO DE VÍA|NOMBRE DE VÍA|CÓDIGO DE ZONA|TIPO DE ZONA|NÚMERO|INTERIOR|LOTE|"
          "DEPARTAMENTO|MANZANA|KILÓMETRO|\n")
FIRST_RUC = 2_010_000_000  # the first ten digits
_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def ruc_of(i: int) -> str:
    """The i-th generated RUC, with SUNAT's check digit so the CLI accepts it."""
    base = str(FIRST_RUC + i)
    total = sum(int(d) * w for d, w in zip(base, _WEIGHTS, strict=True))
    return f"{base}{(11 - total % 11) % 10}"


def write_padron(path: Path, lines: int) -> None:
    """A realistic-looking padrón: Latin-1, `-` for empty, `?` for Ñ, a trailing `|`."""
    names = ["COMERCIAL PE?A", "INVERSIONES ANDINAS", "CONSTRUCTORA MU?OZ", "BODEGA SAN JOSÉ",
             "TRANSPORTES ÑAHUI", "FERRETERÍA EL PERÚ"]
    vias = ["AV.", "JR.", "CAL.", "-"]
    states = ["ACTIVO", "ACTIVO", "ACTIVO", "BAJA DE OFICIO", "SUSPENSION TEMPORAL"]
    with open(path, "w", encoding="latin-1", newline="\n", buffering=1 << 20) as f:
        f.write(HEADER)
        chunk: list[str] = []
        for i in range(lines):
            chunk.append(
                f"{ruc_of(i)}|{names[i % 6]} {i} S.A.C.|{states[i % 5]}|"
                f"{'HABIDO' if i % 7 else 'NO HABIDO'}|15{i % 10000:04d}|{vias[i % 4]}|"
                f"{'LOS ALAMOS' if i % 4 != 3 else '-'}|URB.|SANTA CATALINA|{i % 900}|-|-|-|-|-|\n")
            if len(chunk) == 10_000:
                f.write("".join(chunk))
                chunk.clear()
        f.write("".join(chunk))


CHILD = """
import json, re, sys, time
from pathlib import Path
from provisioner.ruc.padron import import_padron
t = time.perf_counter()
r = import_padron(Path(sys.argv[1]), Path(sys.argv[2]))
# VmHWM: this image's peak (ru_maxrss would include the parent's, inherited at fork)
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({"seconds": time.perf_counter() - t, "lines": r.lines, "rows": r.rows,
                  "bad": r.bad, "maxrss_mb": peak_kb / 1024}))
"""


SQLITE3 = shutil.which("sqlite3") or "/usr/bin/sqlite3"




def floors_at(tmp: Path, lines: int, repeat: int) -> None:
    from provisioner.ruc.padron import _INSERT, _SCHEMA, import_padron, parse_line

    txt = tmp / f"padron_{lines}.txt"
    write_padron(txt, lines)
    with open(txt, "rb") as fh:
        fh.readline()
        rows = [r for r in map(parse_line, fh) if not isinstance(r, str)]
    runs = iter(range(1_000_000))

    def fresh(suffix: str) -> Path:
        return tmp / f"db{next(runs)}{suffix}"

    def project() -> None:
        import_padron(txt, fresh(".sqlite3"))

    def executemany() -> None:
        con = sqlite3.connect(fresh(".sqlite3"), isolation_level=None)
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.execute(_SCHEMA[0])
        con.execute("BEGIN")
        con.executemany(_INSERT, rows)
        con.execute("COMMIT")
        con.close()

    def dot_import() -> None:
        columns = ", ".join(f"c{i} TEXT" for i in range(16))  # 15 fields and the trailing |
        script = (f"PRAGMA journal_mode = OFF;\nPRAGMA synchronous = OFF;\n"
                  f"CREATE TABLE taxpayer ({columns});\n"
                  f".mode list\n.separator |\n.import --skip 1 {txt} taxpayer\n")
        subprocess.run([SQLITE3, str(fresh(".sqlite3"))], input=script, text=True,
                       check=True, capture_output=True)

    p, f1, f2 = paired([project, executemany, dot_import], repeat)
    for db in tmp.glob("db*"):
        db.unlink()
    print(f"{lines:>9,} lines: project {p:6.2f} s | executemany {f1:6.2f} s "
          f"ratio {p / f1:.2f}x | sqlite3 .import {f2:6.2f} s ratio {p / f2:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="lines per file for the floors")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lines", type=int, default=1_000_000,
                        help="lines for the memory and lookup figures")
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--zip", action="store_true", help="import from a zip, like SUNAT's")
    args = parser.parse_args()

    from provisioner.ruc.lookup import PadronIndex

    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.sizes.split(",") if x):
            floors_at(Path(tmp), n, args.repeat)
        txt = Path(tmp) / "padron_reducido_ruc.txt"
        t = time.perf_counter()
        write_padron(txt, args.lines)
        print(f"generated {args.lines:,} lines ({txt.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t:.1f} s")
        source = txt
        if args.zip:
            source = Path(tmp) / "padron_reducido_ruc.zip"
            with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.write(txt, txt.name)
            txt.unlink()
        index = Path(tmp) / "padron.sqlite3"
        out = subprocess.run([sys.executable, "-c", CHILD, str(source), str(index)],
                             capture_output=True, text=True, check=True)
        stats = json.loads(out.stdout)
        print(f"import: {stats['lines']:,} lines in {stats['seconds']:.1f} s "
              f"({stats['lines'] / stats['seconds']:,.0f} lines/s), {stats['rows']:,} rows, "
              f"peak memory (VmHWM of the child) {stats['maxrss_mb']:.0f} MB, "
              f"index {index.stat().st_size / 1e6:.0f} MB")

        rng = random.Random(1)
        times = []
        with PadronIndex(index) as idx:
            for _ in range(args.lookups):
                ruc = ruc_of(rng.randrange(args.lines))
                t = time.perf_counter()
                found = idx.get(ruc)
                times.append(time.perf_counter() - t)
                assert found is not None, ruc
        times.sort()
        p99 = times[int(len(times) * 0.99) - 1]
        print(f"lookup: {len(times):,} random RUCs, mean {statistics.mean(times) * 1e3:.3f} ms, "
              f"p99 {p99 * 1e3:.3f} ms")
        t = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "provisioner", "ruc", "lookup", ruc_of(0),
                              "--index", str(index)], capture_output=True, text=True)
        assert "Name:" in cli.stdout, cli.stderr
        print(f"one `provisioner ruc lookup` process, start to end: "
              f"{(time.perf_counter() - t) * 1e3:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
