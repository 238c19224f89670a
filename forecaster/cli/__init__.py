"""The `forecaster` command (also `python -m forecaster`); see `forecaster.cli.commands`."""

from forecaster.cli.commands import main

__all__ = ["main"]
