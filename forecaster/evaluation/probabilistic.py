"""Scores of probabilistic forecasts: quantiles, samples and intervals, as plain NumPy.

- `pinball`: the quantile (pinball) loss of forecast quantiles, per level and averaged;
- `crps_quantiles`: the CRPS approximated from forecast quantiles (twice the mean pinball
  loss over the levels, which tends to the CRPS as the levels fill (0, 1));
- `crps_samples`: the CRPS of an ensemble, ``E|X - y| - E|X - X'| / 2`` over its samples;
- `coverage` and `width`: the share of true values inside an interval, and its mean width;
- `msis`: the mean scaled interval score of the M4 Competition (Makridakis et al. 2020),
  one series at a time, scaled by the in-sample seasonal-naive error as MASE is.

Every function takes `y_true` of any shape and forecasts with the same shape, plus a last
axis of levels (quantiles) or samples where it says so.

>>> pinball(y, q, [0.05, 0.5, 0.95])  # q: (..., 3)
>>> msis(y, lower, upper, insample, season=24, alpha=0.05)
"""

import math

import numpy as np


def _levels(levels):
    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim != 1 or levels.size == 0 or np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(f"levels must be quantile levels in (0, 1), got {levels.tolist()}")
    return levels


def _quantiles(y_true, quantiles, levels):
    y_true = np.asarray(y_true, dtype=np.float64)
    quantiles = np.asarray(quantiles, dtype=np.float64)
    levels = _levels(levels)
    if quantiles.shape != (*y_true.shape, levels.size):
        raise ValueError(
            f"quantiles have shape {quantiles.shape}; expected {(*y_true.shape, levels.size)}, "
            "the shape of y_true and one value per level"
        )
    return y_true, quantiles, levels


def pinball(y_true, quantiles, levels, *, per_level=False):
    """The mean pinball loss of forecast quantiles.

    For level `tau` and quantile `q`, the loss of `y` is ``tau (y - q)`` when ``y >= q``
    and ``(1 - tau) (q - y)`` otherwise.

    Args:
        y_true: true values, any shape.
        quantiles: forecasts, `y_true`'s shape plus a last axis of `len(levels)`.
        levels: the quantile levels, each in (0, 1).
        per_level: return one mean per level instead of their mean.

    Returns:
        A float, or an array `(levels,)`.
    """
    y_true, quantiles, levels = _quantiles(y_true, quantiles, levels)
    error = y_true[..., None] - quantiles
    loss = np.maximum(levels * error, (levels - 1) * error)
    means = loss.reshape(-1, levels.size).mean(axis=0)
    return means if per_level else float(means.mean())


def crps_quantiles(y_true, quantiles, levels):
    """The CRPS approximated from quantiles: twice the mean pinball loss over the levels.

    With levels spread evenly over (0, 1) it tends to the CRPS of the forecast
    distribution as their number grows.
    """
    return 2.0 * pinball(y_true, quantiles, levels)


def crps_samples(y_true, samples):
    """The CRPS of an ensemble, ``mean |X - y| - mean |X - X'| / 2``, averaged over `y_true`.

    Args:
        y_true: true values, any shape.
        samples: `y_true`'s shape plus a last axis of samples (at least one).

    Returns:
        A float. The pairwise term is computed from the sorted samples in
        `O(m log m)` per value: ``sum_i (2 i - m - 1) x_(i) / m^2``.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    samples = np.asarray(samples, dtype=np.float64)
    if samples.shape[:-1] != y_true.shape or samples.shape[-1] < 1:
        raise ValueError(
            f"samples have shape {samples.shape}; expected the shape of y_true {y_true.shape} "
            "plus a last axis of samples"
        )
    m = samples.shape[-1]
    spread = np.abs(samples - y_true[..., None]).mean(axis=-1)
    ordered = np.sort(samples, axis=-1)
    weights = (2 * np.arange(1, m + 1) - m - 1) / m**2
    pairwise = (ordered * weights).sum(axis=-1)  # mean |X - X'| / 2
    return float((spread - pairwise).mean())


def _interval(y_true, lower, upper):
    y_true = np.asarray(y_true, dtype=np.float64)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    if not (lower.shape == upper.shape == y_true.shape):
        raise ValueError(
            f"lower {lower.shape}, upper {upper.shape} and y_true {y_true.shape} must have "
            "one shape"
        )
    crossed = np.flatnonzero(lower.ravel() > upper.ravel())
    if crossed.size:
        raise ValueError(
            f"the interval's lower bound is above its upper bound at position {crossed[0]}"
        )
    return y_true, lower, upper


def coverage(y_true, lower, upper):
    """The share of true values inside ``[lower, upper]``."""
    y_true, lower, upper = _interval(y_true, lower, upper)
    return float(np.mean((y_true >= lower) & (y_true <= upper)))


def width(lower, upper):
    """The interval's mean width, ``mean(upper - lower)``."""
    _, lower, upper = _interval(lower, lower, upper)
    return float(np.mean(upper - lower))


