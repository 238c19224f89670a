"""Scalers fitted on the training part only, per column and per series, saved as JSON.

A `Scaler` wraps one scikit-learn scaler per series (one in wide format): ``"standard"``
(`StandardScaler`), ``"minmax"`` (`MinMaxScaler`), ``"robust"`` (`RobustScaler`) or
``"none"`` (the identity). scikit-learn scales a constant column by 1, so it comes out as
zeros (standard, robust) or its offset (min-max), never NaN or inf.
"""

import json

import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from forecaster.data.errors import DataError

SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler, "none": None}
# What each fitted scikit-learn scaler learns; these attributes are its JSON state.
_FITTED = {
    "standard": ("mean_", "var_", "scale_", "n_samples_seen_"),
    "minmax": ("min_", "scale_", "data_min_", "data_max_", "data_range_", "n_samples_seen_"),
    "robust": ("center_", "scale_"),
    "none": (),
}


class Scaler:
    """Per-column, per-series scaling with fit / transform / inverse_transform.

    Args:
        kind: "standard", "minmax", "robust" or "none".

    Example:
        >>> scaler = Scaler("standard").fit(parts.train)  # the training part only
        >>> scaled = parts.map(scaler.transform)
        >>> restored = scaler.inverse_transform(scaled.test)
    """

    def __init__(self, kind="standard"):
        if kind not in SCALERS:
            raise ValueError(f"kind={kind!r} is not a scaler; pass one of {tuple(SCALERS)}")
        self.kind = kind
        self.columns = None
        self.id_col = None
        self.scalers = {}  # series id (None in wide format) -> fitted scikit-learn scaler

    def __repr__(self):
        """Names the kind, the fitted columns and the number of series."""
        fitted = "unfitted" if self.columns is None else f"columns={self.columns}"
        return f"Scaler({self.kind!r}, {fitted}, series={len(self.scalers)})"

    def fit(self, frame, columns=None, id_col=None):
        """Learns each series' per-column statistics from `frame` (the training part).

        Args:
            frame: a DataFrame as from `read_csv` or `Split.train`.
            columns: the columns to scale; None: every column but the id column.
            id_col: in long format, the series column; None: ``frame.attrs["id_col"]``.

        Returns:
            The scaler itself.
        """
        self.id_col = frame.attrs.get("id_col") if id_col is None else id_col
        self.columns = _columns(frame, columns, self.id_col)
        self.scalers = {}
        values = frame[self.columns].to_numpy(dtype="float64")  # once: slicing it is cheap
        for key, positions in _positions_by_series(frame, self.id_col):
            part = values[positions]
            self.scalers[key] = None if self.kind == "none" else SCALERS[self.kind]().fit(part)
        return self

    def transform(self, frame):
        """Returns a copy of `frame` with the fitted columns scaled, series by series."""
        return self._apply(frame, "transform")

    def inverse_transform(self, data, *, columns=None, series=None):
        """Undoes `transform` on a DataFrame, or on an array whose last axis is `columns`.

        Args:
            data: a scaled DataFrame, or a NumPy array `(..., len(columns))` such as the
                model's predictions `(windows, horizon, targets)`.
            columns: for an array, the names of its last axis (a subset of the fitted
                columns, in any order); None: all fitted columns.
            series: for an array in long format, the id of the series it belongs to.

        Returns:
            Data of the same type and shape in the original units.
        """
        if isinstance(data, pd.DataFrame):
            return self._apply(data, "inverse_transform")
        self._check_fitted()
        columns = self.columns if columns is None else list(columns)
        absent = [c for c in columns if c not in self.columns]
        if absent:
            raise DataError(f"column {absent[0]!r} was not scaled; scaled are {self.columns}")
        center, scale = self.statistics(series)
        where = [self.columns.index(c) for c in columns]
        return np.asarray(data) * scale[where] + center[where]

    def statistics(self, series=None):
        """Returns `(center, scale)` arrays such that ``scaled = (x - center) / scale``."""
        self._check_fitted()
        if series not in self.scalers:
            raise DataError(f"series {series!r} was not in the data the scaler was fitted on")
        fitted = self.scalers[series]
        n = len(self.columns)
        if self.kind == "none":
            return np.zeros(n), np.ones(n)
        if self.kind == "standard":
            return fitted.mean_, fitted.scale_
        if self.kind == "robust":
            return fitted.center_, fitted.scale_
        return -fitted.min_ / fitted.scale_, 1 / fitted.scale_  # x * scale_ + min_

    def to_json(self):
        """Returns the fitted state as a JSON string (for saved models and MLflow runs)."""
        self._check_fitted()
        state = {}
        for key, fitted in self.scalers.items():
            names = _FITTED[self.kind]
            state[json.dumps(key)] = {a: np.asarray(getattr(fitted, a)).tolist() for a in names}
        return json.dumps(
            {"kind": self.kind, "columns": self.columns, "id_col": self.id_col, "series": state}
        )

    @classmethod
    def from_json(cls, text):
        """Rebuilds a fitted `Scaler` from `to_json`'s output."""
        state = json.loads(text)
        scaler = cls(state["kind"])
        scaler.columns, scaler.id_col = state["columns"], state["id_col"]
        for key, attributes in state["series"].items():
            fitted = None if scaler.kind == "none" else SCALERS[scaler.kind]()
            for name, value in attributes.items():
                setattr(fitted, name, np.asarray(value) if isinstance(value, list) else value)
            if fitted is not None:
                fitted.n_features_in_ = len(scaler.columns)
            scaler.scalers[json.loads(key)] = fitted
        return scaler

    def _check_fitted(self):
        if self.columns is None:
            raise ValueError("this Scaler is not fitted yet; call fit(train) first")

    def _apply(self, frame, method):
        self._check_fitted()
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            raise DataError(f"the frame has no column {absent[0]!r}, which the scaler was fit on")
        if self.id_col is not None and self.kind != "none":
            return self._apply_long(frame, method)
        out = frame.copy()
        for key, part in _series(frame, self.id_col):
            if key not in self.scalers:
                raise DataError(f"series {key!r} was not in the data the scaler was fitted on")
            fitted = self.scalers[key]
            if fitted is None or len(part) == 0:
                continue
            values = getattr(fitted, method)(part[self.columns].to_numpy(dtype="float64"))
            rows = _positions(frame, self.id_col, key)
            out.iloc[rows, [frame.columns.get_loc(c) for c in self.columns]] = values
        return out

    def _apply_long(self, frame, method):
        """`_apply` in long format: every series at once, from each row's series statistics.

        Equal to each series' scikit-learn scaler up to rounding (all of them are affine per
        column), in one pass however many series there are.
        """
        if self.id_col not in frame.columns:
            raise DataError(
                f"id column {self.id_col!r} is not in the frame; columns are {list(frame)}"
            )
        codes, keys = pd.factorize(frame[self.id_col], sort=False)
        unknown = [key for key in keys if key not in self.scalers]
        if unknown:
            raise DataError(f"series {unknown[0]!r} was not in the data the scaler was fitted on")
        center, scale = self.series_statistics(keys)
        values = frame[self.columns].to_numpy(dtype="float64")
        if method == "transform":
            values = (values - center[codes]) / scale[codes]
        else:
            values = values * scale[codes] + center[codes]
        out = frame.copy()
        out[self.columns] = values
        return out

    def series_statistics(self, keys, columns=None):
        """`(center, scale)` arrays `(len(keys), columns)`, a row per series of `keys`.

        Args:
            keys: series ids (`[None]` in wide format).
            columns: the columns, in order; one the scaler leaves as it is (not fitted)
                has center 0 and scale 1. None: the fitted columns.
        """
        pairs = [self.statistics(key) for key in keys]
        width = len(self.columns)
        if not pairs:
            center, scale = np.zeros((0, width)), np.ones((0, width))
        else:
            center, scale = np.stack([c for c, _ in pairs]), np.stack([s for _, s in pairs])
        if columns is None:
            return center, scale
        shape = (len(keys), len(columns))
        out_center, out_scale = np.zeros(shape), np.ones(shape)
        for i, name in enumerate(columns):
            if name in self.columns:
                out_center[:, i] = center[:, self.columns.index(name)]
                out_scale[:, i] = scale[:, self.columns.index(name)]
        return out_center, out_scale


