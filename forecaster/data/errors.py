"""The one error type the data layer raises for a problem in the data itself."""


class DataError(ValueError):
    """A CSV or DataFrame that cannot become a regular, numeric time series.

    The message is one line that names the file, column, row or value at fault and what
    would be accepted. Rows are counted from 1 at the first line after the header, so in a
    file without blank lines row ``n`` is on line ``n + 1``. Bad *arguments* (an unknown
    policy name, a negative lookback) raise a plain `ValueError` instead; catching
    `ValueError` catches both.
    """
