"""Import SUNAT's padrón reducido into the SQLite index `provisioner ruc lookup` reads.

The real file is ~600 MB of text (6 million rows), so everything streams: lines are read one
at a time from the zip member, rows go to SQLite in batches, and memory stays bounded by the
batch size and SQLite's page cache, whatever the file size. The index is built in a temporary
file beside the target and renamed over it only when the import succeeded, so a failed or
interrupted import leaves the previous index as it was.
"""

from __future__ import annotations

import contextlib
import io
import lzma
import os
import re
import sqlite3
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from provisioner.errors import ProvisionerError
from provisioner.ruc import COLUMNS
from provisioner.safe_text import escape_controls, unprintable_chars

MEMBER_NAME: Final = "padron_reducido_ruc.txt"
INDEX_FORMAT: Final = "provisioner-padron-1"
MAX_LINE_BYTES: Final = 64 * 1024  # a real row is ~150 bytes; longer means it is not a row
BATCH_ROWS: Final = 5_000
BAD_EXAMPLES: Final = 5
READ_BUFFER: Final = 1 << 20

# C0/C1 control characters never occur in the padrón's text: their presence means binary
# garbage or a different encoding, not a row we can trust.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LOST = re.compile("[?\ufffd]")
_C1 = re.compile("[\x80-\x9f]")
# What a damaged or truncated zip member raises while it is read, besides BadZipFile:
# inflate errors, an early end, an unsupported or encrypted member, a bad header field.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            lzma.LZMAError, struct.error, OverflowError, ValueError)


class PadronError(ProvisionerError):
    """The file cannot be imported; the previous index, if any, is unchanged."""


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str
    text: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}: {self.text}"


@dataclass
class ImportResult:
    source: str
    index: Path
    lines: int = 0  # data lines read (the header excluded)
    rows: int = 0  # taxpayers now in the index
    bad: int = 0
    bad_examples: list[BadLine] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        """Lines whose RUC an earlier line already had: the later line wins."""
        return self.lines - self.bad - self.rows

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0


def restore_enye(text: str) -> str:
    """Put back the `Ñ` SUNAT's export turned into `?` or `�`, where a word shows it was one:
    inside a word (PE?A, MU?OZ) or starting one (?AUPA), and for `�` also ending one. A `?`
    after a word (QUE PASA?) stays a question mark."""
    if "?" not in text and "\ufffd" not in text:
        return text
    return _LOST.sub(_enye_if_in_word, text)


def _enye_if_in_word(match: re.Match[str]) -> str:
    s, i, lost = match.string, match.start(), match.group()
    before, after = s[i - 1: i] if i else "", s[i + 1: i + 2]
    if after.isalpha() and (before.isalpha() or not before.isalnum()):
        return "ñ" if after.islower() else "Ñ"
    if lost == "\ufffd" and before.isalpha():
        return "ñ" if before.islower() else "Ñ"
    return lost


