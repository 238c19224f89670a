"""Reading a `forecaster` YAML config file, with `section.key=value` overrides after it.

`load_config(path, overrides)` reads the file with `yaml.safe_load`, applies each override
(its value read as YAML, so `data.calendar=[hour]` works), checks every value against the
type of its field in the section dataclasses (`forecaster.cli.sections.SECTIONS`) and
builds them, each checking its own values. A refused value is a one-line `ConfigError`
naming its key: the check's `forecaster.checks.InvalidValueError.name` is the field.

The spellings of forecaster 0.1 are refused with the new one: the `model` section (now
`data`, `network` and `train`) and the series' keys of the old `data` section (now
`source`).
"""

import copy
import dataclasses
import re
import types
import typing
from pathlib import Path

import yaml

from forecaster import checks
from forecaster.cli.sections import MODEL_SECTIONS, QUICK, SECTIONS, ConfigError, RunConfig

_WORDS = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    tuple: "a list of strings",
    dict: "a mapping",
    type(None): "null",
}
# Naming one source on the command line drops the file's sources it excludes.
_EXCLUDES = {"shipped": ("benchmark", "path"), "path": ("shipped",), "benchmark": ("shipped",)}


def kinds(annotation):
    """The types a field's annotation allows: `int | None` -> `(int, NoneType)`.

    A parametrized type counts as its origin: `tuple[str, ...]` -> `(tuple,)`.
    """
    allowed = (
        typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    )
    return tuple(typing.get_origin(kind) or kind for kind in allowed)


def fail(key, accepted, value):
    """Raises the `ConfigError` for a value that is not what `key` accepts."""
    raise ConfigError(f"config key {key!r} must be {accepted}, got {value!r}")


def number_list(annotation):
    """Whether the annotation allows a `tuple[float, ...]` (a list of numbers)."""
    members = (
        typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    )
    return any(typing.get_args(member) == (float, ...) for member in members)


def _typed(key, value, annotation):
    """`value` checked against a field's annotation; lists become tuples."""
    if number_list(annotation):
        if isinstance(value, list | tuple) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            return tuple(float(v) for v in value)
        fail(key, "a list of numbers", value)
    allowed = kinds(annotation)
    for kind in allowed:
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
        if kind is dict and isinstance(value, dict):
            return value
        if kind is tuple and isinstance(value, str):
            return (value,)
        if (
            kind is tuple
            and isinstance(value, list | tuple)
            and all(isinstance(v, str) for v in value)
        ):
            return tuple(value)
    fail(key, " or ".join(_WORDS[kind] for kind in allowed), value)


def _section(name, values):
    """Builds section `name` from its mapping of raw values."""
    if not isinstance(values, dict):
        raise ConfigError(
            f"config section {name!r} must be a mapping of keys to values, got {values!r}"
        )
    cls = SECTIONS[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in fields:
            raise ConfigError(
                f"config key '{name}.{key}' is not known; known keys are {sorted(fields)}"
            )
    for key, field in fields.items():
        if key not in values and field.default is dataclasses.MISSING:
            raise ConfigError(f"config key '{name}.{key}' is required")
    typed = {key: _typed(f"{name}.{key}", value, fields[key].type) for key, value in values.items()}
    try:
        return cls(**typed)
    except checks.InvalidValueError as error:
        if error.name in fields:
            raise ConfigError(f"config key '{name}.{error.name}': {error}") from None
        raise ConfigError(f"config section {name!r}: {error}") from None
    except ValueError as error:
        raise ConfigError(f"config section {name!r}: {error}") from None


def _check_spellings(raw):
    """Refuses the sections and keys of forecaster 0.1, naming the new spelling."""
    if "model" in raw:
        message = (
            "config section 'model' was split into 'data', 'network' and 'train' in forecaster 0.2"
        )
        model = raw["model"] if isinstance(raw["model"], dict) else {}
        for key in model:
            home = section_of(key, MODEL_SECTIONS)
            if home is not None:
                message += f": write model.{key} as {home}.{key}"
                break
        raise ConfigError(message)
    data = raw.get("data")
    if isinstance(data, dict):
        for key in data:
            if section_of(key, ("data",)) is None and section_of(key, ("source",)):
                raise ConfigError(
                    f"config key 'data.{key}' moved to 'source.{key}' in forecaster 0.2 "
                    "(the section 'data' holds the DataConfig: lookback, horizon, ...)"
                )


def section_of(key, names):
    """The first of the sections `names` with a field `key`, or None."""
    for name in names:
        if key in {f.name for f in dataclasses.fields(SECTIONS[name])}:
            return name
    return None


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


def _merged(raw, pairs, given):
    """A copy of the file's `raw` config with the `(key, value)` pairs applied in order.

    `given` are the keys of the command line: a source named there drops the file's
    sources it excludes.
    """
    raw = copy.deepcopy(raw)
    source = raw.get("source")
    if isinstance(source, dict):
        for key in given:
            section, _, name = key.partition(".")
            for other in _EXCLUDES.get(name, ()) if section == "source" else ():
                if f"source.{other}" not in given:
                    source.pop(other, None)
    for key, value in pairs:
        _override(raw, key, value)
    return raw


def _built(raw, needs):
    """The `RunConfig` of a raw config: each section given or needed, checked."""
    _check_spellings(raw)
    for name in raw:
        if name not in SECTIONS:
            raise ConfigError(
                f"config section {name!r} is not known; known sections are {list(SECTIONS)}"
            )
    return RunConfig(
        **{
            name: _section(name, raw.get(name) or {})
            for name in SECTIONS
            if name in raw or name in needs
        }
    )


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

    With `ltsf.quick` true, the keys of `forecaster.cli.sections.QUICK` are set over the
    file and under the overrides.

    Args:
        path: a YAML file, or None to start from nothing.
        overrides: `"section.key=value"` strings (the value read as YAML) or `(key, value)`
            pairs, applied in order after the file: the command line.
        needs: the sections that must be there (built from their defaults when absent).

    Returns:
        A `RunConfig`.

    Raises:
        ConfigError: an unknown section or key, a wrong type or a bad value.

    Example:
        >>> load_config("pipelines/configs/quick.yaml", ["network.units=16"]).network.units
        16
    """
    raw = {} if path is None else read_yaml(path)
    pairs = [_parsed(o) if isinstance(o, str) else tuple(o) for o in overrides]
    given = {key for key, _ in pairs}
    config = _built(_merged(raw, pairs, given), needs)
    if config.ltsf is not None and config.ltsf.quick:
        config = _built(_merged(raw, [*QUICK.items(), *pairs], given), needs)
    # The keys the file and the command line set, which a tuned comparison holds fixed.
    written = {f"{s}.{k}" for s, keys in raw.items() if isinstance(keys, dict) for k in keys}
    object.__setattr__(config, "given", frozenset(written | given))
    return config
