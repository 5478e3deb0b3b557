"""LangChain's own standard vector-store suite (``langchain-tests``), sync and async."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("langchain_tests", reason='needs the test extra: pip install -e ".[test]"')

from langchain_core.vectorstores import VectorStore  # noqa: E402
from langchain_tests.integration_tests import VectorStoreIntegrationTests  # noqa: E402

from leann_integrations.langchain import LeannVectorStore  # noqa: E402


class TestLeannVectorStoreStandard(VectorStoreIntegrationTests):
    """Every standard test, on a temporary store with the suite's 6-d fake embeddings."""

    @pytest.fixture()
    def vectorstore(self) -> Iterator[VectorStore]:
        store = LeannVectorStore(embedding=self.get_embeddings())
        try:
            yield store
        finally:
            store.close()


class TestLeannVectorStoreStandardOnDisk(VectorStoreIntegrationTests):
    """The same suite on a store with an explicit folder that keeps the vectors."""

    @pytest.fixture()
    def vectorstore(self, tmp_path) -> Iterator[VectorStore]:
        store = LeannVectorStore(
            embedding=self.get_embeddings(), index_path=tmp_path / "idx", store_embeddings=True
        )
        try:
            yield store
        finally:
            store.close()
