"""``python -m redkite serve ...`` / ``python -m redkite mcp ...`` (see :mod:`redkite.cli`)."""

import sys

from .cli import main

sys.exit(main())
