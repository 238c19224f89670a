"""The neural forecaster: one of the project's cells in a Keras network, fitted from frames.

>>> import forecaster as fc
>>> model = fc.Forecaster(cell="cifg", lookback=96, horizon=24, targets=["OT"], layers=2)
>>> model.fit(frame, epochs=30).history_["val_loss"]  # 30 epochs for this fit only
>>> forecast = model.predict(frame)  # the 24 timestamps after frame's end, original units
"""

import dataclasses
import os

import keras
import numpy as np

from forecaster.config import DataConfig, NetworkConfig, TrainConfig, route
from forecaster.estimators import distribute, forecasting
from forecaster.estimators.base import BaseForecaster
from forecaster.estimators.saving import loadable
from forecaster.networks import Shapes, build_network
from forecaster.networks.outputs import OutputLoss, Outputs
from forecaster.networks.segment import check_steps


class TrainingError(RuntimeError):
    """Training could not produce a usable model (the loss diverged)."""


@loadable
class Forecaster(BaseForecaster):
    """A recurrent forecaster with fit / predict / evaluate / backtest / save / load.

    Every keyword goes to the configuration dataclass with a field of that name:
    `forecaster.config.DataConfig` (lookback, horizon, targets, inputs, known_future,
    calendar, scaler, val_fraction, stride, season, id_col, static, series_embedding,
    nonnegative), `forecaster.networks.NetworkConfig` (cell, architecture, units, layers,
    bidirectional, residual, dropout, recurrent_dropout, head_dropout, layer_norm, peephole,
    segment_length, normalization, channel_embedding, reset_after, unit_forget_bias,
    embedding_size, quantiles, distribution) and `forecaster.config.TrainConfig`
    (epochs, batch_size, shuffle, learning_rate, clipnorm, loss, patience, lr_patience,
    lr_decay, lr_decay_after, seed, verbose, checkpoint_dir, distribute). An unknown keyword
    is refused.

    Training uses Adam with gradient clipping on the MSE (or `loss="mae"`) of the scaled
    values (plus the pinball loss of `quantiles`, or instead a `distribution`'s negative
    log-likelihood, `forecaster.networks.outputs`), early stopping on the validation loss
    that restores the best weights, ReduceLROnPlateau (or, with `lr_decay`, a fixed
    per-epoch decay) and TerminateOnNaN; a run on the CPU with the same seed is
    reproducible on the same machine.

    With `distribute` ("mirrored", "multiworker" or a `tf.distribute.Strategy` object, see
    `forecaster.estimators.distribute`) the network is built, compiled and trained under the
    strategy, `batch_size` being the global batch. Afterwards `model_` is a one-device copy
    of the trained network and optimizer, so predict, evaluate and save run on one
    device, and a forecaster loaded from disk trains on one device unless `fit` is given
    `distribute`. Under "multiworker", `save` writes only on the chief. A strategy object
    is kept as `strategy` (and by `clone`), not in `TrainConfig`, and is not saved.

    Args:
        cell: "rnn", "lstm", "gru" or "cifg".
        lookback: input steps per window.
        horizon: steps forecast at once.
        **options: fields of the three configuration dataclasses.

    Attributes:
        model_: the fitted Keras network (its best epoch's weights), after `fit`.
        scaler_, schema_, history_: as for every forecaster (`BaseForecaster`);
            `history_` is the Keras `History.history`: "loss", "val_loss" and
            "learning_rate" per epoch.

    Example:
        >>> model = Forecaster(cell="gru", lookback=24, horizon=12, targets=["Passengers"])
        >>> model.fit(frame, epochs=50, verbose=0).evaluate(parts.test)["mase"]
    """

    def __init__(self, cell="lstm", *, lookback, horizon, **options):
        options = {"cell": cell, "lookback": lookback, "horizon": horizon, **options}
        options, strategy = distribute.take_strategy(options)
        data, network, train = route(options, DataConfig, NetworkConfig, TrainConfig)
        configs = DataConfig(**data), NetworkConfig(**network), TrainConfig(**train)
        self._configure(*configs, strategy)

    @classmethod
    def config_classes(cls):
        """The configuration dataclasses by name."""
        return {"data": DataConfig, "network": NetworkConfig, "train": TrainConfig}

    @classmethod
    def from_configs(cls, data, network, train):
        """A forecaster from its three configuration dataclasses, kept as they are."""
        model = cls.__new__(cls)
        model._configure(data, network, train, None)
        return model

    def _configure(self, data, network, train, strategy):
        """Takes the configuration; checks what spans its dataclasses before data is read."""
        # First: TensorFlow wants a multi-worker strategy before any other operation.
        distribute.prepare(train.distribute)
        super().__init__(data)
        self.network, self.train, self.strategy = network, train, strategy
        self.model_ = None
        self._chief = True  # whether save writes; False on a multi-worker non-chief
        self._check_recursive_columns(self.data.inputs, self.data.targets)
        if self.recursive and (self.network.quantiles or self.network.distribution):
            raise ValueError(
                "architecture='recursive' rolls a one-step point forecast over the horizon, "
                "so it has no quantiles or distribution of its own; pick 'seq2seq', "
                "'direct' or 'segment', or calibrate a recursive forecaster's intervals "
                "with calibrate()"
            )
        if self.network.architecture == "segment":
            check_steps(self.data.lookback, self.data.horizon, self.network.segment_length)

    def configs(self):
        """The configuration dataclasses by name."""
        return {"data": self.data, "network": self.network, "train": self.train}

    def clone(self):
        """An unfitted forecaster with the same configuration and strategy object."""
        copy = super().clone()
        copy.strategy = self.strategy
        return copy

    def count_params(self):
        """The number of weights of the fitted network."""
        self._check_fitted()
        return self.model_.count_params()

    def _fit_config(self, overrides):
        """`(TrainConfig, strategy)` for one fit: `train` with the fields in `overrides`.

        `distribute` also takes a `tf.distribute.Strategy` object, for that fit only.
        """
        overrides, strategy = distribute.take_strategy(overrides)
        (fields,) = route(overrides, TrainConfig)
        config = dataclasses.replace(self.train, **fields)
        if strategy is None and "distribute" not in overrides:
            strategy = self.strategy
        return config, strategy

    @property
    def _scales_targets(self):
        """False for a negative binomial, whose counts are modelled in their own units."""
        return self.network.distribution != "negbinomial"

    @property
    def recursive(self):
        """Whether the network is a one-step model rolled over the horizon."""
        return self.network.architecture == "recursive"

    def _check_recursive_columns(self, inputs, targets):
        if self.recursive and inputs is not None and set(inputs) != set(targets or inputs):
            raise ValueError(
                "architecture='recursive' feeds each forecast back as the next input, so the "
                f"inputs must be the targets; got inputs {list(inputs)} and targets "
                f"{list(targets)}"
            )

    def _training_spec(self, inputs, targets):
        """The training windows: one step at a time for a recursive network."""
        self._check_recursive_columns(inputs, targets)
        horizon = 1 if self.recursive else None
        return self.data.window_spec(horizon=horizon, inputs=inputs, targets=targets)

    def _fit_prepared(self, prepared, callbacks, config):
        """Trains a new network on the prepared windows; returns its per-epoch history."""
        config, strategy = config
        train, val = prepared.train, prepared.val
        # First: a multi-worker strategy must come before any other TensorFlow operation.
        strategy = distribute.resolve(config.distribute if strategy is None else strategy)
        keras.utils.set_random_seed(config.seed)
        shapes = Shapes(
            lookback=self.data.lookback,
            horizon=train.spec.horizon,
            inputs=len(train.input_columns),
            targets=len(train.target_columns),
            known=len(train.future_columns),
            static=len(train.static_columns),
            categories=forecasting.encoding(self).categories,
        )
        inputs, targets = list(train.input_columns), list(train.target_columns)
        positions = [inputs.index(t) for t in targets] if set(targets) <= set(inputs) else None
        with distribute.scope(strategy):
            model = self._compiled(build_network(self.network, shapes, positions), config)
        with distribute.writable_folder(config.checkpoint_dir, strategy) as checkpoints:
            history = self._train(model, train, val, config, callbacks, checkpoints, strategy)
        losses = history.history["loss"]
        if not np.all(np.isfinite(losses)):
            self.model_ = None
            raise TrainingError(
                f"training diverged: the loss became {losses[-1]} in epoch {len(losses)}; "
                f"lower learning_rate (now {config.learning_rate}) or clipnorm (now "
                f"{config.clipnorm}), or check the data for extreme values"
            )
        if strategy is not None:
            # Distributed variables would tie predict and save to the strategy (and, across
            # workers, to collective ops every worker must join): keep a one-device copy.
            single = self._compiled(build_network(self.network, shapes, positions), config)
            single.set_weights(model.get_weights())
            single.optimizer.build(single.trainable_variables)
            for mine, trained in zip(
                single.optimizer.variables, model.optimizer.variables, strict=True
            ):
                mine.assign(trained)
            model = single
        self.model_ = model
        self._chief = distribute.is_chief(strategy)
        return {name: [float(v) for v in values] for name, values in history.history.items()}

    def _compiled(self, model, config):
        kind = Outputs.of(self.network)
        loss = config.loss
        if kind.probabilistic:
            loss = OutputLoss(kind.mode, kind.quantiles, point_loss=config.loss)
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm),
            loss=loss,
        )
        return model

    @staticmethod
    def _train(model, train, val, config, extra_callbacks, checkpoint_dir, strategy):
        callbacks = [
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.patience, restore_best_weights=True
            ),
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=config.lr_patience
            )
            if config.lr_decay is None
            else keras.callbacks.LearningRateScheduler(lambda epoch, _: config.rate(epoch)),
            keras.callbacks.TerminateOnNaN(),
            *extra_callbacks,
        ]
        if checkpoint_dir is not None:
            os.makedirs(checkpoint_dir, exist_ok=True)
            callbacks.append(
                keras.callbacks.ModelCheckpoint(
                    os.path.join(checkpoint_dir, "best.weights.h5"),
                    monitor="val_loss",
                    save_best_only=True,
                    save_weights_only=True,
                )
            )
        train_batch, val_batch = distribute.batch_sizes(
            strategy, config.batch_size, len(train), len(val)
        )
        # Every worker shuffles with the same seed, so their shares of a batch are disjoint.
        return model.fit(
            distribute.sharded(
                train.dataset(train_batch, training=config.shuffle, seed=config.seed), strategy
            ),
            validation_data=distribute.sharded(val.dataset(val_batch), strategy),
            epochs=config.epochs,
            shuffle=False,  # the training dataset shuffles itself, seeded
            verbose=config.verbose,
            callbacks=callbacks,
        )

    def _forecast(self, x):
        if not self.recursive:
            return self.model_.predict(x, batch_size=256, verbose=0)
        return self._roll(x)

    def _roll(self, x):
        """Rolls the one-step model over the horizon, each forecast the next input."""
        lookback, horizon = self.data.lookback, self.data.horizon
        past = x["past"] if isinstance(x, dict) else x
        future = x.get("future") if isinstance(x, dict) else None
        static = x.get("static") if isinstance(x, dict) else None
        inputs, targets = self.schema_["inputs"], self.schema_["targets"]
        order = [targets.index(name) for name in inputs]
        steps = []
        for k in range(horizon):
            step_x = {"past": past}
            if future is not None:
                step_x["future"] = future[:, k : k + lookback + 1]
            if static is not None:
                step_x["static"] = static
            step_x = step_x if len(step_x) > 1 else past
            step = self.model_.predict(step_x, batch_size=256, verbose=0)  # (n, 1, T)
            steps.append(step)
            past = np.concatenate([past[:, 1:], step[:, :, order]], axis=1)  # slide by one
        return np.concatenate(steps, axis=1)  # (n, H, T)

    def save(self, path):
        """Saves the fitted forecaster to the folder `path`; see `forecaster.estimators.saving`.

        After multi-worker training only the chief writes; on the other workers this does
        nothing (the model is a one-device copy, so no worker needs to join the save).
        """
        if self._chief:
            super().save(path)

    def save_state(self, folder):
        """Writes the network, with its optimizer's state, to `folder/model.keras`."""
        self.model_.save(os.path.join(folder, "model.keras"))

    def load_state(self, folder):
        """Reads `model.keras` in Keras's safe mode."""
        self.model_ = keras.saving.load_model(os.path.join(folder, "model.keras"), safe_mode=True)
