"""`forecaster inspect FILE`: what the reader finds in a file, and the config that loads it.

The flags are the `source` section's (`--source.sep ';'`, ...), read as the first options;
the report is `forecaster.data.inspect_csv`'s, followed by the ``source:`` section of a
config that loads the file. pandas and pyarrow load only once the flags are checked.
"""

import dataclasses
from pathlib import Path

from forecaster.cli.sections import ConfigError, SourceConfig


def inspect(source):
    """Prints `forecaster.data.inspect_csv`'s report and the `source:` section that loads it.

    Returns:
        0 if the file loads, else 1.
    """
    import yaml

    from forecaster.data import inspect_csv

    found = inspect_csv(source.path, **source.read_options())
    print(found)
    if found.error is not None:
        return 1
    known = {f.name for f in dataclasses.fields(SourceConfig)}
    section = {"path": source.path}
    section.update({k: _plain(v) for k, v in found.options.items() if k in known})
    print("config section:")
    print(yaml.safe_dump({"source": section}, sort_keys=False).rstrip())
    for key in sorted(set(found.options) - known):
        print(f"# {key} is not a key of the source section; the commands read wide files")
    return 0


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def inspect_source(args):
    """The `SourceConfig` of `forecaster inspect FILE [--source.KEY VALUE ...]`."""
    given = {key.partition(".")[2]: value for key, value in vars(args).items() if "." in key}
    given["path"] = args.file
    if not Path(args.file).is_file():
        raise ConfigError(f"{args.file} is not a file")
    try:
        return SourceConfig(**given)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"source: {error}") from None
