# %% [markdown]
# # A LangChain RAG chain over a LEANN index
#
# A retrieval-augmented chain (retriever | prompt | LLM) over the bundled Linux kernel
# documentation in `examples/data/`, first with LangChain's `InMemoryVectorStore`, then with
# `LeannVectorStore`: the swap is one line, the chain is unchanged. At the end, the storage of
# both stores side by side.
#
# The LLM is LangChain's offline fake chat model, so this runs without a network or a server;
# put any chat model (`ChatOllama`, `ChatOpenAI`, ...) in its place for real answers.
#
#     python examples/langchain_rag.py
#
# `LEANN_RAG_FILES` (a glob, default `*.rst`) picks which documents to index.

# %%
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
try:
    ROOT = Path(__file__).resolve().parents[1]
except NameError:  # in the notebook, which runs from examples/
    ROOT = Path.cwd().resolve().parent

from langchain_core.documents import Document
from langchain_core.language_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from leann_cli.ingest.chunk import chunk_text
from leann_integrations.langchain import LeannEmbeddings, LeannVectorStore

# %% [markdown]
# ## Documents and embeddings
# Each document is cut into ~256-character chunks; the embedding model is all-MiniLM-L6-v2
# (the packaged offline copy), wrapped as a LangChain `Embeddings`.

# %%
DATA = ROOT / "examples" / "data"
files = sorted(DATA.glob(os.environ.get("LEANN_RAG_FILES", "*.rst")))
chunks = [
    Document(page_content=piece, metadata={"source": path.name, "chunk": i})
    for path in files
    for i, piece in enumerate(chunk_text(path.read_text(encoding="utf-8")))
]
embeddings = LeannEmbeddings()
workdir = Path(tempfile.mkdtemp(prefix="leann-rag-"))
print(f"{len(chunks)} chunks from {', '.join(p.name for p in files)}")

# %% [markdown]
# ## The chain
# Retriever, prompt, LLM. Nothing here knows which vector store is behind the retriever.

# %%
prompt = ChatPromptTemplate.from_messages(
    [
        ("system", "Answer the question from the context only.\n\nContext:\n{context}"),
        ("human", "{question}"),
    ]
)


def format_docs(docs):
    return "\n\n".join(f"[{d.metadata['source']}] {d.page_content}" for d in docs)


def make_chain(vectorstore, llm):
    retriever = vectorstore.as_retriever(search_kwargs={"k": 3})
    answer = prompt | llm | StrOutputParser()
    # The retrieved documents are kept next to the answer, to show where it came from.
    return RunnableParallel(docs=retriever, question=RunnablePassthrough()).assign(
        answer=RunnableLambda(lambda x: {"context": format_docs(x["docs"]), "question": x["question"]})
        | answer
    )


QUESTIONS = [
    "How do I reboot the machine with the magic SysRq key?",
    "Where should I send a patch for review?",
]
CANNED = [
    "(offline fake LLM) Press Alt+SysRq+b to reboot immediately, without syncing or unmounting.",
    "(offline fake LLM) Send it to the maintainers and the mailing list that scripts/get_maintainer.pl lists.",
]


def ask(vectorstore, label):
    chain = make_chain(vectorstore, FakeListChatModel(responses=CANNED))
    retrieved = []
    for question in QUESTIONS:
        t = time.perf_counter()
        out = chain.invoke(question)
        sources = [f"{d.metadata['source']}#{d.metadata['chunk']}" for d in out["docs"]]
        retrieved.append(sources)
        print(f"[{label}] {question}  ({time.perf_counter() - t:.2f}s)")
        print(f"  retrieved: {', '.join(sources)}\n  answer: {out['answer']}")
    return retrieved


# %% [markdown]
# ## With `InMemoryVectorStore`

# %%
t = time.perf_counter()
vectorstore = InMemoryVectorStore.from_documents(chunks, embeddings)
print(f"InMemoryVectorStore built in {time.perf_counter() - t:.1f}s")
memory_sources = ask(vectorstore, "in-memory")
memory_store = vectorstore

# %% [markdown]
# ## With `LeannVectorStore`: the one-line change
# Only the line that makes the store differs; the index is on disk when it returns.

# %%
t = time.perf_counter()
vectorstore = LeannVectorStore.from_documents(chunks, embeddings, index_path=workdir / "rag.leann")
print(f"LeannVectorStore built in {time.perf_counter() - t:.1f}s")
leann_sources = ask(vectorstore, "leann")
print("same retrieved chunks as InMemoryVectorStore:", leann_sources == memory_sources)

# %% [markdown]
# ## Storage side by side
# `InMemoryVectorStore` persists with `dump()` (JSON with the vectors); `LeannVectorStore`
# is its index folder: the graph, a BM25 keyword index and the text, no embeddings.

# %%
dump = workdir / "in_memory.json"
memory_store.dump(str(dump))
leann = vectorstore.storage_bytes()
dim = len(embeddings.embed_query("dimension"))
raw_vectors = len(chunks) * dim * 4
rows = [
    ("InMemoryVectorStore.dump (JSON)", dump.stat().st_size),
    ("  its vectors as raw float32", raw_vectors),
    ("LeannVectorStore folder", leann["total"]),
    ("  graph + manifest", leann["graph"]),
    ("  BM25 keyword index", leann["keywords"]),
    ("  text, metadata, ids", leann["text"]),
    ("  stored embeddings", leann["embeddings"]),
]
for name, size in rows:
    print(f"{name:<34} {size:>11,d} bytes")
print(f"LeannVectorStore / InMemoryVectorStore dump: {leann['total'] / dump.stat().st_size:.1%}")
print(f"graph / raw float32 vectors: {leann['graph'] / raw_vectors:.1%}")
