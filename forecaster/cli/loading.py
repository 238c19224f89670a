"""Reading a `forecaster` YAML config file, with `section.key=value` overrides after it.

`load_config(path, overrides)` reads the file with `yaml.safe_load`, applies each override
(its value read as YAML, so `model.calendar=[hour]` works), checks every value against the
type of its field in the section dataclasses of `forecaster.cli.sections`, and builds them.
"""

import dataclasses
import re
import types
import typing
from pathlib import Path

import yaml

from forecaster.cli.sections import SECTIONS, ConfigError, ModelConfig, RunConfig, fail

_WORDS = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    tuple: "a list of strings",
    type(None): "null",
}


def _typed(key, value, annotation):
    """`value` checked against a field's annotation; lists become tuples."""
    kinds = (
        typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    )
    for kind in kinds:
        if kind is type(None) and value is None:
            return None
        if kind is bool and isinstance(value, bool):
            return value
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if kind is float and isinstance(value, str) and re.fullmatch(r"[-+.\de]+", value):
            try:  # YAML 1.1 reads 1e-3 (no dot) as text
                return float(value)
            except ValueError:
                pass
        if kind is str and isinstance(value, str):
            return value
        if kind is tuple and isinstance(value, str):
            return (value,)
        if (
            kind is tuple
            and isinstance(value, list | tuple)
            and all(isinstance(v, str) for v in value)
        ):
            return tuple(value)
    fail(key, " or ".join(_WORDS[kind] for kind in kinds), value)


def _section(name, values):
    """Builds section `name` from its mapping of raw values."""
    if not isinstance(values, dict):
        raise ConfigError(
            f"config section {name!r} must be a mapping of keys to values, got {values!r}"
        )
    cls = SECTIONS[name]
    known = (
        ModelConfig.annotations()
        if cls is ModelConfig
        else {f.name: f.type for f in dataclasses.fields(cls)}
    )
    for key in values:
        if key not in known:
            raise ConfigError(
                f"config key '{name}.{key}' is not known; known keys are {sorted(known)}"
            )
    typed = {key: _typed(f"{name}.{key}", value, known[key]) for key, value in values.items()}
    return ModelConfig.from_section(typed) if cls is ModelConfig else cls(**typed)


def _parsed(assignment):
    """The key and the YAML-read value of a `section.key=value` string."""
    key, equals, text = assignment.partition("=")
    if not equals:
        raise ConfigError(f"--set takes section.key=value, got {assignment!r}")
    try:
        return key.strip(), yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"--set {key.strip()}: {text!r} is not a YAML value") from None


def _override(raw, key, value):
    """Sets `section.key` to `value` in the raw config."""
    section, dot, name = key.partition(".")
    if not (dot and section and name):
        raise ConfigError(f"override keys look like section.key, got {key!r}")
    if raw.get(section) is None:
        raw[section] = {}
    if not isinstance(raw[section], dict):
        raise ConfigError(f"config section {section!r} must be a mapping of keys to values")
    raw[section][name] = value


def read_yaml(path):
    """The raw mapping of a YAML config file; a missing or malformed file is a `ConfigError`."""
    if not Path(path).is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {reason}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping of sections, got {raw!r}")
    return raw


def load_config(path=None, overrides=(), needs=()):
    """Reads a config file, applies overrides and checks every section.

    Args:
        path: a YAML file, or None to start from nothing.
        overrides: `"section.key=value"` strings (the value read as YAML) or `(key, value)`
            pairs, applied in order after the file.
        needs: the sections that must be there (built from their defaults when absent).

    Returns:
        A `RunConfig`.

    Raises:
        ConfigError: an unknown section or key, a wrong type or a bad value.

    Example:
        >>> load_config("pipelines/configs/quick.yaml", ["compare.seeds=1"]).compare.seeds
        1
    """
    raw = {} if path is None else read_yaml(path)
    for override in overrides:
        key, value = _parsed(override) if isinstance(override, str) else override
        _override(raw, key, value)
    for name in raw:
        if name not in SECTIONS:
            raise ConfigError(
                f"config section {name!r} is not known; known sections are {list(SECTIONS)}"
            )
    built = {
        name: _section(name, raw.get(name) or {})
        for name in SECTIONS
        if name in raw or name in needs
    }
    return RunConfig(**built)
