"""Quantiles, samples and calibrated intervals of any forecaster, in the original units.

A forecaster's quantiles come from one of two places:

- its network (`NetworkConfig.quantiles` or `distribution`, `forecaster.networks.outputs`):
  the levels it was trained for, or those read off its distribution;
- conformal calibration (`BaseForecaster.calibrate`), for any forecaster, baselines
  included. Split conformal, per horizon step and target: on held-out windows, the score
  of each window is its absolute error (Vovk et al. 2005; Lei et al. 2018), or, for a
  forecaster with its own quantiles, how far the value fell outside its interval
  (conformalized quantile regression, Romano et al. 2019); the interval's margin is the
  ``ceil((n + 1) c) / n`` empirical quantile of the n scores, which covers a new window's
  value with probability at least c when windows are exchangeable. Scores are on each
  series' scaled values, so one margin serves series of any size, and the margin is
  mapped back with each series' scale.

Where both give a level, the calibrated one is used.
"""

import dataclasses
import math

import numpy as np
from scipy import stats

from forecaster import checks
from forecaster.data import DataError
from forecaster.evaluation import probabilistic
from forecaster.networks.outputs import Outputs

# The levels a distribution reports when `NetworkConfig.quantiles` names none.
DISTRIBUTION_LEVELS = (0.05, 0.5, 0.95)


def outputs(model):
    """The `Outputs` of a forecaster: its network's, or a point forecast."""
    network = getattr(model, "network", None)
    return Outputs() if network is None else Outputs.of(network)


def own_levels(model):
    """The quantile levels a forecaster gives without calibration."""
    kind = outputs(model)
    if kind.distribution is not None:
        return tuple(model.network.quantiles) or DISTRIBUTION_LEVELS
    return kind.quantiles


def levels(model):
    """Every quantile level `predict` reports: its own and the calibrated ones, sorted."""
    calibration = model.calibration_
    calibrated = () if calibration is None else calibration.levels
    return tuple(sorted({*own_levels(model), *calibrated}))


def column(target, level):
    """The column of a target's quantile, e.g. `Temp_q0.05`."""
    return f"{target}_q{level}"


@dataclasses.dataclass(frozen=True)
class Calibration:
    """What `calibrate` learned: a margin per interval, horizon step and target.

    Attributes:
        method: "split" (absolute errors around the point forecast) or "cqr" (around the
            forecaster's own quantiles).
        levels: the calibrated levels, in central pairs (0.05 and 0.95: the 90% interval).
        margins: `(intervals, horizon, targets)`, in scaled units: the half-width ("split")
            or the widening ("cqr", negative where the forecaster's interval was too wide).
        windows: the number of held-out windows.
    """

    method: str
    levels: tuple
    margins: np.ndarray
    windows: int

    def to_dict(self):
        """A JSON-ready dict (saved with the forecaster)."""
        return {
            "method": self.method,
            "levels": list(self.levels),
            "margins": np.asarray(self.margins).tolist(),
            "windows": self.windows,
        }

    @classmethod
    def from_dict(cls, state):
        """The `Calibration` that `to_dict` described."""
        return cls(
            state["method"], tuple(state["levels"]), np.asarray(state["margins"]), state["windows"]
        )


def check_levels(quantiles):
    """The calibration levels: central pairs, each level with its `1 - level`."""
    quantiles = checks.levels("quantiles", quantiles)
    unpaired = [
        q for q in quantiles if q != 0.5 and not any(math.isclose(p, 1 - q) for p in quantiles)
    ]
    if unpaired:
        raise ValueError(
            f"quantile {unpaired[0]} has no partner {1 - unpaired[0]:g}; conformal intervals are "
            "central: pass levels in pairs, e.g. [0.05, 0.95]"
        )
    return tuple(q for q in quantiles if q != 0.5)


def calibrate(model, scored, quantiles):
    """A `Calibration` from scored held-out windows.

    Args:
        model: the fitted forecaster.
        scored: `forecasting.scored_windows` of the held-out frame: `(y, raw, positions,
            (center, scale))`, scaled.
        quantiles: the levels to calibrate, in central pairs.
    """
    quantiles = check_levels(quantiles)
    y, raw, _, (center, scale) = scored
    own = own_levels(model)
    central = probabilistic.central_pairs(quantiles)
    n = len(y)
    margins = []
    cqr = all(any(math.isclose(low, q) for q in own) for low, _ in central) and all(
        any(math.isclose(high, q) for q in own) for _, high in central
    )
    if cqr:
        _, found, q = forecast(model, raw, center, scale, floor=False, calibrated=False)
        q = (q - center[..., None]) / scale[..., None]  # back to the scaled values
    point = point_of(model, raw)
    for low, high in central:
        coverage = high - low
        rank = math.ceil((n + 1) * coverage)
        if rank > n:
            raise DataError(
                f"a {probabilistic.interval_name(low)}% interval needs at least "
                f"{math.ceil(coverage / (1 - coverage))} held-out windows; the frame gives {n}: "
                "calibrate on a longer part or a lower level"
            )
        if cqr:
            lower, upper = q[..., _index(found, low)], q[..., _index(found, high)]
            scores = np.maximum(lower - y, y - upper)
        else:
            scores = np.abs(y - point)
        margins.append(np.sort(scores, axis=0)[rank - 1])  # (H, T)
    return Calibration("cqr" if cqr else "split", quantiles, np.stack(margins), n)


