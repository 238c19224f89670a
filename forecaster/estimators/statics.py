"""Static covariates: values constant within each series, encoded once for the network.

A static column is given in the frame (constant within each series) or as a separate
frame keyed by series (`attach`). `Statics.fit` learns from the training rows how to encode
them, and `Statics.encode` replaces them by numbers the windows carry once per window:

- a numeric static is standardized across the series (its mean and standard deviation over
  one value per series), never per series, where a constant would become 0;
- a text static (and, with `series_embedding`, the series id itself) is a category: the
  values seen in training are numbered from 1 in sorted order, 0 standing for a value
  never seen, and the network learns an embedding of each (`forecaster.networks.layers`).

The encoded columns come numeric ones first, then the categories, as the network's
`static` input expects (`Shapes.static` and `Shapes.categories`).

>>> statics = Statics.fit(train, ["region", "size"], id_col="store", series_embedding=True)
>>> statics.columns, statics.categories  # (['size', 'region', 'store:series'], (4, 21))
>>> windows = make_windows(statics.encode(scaled_train), spec)
"""

import dataclasses

import numpy as np
import pandas as pd

from forecaster.data import DataError

SERIES_SUFFIX = ":series"  # the encoded series id's column: "<id_col>:series"


@dataclasses.dataclass(frozen=True)
class Statics:
    """How the static columns of one fit are encoded.

    Attributes:
        numeric: the numeric static columns.
        center, scale: their mean and standard deviation over the training series (a
            scale of 0 is taken as 1).
        categorical: the text static columns, then the series id's column when embedded.
        vocabularies: for each of `categorical`, the values seen in training, sorted.
        id_col: the series column (None in wide format).
    """

    numeric: tuple = ()
    center: tuple = ()
    scale: tuple = ()
    categorical: tuple = ()
    vocabularies: tuple = ()
    id_col: str | None = None

    @classmethod
    def fit(cls, frame, names, *, id_col=None, series_embedding=False):
        """Learns the encoding of the static columns `names` from the training rows.

        Args:
            frame: the training rows (long format with `id_col`, or one wide series).
            names: the static columns, each constant within every series.
            id_col: the series column; None in wide format.
            series_embedding: also encode the series id as a category.

        Returns:
            A `Statics`.

        Raises:
            DataError: a static column is absent or varies within a series.
        """
        table = per_series(frame, names, id_col)
        numeric, categorical, vocabularies, centers, scales = [], [], [], [], []
        for name in names:
            column = table[name]
            if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
                column.dtype
            ):
                values = column.to_numpy(dtype="float64")
                if not np.isfinite(values).all():
                    raise DataError(f"static column {name!r} has a missing or infinite value")
                numeric.append(name)
                centers.append(float(values.mean()))
                spread = float(values.std())
                scales.append(spread if spread > 0 else 1.0)
            else:
                categorical.append(name)
                vocabularies.append(_vocabulary(column))
        if series_embedding:
            if id_col is None:
                raise DataError(
                    "series_embedding=True needs series: a long frame with an id column "
                    "(id_col=...); this frame is one wide series"
                )
            categorical.append(id_col + SERIES_SUFFIX)
            vocabularies.append(_vocabulary(pd.Series(table.index)))
        return cls(
            tuple(numeric),
            tuple(centers),
            tuple(scales),
            tuple(categorical),
            tuple(vocabularies),
            id_col,
        )

    @property
    def columns(self):
        """The encoded columns, numeric first: what `WindowSpec.static` names."""
        return [*self.numeric, *self.categorical]

    @property
    def categories(self):
        """Each categorical column's number of codes (its vocabulary and the unknown 0)."""
        return tuple(len(vocabulary) + 1 for vocabulary in self.vocabularies)

    def encode(self, frame):
        """A copy of `frame` whose static columns hold their encoded numbers (float32).

        Raises:
            DataError: a static column is absent from `frame`.
        """
        out = frame.copy()
        for name, center, scale in zip(self.numeric, self.center, self.scale, strict=True):
            out[name] = ((_column(frame, name) - center) / scale).astype("float32")
        for name, vocabulary in zip(self.categorical, self.vocabularies, strict=True):
            source = self.id_col if name == _series_column(self.id_col) else name
            codes = pd.Index(vocabulary).get_indexer(_column(frame, source).astype(str)) + 1
            out[name] = codes.astype("float32")  # -1 + 1: unseen values get the code 0
        return out

    def to_dict(self):
        """A JSON-ready dict (for the saved schema)."""
        return {
            field.name: _listed(getattr(self, field.name)) for field in dataclasses.fields(self)
        }

    @classmethod
    def from_dict(cls, state):
        """Rebuilds a `Statics` from `to_dict`'s output."""
        fields = {name: value for name, value in state.items() if name != "id_col"}
        fields = {
            name: tuple(tuple(v) if isinstance(v, list) else v for v in value)
            for name, value in fields.items()
        }
        return cls(**fields, id_col=state["id_col"])


