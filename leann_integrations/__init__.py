"""Framework adapters (LangChain, LlamaIndex): thin translations onto :mod:`leann_engine`.

Each framework lives in its own subpackage (``langchain``, ``llama_index``), imported only when
used, so the engine works without any framework installed. Both use only ``leann_engine``'s
public names, one embedder-with-memo design (``_embedder.MemoEmbedder``) and one rule for options
(``_options``).
"""

__all__: list[str] = []
