"""How a CSV's text is laid out: its separator, its header line, and what is not data.

`find_layout` reads the first lines and the last ones with Python's `csv` module, one
candidate separator at a time (comma, semicolon, tab, pipe). The separator is the one
under which a header and the rows after it have the same number of fields, two or more;
the header is the first such line. What comes before it (a preamble of metadata lines)
and after the last row (a footer such as ``Total,...``) is refused with the
``skiprows=`` or ``skipfooter=`` that drops it, never skipped silently. A header one
field short of rows that end in an empty field (Excel's trailing comma) is given an
unnamed column, which the reader then drops as empty.
"""

import collections
import csv
import dataclasses
import re

from forecaster.data.dates import MONTHS
from forecaster.data.errors import DataError

SEPARATORS = (",", ";", "\t", "|")
_HEAD_LINES = 100  # lines read from the start to find the separator and the header
_TAIL_LINES = 10  # lines read from the end to find a footer
_DATA_LIKE = re.compile(r"^[\s\d.,:/+\-TZ]*\d[\s\d.,:/+\-TZ]*$")  # numbers and stamps
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_STAMP_LIKE = re.compile(rf"^(\d[\d\s.:/\-T]*\d|({MONTHS})[a-z]*[\s\-]\d{{2,4}})$", re.I)


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a CSV's data is.

    Attributes:
        sep: the field separator.
        names: the header's column names, stripped, one per field of a row ('' unnamed).
        body: the rows' text (from the line after the header), as UTF-8 bytes.
        header_line: the header's line in the file, counted from 1.
        detected: whether the separator was found rather than given.
    """

    sep: str
    names: tuple
    body: bytes
    header_line: int
    detected: bool


def find_layout(text, name, sep=None, skiprows=0, skipfooter=0):
    """Finds the separator, the header and the rows of a CSV's text.

    Args:
        text: the decoded file.
        name: the file's name, for messages.
        sep: the separator; None finds it among `SEPARATORS`.
        skiprows: lines skipped at the start, before the header.
        skipfooter: non-blank lines dropped at the end.

    Returns:
        A `Layout`.

    Raises:
        DataError: no header and rows agree, lines come before the header or after the
            rows, or two separators fit equally well.
    """
    detected = sep is None
    if "\n" not in text[:65536] and "\r" in text:  # old Mac line ends
        text = text.replace("\r", "\n")
    lines = text.split("\n", skiprows + _HEAD_LINES)
    if skiprows and len(lines) <= skiprows:
        raise DataError(f"{name} has {len(lines)} lines; skiprows={skiprows} skips them all")
    head = [(i, line.rstrip("\r")) for i, line in enumerate(lines[: skiprows + _HEAD_LINES])]
    head = [(i, line) for i, line in head[skiprows:] if line.strip()]
    if not head:
        raise DataError(f"{name} is empty after skiprows={skiprows}")
    body_text = _without_footer(text, skipfooter, name)
    tail = [line.rstrip("\r") for line in body_text[-65536:].split("\n")[-_TAIL_LINES:]]
    tail = [line for line in tail if line.strip()]
    if sep is None:
        sep = _separator(head, name)
    elif not isinstance(sep, str) or len(sep) != 1:
        raise ValueError(f"sep={sep!r} is not a single character")
    count, header = _fit(head, sep)[3:5]
    line_no, header_text = head[header]
    if header > 0 and _is_data([n.strip() for n in _fields(header_text, sep)]):
        first = head[0][1]
        if first.lstrip().startswith("#") and len(_fields(first, sep)) == count:
            header, (line_no, header_text) = 0, (head[0][0], first.lstrip().lstrip("#"))
        else:
            raise DataError(
                f"{name}: its rows have {count} fields but the header has "
                f"{len(_fields(first, sep))} (line {head[0][0] + 1}: {first[:60]!r}, line "
                f"{line_no + 1}: {header_text[:60]!r}); a value holding the separator "
                f"{sep!r} (a decimal comma) must be quoted"
            )
    if header > 0:
        raise preamble_error(name, line_no, header_text, skiprows)
    names = [n.strip() for n in _fields(header_text, sep)]
    if _is_data(names):
        raise DataError(
            f"{name} has no header: its first line is data ({header_text[:60]!r}); add a "
            "first line that names the columns (e.g. date,value)"
        )
    names = _fitted_header(names, count)
    footer = _footer(tail, len(names), sep)
    if footer:
        raise DataError(
            f"{name} ends with {footer} lines that are not rows of {len(names)} fields (the "
            f"last: {tail[-1][:60]!r}); pass skipfooter={skipfooter + footer} to drop them",
            fix={"skipfooter": skipfooter + footer},
        )
    start = _line_start(body_text, line_no + 1)
    body = body_text[start:]
    blank = "[ ]" if sep == "\t" else "[ \t]"
    if re.search(rf'(^|{re.escape(sep)}){blank}+"', body[:65536], flags=re.MULTILINE):
        body = re.sub(rf'(^|{re.escape(sep)}){blank}+"', r'\1"', body, flags=re.MULTILINE)
    return Layout(sep, tuple(names), body.encode(), line_no + 1, detected)


def preamble_error(name, line, header, skiprows):
    """The refusal of lines before the header, `line` (counted from 0) being the header."""
    return DataError(
        f"{name} has {line - skiprows} lines before what looks like the header (line "
        f"{line + 1}: {header[:60]!r}); pass skiprows={line} to skip them",
        fix={"skiprows": line},
    )


def _separator(head, name):
    """The separator that fits the first lines best; refused when two fit alike."""
    fits = sorted(((*_fit(head, s), s) for s in SEPARATORS), key=lambda fit: fit[:4], reverse=True)
    best = fits[0]
    if not best[0]:  # one column under every separator
        return ","
    if fits[1][:4] == best[:4]:
        raise DataError(
            f"{name} could be separated by {best[-1]!r} or {fits[1][-1]!r} alike; pass "
            f"sep={best[-1]!r} or sep={fits[1][-1]!r}"
        )
    return best[-1]


def _fields(line, sep):
    try:
        return next(csv.reader([line], delimiter=sep, skipinitialspace=True), [])
    except csv.Error:  # a stray carriage return or quote: count the separators alone
        return line.split(sep)


def _is_data(names):
    """Whether a header line is a row of data: numbers and stamps, no names."""
    filled = [n for n in names if n]
    if len(filled) < 2 or not names[0]:  # an unnamed first column: an index, labels after
        return False
    if all(_DATA_LIKE.match(n) for n in filled):
        return True
    numbers = sum(bool(_NUMBER.match(n)) for n in filled)
    return numbers > 0 and bool(_STAMP_LIKE.match(filled[0]))


def _fit(head, sep):
    """How well `sep` fits the first lines.

    Returns:
        (two fields or more, no line before the header, the share of rows agreeing, the
        number of fields, the header's place in `head`).
    """
    counts = [len(_fields(line, sep)) for _, line in head]
    rows = counts[1:] or counts
    count = collections.Counter(rows).most_common(1)[0][0]
    header = next(
        (
            i
            for i, (_, line) in enumerate(head)
            if not line.lstrip().startswith("#")
            and line.replace(sep, "").strip()
            and _agrees(line, counts[i], count, head, sep)
        ),
        len(head) - 1,
    )
    agreeing = sum(c == count for c in counts[header + 1 :]) / max(len(counts) - header - 1, 1)
    return (count >= 2, header == 0, agreeing, count, header)


def _agrees(line, fields, count, head, sep):
    """A header agrees with rows of `count` fields, up to empty trailing fields."""
    if fields == count:
        return True
    names = _fields(line, sep)
    if fields > count:
        return all(not n.strip() for n in names[count:])
    rows = [_fields(row, sep) for _, row in head[1:]]
    return all(all(not f.strip() for f in row[fields:]) for row in rows if len(row) == count)


def _fitted_header(names, count):
    """The header padded with unnamed columns, or cut of its empty names, to `count`."""
    if len(names) > count and not any(names[count:]):
        return names[:count]
    return names + [""] * (count - len(names))


def _footer(tail, count, sep):
    """The number of lines at the end with fewer than `count` fields."""
    footer = 0
    for line in reversed(tail):
        if len(_fields(line, sep)) >= count:
            break
        footer += 1
    return footer if footer < len(tail) else 0


def _without_footer(text, skipfooter, name):
    if not skipfooter:
        return text
    end = len(text.rstrip())
    for _ in range(skipfooter):
        start = text.rfind("\n", 0, end)
        if start < 0:
            raise DataError(f"{name} has fewer lines than skipfooter={skipfooter}")
        end = len(text[:start].rstrip())
    return text[:end] + "\n"


def _line_start(text, line):
    """The offset of line `line` (counted from 0)."""
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return len(text)
    return start
