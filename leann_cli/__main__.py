"""``python -m leann_cli``: the ``leann`` command."""

import sys

from .main import main

sys.exit(main())
