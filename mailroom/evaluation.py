"""Accuracy measures against generated ground truth (``*.truth.json`` written by ``sample_docs``).

Pure functions: the CLI and the benchmarks feed them texts; nothing here runs OCR.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

_WS = re.compile(r"\s+")
_TRANSLATE = str.maketrans(
    {"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-", "—": "-", "\u00ad": ""}
)


def normalise_text(text: str) -> str:
    """NFC, typographic quotes and dashes unified, whitespace collapsed: layout is not counted as error."""
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    return _WS.sub(" ", text).strip()


@dataclass(frozen=True)
class TextErrors:
    """Edit distances of one text against its truth; rates are distance / truth length."""

    char_errors: int
    chars: int
    word_errors: int
    words: int

    @property
    def cer(self) -> float:
        return self.char_errors / self.chars if self.chars else float(self.char_errors > 0)

    @property
    def wer(self) -> float:
        return self.word_errors / self.words if self.words else float(self.word_errors > 0)

    def __add__(self, other: TextErrors) -> TextErrors:
        return TextErrors(
            self.char_errors + other.char_errors,
            self.chars + other.chars,
            self.word_errors + other.word_errors,
            self.words + other.words,
        )


NO_ERRORS = TextErrors(0, 0, 0, 0)


def text_errors(hypothesis: str, truth: str, *, reading_order: bool = False) -> TextErrors:
    """Character and word edit distances of ``hypothesis`` against ``truth``.

    By default the words of both texts are sorted before comparing, so that the order in which blocks of a
    page are read (address field beside the information block, table columns) is not counted as an error;
    every misread, missing or extra word still is. ``reading_order=True`` compares the texts as they are.
    """
    hyp, ref = normalise_text(hypothesis), normalise_text(truth)
    if not reading_order:
        hyp, ref = " ".join(sorted(hyp.split())), " ".join(sorted(ref.split()))
    hyp_words, ref_words = hyp.split(), ref.split()
    return TextErrors(
        char_errors=Levenshtein.distance(hyp, ref),
        chars=len(ref),
        word_errors=Levenshtein.distance(hyp_words, ref_words),
        words=len(ref_words),
    )


def load_truth(document_path: Path) -> dict[str, Any] | None:
    """The truth written next to a generated document, or None."""
    truth_path = document_path.with_name(document_path.name + ".truth.json")
    if not truth_path.exists():
        return None
    data: dict[str, Any] = json.loads(truth_path.read_text(encoding="utf-8"))
    return data


def truth_page_texts(truth: dict[str, Any]) -> dict[int, str]:
    """Page number → exact text, for the pages that carry text to read (not blank, not separator sheets)."""
    return {
        int(p["number"]): p.get("text", "")
        for p in truth.get("pages", [])
        if not p.get("blank") and not p.get("separator")
    }
