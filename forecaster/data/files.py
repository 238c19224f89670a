"""A data file's bytes as text: its compression and its encoding found from its content.

A file is recognised by what it holds, never by its name: ``sales.csv`` may well be
gzip-compressed, and a spreadsheet saved "as Unicode text" is UTF-16. Compressed files
(gzip, bzip2, xz, and zip with one member) are opened; UTF-8 (with or without a byte order
mark) and UTF-16 and UTF-32 (with a mark, or UTF-16 without one) are told apart; any
other encoding must be named, and a file that is not text at all (a workbook, a Parquet
file) is refused with what it is.
"""

import bz2
import codecs
import dataclasses
import gzip
import io
import lzma
import zipfile
from pathlib import Path

from forecaster.data.errors import DataError

# Compressions by their first bytes.
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}
_OPEN = {"gzip": gzip.decompress, "bzip2": bz2.decompress, "xz": lzma.decompress}
# Byte order marks, the longest first (UTF-32-LE's mark begins with UTF-16-LE's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclasses.dataclass(frozen=True)
class Text:
    """A file's text and how it was stored.

    Attributes:
        text: the decoded text, without a byte order mark.
        encoding: the encoding it was read with ("utf-8", "utf-16-le", ...).
        compression: "gzip", "bzip2", "xz" or "zip", or None for a plain file.
    """

    text: str
    encoding: str
    compression: str | None


def read_text(path, encoding=None):
    """Reads a file as text, opening compression and finding the encoding from its bytes.

    Args:
        path: the file.
        encoding: the text encoding; None finds UTF-8, UTF-16 or UTF-32 by the byte order
            mark or the pattern of zero bytes, and takes UTF-8 otherwise.

    Returns:
        A `Text`.

    Raises:
        DataError: the file cannot be read, is not text, or is not valid in the encoding
            (the message names a byte, its line and an encoding that decodes the file).
        ValueError: `encoding` is not a known encoding.
    """
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except (LookupError, TypeError):
            raise ValueError(f"encoding={encoding!r} is not a known text encoding") from None
    name = Path(path).name
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    raw, compression = _decompressed(raw, name)
    if raw.startswith(b"PAR1"):
        raise DataError(
            f"{name} is a Parquet file, not a CSV; read it with pandas.read_parquet, or stream "
            "it with forecaster.open_source"
        )
    found = _bom(raw)
    if encoding is None:
        encoding = found[1] if found else _zero_pattern(raw) or "utf-8"
    if found and found[1] == encoding:
        raw = raw[len(found[0]) :]
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataError(
            f"{name} is not valid {encoding} (byte 0x{raw[error.start]:02x} on line {line}); "
            f"pass encoding='{_decodes(raw, found)}' if that is the file's encoding",
            fix={"encoding": _decodes(raw, found)},
        ) from None
    text = text.removeprefix("\ufeff").removeprefix("\u00ef\u00bb\u00bf")  # a mark read as cp1252
    if "\x00" in text and "\x00" not in text.strip("\x00"):
        text = text.strip("\x00")
    if not text.strip():
        raise DataError(f"{name} is empty")
    return Text(text, encoding, compression)


def compression(path):
    """A file's compression by its first bytes ("gzip", "bzip2", "xz", "zip"), or None."""
    with open(path, "rb") as file:
        head = file.read(8)
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


def _decompressed(raw, name):
    kind = next((kind for magic, kind in _MAGIC.items() if raw.startswith(magic)), None)
    if kind is None:
        return raw, None
    try:
        if kind != "zip":
            return _OPEN[kind](raw), kind
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = [m for m in archive.namelist() if not _skipped_member(m)]
            if "[Content_Types].xml" in members:
                raise DataError(
                    f"{name} is an Excel or OpenDocument workbook, not a CSV; save the sheet "
                    "as CSV (File > Save As > CSV) and read that"
                )
            if len(members) != 1:
                raise DataError(
                    f"{name} is a zip archive of {len(members)} files {members[:5]}; a zip "
                    "is read when it holds one CSV: unzip it and read the CSV you want"
                )
            return archive.read(members[0]), kind
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile, ValueError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"{name} is {kind}-compressed but cannot be opened: {error}") from None


def _skipped_member(member):
    return member.endswith("/") or member.startswith("__MACOSX/")


def _bom(raw):
    return next(((bom, enc) for bom, enc in _BOMS if raw.startswith(bom)), None)


def _zero_pattern(raw):
    """UTF-16 without a mark: ASCII text then has a zero byte in every other place."""
    head = raw[:4096]
    if len(head) < 4 or head.count(0) < len(head) // 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > 0.9 * (len(head) // 2) and even < odd / 10:
        return "utf-16-le"
    if even > 0.9 * (len(head) // 2) and odd < even / 10:
        return "utf-16-be"
    return None


def _decodes(raw, found):
    """An encoding that decodes the bytes into text without control characters."""
    candidates = [found[1]] if found else []
    for encoding in [*candidates, "utf-8", "cp1252", "latin-1"]:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not any(ord(c) < 32 and c not in "\t\r\n" for c in text[:65536]):
            return encoding
    return "latin-1"
