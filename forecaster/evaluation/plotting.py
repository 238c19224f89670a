"""Forecast plots with matplotlib's object-oriented API (no pyplot state, no display needed)."""

from matplotlib.figure import Figure


def plot_forecast(history, forecast, actual=None, path=None, title=None, bands=None):
    """Draws each target's recent history, its forecast and, when known, the actual values.

    Args:
        history: past values, a DataFrame on a DatetimeIndex with the target columns.
        forecast: the forecast, a DataFrame with the same columns on the following steps.
        actual: the true values over the forecast's steps, if known.
        path: a file to save the figure to; None: only return it.
        title: the figure's title.
        bands: per column, intervals to shade: `(lower, upper, label)` with two Series on
            the forecast's steps, the widest first (drawn lightest).

    Returns:
        The matplotlib `Figure`, one panel per target.

    Example:
        >>> figure = plot_forecast(frame["OT"].iloc[-96:].to_frame(), model.predict(frame))
    """
    columns = list(forecast.columns)
    figure = Figure(figsize=(10, 2.8 * len(columns)), layout="constrained")
    axes = figure.subplots(len(columns), 1, squeeze=False)[:, 0]
    for ax, column in zip(axes, columns, strict=True):
        ax.plot(history.index, history[column], color="0.35", label="history")
        if actual is not None and column in actual:
            ax.plot(actual.index, actual[column], color="tab:green", label="actual")
        intervals = sorted(
            (bands or {}).get(column, []), key=lambda band: -(band[1] - band[0]).mean()
        )
        for k, (lower, upper, label) in enumerate(intervals):
            alpha = 0.15 + 0.2 * k / max(len(intervals), 1)
            ax.fill_between(
                forecast.index, lower, upper, color="tab:orange", alpha=alpha, label=label
            )
        ax.plot(forecast.index, forecast[column], color="tab:orange", label="forecast")
        ax.axvline(history.index[-1], color="0.6", linestyle=":", linewidth=1)
        ax.set_ylabel(column)
        ax.legend(loc="upper left", fontsize="small")
    if title:
        figure.suptitle(title)
    if path is not None:
        figure.savefig(path, dpi=110)
    return figure
