"""``python -m micrograd_fast.bench``: the command line, and the workers it starts."""

import sys

from .cli import main

sys.exit(main())
