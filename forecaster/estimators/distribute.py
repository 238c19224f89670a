"""Data-parallel training with `tf.distribute`: which strategy, and which worker writes.

`Forecaster(..., distribute="mirrored")` trains on every local GPU, or every logical CPU
device when there is no GPU (`MirroredStrategy`);
`distribute="multiworker"` trains across the machines named by the `TF_CONFIG` environment
variable (`MultiWorkerMirroredStrategy`), every worker running the same script. A
`tf.distribute.Strategy` object may be passed instead of a name; it stays on the forecaster
(`Forecaster.strategy`) and is neither stored in `TrainConfig` nor saved.

TensorFlow's rules for several workers, followed here: the strategy is created before any
other TensorFlow operation of the process (once; later fits reuse it), every worker fits the
same data with the same seed, each reads its own share of every global batch
(`AutoShardPolicy.DATA`, since the windows are built in memory and not read from files),
and only the chief writes files (`is_chief`).

Two ways Keras 3 makes a step under a strategy differ from one on a single device:
`clipnorm` clips each replica's share of the gradient before the replicas' shares are
summed, so it bites only when a share's norm passes it; and building the model draws one
batch from the training data, which moves its reshuffling on by one epoch (epoch k sees
the order one device sees in epoch k + 1). With batches that hold the whole training part
and gradients under `clipnorm`, two replicas give one device's numbers
(tests/estimators/test_distribute.py); otherwise the same model up to the shuffle order.
"""

import contextlib
import functools
import shutil
import tempfile

import tensorflow as tf


def take_strategy(options):
    """Splits a `tf.distribute.Strategy` object off the `distribute` keyword.

    Args:
        options: keyword options of `Forecaster` or of one `Forecaster.fit`.

    Returns:
        `(options, strategy)`: with a strategy object, the options with `distribute=None`
        and the object; otherwise the options unchanged and None.
    """
    value = options.get("distribute")
    if isinstance(value, tf.distribute.Strategy):
        return {**options, "distribute": None}, value
    return options, None


def resolve(distribute):
    """The strategy to train with, or None for one device.

    Args:
        distribute: None, "mirrored", "multiworker" or a `tf.distribute.Strategy`.

    Returns:
        A `tf.distribute.Strategy`, or None.
    """
    if distribute is None or isinstance(distribute, tf.distribute.Strategy):
        return distribute
    if distribute == "mirrored":
        # TensorFlow's default is every GPU or else one CPU; here every logical CPU device
        # too, of which there is one unless tf.config.set_logical_device_configuration
        # made more.
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    return _multiworker()


def prepare(distribute):
    """Makes the multi-worker strategy now when `distribute` names it, else nothing.

    `Forecaster` calls this on construction, since TensorFlow accepts the strategy only
    before any other TensorFlow operation of the process.
    """
    if distribute == "multiworker":
        _multiworker()


class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`MultiWorkerMirroredStrategy` with the `reduce` that Keras 3's `fit` expects of it.

    Keras 3 (keras/src/backend/tensorflow/trainer.py) asks two reductions of a multi-worker
    strategy that `MultiWorkerMirroredStrategy.reduce` refuses (keras-team/keras#20585):
    the first batch, an `(x, y)` pair, reduced in one call to build the model ("Attempt to
    convert a value (PerReplica ...) to a Tensor"), and each step's scalar loss reduced
    along axis 0 ("Invalid reduction dimension 0 for input with 0 dimensions"). This
    reduces each value of a nest on its own, and a scalar across the replicas only.
    """

    def reduce(self, reduce_op, value, axis=None):
        """`tf.distribute.Strategy.reduce`, for a nest of values and for scalars too."""
        parent = super()

        def one(v):
            scalar = axis is not None and self.experimental_local_results(v)[0].shape.rank == 0
            return parent.reduce(reduce_op, v, None if scalar else axis)

        return tf.nest.map_structure(one, value)


@functools.cache
def _multiworker():
    # TensorFlow configures the collective ops of a process once, so every fit of the
    # process shares one strategy.
    try:
        return MultiWorkerStrategy()
    except RuntimeError as error:
        raise RuntimeError(
            f"distribute='multiworker' could not start ({error}); TensorFlow needs the "
            "strategy before any other TensorFlow operation of the process, so make the "
            "Forecaster(..., distribute='multiworker') first in the script"
        ) from None


def scope(strategy):
    """The strategy's scope, or a scope that does nothing for None."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def is_chief(strategy):
    """Whether this process writes files: one device, one machine or the cluster's chief.

    The chief is the "chief" task of `TF_CONFIG`, or worker 0 when the cluster has none.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type is None:
        return True
    if resolver.task_type == "chief":
        return True
    cluster = resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster


@contextlib.contextmanager
def writable_folder(folder, strategy):
    """`folder` on the chief; a temporary folder on the other workers, removed afterwards.

    The other workers write what the chief writes (a checkpoint, say) so that every worker
    runs the same code, but not to the same place.
    """
    if folder is None or is_chief(strategy):
        yield folder
        return
    scratch = tempfile.mkdtemp(prefix="forecaster-worker-")
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def batch_sizes(strategy, batch_size, train_windows, val_windows):
    """The training and validation batch sizes for fitting under `strategy`.

    Keras 3 builds a model under a strategy from the first batch of each dataset, averaged
    across the replicas, which fails unless that batch splits evenly among them
    (keras-team/keras#19246). The training batch is the global batch, so an uneven one is
    refused; the validation batch only sets how the loss is summed, so it is trimmed.

    Args:
        strategy: a `tf.distribute.Strategy`, or None.
        batch_size: the global batch (`TrainConfig.batch_size`).
        train_windows: windows in the training part.
        val_windows: windows in the validation part.

    Returns:
        `(train_batch, val_batch)`.

    Raises:
        ValueError: the first training batch does not split evenly among the replicas.
    """
    if strategy is None:
        return batch_size, batch_size
    replicas = strategy.num_replicas_in_sync
    first = min(batch_size, train_windows)
    if first % replicas and first < batch_size:
        raise ValueError(
            f"the {train_windows} training windows (fewer than batch_size={batch_size}) do "
            f"not split evenly among the {replicas} replicas; pass a batch_size that is a "
            f"multiple of {replicas} and at most {train_windows}"
        )
    if first % replicas:
        raise ValueError(
            f"batch_size={batch_size} does not split evenly among the {replicas} replicas; "
            f"pass a multiple of {replicas}"
        )
    return batch_size, replicas * max(1, min(batch_size, val_windows) // replicas)


def sharded(dataset, strategy):
    """`dataset` with every global batch split among the workers (`AutoShardPolicy.DATA`).

    The default policy (AUTO) looks for files to shard and, finding a dataset built from
    tensors in memory, falls back to DATA with a warning; it is set here on purpose.
    """
    if strategy is None:
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