def decode_line(raw: bytes) -> str:
    """ISO-8859-1 as SUNAT declares it; UTF-8 when the line is valid UTF-8 (mixed files exist,
    and a Latin-1 Spanish name is practically never valid UTF-8); Windows-1252 where Latin-1
    would give C1 control characters: real files carry cp1252 bytes such as 0x96 (–) and 0x93
    (“), which Latin-1 maps to controls. The two agree on every other byte."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:  # C1 controls are never text: such bytes are cp1252 that happens to be valid UTF-8
        if not _C1.search(text):
            return text
    text = raw.decode("latin-1")
    if _C1.search(text):
        # 0x81, 0x8d, 0x8f, 0x90, 0x9d are undefined in cp1252 too: those lines stay Latin-1
        with contextlib.suppress(UnicodeDecodeError):
            text = raw.decode("cp1252")
    # a U+FFFD written as UTF-8 inside a Latin-1 line
    return text.replace("ï¿½", "\ufffd")


def parse_line(raw: bytes) -> tuple[object, ...] | str:
    """One data line as an index row, or why it is not one."""
    text = decode_line(raw.rstrip(b"\r\n"))
    if _CONTROL.search(text):
        return "not ISO-8859-1 text (control bytes)"
    if not text.isprintable() and unprintable_chars(text.replace("\t", " ")):
        return "invisible or format characters (e.g. bidi overrides)"  # UTF-8 lines only
    text = restore_enye(text)
    fields = text.split("|")
    if len(fields) == 16 and not fields[15].strip():
        fields.pop()  # the trailing `|`
    if len(fields) != 15:
        return f"{len(fields)} columns, expected 15"
    ruc = fields[0].strip()
    if len(ruc) != 11 or not ruc.isascii() or not ruc.isdigit():
        return f"RUC {ruc[:20]!r} is not 11 digits"
    # comprehensions, not an append loop: this runs for each of the padrón's ~18M lines
    values = [v.strip() for v in fields[1:]]
    if not values[0].strip("-"):
        return "no name"
    return (int(ruc), *[v if v.strip("-") else None for v in values])  # `-`, `----`: empty


@contextmanager
def open_padron(path: Path) -> Iterator[tuple[IO[bytes], int]]:
    """The padrón's text as a binary stream and its size in bytes, from the zip or the .txt."""
    try:
        is_zip = zipfile.is_zipfile(path)
        if not is_zip:
            with open(path, "rb", buffering=READ_BUFFER) as f:
                if f.read(4) == b"PK\x03\x04":  # a zip whose end (central directory) is gone
                    raise PadronError(f"{path}: truncated or damaged zip file (its end is "
                                      "missing; download it again); the index was not replaced")
                f.seek(0)
                yield f, os.fstat(f.fileno()).st_size
            return
        with zipfile.ZipFile(path) as zf:
            member = _pick_member(zf, path)
            with zf.open(member) as raw:
                yield io.BufferedReader(raw, READ_BUFFER), member.file_size  # type: ignore[arg-type]
    except PadronError:
        raise
    except FileNotFoundError:
        raise PadronError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PadronError(f"{path}: is a directory, not the padrón file") from None
    except PermissionError:
        raise PadronError(f"{path}: permission denied") from None
    except _DAMAGED as exc:
        raise PadronError(f"{path}: damaged zip file ({type(exc).__name__}: "
                          f"{str(exc)[:120]}); the index was not replaced") from None


def _pick_member(zf: zipfile.ZipFile, path: Path) -> zipfile.ZipInfo:
    # not ZipInfo.is_dir(): it reads filename[-1], an IndexError for the empty name a damaged
    # central directory can hold (CPython Lib/zipfile.py); a nameless member is never the file
    infos = [i for i in zf.infolist() if i.filename and not i.filename.endswith("/")]
    for info in infos:
        if Path(info.filename).name.lower() == MEMBER_NAME:
            return info
    texts = [i for i in infos if i.filename.lower().endswith(".txt")]
    if len(texts) == 1:
        return texts[0]
    names = ", ".join(escape_controls(i.filename) for i in infos[:5]) or "no named file"
    raise PadronError(f"{path}: the zip holds no {MEMBER_NAME} (it holds {names})")


def _check_header(raw: bytes, path: Path) -> None:
    first = raw.removeprefix(b"\xef\xbb\xbf").split(b"|", 1)[0].strip()
    if first.upper() != b"RUC":
        shown = raw[:60].decode("latin-1", "replace").rstrip()
        raise PadronError(
            f"{path}:1: not SUNAT's padrón reducido: expected the header line "
            f"'RUC|NOMBRE O RAZÓN SOCIAL|...', found {shown!r}")


