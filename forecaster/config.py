"""Every hyperparameter of a forecaster: one field of one frozen dataclass, in this module.

- `DataConfig`: what the windows hold and how the data is scaled and split;
- `NetworkConfig`: the recurrent network;
- `TrainConfig`: how the network is trained;
- `LinearConfig`: the linear baseline's penalty and channels.

`Forecaster(cell="cifg", lookback=96, horizon=24, targets=["OT"], units=64, layers=2)` sends
each keyword to the dataclass with a field of that name (`route`). A field has one spelling
everywhere: `dataclasses.asdict` of each dataclass is what a saved model stores under
`configs.<section>` and what goes to MLflow as `<section>.<field>` parameters, and the
`forecaster` command reads the YAML sections `data`, `network`, `train` and `linear` (and
the flags `--network.units`, ...) into them (`forecaster.cli.sections`).

Each dataclass checks its fields at construction with `forecaster.checks`, whose
`InvalidValueError` names the field. This module imports nothing heavier than the standard
library, so a bad value is refused before NumPy, pandas or TensorFlow load.
"""

import dataclasses
import numbers

from forecaster import checks

# The cells' short names, in comparison order (`forecaster.cells.get` takes them).
CELLS = ("rnn", "lstm", "gru", "cifg")
ARCHITECTURES = ("direct", "seq2seq", "recursive", "segment")
# How a network normalizes each window of its targets (`forecaster.networks`).
NORMALIZATIONS = ("last", "revin", "none")
# The strategies `TrainConfig.distribute` names (forecaster.estimators.distribute makes them).
DISTRIBUTE = ("mirrored", "multiworker")
LOSSES = ("mse", "mae")
DISTRIBUTIONS = ("normal", "studentt", "negbinomial")  # see forecaster.networks.outputs
# The scalers `forecaster.data.Scaler` fits, and the calendar features
# `forecaster.data.calendar_features` makes: their names, without loading either.
SCALERS = ("standard", "minmax", "robust", "none")
CALENDAR_FEATURES = ("hour", "day_of_week", "day_of_year", "month")
# How the linear baseline maps windows to horizons.
CHANNELS = ("joint", "independent")


