"""What the reader finds in a file, and the exact call that loads it: `inspect_csv`.

`inspect_csv` reads a file as `read_csv` would; where the reader refuses it and its
`DataError` names the one option that gets past the problem (its `fix`), it applies that
option and reads again, until the file loads or a refusal names no single option. The
result says what was found (time column and step, span, rows, each column's type,
missing cells and whether it is constant, gaps and duplicated stamps, separator, number
format, encoding, compression), each problem met with the option that passed it, and the
`read_csv` call that loads the file. A file in which no time column is found is read by
step where that fits it (``time_col=False``, or ``id_col=..., orient="rows"`` for one
series per row: `forecaster.data.steps`). `forecaster inspect FILE` prints it, with the
config's ``source:`` section.
"""

import dataclasses
import warnings
from pathlib import Path

from forecaster.data.columns import spelled
from forecaster.data.errors import DataError, DataNote
from forecaster.data.reading import load

_MOST_STEPS = 12  # fixes applied before giving up (each adds an option)


@dataclasses.dataclass
class Inspection:
    """What `inspect_csv` found.

    Attributes:
        path: the file.
        options: the `read_csv` keyword arguments that load it (or the last ones tried).
        steps: each refusal met, as `(message, fix)`, in order.
        loaded: the `forecaster.data.reading.Loaded` read with `options`, or None.
        error: the refusal that no single option gets past, or None.
    """

    path: Path
    options: dict
    steps: list
    loaded: object
    error: str | None

    def call(self):
        """The `read_csv` call that loads the file, as Python source."""
        arguments = [repr(str(self.path))] + [f"{k}={v!r}" for k, v in self.options.items()]
        return f"forecaster.read_csv({', '.join(arguments)})"

    def lines(self):
        """The report, as lines of text."""
        out = []
        for message, fix in self.steps:
            shown = ", ".join(f"{k}={v!r}" for k, v in fix.items())
            out.append(f"refused: {message}")
            out.append(f"  so: {shown}")
        if self.loaded is not None:
            out += _found(self.loaded, self.path.name, self.options)
        if self.error is not None:
            out.append(f"refused: {self.error}")
        else:
            out.append(f"loads with: {self.call()}")
        return out

    def __str__(self):
        """The report, one line per finding."""
        return "\n".join(self.lines())


def inspect_csv(path, **options):
    """Reads a file as `read_csv` would, applying each refusal's fix, and says what it found.

    Args:
        path: the file.
        **options: `read_csv` keyword arguments to start from.

    Returns:
        An `Inspection`.

    Raises:
        ValueError: an option is not one `read_csv` accepts.
    """
    options = dict(options)
    steps = []
    for _ in range(_MOST_STEPS):
        try:
            with warnings.catch_warnings():  # its notes are in the report
                warnings.simplefilter("ignore", DataNote)
                loaded = load(path, **options)
        except DataError as error:
            if error.fix is None or all(options.get(k) == v for k, v in error.fix.items()):
                return Inspection(Path(path), options, steps, None, str(error))
            steps.append((str(error), error.fix))
            options.update(error.fix)
            continue
        return Inspection(Path(path), options, steps, loaded, None)
    return Inspection(Path(path), options, steps, None, steps[-1][0])


def _found(loaded, name, options):
    frame, text, layout, numbers = (
        loaded.frame,
        loaded.text,
        loaded.layout,
        loaded.number_format,
    )
    how = "found" if layout.detected else "given"
    number = "1,234.5".replace(",", "\0").replace(".", numbers.decimal)
    number = number.replace("\0", numbers.thousands or "")
    out = [
        f"file: {name}, {text.encoding}"
        + (f", {text.compression}-compressed" if text.compression else "")
        + f", separator {layout.sep!r} ({how}), header on line {layout.header_line}, "
        f"numbers written {number}",
        *(_time(loaded) if loaded.time_col else _steps(loaded, options)),
        "columns:",
    ]
    id_col = frame.attrs.get("id_col")
    if id_col is not None:
        out.append(f"  {id_col}: series id, {frame[id_col].nunique()} series")
    for column in frame.columns:
        if column == id_col:
            continue
        source = column.rpartition("=")[0]
        kind = f"one-hot of text column {source!r}" if source in loaded.encoded else "number"
        values = frame[column]
        empty = loaded.missing.get(column, 0)
        constant = ", constant" if values.nunique() <= 1 else ""
        out.append(
            f"  {column}: {kind}, {empty} missing{constant}, {values.min():g} to {values.max():g}"
        )
    out += [f"note: {note}" for note in loaded.notes]
    return out


def _time(loaded):
    """The time column, step and span; the rows read and put on the grid."""
    frame = loaded.frame
    return [
        f"time: {spelled(loaded.time_col)}, step {frame.attrs['freq']!r}, "
        f"{frame.index.min()} to {frame.index.max()}",
        f"rows: {loaded.rows} read, {len(frame)} on the grid ({loaded.duplicates} repeated "
        f"stamps, {loaded.gaps} missing steps)",
    ]


def _steps(loaded, options):
    """How a series without timestamps was read, and its steps."""
    frame = loaded.frame
    how = "orient='rows'" if options.get("orient") == "rows" else "time_col=False"
    id_col = frame.attrs.get("id_col")
    if id_col is None:
        series = f"one series of {len(frame)} steps (0 to {len(frame) - 1})"
    else:
        lengths = frame.groupby(id_col, sort=False).size()
        spread = f"{lengths.min()} to {lengths.max()}"
        series = (
            f"{len(lengths)} series of {lengths.max() if lengths.nunique() == 1 else spread} steps"
        )
    return [
        f"time: none ({how}), {series}",
        f"rows: {loaded.rows} read, {len(frame)} steps",
    ]
