"""Framework adapters (LangChain, LlamaIndex): thin translations onto :mod:`leann_engine`.

Each framework lives in its own module and is imported only when used, so the engine works
without any framework installed.
"""

__all__: list[str] = []
