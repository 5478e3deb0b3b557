"""The CLI and MCP builds' language-aware default model (the engine's rule, applied to the
documents a build reads)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from leann_engine import DEFAULT_MODEL, choose_model

from ..settings import BuildOptions


def auto_model_allowed(options: BuildOptions, embedding: Any) -> bool:
    """Whether this build may pick its model by the corpus's language: none was named (option,
    ``LEANN_EMBEDDING_MODEL``), it runs locally, and any warm model passed in is the default."""
    return (
        options.embedding_model is None
        and options.embedding_mode == "sentence-transformers"
        and not os.environ.get("LEANN_EMBEDDING_MODEL")
        and (embedding is None or getattr(embedding, "name", None) == DEFAULT_MODEL)
    )


def language_default(
    options: BuildOptions, embedding: Any, texts: Any, report: Any, log: Callable[[str], None] | None
) -> tuple[BuildOptions, Any]:
    """The engine's language-aware default for a new index: the multilingual model for text
    mostly in non-Latin scripts when it is installed (a warm default model is then not used),
    otherwise a warning with the install command; added to ``report.warnings`` and said
    through ``log`` (stderr without one). ``texts``: the new index's chunks, or a false value
    when the build may not choose (a model was named, or the index exists)."""
    if not texts:
        return options, embedding
    choice = choose_model(texts, DEFAULT_MODEL)
    if choice.message is None:
        return options, embedding
    report.warnings.append(choice.message)
    if log is not None:
        log(choice.message)
    else:
        print(choice.message, file=sys.stderr)
    if choice.model is None:
        return options, embedding
    return replace(options, embedding_model=choice.model), None
