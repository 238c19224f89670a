"""Calendar features from timestamps: known in advance, so usable over the horizon too.

Each feature is a phase on its cycle, given as a sin/cos pair so that the end of a cycle
sits next to its start (23:00 next to 00:00, December next to January). Aware timestamps
give the local wall-clock time of their zone.
"""

import numpy as np
import pandas as pd

CALENDAR_FEATURES = ("hour", "day_of_week", "day_of_year", "month")


def check_features(features):
    """Returns `features` as a tuple if each is a known calendar feature, else raises."""
    features = (features,) if isinstance(features, str) else tuple(features)
    unknown = [f for f in features if f not in CALENDAR_FEATURES]
    if unknown:
        raise ValueError(
            f"calendar feature {unknown[0]!r} is not known; pass some of {CALENDAR_FEATURES}"
        )
    return features


def calendar_features(index, features=CALENDAR_FEATURES):
    """Returns sin/cos calendar features of each timestamp.

    Args:
        index: a `pd.DatetimeIndex`, `(time,)`.
        features: some of "hour" (of the day, minutes included), "day_of_week", "day_of_year"
            (365 or 366 days) and "month".

    Returns:
        A float32 DataFrame `(time, 2 * len(features))` on `index`, with the columns
        ``"<feature>_sin"`` and ``"<feature>_cos"`` in the order of `features`.

    Example:
        >>> calendar_features(pd.date_range("2024-01-01", periods=2, freq="6h"), ["hour"])
                             hour_sin  hour_cos
        2024-01-01 00:00:00       0.0       1.0
        2024-01-01 06:00:00       1.0      -0.0
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(f"calendar features need a DatetimeIndex, got {type(index).__name__}")
    columns = {}
    for feature in check_features(features):
        phase = _phase(index, feature)
        columns[f"{feature}_sin"] = np.sin(2 * np.pi * phase)
        columns[f"{feature}_cos"] = np.cos(2 * np.pi * phase)
    return pd.DataFrame(columns, index=index, dtype="float32")


def _phase(index, feature):
    """The position within the feature's cycle, in [0, 1)."""
    if feature == "hour":
        return (index.hour.to_numpy() + index.minute.to_numpy() / 60) / 24
    if feature == "day_of_week":
        return index.day_of_week.to_numpy() / 7
    if feature == "day_of_year":
        return (index.day_of_year.to_numpy() - 1) / (365 + index.is_leap_year.astype(int))
    return (index.month.to_numpy() - 1) / 12
