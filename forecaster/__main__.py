"""`python -m forecaster`: the `forecaster` command (see `forecaster.cli`)."""

import sys

from forecaster.cli import main

sys.exit(main())
