"""Command-line flags generated from the section dataclasses: `--network.units 64`.

Every field of every section a command reads is a flag named `--<section>.<field>`, its
type from the field's annotation (`int | None` takes an integer or `null`, a tuple takes
one value or more, a bool `true` or `false`) and its help from the dataclass's docstring.
A flag overrides the `--config` file; each `--set section.key=value` comes after the
flags. The flags of forecaster 0.1 (`--units`, `--epochs`, `--data`, ...) are refused with
the name of the new one.

This module needs only the standard library and the sections, so `--help` and a bad flag
answer without loading pandas or TensorFlow.
"""

import argparse
import dataclasses
import inspect
import re

import yaml

from forecaster.cli.loading import kinds, load_config, number_list
from forecaster.cli.sections import NEEDS, SECTIONS

# The flags of forecaster 0.1; each now has the name of the field it set (see `renamed`).
OLD_FLAGS = (
    "--data", "--epochs", "--units", "--cell", "--cells", "--seeds", "--experiment",
    "--output", "--folds", "--port", "--parallel", "--address", "--lookback", "--horizon",
    "--model", "--quick", "--segment-length", "--normalization", "--head-dropout",
    "--batch-size", "--learning-rate", "--lr-decay", "--loss", "--patience", "--seed",
)  # fmt: skip
# The old flags whose field has another name.
_OLD_FIELDS = {"--data": "source.path"}
_NAMES = {bool: "true or false", int: "int", float: "float", str: "str", type(None): "null"}


def field_help(config_class):
    """Each field's description, from the `Attributes:` section of the class's docstring."""
    found, name = {}, None
    lines = inspect.cleandoc(config_class.__doc__ or "").splitlines()
    start = lines.index("Attributes:") + 1 if "Attributes:" in lines else len(lines)
    for line in lines[start:]:
        entry = re.fullmatch(r" {4}(\w+): (.*)", line)
        if entry:
            name = entry.group(1)
            found[name] = entry.group(2)
        elif name is not None and line.startswith(" " * 8):
            found[name] += " " + line.strip()
        elif line.strip():
            break
    return {key: text.replace("%", "%%") for key, text in found.items()}


def _mapping(text):
    """An argparse `type`: a YAML mapping, or null."""
    value = yaml.safe_load(text)
    if value is not None and not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a YAML mapping, got {text!r}")
    return value


def _converter(allowed):
    """An argparse `type` that reads one value as the first of `allowed` it can be."""

    def convert(text):
        if type(None) in allowed and text == "null":
            return None
        for kind in allowed:
            if kind is bool and text in ("true", "false"):
                return text == "true"
            if kind in (int, float):
                try:
                    return kind(text)
                except ValueError:
                    continue
            if kind is str:
                return text
        raise ValueError(text)

    convert.__name__ = " or ".join(_NAMES[kind] for kind in allowed)  # argparse's message
    return convert


class _Values(argparse.Action):
    """Stores a list flag's values: `null` alone is None, one value a string if allowed."""

    def __init__(self, *args, allowed=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed = allowed

    def __call__(self, parser, namespace, values, option_string=None):
        if values == ["null"] and type(None) in self.allowed:
            values = None
        elif len(values) == 1 and str in self.allowed:
            values = values[0]
        setattr(namespace, self.dest, values)


def _options(field):
    """The `add_argument` keywords of a field's flag."""
    allowed = kinds(field.type)
    if dict in allowed:  # a mapping, written as YAML: --compare.space "{network.units: [8, 16]}"
        return {"type": _mapping, "metavar": "YAML"}
    if number_list(field.type):
        return {"nargs": "+", "type": float, "metavar": field.name.upper()}
    if tuple in allowed:
        return {"nargs": "+", "action": _Values, "allowed": allowed, "metavar": field.name.upper()}
    if bool in allowed:
        return {"nargs": "?", "const": True, "type": _converter(allowed), "metavar": "true|false"}
    return {"type": _converter(allowed), "metavar": field.name.upper()}


class _Renamed(argparse.Action):
    """An old flag: an argparse error naming the new one."""

    def __init__(self, *args, new, **kwargs):
        super().__init__(*args, nargs="*", help=argparse.SUPPRESS, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"argument {option_string}: renamed {self.new} in forecaster 0.2")


def renamed(command):
    """{old flag: new flag} for the old flags whose field `command` reads."""
    sections = NEEDS[command]
    homes = {f.name: s for s in reversed(sections) for f in dataclasses.fields(SECTIONS[s])}
    found = {}
    for old in OLD_FLAGS:
        name = old[2:].replace("-", "_")
        key = _OLD_FIELDS.get(old) or (f"{homes[name]}.{name}" if name in homes else None)
        if key is not None and key.partition(".")[0] in sections:
            found[old] = f"--{key}"
    return found


def add_section(parser, section, config_class, skip=()):
    """Adds a flag `--<section>.<field>` per field of a dataclass, in a group of its own.

    A flag not given is absent from the parsed arguments (its default is the file's, or
    the dataclass's); a given one is there under its `<section>.<field>` name. The fields
    named in `skip` get no flag.

    Example:
        >>> add_section(parser, "demo", CellDemoConfig)  # --demo.cells, --demo.units, ...
    """
    title = inspect.cleandoc(config_class.__doc__ or "").partition("\n")[0]
    group = parser.add_argument_group(f"{section} ({config_class.__name__})", title)
    helps = field_help(config_class)
    for field in dataclasses.fields(config_class):
        if field.name in skip:
            continue
        group.add_argument(
            f"--{section}.{field.name}",
            dest=f"{section}.{field.name}",
            default=argparse.SUPPRESS,
            help=helps.get(field.name),
            **_options(field),
        )


def add_arguments(parser, command, config=None):
    """Adds `command`'s flags to an `argparse` parser: one per field of the sections it reads.

    Args:
        parser: the parser (a subcommand's, or a pipeline script's own).
        command: a key of `forecaster.cli.sections.NEEDS`.
        config: the default `--config` file; None: none.
    """
    parser.allow_abbrev = False  # --network.unit is no flag, not --network.units
    parser.usage = (
        "%(prog)s [-h] [--config YAML] [--SECTION.KEY VALUE ...] [--set SECTION.KEY=VALUE]"
    )
    parser.add_argument("--config", default=config, metavar="YAML", help="the config file")
    for section in NEEDS[command]:
        add_section(parser, section, SECTIONS[section])
    if command in ("compare", "tune"):  # the budget, as a tuned comparison is asked for
        parser.add_argument(
            "--tune", dest="compare.tune", type=int, default=argparse.SUPPRESS, metavar="N",
            help="tune every cell with N trials first (the same as --compare.tune N)",
        )  # fmt: skip
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override any config key after the flags; VALUE is read as YAML "
        "(e.g. data.calendar=[hour])",
    )
    for old, new in renamed(command).items():
        parser.add_argument(old, action=_Renamed, new=new, default=argparse.SUPPRESS)


def config_from_args(args, command):
    """The `RunConfig` of parsed arguments: the file, then the flags, then each `--set`.

    Raises:
        ConfigError: as `forecaster.cli.loading.load_config`.
    """
    flags = [(key, value) for key, value in vars(args).items() if "." in key]
    return load_config(args.config, [*flags, *args.overrides], needs=NEEDS[command])
