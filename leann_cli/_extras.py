"""Optional dependencies: one import helper whose error names the extra that provides the module."""

from __future__ import annotations

import importlib
import os
from collections.abc import MutableMapping
from types import ModuleType

DIST = "leann-graph-index"


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def install_hint(extra: str) -> str:
    return f'pip install "{DIST}[{extra}]"'


def _require(module: str, extra: str, purpose: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``extra``.

    ``purpose`` says what needed it (``"reading .pdf files"``); by default the module's name.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        what = purpose or "this feature"
        raise MissingExtraError(f"{what} needs {module.split('.')[0]}: {install_hint(extra)}") from e


def quiet_libraries(env: MutableMapping[str, str] | None = None) -> None:
    """Keep stderr for errors: no model-loading progress bars or notices (in ``env``, default
    this process's environment)."""
    env = os.environ if env is None else env
    env.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    env.setdefault("TRANSFORMERS_VERBOSITY", "error")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