def check_cell(name, value):
    """Returns `value` if it names a cell (any case), else raises naming the known ones.

    Example:
        >>> check_cell("cell", "tcn")
        Traceback (most recent call last):
        InvalidValueError: unknown cell 'tcn'; known cells: 'cifg', 'gru', 'lstm', 'rnn'
    """
    if not isinstance(value, str) or value.lower() not in CELLS:
        known = ", ".join(repr(k) for k in sorted(CELLS))
        raise checks.InvalidValueError(name, f"unknown cell {value!r}; known cells: {known}")
    return value


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """What the model sees and forecasts, and how the data is prepared.

    Attributes:
        lookback: input steps per window.
        horizon: steps forecast at once.
        targets: the columns to forecast; None: every input column.
        inputs: the past input columns; None: every column that is not known-future.
        known_future: columns whose future values are known (passed to `predict` as
            `future=`); their lookback and horizon values are inputs.
        calendar: calendar features made from the timestamps (see
            `forecaster.data.CALENDAR_FEATURES`), known for the horizon too.
        scaler: "standard", "minmax", "robust" or "none", fitted on the training part only.
        val_fraction: the last fraction of the rows `fit` holds out for validation (early
            stopping and learning-rate schedule).
        stride: rows between training windows.
        season: the seasonal period (for MASE and the seasonal-naive baseline); None infers
            it from the frequency (a series indexed by step has none: declare it).
        id_col: in long format (many series stacked, as `read_csv(..., id_col=...)` gives
            them), the column naming each row's series; one global model then learns from
            every series. None: the frame's `attrs["id_col"]`, and a wide frame when that
            is absent too.
        static: columns constant within each series (given in the frame, or as a separate
            frame keyed by series to `fit(static=...)`): numeric ones are standardized
            across the series, text ones are categories with a learned embedding.
        series_embedding: in long format, whether the network learns an embedding of the
            series id (a categorical static). Forecasts are for the series seen in training,
            whose scaling is known; a new series is refused by name.
        nonnegative: whether the targets can never be negative (counts, sales, energy):
            forecasts are then clipped at 0 in the original units. None: detected from the
            training rows (True when no target value there is below 0), and stated in
            `schema_["nonnegative"]`.
    """

    lookback: int
    horizon: int
    targets: tuple | None = None
    inputs: tuple | None = None
    known_future: tuple = ()
    calendar: tuple = ()
    scaler: str = "standard"
    val_fraction: float = 0.2
    stride: int = 1
    season: int | None = None
    id_col: str | None = None
    static: tuple = ()
    series_embedding: bool = False
    nonnegative: bool | None = None

    def __post_init__(self):
        """Checks every field, naming the bad value, and freezes column lists into tuples."""
        for name in ("lookback", "horizon", "stride"):
            checks.positive_int(name, getattr(self, name))
        for name in ("inputs", "targets", "known_future", "static"):
            object.__setattr__(self, name, checks.column_names(name, getattr(self, name)))
        if self.id_col is not None and (not isinstance(self.id_col, str) or not self.id_col):
            raise checks.InvalidValueError(
                "id_col", f"id_col must be a column name or None, got {self.id_col!r}"
            )
        if not isinstance(self.series_embedding, bool):
            raise checks.InvalidValueError(
                "series_embedding",
                f"series_embedding must be True or False, got {self.series_embedding!r}",
            )
        if self.nonnegative is not None and not isinstance(self.nonnegative, bool):
            raise checks.InvalidValueError(
                "nonnegative",
                f"nonnegative must be True, False or None (detect), got {self.nonnegative!r}",
            )
        overlap = set(self.static) & set(self.inputs or ()) | set(self.static) & set(
            self.targets or ()
        )
        if overlap:
            raise checks.InvalidValueError(
                "static",
                f"column {sorted(overlap)[0]!r} is both static and an input or target; a "
                "static column is given once per series",
            )
        calendar = (self.calendar,) if isinstance(self.calendar, str) else tuple(self.calendar)
        unknown = [f for f in calendar if f not in CALENDAR_FEATURES]
        if unknown:
            raise checks.InvalidValueError(
                "calendar",
                f"calendar feature {unknown[0]!r} is not known; pass some of {CALENDAR_FEATURES}",
            )
        object.__setattr__(self, "calendar", calendar)
        if self.season is not None:
            checks.positive_int("season", self.season)
        checks.choice("scaler", self.scaler, SCALERS)
        checks.fraction("val_fraction", self.val_fraction)

    def window_spec(self, horizon=None, inputs=None, targets=None, static=()):
        """The `forecaster.data.WindowSpec` of this configuration (another horizon or columns).

        `static` names the encoded static columns the windows carry (the fit makes them
        from `static` and the series id; see `forecaster.estimators.statics`).
        """
        from forecaster.data import WindowSpec  # pandas: not for reading a config

        return WindowSpec(
            self.lookback,
            self.horizon if horizon is None else horizon,
            self.stride,
            inputs=self.inputs if inputs is None else inputs,
            targets=self.targets if targets is None else targets,
            known_future=self.known_future,
            calendar=self.calendar,
            static=static,
        )


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """The network's hyperparameters.

    Attributes:
        cell: "rnn", "lstm", "gru" or "cifg".
        architecture: "direct", "seq2seq", "recursive" or "segment".
        units: hidden units per recurrent layer.
        layers: stacked recurrent layers in the encoder (and the seq2seq decoder).
        bidirectional: run each encoder layer in both directions.
        residual: add each stacked layer's input to its output (from the second layer on).
        dropout: the cells' input dropout (one mask per sequence).
        recurrent_dropout: the cells' recurrent dropout.
        head_dropout: fraction of the features dropped in training just before the dense
            head (SegRNN's regularization, 0.5 in its scripts), in [0, 1).
        layer_norm: layer-normalize the cells' gate pre-activations.
        peephole: peephole connections (LSTM and CIFG only).
        segment_length: steps per segment ("segment" only); the lookback and the horizon
            must be multiples of it.
        normalization: how each window of the targets is normalized before the network
            and restored on its output: "last" (subtract the window's last value), "revin"
            (its mean and standard deviation) or "none". With "direct", "seq2seq" and
            "recursive" it needs every target among the inputs (else it is skipped).
        highway: add to "direct", "seq2seq" and "recursive" a zero-initialized linear
            map, shared by the targets, from each target's normalized window to its
            horizon (LSTNet's autoregressive part); skipped unless the targets are inputs.
        channel_embedding: whether "segment" decodes from a learned channel embedding
            beside the position embedding.
        reset_after: the GRU's reset gate after the recurrent product (True, Keras's and
            cuDNN's default) or before it (False, Cho et al. 2014; needs cell "gru").
        unit_forget_bias: start the LSTM's and CIFG's forget-gate bias at 1 (Jozefowicz
            et al. 2015); False starts it at 0 (needs cell "lstm" or "cifg").
        embedding_size: the width of the learned embedding of each categorical static
            (the series id's too, with `DataConfig.series_embedding`).
        quantiles: levels in (0, 1), e.g. (0.05, 0.5, 0.95): outputs beside the point
            forecast that never cross, trained on the pinball loss (or, with a
            `distribution`, the levels read off it); `predict` adds `<target>_q<level>`.
        distribution: None, "normal", "studentt" or "negbinomial" (counts): its
            parameters, trained on its negative log-likelihood (`networks.outputs`).
    """

    cell: str = "lstm"
    architecture: str = "seq2seq"
    units: int = 64
    layers: int = 1
    bidirectional: bool = False
    residual: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    head_dropout: float = 0.0
    layer_norm: bool = False
    peephole: bool = False
    segment_length: int = 48
    normalization: str = "last"
    channel_embedding: bool = True
    highway: bool = True
    reset_after: bool = True
    unit_forget_bias: bool = True
    embedding_size: int = 8
    quantiles: tuple[float, ...] = ()
    distribution: str | None = None

    def __post_init__(self):
        """Checks every field at construction, naming the bad value."""
        check_cell("cell", self.cell)
        object.__setattr__(self, "quantiles", checks.levels("quantiles", self.quantiles))
        if self.distribution is not None:
            checks.choice("distribution", self.distribution, DISTRIBUTIONS)
        checks.choice("architecture", self.architecture, ARCHITECTURES)
        for name in ("units", "layers", "segment_length", "embedding_size"):
            checks.positive_int(name, getattr(self, name))
        if self.peephole and self.cell.lower() not in ("lstm", "cifg"):
            raise checks.InvalidValueError(
                "peephole",
                f"peephole=True needs an LSTM-type cell ('lstm' or 'cifg'), got cell={self.cell!r}",
            )
        if not self.reset_after and self.cell.lower() != "gru":
            raise checks.InvalidValueError(
                "reset_after",
                f"reset_after=False is a form of the GRU; got cell={self.cell!r}",
            )
        if not self.unit_forget_bias and self.cell.lower() not in ("lstm", "cifg"):
            raise checks.InvalidValueError(
                "unit_forget_bias",
                "unit_forget_bias=False needs a cell with a forget gate ('lstm' or 'cifg'), "
                f"got cell={self.cell!r}",
            )
        checks.choice("normalization", self.normalization, NORMALIZATIONS)
        for name in ("dropout", "recurrent_dropout", "head_dropout"):
            checks.rate(name, getattr(self, name))


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How the network is trained.

    Attributes:
        epochs: the most epochs; early stopping may end sooner.
        batch_size: windows per step.
        shuffle: shuffle the training windows every epoch (seeded); False: in time order.
        learning_rate: Adam's initial learning rate.
        clipnorm: gradients are clipped to this global norm.
        loss: the training loss on the scaled values, "mse" or "mae" (SegRNN and PatchTST
            train on MAE-like losses for the long-horizon benchmark); validation, early
            stopping and the learning-rate schedule follow the same loss.
        patience: epochs with no better validation loss before stopping at the best.
        lr_patience: epochs without improvement before the learning rate is halved.
        lr_decay: None keeps that plateau schedule. A factor in (0, 1) replaces it with a
            fixed one (`rate`): the initial rate for the first `lr_decay_after` epochs, then
            `lr_decay` times the last rate each epoch: SegRNN's schedule (its "type3", 0.8
            after 4 epochs).
        lr_decay_after: the epochs at the initial rate before `lr_decay` applies.
        seed: seeds weights, dropout and shuffling.
        verbose: Keras's progress bar (1), a line per epoch (2) or nothing (0).
        checkpoint_dir: a folder for the best weights during training; None: no checkpoint.
        distribute: None (one device), "mirrored" (every local device) or "multiworker"
            (the machines `TF_CONFIG` names), `batch_size` then being the global batch;
            a strategy object is kept on the forecaster (`estimators.distribute`).
    """

    epochs: int = 30
    batch_size: int = 32
    shuffle: bool = True
    learning_rate: float = 1e-3
    clipnorm: float = 1.0
    loss: str = "mse"
    patience: int = 5
    lr_patience: int = 3
    lr_decay: float | None = None
    lr_decay_after: int = 4
    seed: int = 0
    verbose: int = 1
    checkpoint_dir: str | None = None
    distribute: str | None = None

    def __post_init__(self):
        """Checks every field, naming the bad value."""
        for name in ("epochs", "batch_size", "patience", "lr_patience", "lr_decay_after"):
            checks.positive_int(name, getattr(self, name))
        if self.lr_decay is not None and (
            isinstance(self.lr_decay, bool)
            or not isinstance(self.lr_decay, numbers.Real)
            or not 0 < self.lr_decay < 1
        ):
            raise checks.InvalidValueError(
                "lr_decay", f"lr_decay must be None or in (0, 1), got {self.lr_decay!r}"
            )
        for name in ("learning_rate", "clipnorm"):
            checks.positive_number(name, getattr(self, name))
        if self.verbose not in (0, 1, 2):
            raise checks.InvalidValueError(
                "verbose", f"verbose must be 0, 1 or 2, got {self.verbose!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise checks.InvalidValueError("seed", f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.shuffle, bool):
            raise checks.InvalidValueError(
                "shuffle", f"shuffle must be True or False, got {self.shuffle!r}"
            )
        checks.choice("loss", self.loss, LOSSES)
        if self.distribute is not None and self.distribute not in DISTRIBUTE:
            raise checks.InvalidValueError(
                "distribute",
                f"distribute={self.distribute!r} is not known; pass None, "
                f"{' or '.join(map(repr, DISTRIBUTE))}, or a tf.distribute.Strategy to Forecaster",
            )

    def rate(self, epoch):
        """The learning rate of `epoch` (counted from 0) under the fixed `lr_decay` schedule.

        Example:
            >>> [round(TrainConfig(lr_decay=0.8).rate(e), 6) for e in range(6)]
            [0.001, 0.001, 0.001, 0.001, 0.0008, 0.00064]
        """
        if self.lr_decay is None:
            raise ValueError("rate() is the lr_decay schedule; this TrainConfig has none")
        return self.learning_rate * self.lr_decay ** max(0, epoch + 1 - self.lr_decay_after)


@dataclasses.dataclass(frozen=True)
class LinearConfig:
    """The linear baseline's regularization and channel handling.

    Attributes:
        alpha: the ridge penalty on the weights (not the intercept); 0 is least squares.
        channels: "joint" maps every input's window to every target's horizon;
            "independent" maps each target's own window to its horizon with one map
            shared by all targets, so it has `lookback + 1` weights per horizon step
            however many columns there are.
    """

    alpha: float = 0.0
    channels: str = "joint"

    def __post_init__(self):
        """Checks that the penalty is a non-negative number and the channels are known."""
        if isinstance(self.alpha, bool) or not (
            isinstance(self.alpha, numbers.Real) and self.alpha >= 0
        ):
            raise checks.InvalidValueError(
                "alpha", f"alpha must be a non-negative number, got {self.alpha!r}"
            )
        checks.choice("channels", self.channels, CHANNELS)


def field_names(config_class):
    """The names of a dataclass's fields, in order."""
    return [f.name for f in dataclasses.fields(config_class)]


def route(options, *config_classes):
    """Splits keyword options among dataclasses by field name.

    Args:
        options: a dict of keyword options.
        *config_classes: dataclasses whose field names do not overlap.

    Returns:
        One dict per class with the options that belong to it.

    Raises:
        ValueError: an option is no field of any of the classes.
    """
    routed = [{} for _ in config_classes]
    for key, value in options.items():
        for target, config_class in zip(routed, config_classes, strict=True):
            if key in field_names(config_class):
                target[key] = value
                break
        else:
            known = sorted(n for c in config_classes for n in field_names(c))
            raise ValueError(f"unknown option {key!r}; known options are {known}")
    return routed
