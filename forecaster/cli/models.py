"""The forecasters a config describes, built from its model sections by name.

A cell's name gives the neural `Forecaster` of the `data`, `network` (with that cell) and
`train` sections; a baseline's name gives the baseline of the sections it is configured
by (`data`, and `linear` for the linear one). Each class names those sections itself
(`config_classes`), so nothing here depends on the kind of model.

The checks that span sections (the segment network's whole segments, the recursive
network's inputs) are the forecaster's; a refusal is a `ConfigError` naming the key.
"""

import dataclasses

from forecaster import checks
from forecaster.cli.loading import section_of
from forecaster.cli.sections import MODEL_SECTIONS, ConfigError
from forecaster.config import CELLS


def model_class(name):
    """The forecaster class `name` builds: `Forecaster` for a cell, else the baseline's."""
    from forecaster.estimators import Forecaster  # TensorFlow: only to build a model
    from forecaster.estimators.baselines import BASELINES

    return Forecaster if name in CELLS else BASELINES[name]


def build(name, config):
    """An unfitted forecaster: the cell or baseline `name` in the model sections of `config`.

    Args:
        name: a cell ("rnn", "lstm", "gru", "cifg") or a key of `BASELINES`.
        config: a `forecaster.cli.sections.RunConfig`.

    Raises:
        ConfigError: the sections do not fit together.
    """
    sections = config.model_configs()
    if name in CELLS:
        sections["network"] = dataclasses.replace(sections["network"], cell=name)
    cls = model_class(name)
    try:
        return cls.from_configs(**{key: sections[key] for key in cls.config_classes()})
    except checks.InvalidValueError as error:
        home = section_of(error.name, MODEL_SECTIONS)
        if home is None:
            raise ConfigError(f"config: {error}") from None
        raise ConfigError(f"config key '{home}.{error.name}': {error}") from None
    except ValueError as error:  # a check across sections
        names = ", ".join(cls.config_classes())
        raise ConfigError(f"config sections {names}: {error}") from None
