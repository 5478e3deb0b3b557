"""``LeannChat``: retrieve passages, build a prompt that cites them, answer through Ollama."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._extras import _require
from .service import DEFAULT_MODE, DEFAULT_TOP_K, SearchRequest, run_search, source_label

LLM_TYPES: tuple[str, ...] = ("ollama",)
DEFAULT_OLLAMA_MODEL = "qwen3:8b"  # LEANN's `leann ask` default
DEFAULT_OLLAMA_HOST = "http://localhost:11434"
SYSTEM_PROMPT = (
    "You answer questions from the numbered context passages below, taken from the user's own "
    "documents. Use only what the passages say. Cite the passages you use as [1], [2], ... next "
    "to the statements they support. If the passages do not contain the answer, say so."
)


class LLMUnavailableError(RuntimeError):
    """The language model cannot be reached or cannot answer; the message says how to fix it."""


def build_messages(
    question: str, results: Sequence[Any], system_prompt: str = SYSTEM_PROMPT
) -> list[dict[str, str]]:
    """The chat messages: a system prompt, then the numbered sources and the question."""
    blocks = [
        f"[{i}] {source_label(r.metadata or {})}\n{r.text.strip()}" for i, r in enumerate(results, start=1)
    ]
    context = "\n\n".join(blocks) if blocks else "(no passages were found)"
    user = f"Context passages:\n\n{context}\n\nQuestion: {question.strip()}"
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}]


class OllamaLLM:
    """Chat with a model served by Ollama, through the ``ollama`` client."""

    def __init__(
        self,
        model: str = DEFAULT_OLLAMA_MODEL,
        host: str | None = None,
        options: dict[str, Any] | None = None,
    ):
        ollama = _require("ollama", "ollama", "answers through Ollama")
        self.model = model
        self.host = host or os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST
        self.options = options or {}
        self._ollama = ollama
        self._client = ollama.Client(host=self.host)

    def _unreachable(self, e: Exception) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"Ollama is not reachable at {self.host} ({type(e).__name__}): start it with `ollama serve` "
            f"(install: https://ollama.com), then `ollama pull {self.model}`; or point to a running server "
            "with --host / llm_config['host']"
        )

    def stream(
        self, messages: list[dict[str, str]], options: Mapping[str, Any] | None = None
    ) -> Iterator[str]:
        """Yield the answer's text as Ollama streams it; ``options`` add to :attr:`options` for
        this call only."""
        import httpx

        merged = {**self.options, **(options or {})}
        try:
            for part in self._client.chat(model=self.model, messages=messages, stream=True, options=merged):
                message = part.get("message") if isinstance(part, Mapping) else getattr(part, "message", None)
                content = (
                    message.get("content")
                    if isinstance(message, Mapping)
                    else getattr(message, "content", None)
                )
                if content:
                    yield content
        except (ConnectionError, httpx.TransportError) as e:
            raise self._unreachable(e) from e
        except self._ollama.ResponseError as e:
            if getattr(e, "status_code", None) == 404:
                raise LLMUnavailableError(
                    f"Ollama at {self.host} has no model {self.model!r}: run `ollama pull {self.model}`, "
                    "or choose an installed one with --model (see `ollama list`)"
                ) from e
            raise LLMUnavailableError(f"Ollama at {self.host} answered with an error: {e}") from e


def make_llm(llm_config: Mapping[str, Any] | None) -> OllamaLLM:
    config = dict(llm_config or {})
    kind = config.pop("type", "ollama")
    if kind not in LLM_TYPES:
        raise ValueError(f"llm_config['type'] must be one of {', '.join(LLM_TYPES)}, got {kind!r}")
    unknown = set(config) - {"model", "host", "options"}
    if unknown:
        raise ValueError(f"unknown llm_config keys {sorted(unknown)}; known: type, model, host, options")
    return OllamaLLM(config.get("model") or DEFAULT_OLLAMA_MODEL, config.get("host"), config.get("options"))


class LeannChat:
    """Answer questions over an index with a local LLM (Ollama), citing the passages used.

    Example::

        chat = LeannChat(".leann/indexes/docs/documents.leann",
                         llm_config={"type": "ollama", "model": "qwen3:8b", "host": "http://localhost:11434"})
        print(chat.ask("How do I enable the feature?", top_k=5))
        for r in chat.last_results: print(r.metadata["source"])

    ``searcher`` takes any object with LeannSearcher's ``search`` (the CLI passes one that asks its
    warm daemon); by default the index at ``index_path`` is opened in this process.
    """

    def __init__(
        self,
        index_path: str | Path,
        llm_config: Mapping[str, Any] | None = None,
        *,
        searcher: Any = None,
        enable_warmup: bool = False,
        system_prompt: str = SYSTEM_PROMPT,
    ) -> None:
        self.index_path = Path(index_path)
        self.llm = make_llm(llm_config)
        if searcher is None:
            from leann_engine import LeannSearcher

            searcher = LeannSearcher(self.index_path, enable_warmup=enable_warmup)
        self.searcher = searcher
        self.system_prompt = system_prompt
        self.last_results: list[Any] = []
        self.last_messages: list[dict[str, str]] = []

    def retrieve(self, question: str, top_k: int = DEFAULT_TOP_K, **search_kwargs: Any) -> list[Any]:
        """The ``top_k`` passages for ``question``; ``search_kwargs``: complexity, mode, filters, ..."""
        search_kwargs.setdefault("mode", DEFAULT_MODE)
        if "metadata_filters" in search_kwargs:
            search_kwargs["filters"] = search_kwargs.pop("metadata_filters")
        options = {k: v for k, v in search_kwargs.items() if v is not None}
        return list(run_search(self.searcher, SearchRequest(question, top_k, **options)))

    def stream(
        self,
        question: str,
        top_k: int = DEFAULT_TOP_K,
        *,
        llm_kwargs: dict[str, Any] | None = None,
        **search_kwargs: Any,
    ) -> Iterator[str]:
        """Retrieve, then yield the answer as it is generated.

        ``llm_kwargs`` are model options (``temperature``, ...) for this question only, on top of
        the LLM's own ``options``.
        """
        if not isinstance(question, str) or not question.strip():
            raise ValueError("question must be a non-empty string")
        self.last_results = self.retrieve(question, top_k, **search_kwargs)
        self.last_messages = build_messages(question, self.last_results, self.system_prompt)
        yield from self.llm.stream(self.last_messages, options=llm_kwargs)

    def ask(
        self,
        question: str,
        top_k: int = DEFAULT_TOP_K,
        *,
        llm_kwargs: dict[str, Any] | None = None,
        **search_kwargs: Any,
    ) -> str:
        """Retrieve the ``top_k`` passages for ``question`` and return the model's answer."""
        return "".join(self.stream(question, top_k, llm_kwargs=llm_kwargs, **search_kwargs))
