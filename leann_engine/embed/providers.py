"""``embedding_mode``: which provider embeds, what an index records to reconnect to it, and the
embedder a searcher uses for an index (recorded provider, or the caller's override, with the
index's prompt templates)."""

from __future__ import annotations

from typing import Any

from leann_engine.embed.base import Embedder, make_embedder
from leann_engine.embed.ollama import OllamaEmbedder
from leann_engine.embed.openai import OpenAIEmbedder
from leann_engine.embed.templates import TemplatedEmbedder, default_templates, with_templates

EMBEDDING_MODES: tuple[str, ...] = ("sentence-transformers", "openai", "ollama")
_PROVIDERS = {"openai": OpenAIEmbedder, "ollama": OllamaEmbedder}
# LEANN's names for the templates, accepted in embedding_options too.
_PASSAGE_KEYS = ("embedding_prompt_template", "prompt_template", "build_prompt_template")
_QUERY_KEYS = ("query_prompt_template",)
# Options an index records for its provider (never api_key).
_RECORDED = ("base_url", "host", "dimensions")
# Provider options a caller may pass for any index (the CLI does): ignored for local models.
_REMOTE_ONLY = ("api_key", "base_url", "host", "timeout", "max_retries", "backoff")


def check_mode(mode: Any) -> str:
    if mode not in EMBEDDING_MODES:
        raise ValueError(f"embedding_mode must be one of {', '.join(EMBEDDING_MODES)}, got {mode!r}")
    return mode


def split_templates(options: dict[str, Any] | None) -> tuple[dict[str, Any], str | None, str | None]:
    """``(provider options, passage template, query template)`` from ``embedding_options``."""
    opts = dict(options or {})
    if not isinstance(options, (dict, type(None))):
        raise ValueError(f"embedding_options must be a dict, got {type(options).__name__}")
    passage = next((opts.pop(k) for k in _PASSAGE_KEYS if k in opts), None)
    query = next((opts.pop(k) for k in _QUERY_KEYS if k in opts), None)
    for k in _PASSAGE_KEYS:
        opts.pop(k, None)
    return opts, passage, query


def make_mode_embedder(
    mode: str, model: str | Embedder | None, options: dict[str, Any] | None = None, dimension: int | None = None
) -> Embedder:
    """The embedder for ``embedding_mode``: a provider client, or sentence-transformers.

    ``dimension`` (an index's) makes a provider check every answer against it without a probe.
    """
    check_mode(mode)
    opts = dict(options or {})
    if mode == "sentence-transformers" or not isinstance(model, str):
        if mode != "sentence-transformers":
            raise ValueError(f"embedding_mode={mode!r} needs embedding_model to be the provider's model name")
        return make_embedder(model, **opts)
    cls = _PROVIDERS[mode]
    try:
        emb = cls(model, **opts)
    except TypeError as e:
        raise ValueError(f"embedding_options for embedding_mode={mode!r}: {e}") from None
    if dimension is not None and emb._dimension is None:
        emb._dimension = int(dimension)
    return emb


def mode_of(embedder: Any) -> str:
    """The recorded mode of an embedder object: a provider's, sentence-transformers, or custom."""
    inner = embedder.inner if isinstance(embedder, TemplatedEmbedder) else embedder
    mode = getattr(inner, "mode", None)
    if mode in _PROVIDERS:
        return mode
    from leann_engine.embed.sentence_transformers import SentenceTransformerEmbedder

    return "sentence-transformers" if isinstance(inner, SentenceTransformerEmbedder) else "custom"


def resolve_embedder(
    mode: str, model: str | Embedder | None, options: dict[str, Any] | None, passage: str | None, query: str | None
) -> tuple[Embedder, dict[str, Any]]:
    """A builder's embedder (templates applied) and the manifest's ``embedding`` section.

    e5 default templates apply only when no template was given, the model was given by name
    and the embedder has no ``embed_query`` of its own.
    """
    emb = make_mode_embedder(mode, model, options)
    if passage is None and query is None and isinstance(model, str):
        passage, query = default_templates(emb.name, emb)
    section: dict[str, Any] = {"mode": mode_of(emb), "model": emb.name}
    inner_entry = getattr(emb, "manifest_entry", None)
    if inner_entry is not None:
        section.update({k: v for k, v in inner_entry().items() if k in _RECORDED})
    section["prompt_template"] = passage or ""
    section["query_prompt_template"] = query or ""
    return with_templates(emb, passage, query), section


def embedder_for_index(
    manifest: dict[str, Any], embedding: Embedder | str | None = None, options: dict[str, Any] | None = None
) -> Embedder:
    """The embedder a searcher uses: ``embedding`` when given, else the provider the index
    records (its key from ``options`` or the environment), wrapped in the index's templates."""
    section = manifest.get("embedding") or {}
    opts, _, _ = split_templates(options)
    if embedding is not None:
        if isinstance(embedding, TemplatedEmbedder):
            embedding = embedding.inner
        local = {k: v for k, v in opts.items() if k not in _REMOTE_ONLY}
        emb = make_embedder(embedding, **local) if isinstance(embedding, str) else make_embedder(embedding)
    else:
        mode = section.get("mode", "sentence-transformers")
        recorded = {k: section[k] for k in _RECORDED if k in section}
        if mode in _PROVIDERS:
            emb = make_mode_embedder(mode, manifest["embedding_model"], {**recorded, **opts}, int(manifest["dimensions"]))
        else:
            local = {k: v for k, v in opts.items() if k not in _REMOTE_ONLY}
            emb = make_embedder(manifest["embedding_model"], **local)
    return with_templates(emb, section.get("prompt_template"), section.get("query_prompt_template"))