def msis(y_true, lower, upper, insample, season=1, alpha=0.05):
    """The M4 Competition's mean scaled interval score of one series.

    ``mean((U - L) + 2/alpha (L - y) 1{y < L} + 2/alpha (y - U) 1{y > U})`` divided by the
    in-sample seasonal-naive MAE, ``mean |x_t - x_{t-m}|`` (the MASE scale).

    Args:
        y_true: the series' true values over the horizon, `(horizon,)`.
        lower: the interval's lower bounds, the same shape.
        upper: its upper bounds, the same shape.
        insample: the series' training values, `(n,)` with ``n > season``.
        season: the seasonal period m.
        alpha: the interval's miss rate (0.05 for a 95% interval).

    Returns:
        A float.

    Raises:
        ValueError: shapes differ, bounds cross, `alpha` is not in (0, 1), the in-sample
            series is too short or its scale is 0.
    """
    y_true, lower, upper = _interval(y_true, lower, upper)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    insample = np.asarray(insample, dtype=np.float64)
    if insample.ndim != 1 or insample.size <= season:
        raise ValueError(
            f"the in-sample series needs more than season = {season} values, got {insample.size}"
        )
    scale = np.mean(np.abs(insample[season:] - insample[:-season]))
    if scale == 0:
        raise ValueError("the in-sample seasonal-naive error is 0; MSIS is undefined")
    return float(interval_score(y_true, lower, upper, alpha).mean() / scale)


def interval_score(y_true, lower, upper, alpha):
    """The interval score of each value (Gneiting and Raftery 2007), unscaled.

    ``(U - L) + 2/alpha (L - y) 1{y < L} + 2/alpha (y - U) 1{y > U}``; `msis` is its mean
    over a series divided by the series' in-sample seasonal-naive error.

    Returns:
        An array of `y_true`'s shape.
    """
    y_true, lower, upper = _interval(y_true, lower, upper)
    below = (lower - y_true) * (y_true < lower)
    above = (y_true - upper) * (y_true > upper)
    return (upper - lower) + 2 / alpha * (below + above)


def interval_name(lower):
    """The name of the central interval from `lower` to `1 - lower`: its coverage in percent.

    Example:
        >>> interval_name(0.05), interval_name(0.025), interval_name(0.1)
        ('90', '95', '80')
    """
    return f"{round(100 * (1 - 2 * lower), 6):g}"


def central_pairs(levels):
    """The central intervals among `levels`: `(lower, upper)` with ``upper = 1 - lower``.

    Example:
        >>> central_pairs([0.05, 0.1, 0.5, 0.9, 0.95])
        [(0.05, 0.95), (0.1, 0.9)]
    """
    found = []
    for low in levels:
        partner = [high for high in levels if math.isclose(high, 1 - low) and high > low]
        if partner:
            found.append((low, partner[0]))
    return found


def quantile_scores(y_true, quantiles, levels, scale):
    """Every score of forecast quantiles, as `evaluate` and backtests report them.

    Args:
        y_true: true values, any shape.
        quantiles: `y_true`'s shape plus a last axis of `len(levels)`.
        levels: the quantile levels.
        scale: each value's MSIS scale (the in-sample seasonal-naive error), broadcastable
            to `y_true`.

    Returns:
        "pinball" and "crps" (from the quantiles) over every level, and for each central
        interval "coverage_<c>", "width_<c>" and "msis_<c>", named by its coverage in
        percent (`interval_name`); {} without levels.
    """
    if len(levels) == 0:
        return {}
    levels = list(levels)
    result = {
        "pinball": pinball(y_true, quantiles, levels),
        "crps": crps_quantiles(y_true, quantiles, levels),
    }
    for low, high in central_pairs(levels):
        lower, upper = quantiles[..., levels.index(low)], quantiles[..., levels.index(high)]
        name = interval_name(low)
        result[f"coverage_{name}"] = coverage(y_true, lower, upper)
        result[f"width_{name}"] = width(lower, upper)
        score = interval_score(y_true, lower, upper, 1 - (high - low))
        result[f"msis_{name}"] = float(np.mean(score / np.asarray(scale)))
    return result