def _columns(frame, columns, id_col):
    if columns is None:
        return [c for c in frame.columns if c != id_col]
    columns = [columns] if isinstance(columns, str) else list(columns)
    absent = [c for c in columns if c not in frame.columns or c == id_col]
    if absent:
        raise DataError(f"the frame has no value column {absent[0]!r}; it has {list(frame)}")
    return columns


def _series(frame, id_col):
    """Yields `(series id, rows)`, with the id None in wide format."""
    if id_col is None:
        yield None, frame
        return
    if id_col not in frame.columns:
        raise DataError(f"id column {id_col!r} is not in the frame; columns are {list(frame)}")
    yield from frame.groupby(id_col, sort=False)


def _positions_by_series(frame, id_col):
    """Yields `(series id, row positions)` in the order the series first appear."""
    if id_col is None:
        yield None, slice(None)
        return
    if id_col not in frame.columns:
        raise DataError(f"id column {id_col!r} is not in the frame; columns are {list(frame)}")
    codes, keys = pd.factorize(frame[id_col], sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    for i, key in enumerate(keys):
        key = key.item() if isinstance(key, np.generic) else key  # JSON writes the state
        yield key, order[bounds[i] : bounds[i + 1]]


def _positions(frame, id_col, key):
    if id_col is None:
        return np.arange(len(frame))
    return np.flatnonzero(frame[id_col].to_numpy() == key)
