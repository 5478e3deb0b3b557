"""Keyword tokenizer: scripts, identifiers, folding, stopwords."""

from __future__ import annotations

import pytest

from leann_engine.keyword.tokenize import Tokenizer


def test_cjk_runs_become_unigrams_and_bigrams():
    tok = Tokenizer()
    assert tok("機械学習") == ["機", "械", "学", "習", "機械", "械学", "学習"]
    assert "编程" in tok("Python 是一种编程语言。") and "python" in tok("Python 是一种编程语言。")
    # Half-width katakana and full-width Latin are normalised first.
    assert tok("ｶﾀｶﾅ ＡＢＣ") == tok("カタカナ abc")


def test_identifiers_are_split_and_kept_whole():
    tok = Tokenizer()
    assert tok("os.path.join") == ["os.path.join", "os", "path", "join"]
    assert tok("getElementById") == ["getelementbyid", "get", "element", "by", "id"]
    assert tok("snake_case_name") == ["snake_case_name", "snake", "case", "name"]
    assert tok("HTTPServer") == ["httpserver", "http", "server"]
    assert tok("ValueError: shapes not aligned")[:3] == ["valueerror", "value", "error"]
    # A sentence end is not a dotted name; a decimal number is two numbers.
    assert tok("end. Next 3.14") == ["end", "next", "3", "14"]


def test_latin_is_folded_but_other_scripts_keep_their_marks():
    tok = Tokenizer()
    assert tok("Café NAÏVE Résumé") == ["cafe", "naive", "resume"]
    assert tok("がぎ") == ["が", "ぎ", "がぎ"]  # dakuten are not accents to strip


def test_stopwords_per_language_and_config_round_trip():
    assert Tokenizer("en")("the cat is on the mat") == ["cat", "mat"]
    assert "の" not in Tokenizer("ja")("機械の研究")
    t = Tokenizer("en,zh")
    assert Tokenizer.from_config(t.config())("the 的 cat") == t("the 的 cat") == ["cat"]
    custom = Tokenizer(["Foo"])
    assert custom("foo bar") == ["bar"] and Tokenizer.from_config(custom.config())("foo bar") == ["bar"]
    with pytest.raises(ValueError, match="stopwords: no list for language 'xx'"):
        Tokenizer("xx")
