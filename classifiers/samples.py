"""What the document-type model reads, and where labelled rows come from.

A :class:`Sample` is the text of one letter plus its two most telling zones (subject line, address field).
It is made from a :class:`mailroom.model.Document` at prediction time and from generated mail (truth files,
schema ``mailroom.truth/v1``) or a clerk's correction at training time: a correction is just one more
:class:`LabelledSample`. :func:`simulate_ocr_noise` makes clean training text look like a scan.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from classifiers.layout import find_zones
from mailroom.model import Document


@dataclass(frozen=True)
class Sample:
    text: str
    subject: str = ""
    address: str = ""


@dataclass(frozen=True)
class LabelledSample:
    sample: Sample
    label: str
    origin: str = "generated"  # generated | correction | ...


def sample_from_document(document: Document) -> Sample:
    """The whole text plus subject and address field of the first page with text."""
    first = next((p for p in document.pages if p.blocks), None)
    if first is None:
        return Sample(text=document.text)
    zones = find_zones(first)
    return Sample(
        text=document.text,
        subject=zones.subject.text if zones.subject else "",
        address=zones.address.text if zones.address else "",
    )


def samples_from_truth(truth_files: Iterable[Path]) -> list[LabelledSample]:
    """One labelled sample per letter of generated mail (letters without pages, i.e. XML, are skipped)."""
    out: list[LabelledSample] = []
    for path in truth_files:
        truth = json.loads(path.read_text(encoding="utf-8"))
        texts = {p["number"]: p["text"] for p in truth.get("pages", [])}
        for letter in truth.get("letters", []):
            text = "\n".join(texts[n] for n in letter["pages"] if texts.get(n))
            if not text.strip():
                continue
            sample = Sample(
                text=text,
                subject=letter.get("subject") or "",
                address="\n".join(letter["recipient"]["address_lines"]),
            )
            out.append(LabelledSample(sample, letter["document_type"]))
    return out


# Typical Tesseract confusions on office letters at 200-300 dpi.
_CONFUSIONS = {
    "m": "rn", "rn": "m", "l": "1", "1": "l", "I": "l", "O": "0", "0": "O", "e": "c", "c": "e", "i": "í",
    "ü": "u", "ä": "a", "ö": "o", "ß": "B", "S": "5", "5": "S", "B": "8", ",": ".", ".": ",", "h": "b",
}  # fmt: skip
_CONFUSABLE = re.compile("|".join(sorted((re.escape(k) for k in _CONFUSIONS), key=len, reverse=True)))


def simulate_ocr_noise(text: str, rng: random.Random, rate: float = 0.04) -> str:
    """Text as a mediocre scan would read: character confusions, split and merged words, lost characters."""

    def confuse(match: re.Match[str]) -> str:
        return _CONFUSIONS[match.group(0)] if rng.random() < rate else match.group(0)

    words = []
    for word in text.split(" "):
        roll = rng.random()
        if roll < rate / 4 and len(word) > 3:
            cut = rng.randrange(1, len(word) - 1)
            word = f"{word[:cut]} {word[cut:]}"
        elif roll < rate / 2 and len(word) > 3:
            cut = rng.randrange(len(word))
            word = word[:cut] + word[cut + 1 :]
        words.append(_CONFUSABLE.sub(confuse, word))
    out: list[str] = []
    for word in words:
        if out and rng.random() < rate / 4:
            out[-1] += word
        else:
            out.append(word)
    return " ".join(out)


def noisy(labelled: LabelledSample, rng: random.Random, rate: float = 0.04) -> LabelledSample:
    """A copy of a labelled sample with OCR noise on all its text."""
    s = labelled.sample
    sample = Sample(
        text=simulate_ocr_noise(s.text, rng, rate),
        subject=simulate_ocr_noise(s.subject, rng, rate),
        address=simulate_ocr_noise(s.address, rng, rate),
    )
    return LabelledSample(sample, labelled.label, labelled.origin + "+noise")
