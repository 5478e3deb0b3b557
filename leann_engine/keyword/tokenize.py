"""Unicode-aware tokenizer for keyword search, the same for passages and queries.

- Text is NFKC-normalised (full-width letters and half-width kana become their usual forms) and
  case-folded; accents on Latin letters are removed (``café`` and ``cafe`` match).
- Runs of Chinese, Japanese or Korean characters, written without spaces, become overlapping
  character bigrams plus single characters, so a query matches inside a sentence without a
  dictionary-based segmenter.
- Words keep internal dots (``os.path.join``) and underscores; such identifiers, and camelCase
  ones, are split into their parts while the whole identifier is kept as a token as well.
- Stop words are optional, per language (``"en"``, ``"ja"``, ``"zh"``) or a custom set.

The configuration is recorded with the keyword index, so queries are tokenized as the index was.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

TOKENIZER_NAME = "leann-unicode"


TOKENIZER_VERSION = 1


# Hiragana, katakana (+ phonetic extensions, half-width), CJK ideographs (+ extension A,
# compatibility), Hangul syllables, and the iteration mark.
_CJK = "\u3005\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"


_TOKEN_RE = re.compile(rf"([{_CJK}]+)|((?:[^\W{_CJK}])+(?:[.](?:[^\W\d{_CJK}])(?:[^\W{_CJK}])*)*)")


_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_A-Za-z]+")


_LATIN_MARKS = re.compile(r"(?<=[\x00-\u024f])[\u0300-\u036f]+")


_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """a an and are as at be but by for from has have how i if in into is it its of on or
        that the their then there these they this to was were what when where which who why will
        with you your do does can""".split()
    ),
    # Particles and auxiliaries that carry no topic on their own.
    "ja": frozenset(
        "の に は を た が で て と し れ さ ある いる も な する から こと として い や など".split()
    ),
    "zh": frozenset("的 了 在 是 和 与 及 或 也 就 都 而 并 被 把 这 那 其 之 个 中 为 以 对 从".split()),
}


def _fold(word: str) -> str:
    if word.isascii():
        return word.lower()
    return _strip_marks(word.casefold())


def _strip_marks(word: str) -> str:
    return unicodedata.normalize("NFC", _LATIN_MARKS.sub("", unicodedata.normalize("NFD", word)))


def _word_tokens(word: str, out: list[str]) -> None:
    if not word.isascii():
        word = _strip_marks(word)
    out.append(word.casefold())
    if word.isalpha() and (word.islower() or word.isupper() or word[1:].islower()):
        return  # a plain word: nothing to split
    parts: list[str] = []
    for piece in re.split(r"[._]+", word):
        parts.extend(_CAMEL_RE.findall(piece))
    if len(parts) > 1:
        out.extend(p.casefold() for p in parts)


def _cjk_tokens(run: str, out: list[str]) -> None:
    out.extend(run)
    if len(run) > 1:
        out.extend(run[i : i + 2] for i in range(len(run) - 1))


class Tokenizer:
    """Turns text into keyword tokens; see the module docstring for the rules."""

    def __init__(self, stopwords: str | Iterable[str] | None = None) -> None:
        """``stopwords``: ``None`` (keep every token), a language code or comma-separated codes
        (``"en"``, ``"ja"``, ``"zh"``, ``"en,ja"``), or an explicit collection of words."""
        self.languages: list[str] = []
        self.custom: list[str] = []
        if stopwords is None:
            stop: frozenset[str] = frozenset()
        elif isinstance(stopwords, str):
            self.languages = [s.strip() for s in stopwords.split(",") if s.strip()]
            unknown = [s for s in self.languages if s not in _STOPWORDS]
            if unknown:
                raise ValueError(
                    f"stopwords: no list for language {unknown[0]!r}; expected one of "
                    f"{', '.join(sorted(_STOPWORDS))}, or a collection of words"
                )
            stop = frozenset().union(*(_STOPWORDS[s] for s in self.languages))
        else:
            words = list(stopwords)
            if not all(isinstance(w, str) for w in words):
                raise ValueError("stopwords must be a language code or a collection of strings")
            self.custom = sorted({_fold(w) for w in words})
            stop = frozenset(self.custom)
        self.stop = stop

    def __call__(self, text: str) -> list[str]:
        """Tokens of ``text`` in order, repeats included (their count is the term frequency)."""
        out: list[str] = []
        for m in _TOKEN_RE.finditer(unicodedata.normalize("NFKC", text)):
            cjk, word = m.group(1), m.group(2)
            if cjk:
                _cjk_tokens(cjk, out)
            else:
                _word_tokens(word, out)
        if self.stop:
            return [t for t in out if t not in self.stop]
        return out

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        return [self(t) for t in texts]

    def config(self) -> dict[str, Any]:
        """What to record with an index so queries are tokenized the same way."""
        return {
            "name": TOKENIZER_NAME,
            "version": TOKENIZER_VERSION,
            "stopwords": self.languages,
            "custom_stopwords": self.custom,
        }

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Tokenizer:
        if cfg.get("name") != TOKENIZER_NAME or int(cfg.get("version", 0)) > TOKENIZER_VERSION:
            raise ValueError(
                f"the keyword index was made by tokenizer {cfg.get('name')!r} v{cfg.get('version')}, "
                f"which this version of leann_engine does not know: rebuild or upgrade"
            )
        if cfg.get("custom_stopwords"):
            return cls(cfg["custom_stopwords"])
        langs = cfg.get("stopwords") or []
        return cls(",".join(langs) if langs else None)


def index_tokenizer(manifest: dict[str, Any]) -> Tokenizer:
    """The tokenizer an index's keyword search uses (the default one for indexes made without)."""
    keyword = manifest.get("keyword") or {}
    cfg = keyword.get("tokenizer")
    return Tokenizer.from_config(cfg) if cfg else Tokenizer()
