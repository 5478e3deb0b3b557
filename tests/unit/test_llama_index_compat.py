"""A LlamaIndex store written by the single-module adapter (commit 0863117) reopens unchanged.

``tests/fixtures/llama_index_v1.leann`` was written by ``tests/fixtures/make_llama_index_v1.py``
with that commit's code (12 pipeline nodes in the graph, one hand-made node in the delta); the
node serialisation of today's adapter must read it back exactly and keep writing to it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.schema import TextNode  # noqa: E402
from llama_index.core.vector_stores.types import VectorStoreQuery  # noqa: E402
from llama_index_fakes import dump, hash_model  # noqa: E402

from leann_integrations.llama_index import LeannVectorStore  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPECTED = json.loads((FIXTURES / "llama_index_v1.expected.json").read_text())


@pytest.fixture
def old_store(tmp_path: Path) -> LeannVectorStore:
    dst = tmp_path / "llama_index_v1.leann"
    shutil.copytree(FIXTURES / "llama_index_v1.leann", dst)
    return LeannVectorStore(dst, embed_model=hash_model())


def test_old_store_gives_back_the_same_nodes(old_store):
    ids = [n["id_"] for n in EXPECTED["nodes"]]
    assert old_store.client.manifest["counts"] == {"base": 12, "delta": 1, "deleted": 0, "passages": 13}
    assert [dump(n) for n in old_store.get_nodes(node_ids=ids)] == EXPECTED["nodes"]
    (odd,) = old_store.get_nodes(["odd"])
    assert odd.text == "  padded text  " and odd.ref_doc_id == "src"


def test_old_store_searches_as_before_and_takes_new_nodes(old_store):
    emb = hash_model()
    q = VectorStoreQuery(query_embedding=emb.get_query_embedding("garlic onion pan"), similarity_top_k=3)
    assert old_store.query(q).ids == EXPECTED["top_garlic"]
    old_store.add([TextNode(id_="new", text="a kite over the sea", metadata={"topic": "sea"})])
    old_store.delete(EXPECTED["nodes"][0]["relationships"]["1"]["node_id"])
    left = {n.node_id for n in old_store.get_nodes()}
    assert "new" in left and EXPECTED["nodes"][0]["id_"] not in left
