"""A LangChain store and another process share one index folder, both ways."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("langchain_core", reason='needs the langchain extra: pip install -e ".[langchain]"')

from conftest import ROOT  # noqa: E402
from langchain_core.embeddings import DeterministicFakeEmbedding  # noqa: E402

from leann_integrations.langchain import LeannVectorStore  # noqa: E402

_CHILD = textwrap.dedent(
    """
    import sys
    from langchain_core.embeddings import DeterministicFakeEmbedding
    from leann_integrations.langchain import LeannVectorStore

    store = LeannVectorStore(DeterministicFakeEmbedding(size=6), index_path=sys.argv[1])
    if sys.argv[2] == "write":
        store.add_texts(["written by the child"], [{"by": "child"}], ids=["child"])
    else:
        docs = store.similarity_search(sys.argv[3], k=1)
        print(docs[0].id, docs[0].metadata)
    """
)


def _child(*args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_persistence_across_processes(tmp_path):
    path = tmp_path / "shared.leann"
    store = LeannVectorStore(DeterministicFakeEmbedding(size=6), index_path=path)
    assert store.similarity_search("anything") == []
    _child(str(path), "write")  # another process creates the index this store has not seen
    assert store.get_by_ids(["child"])[0].metadata == {"by": "child"}
    store.add_texts(["written by the parent"], [{"by": "parent", "n": 1}], ids=["parent"])
    assert _child(str(path), "read", "written by the parent") == "parent {'by': 'parent', 'n': 1}"
