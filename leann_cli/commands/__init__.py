"""The ``leann`` subcommands: each module adds its parsers (``add_parsers``) and runs them."""

from . import ask, build, daemon, manage, search

MODULES = (build, search, ask, manage, daemon)
