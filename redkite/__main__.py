"""``python -m redkite serve ...`` (see :mod:`redkite.cli`)."""

import sys

from .cli import main

sys.exit(main())
