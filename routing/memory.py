"""What reviewers taught: their latest re-route of each corrected letter, used for the next letters at once.

    memory = CorrectionMemory.from_examples([(sample, "tiefbau"), ...])   # or CorrectionMemory.load(session)
    memory.evidence(sample)   # {postbox: Recollection(votes, letters)}: similar corrected letters per postbox

A reviewer's decision helps the *next* letter of that kind without waiting for a retraining: every corrected
letter is remembered by its content words (what the catalogue reads too,
:func:`classifiers.responsibilities.readable_body`: from the subject on, not the letterhead, the address field, the
signature, persons' names, street addresses, dates or numbers; everyday letter words such as "bitte", "Antrag",
"Sehr geehrte" left out). A new letter is compared with each remembered one (weighted Jaccard similarity of
their words, subject words counting :data:`SUBJECT_WEIGHT` times); every remembered letter at least
:data:`MIN_SIMILARITY` similar is one vote for its postbox (a vote of ``similarity / FULL_SIMILARITY``, at most
1). :mod:`routing.decision` multiplies a postbox's score by ``exp(MEMORY_STRENGTH * (votes - contrary votes))``,
so one corrected letter nudges, and about three make the next letter of a kind route itself when its letters are
worded alike; letters of one kind in different senders' own words are mostly too little alike for that yet
(``bench/bench_learning.py`` on the independent ``letters2/kinds``, figures in the README). ``mailroom train``
still folds the corrections into the models; the memory keeps the newest :data:`MAX_REMEMBERED` corrections.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifiers.german import fold, stem, words
from classifiers.responsibilities import readable_body
from classifiers.samples import Sample, sample_from_document
from mailroom.model import Document
from mailroom.storage.labels import LabelKind, LabelRow, training_labels

MIN_SIMILARITY = 0.10  # letters of different occasions: all below 0.09 (dev letters, 2,345 pairs; p99 0.06)
FULL_SIMILARITY = 0.35  # letters of one occasion: median 0.49, p10 0.125
SUBJECT_WEIGHT = 3.0
MAX_REMEMBERED = 2000
MIN_WORD = 4
GRAM = 5

# everyday words of letters to a town hall: they say nothing about the kind of letter
_EVERYDAY_TEXT = (
        "sehr geehrte geehrter damen herren hallo guten tag freundlichen grüßen gruß grüße mit bitte bitten "
        "danke dank vielen herzlichen hiermit anbei beiliegend anlage anlagen schreiben schreibe brief "
        "antrag anträge beantrage beantragen anfrage frage fragen mitteilung mitteilen teile teilen "
        "stadt stadtverwaltung musterstadt rathaus rathausplatz verwaltung amt ämter gemeinde "
        "ihnen ihre ihrer ihren ihrem sie wir uns unser unsere unserer unseren mein meine meiner meinen meinem "
        "ich mich mir haben habe hat hatte wurde wurden werden wird worden sein seine seiner sind ist war "
        "waren kann können könnten konnte möchte möchten würde würden sollte sollten muss müssen "
        "dass daß diese dieser dieses diesem diesen eine einer einem einen eines einige nicht noch auch "
        "aber oder und sowie wenn weil damit dabei dazu davon darauf darüber dort hier jetzt heute bereits "
        "schon sehr mehr mehrere alle allen aller vom von zum zur für über unter nach seit bis bei aus "
        "datum betreff betrifft ihr zeichen unser nachricht telefon telefax fax mail email e-mail internet "
        "januar februar märz april mai juni juli august september oktober november dezember "
        "montag dienstag mittwoch donnerstag freitag samstag sonntag woche wochen monat monaten jahr jahre "
        "frau herrn herr familie name namen adresse anschrift straße postfach seite "
        "rückfrage rückfragen verfügung gerne gern freundliche weiteren weitere weiterer kurz kurze "
        "entsprechend entsprechende erhalten erhielt gestellt stellen sache angelegenheit vorgang "
        "gegebenenfalls ggf bzw usw etc zeit zeitnah baldige baldigen bald möglich möglichst"
)
_EVERYDAY = {stem(w) for w in _EVERYDAY_TEXT.split()}
_NOISE = re.compile(r"\b[\wäöüÄÖÜß.\-]*(?:straße|strasse|str\.|weg|platz|allee|gasse)\s*\d+\s*[a-z]?\b|\d+", re.I)


def content_words(sample: Sample) -> dict[str, float]:
    """A letter's content as character 5-grams of its content words (so that "Gedenkbank" meets "Bank" and
    an OCR error spoils one gram, not the word), with weights: subject grams count SUBJECT_WEIGHT times."""
    body = readable_body(sample.text, sample.subject, sample.address)
    out: dict[str, float] = {}
    for text, weight in ((body, 1.0), (sample.subject, SUBJECT_WEIGHT)):
        for word in words(_NOISE.sub(" ", text)):
            if len(word) < MIN_WORD:
                continue
            key = stem(word)
            if key in _EVERYDAY or fold(word) in _EVERYDAY:
                continue
            padded = f" {key} "
            for i in range(max(1, len(padded) - GRAM + 1)):
                gram = padded[i : i + GRAM]
                out[gram] = max(out.get(gram, 0.0), weight)
    return out


def similarity(a: dict[str, float], b: dict[str, float]) -> float:
    """Weighted Jaccard similarity of two letters' content words (0..1)."""
    keys = a.keys() | b.keys()
    if not keys:
        return 0.0
    shared = sum(min(a.get(k, 0.0), b.get(k, 0.0)) for k in keys)
    total = sum(max(a.get(k, 0.0), b.get(k, 0.0)) for k in keys)
    return shared / total if total else 0.0