_SCHEMA = (
    f"CREATE TABLE taxpayer (ruc INTEGER PRIMARY KEY, "
    f"{', '.join(f'{c} TEXT' for c in COLUMNS[1:])})",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_INSERT = f"INSERT OR REPLACE INTO taxpayer VALUES ({', '.join('?' * len(COLUMNS))})"


def import_padron(path: Path, index: Path,
                  progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Build the index from `path` (zip or txt) and put it at `index` atomically.

    `progress(done_bytes, total_bytes)` is called after every batch.
    """
    started = time.perf_counter()
    result = ImportResult(source=str(path), index=index)
    _check_target(path, index)
    try:
        index.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{index.name}.", suffix=".tmp",
                                        dir=index.parent)
    except OSError as exc:
        raise PadronError(f"cannot write the index in {index.parent}: "
                          f"{exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; the index is public data
    try:
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            _fill(con, path, result, progress)
        finally:
            con.close()
        _fsync(tmp)
        os.replace(tmp, index)
        _fsync(index.parent)
    except sqlite3.Error as exc:
        raise PadronError(f"cannot write the index {index}: {exc}; "
                          "the previous index was kept") from None
    except OSError as exc:
        raise PadronError(f"cannot write the index {index}: {exc.strerror or exc}; "
                          "the previous index was kept") from None
    finally:
        # on success the file was renamed away; otherwise (errors, Ctrl-C) remove it
        tmp.unlink(missing_ok=True)
    result.seconds = time.perf_counter() - started
    return result


def _check_target(path: Path, index: Path) -> None:
    """The index may replace an older index, never another file (a mistyped --index that
    names the padrón itself, a spec file, ...)."""
    if not index.is_file() or index.stat().st_size == 0:
        return  # absent, or a directory (reported when writing), or an empty file
    if path.exists() and os.path.samefile(path, index):
        raise PadronError(f"--index {index} is the file being imported; choose another path")
    try:
        con = sqlite3.connect(f"{index.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        row = None
    if row is None or not str(row[0]).startswith("provisioner-padron-"):
        raise PadronError(f"{index} exists and is not a padrón index; refusing to replace it "
                          "(remove it, or choose another --index)")


def _fill(con: sqlite3.Connection, path: Path, result: ImportResult,
          progress: Callable[[int, int], None] | None) -> None:
    # the file is private until renamed, so no journal and no syncs until the end
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -32768")  # 32 MiB: faster inserts, bounded memory
    for statement in _SCHEMA:
        con.execute(statement)
    con.execute("BEGIN")
    with open_padron(path) as (stream, total):
        try:
            header = stream.readline(MAX_LINE_BYTES)
            if not header:
                raise PadronError(f"{path}: the file is empty")
            _check_header(header, path)
            done = len(header)
            _load_rows(con, stream, result, done, total, progress)
        except _DAMAGED as exc:
            raise PadronError(
                f"{path}: damaged file after line {result.lines + 1:,} "
                f"({type(exc).__name__}: {str(exc)[:120]}); the index was not replaced") from None
    if result.lines == result.bad:
        raise PadronError(f"{path}: no valid rows ({result.bad:,} bad lines); "
                          "the index was not replaced")
    result.rows = con.execute("SELECT count(*) FROM taxpayer").fetchone()[0]
    con.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("format", INDEX_FORMAT),
        ("source", path.name),
        ("imported_at", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        ("rows", str(result.rows)),
    ])
    con.execute("COMMIT")


def _load_rows(con: sqlite3.Connection, stream: IO[bytes], result: ImportResult, done: int,
               total: int, progress: Callable[[int, int], None] | None) -> None:
    batch: list[tuple[object, ...]] = []
    lineno = 1
    readline = stream.readline
    while raw := readline(MAX_LINE_BYTES):
        lineno += 1
        done += len(raw)
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                done += len(rest)
            done += len(rest)
            parsed: tuple[object, ...] | str = f"longer than {MAX_LINE_BYTES:,} bytes"
        elif not raw.strip():
            continue  # a blank line (often the last one) is not data
        else:
            parsed = parse_line(raw)
        result.lines += 1
        if isinstance(parsed, str):
            result.bad += 1
            if len(result.bad_examples) < BAD_EXAMPLES:
                shown = raw[:80].decode("latin-1").rstrip("\r\n")
                result.bad_examples.append(BadLine(lineno, parsed, repr(shown)))
            continue
        batch.append(parsed)
        if len(batch) >= BATCH_ROWS:
            con.executemany(_INSERT, batch)
            batch.clear()
            if progress is not None:
                progress(done, total)
    if batch:
        con.executemany(_INSERT, batch)
    if progress is not None:
        progress(done, total)


def _fsync(path: Path) -> None:
    """Make the rename durable: data first, then the directory entry (where supported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
