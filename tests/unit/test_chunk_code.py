"""Code chunking: whole syntax-tree units within a character budget, line numbers, every grammar."""

from __future__ import annotations

import sys

import pytest

from leann_cli._extras import MissingExtraError
from leann_cli.ingest.chunk import chunk_code, chunk_lines
from leann_cli.ingest.chunk import code as code_module

PY_SOURCE = (
    '''"""Module docstring."""
import os


def small_one(a, b):
    """Add two numbers."""
    return a + b


class Store:
    """A store that keeps things."""

    def put(self, key, value):
        self.data[key] = value
        return value

    def get(self, key):
        return self.data.get(key)
'''
    + "\n".join(
        f"\n\ndef generated_{i}(x):\n    total = 0\n    for j in range(x):\n        total += j * {i}\n    return total"
        for i in range(12)
    )
    + "\n"
)


def test_python_chunks_are_whole_functions_and_classes():
    chunks = chunk_code(PY_SOURCE, "python", 300)
    src_lines = PY_SOURCE.splitlines()
    for c in chunks:
        assert len(c.text) <= 300
        assert c.text.strip() == "\n".join(src_lines[c.start_line - 1 : c.end_line]).strip()
    texts = [c.text for c in chunks]
    assert any("class Store" in t and "def put" in t and "def get" in t for t in texts)
    for i in range(12):
        holding = [t for t in texts if f"def generated_{i}(" in t]
        assert len(holding) == 1 and "return total" in holding[0].split(f"def generated_{i}(")[1]


def test_big_class_is_split_into_whole_methods():
    methods = "\n".join(
        f"    def method_{i}(self, x):\n        value = x * {i}\n        return value + {i}\n" for i in range(20)
    )
    chunks = chunk_code(f"class Big:\n    '''doc'''\n{methods}", "python", 200)
    assert len(chunks) > 3 and chunks[0].text.startswith("class Big:")
    for i in range(20):
        holding = [c for c in chunks if f"def method_{i}(" in c.text]
        assert len(holding) == 1 and f"return value + {i}" in holding[0].text


def test_size_is_counted_in_characters_not_bytes():
    # Each function is 85 characters but, in UTF-8, nearly 200 bytes.
    funcs = [f'def greet_{i}():\n    return "{"こんにちは世界" * 8}"\n' for i in range(6)]
    source = "\n\n".join(funcs)
    assert all(len(f) < 100 < len(f.encode()) for f in funcs)
    chunks = chunk_code(source, "python", 100)
    assert all(len(c.text) <= 100 for c in chunks)
    # Measured in bytes, each function would be too big and cut by lines; in characters it is whole.
    assert [c.text.count("def ") for c in chunks] == [1] * 6
    assert all(c.text.rstrip().endswith('"') for c in chunks)
    # Packing counts characters too: two functions fit a 200-character chunk.
    assert len(chunk_code(source, "python", 200)) == 3


def test_line_numbers_after_non_ascii_text():
    source = '# «Ünïcödé» header — 説明\n\n\ndef f():\n    return 1\n'
    [chunk] = [c for c in chunk_code(source, "python", 30) if "def f" in c.text]
    assert (chunk.start_line, chunk.end_line) == (4, 5)


@pytest.mark.parametrize(
    ("language", "source", "names"),
    [
        ("java", "class A {\n  int f() { return 1; }\n  int g() { return 2; }\n}\n", ["f()", "g()"]),
        ("csharp", "namespace N {\n class A {\n  int F() { return 1; }\n }\n}\n", ["F()"]),
        ("typescript", "export function f(x: number): number {\n  return x;\n}\ninterface I { a: string }\n", ["f(", "I"]),
        ("tsx", "const App = () => <div>hi</div>;\nexport default App;\n", ["App"]),
        ("javascript", "function f(a) {\n  return a;\n}\nclass K { m() { return 2; } }\n", ["f(a)", "class K"]),
    ],
)
def test_other_grammars_parse_and_keep_units(language, source, names):
    chunks = chunk_code(source, language, 400)
    assert len(chunks) == 1
    assert chunks[0].start_line == 1 and chunks[0].end_line == source.rstrip("\n").count("\n") + 1
    for n in names:
        assert n in chunks[0].text


def test_line_chunking_for_code_without_a_grammar():
    src = "\n".join(f"int v{i} = {i};" for i in range(100))
    chunks = chunk_lines(src, 200)
    assert chunks[0].start_line == 1 and chunks[-1].end_line == 100
    assert all(len(c.text) <= 200 for c in chunks)
    assert all(b.start_line == a.end_line + 1 for a, b in zip(chunks, chunks[1:]))


def test_bad_size_and_unknown_language_are_named():
    with pytest.raises(ValueError, match="code chunk size must be an integer >= 16"):
        chunk_code("x = 1", "python", 8)
    with pytest.raises(ValueError, match="no tree-sitter grammar for language 'cobol'"):
        chunk_code("x = 1", "cobol")


def test_missing_grammar_names_the_extra(monkeypatch):
    monkeypatch.setattr(code_module, "_PARSERS", {})
    monkeypatch.setitem(sys.modules, "tree_sitter_java", None)
    with pytest.raises(MissingExtraError, match=r"AST chunking of java needs tree_sitter_java: .*leann-graph-index\[ingest\]"):
        chunk_code("class A {}", "java")