@dataclass(frozen=True)
class Recollection:
    """What the memory says for one postbox: votes of similar corrected letters and the best of them."""

    postbox: str
    votes: float
    letters: int
    best_similarity: float

    def reason(self) -> str:
        return (
            f"learned: {self.letters} corrected letter(s) like this one went to {self.postbox} "
            f"(similarity up to {self.best_similarity:.2f})"
        )


@dataclass(frozen=True)
class _Remembered:
    words: dict[str, float]
    postbox: str


class CorrectionMemory:
    """Corrected letters by their content words (see the module doc)."""

    def __init__(self, remembered: Iterable[_Remembered] = (), version: int = 0) -> None:
        self.remembered = list(remembered)[-MAX_REMEMBERED:]
        self.version = version  # the newest label id it was built from

    @classmethod
    def from_examples(cls, examples: Iterable[tuple[Sample, str]]) -> CorrectionMemory:
        return cls(_Remembered(content_words(sample), postbox) for sample, postbox in examples)

    @classmethod
    def load(cls, session: Session) -> CorrectionMemory:
        """Every corrected document's latest re-route (newest MAX_REMEMBERED), with its stored words."""
        version = label_version(session)
        examples = [
            (sample_from_document(Document.model_validate_json(label.content_json)), label.postbox)
            for label in training_labels(session)[-MAX_REMEMBERED:]
            if label.postbox
        ]
        memory = cls.from_examples(examples)
        memory.version = version
        return memory

    def __len__(self) -> int:
        return len(self.remembered)

    def evidence(self, sample: Sample) -> dict[str, Recollection]:
        """Per postbox, the votes of remembered letters similar to ``sample``."""
        if not self.remembered:
            return {}
        mine = content_words(sample)
        votes: dict[str, list[float]] = {}
        for entry in self.remembered:
            sim = similarity(mine, entry.words)
            if sim >= MIN_SIMILARITY:
                votes.setdefault(entry.postbox, []).append(sim)
        return {
            box: Recollection(box, sum(min(1.0, s / FULL_SIMILARITY) for s in sims), len(sims), max(sims))
            for box, sims in votes.items()
        }


def label_version(session: Session) -> int:
    """The newest re-route label's id: the memory is rebuilt when it changes."""
    return int(
        session.scalar(select(func.max(LabelRow.id)).where(LabelRow.kind == LabelKind.REROUTE.value)) or 0
    )


def memory_factors(recollections: dict[str, Recollection], strength: float) -> dict[str, tuple[float, str]]:
    """Factor per postbox: ``exp(strength * (its votes - the votes for every other postbox))``, only for postboxes
    with more votes than all others together."""
    total = sum(r.votes for r in recollections.values())
    out = {}
    for box, recollection in recollections.items():
        margin = recollection.votes - (total - recollection.votes)
        if margin > 0:
            out[box] = (math.exp(strength * margin), recollection.reason())
    return out