def attach(frame, static, names, id_col):
    """`frame` with the static columns `names` taken from the frame `static`, by series.

    Args:
        frame: a long frame (or a wide one, with `id_col` None).
        static: a frame with one row per series: its index (or its `id_col` column) the
            series ids, and the columns `names`; None: `frame` as it is.
        names: the static columns to take from it.
        id_col: the series column of `frame`.

    Returns:
        A copy of `frame` with those columns, or `frame` itself when `static` is None.

    Raises:
        DataError: `static` lacks a column or a series of `frame`, or names one twice.
    """
    if static is None:
        return frame
    if not isinstance(static, pd.DataFrame):
        raise DataError(f"static must be a DataFrame keyed by series, got {type(static).__name__}")
    if id_col is not None and id_col in static.columns:
        static = static.set_index(id_col)
    absent = [name for name in names if name not in static.columns]
    if absent:
        raise DataError(
            f"the static frame has no column {absent[0]!r}; its columns are {list(static.columns)}"
        )
    if static.index.has_duplicates:
        repeated = static.index[static.index.duplicated()][0]
        raise DataError(f"the static frame has two rows for series {repeated!r}; give one each")
    out = frame.copy()
    if id_col is None:
        if len(static) != 1:
            raise DataError(
                f"a wide frame is one series, so the static frame needs one row; got {len(static)}"
            )
        for name in names:
            out[name] = static[name].iloc[0]
        return out
    ids = frame[id_col]
    missing = pd.Index(ids.unique()).difference(static.index)
    if len(missing):
        raise DataError(
            f"the static frame has no row for series {missing[0]!r} "
            f"({len(missing)} series of the frame lack one)"
        )
    for name in names:
        out[name] = ids.map(static[name]).to_numpy()
    return out


def per_series(frame, names, id_col):
    """One row per series of the static columns `names`, checked constant within each.

    Raises:
        DataError: a column is absent, or varies within a series (naming both).
    """
    absent = [name for name in names if name not in frame.columns]
    if absent:
        raise DataError(
            f"static column {absent[0]!r} is not in the frame; give it there or as fit(static=) "
            f"keyed by series; columns are {list(frame.columns)}"
        )
    names = list(names)
    if id_col is None:
        table = frame[names]
        varies = table.nunique(dropna=False) > 1
        if varies.any():
            raise DataError(f"static column {varies.idxmax()!r} varies within the frame")
        return table.iloc[:1]
    groups = frame.groupby(id_col, sort=False)[names]
    if names:
        varies = groups.nunique(dropna=False) > 1
        if varies.to_numpy().any():
            series, column = varies.stack().loc[lambda v: v].index[0]
            # The message names series 2, not np.int64(2).
            series = series.item() if isinstance(series, np.generic) else series
            raise DataError(f"static column {column!r} varies within series {series!r}")
    return groups.first() if names else pd.DataFrame(index=frame[id_col].unique())


def _series_column(id_col):
    return None if id_col is None else id_col + SERIES_SUFFIX


def _vocabulary(column):
    return tuple(sorted({str(value) for value in column.dropna()}))


def require(frame, names):
    """Raises a `DataError` naming the first static column of `names` absent from `frame`."""
    for name in names:
        _column(frame, name)


def _column(frame, name):
    if name not in frame.columns:
        raise DataError(
            f"static column {name!r} is not in the frame; give it there or as static= keyed "
            f"by series; columns are {list(frame.columns)}"
        )
    return frame[name]


def _listed(value):
    if isinstance(value, tuple):
        return [_listed(v) for v in value]
    return value
