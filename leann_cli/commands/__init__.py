"""The ``leann`` subcommands: each module adds its parsers (``add_parsers``) and runs them."""

from . import ask, build, daemon, manage, search, watch

MODULES = (build, watch, search, ask, manage, daemon)