def _index(found, level):
    return next(i for i, q in enumerate(found) if math.isclose(q, level))


def point_of(model, raw):
    """The scaled point forecast `(n, H, T)` from the model's raw output."""
    # The point head, or the distribution's location: the mean of each family (the
    # negative binomial's in the counts' own units, as its targets are not scaled).
    return raw if outputs(model).mode == "point" else raw[..., 0]


def _original(model, raw, center, scale):
    """The raw output's parameters in the original units."""
    kind = outputs(model)
    if kind.mode == "negbinomial":
        return raw  # its targets were left unscaled
    if kind.mode == "point":
        return raw * scale + center
    if kind.mode == "quantiles":
        return raw * scale[..., None] + center[..., None]
    params = raw.copy()
    params[..., 0] = raw[..., 0] * scale + center
    params[..., 1] = raw[..., 1] * scale
    return params


def _distribution(mode, params):
    if mode == "normal":
        return stats.norm(params[..., 0], params[..., 1])
    if mode == "studentt":
        return stats.t(params[..., 2], params[..., 0], params[..., 1])
    mean, alpha = params[..., 0], params[..., 1]
    return stats.nbinom(1.0 / alpha, 1.0 / (1.0 + alpha * mean))


def forecast(model, raw, center, scale, *, floor=True, calibrated=True):
    """`(point, levels, quantiles)` in the original units from the raw scaled output.

    Args:
        model: the fitted forecaster.
        raw: its output for n windows, `(n, H, T)` or `(n, H, T, K)`, scaled.
        center: each window's target centers, broadcastable to `(n, H, T)`.
        scale: each window's target scales, likewise.
        floor: keep non-negative targets at or above 0.
        calibrated: use the calibration's levels where it has them.

    Returns:
        The point forecast `(n, H, T)`, the levels, and the quantiles `(n, H, T, levels)`.
    """
    kind = outputs(model)
    params = _original(model, raw, center, scale)
    point = params if kind.mode == "point" else params[..., 0]
    own = own_levels(model)
    calibration = model.calibration_ if calibrated else None
    found = own if calibration is None else levels(model)
    values = np.empty((*point.shape, len(found)))
    for i, level in enumerate(found):
        if kind.mode == "quantiles" and level in own:
            values[..., i] = params[..., 1 + own.index(level)]
        elif kind.distribution is not None and level in own:
            values[..., i] = _distribution(kind.mode, params).ppf(level)
    if calibration is not None:
        _apply(calibration, model, params, point, scale, values, found)
    if floor and model.schema_.get("nonnegative"):
        point, values = np.maximum(point, 0.0), np.maximum(values, 0.0)
    return point, found, values


def _apply(calibration, model, params, point, scale, values, found):
    """Writes the calibrated levels into `values`, in the original units."""
    kind = outputs(model)
    for k, (low, high) in enumerate(probabilistic.central_pairs(calibration.levels)):
        margin = calibration.margins[k] * scale  # (H, T) in each window's units
        i, j = _index(found, low), _index(found, high)
        if calibration.method == "split":
            values[..., i], values[..., j] = point - margin, point + margin
            continue
        if kind.distribution is not None:
            lower = _distribution(kind.mode, params).ppf(low)
            upper = _distribution(kind.mode, params).ppf(high)
        else:
            lower, upper = values[..., i], values[..., j]
        values[..., i], values[..., j] = lower - margin, upper + margin


def sample(model, raw, center, scale, count, seed=0):
    """`count` samples of the forecast distribution, `(count, n, H, T)`, original units.

    Raises:
        ValueError: the forecaster has no distribution (`NetworkConfig.distribution`).
    """
    kind = outputs(model)
    if kind.distribution is None:
        raise ValueError(
            "samples= needs a forecaster with a distribution (distribution='normal', "
            "'studentt' or 'negbinomial'); this one gives "
            + ("quantiles" if kind.probabilistic else "a point forecast")
        )
    params = _original(model, raw, center, scale)
    rng = np.random.default_rng(seed)
    shape = (count, *params.shape[:-1])
    if kind.mode == "normal":
        return params[..., 0] + params[..., 1] * rng.standard_normal(shape)
    if kind.mode == "studentt":
        return params[..., 0] + params[..., 1] * rng.standard_t(params[..., 2], shape)
    mean, alpha = params[..., 0], params[..., 1]
    return rng.negative_binomial(1.0 / alpha, 1.0 / (1.0 + alpha * mean), shape).astype(float)
