"""The data layer's error for a problem in the data itself, and its note for what it dropped."""


class DataError(ValueError):
    """A CSV or DataFrame that cannot become a regular, numeric time series.

    The message is one line that names the file, column, row or value at fault and what
    would be accepted. Rows are counted from 1 at the first line after the header, so in a
    file without blank lines row ``n`` is on line ``n + 1``. Bad *arguments* (an unknown
    policy name, a negative lookback) raise a plain `ValueError` instead; catching
    `ValueError` catches both.

    Attributes:
        fix: the `read_csv` arguments that the message names and that get past this
            problem (``{"skiprows": 2}``), or None when no one option does. Applying it
            either loads the file or meets the file's next problem, never this one again;
            `forecaster inspect` applies them one after another.
    """

    def __init__(self, message, fix=None):
        super().__init__(message)
        self.fix = fix


class DataNote(UserWarning):
    """What the reader dropped or chose on its own, said in one line as a warning.

    An empty column without a name, a row index, empty rows, a few repeated stamps it
    averaged, a coarser second time column.
    """
