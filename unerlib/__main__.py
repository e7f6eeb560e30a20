"""``python -m unerlib``: the ``uner`` command line."""

import sys

from .cli import main

sys.exit(main())
