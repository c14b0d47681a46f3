"""What reviewers taught: their latest re-route of each corrected letter, used for the next letters at once.

    memory = CorrectionMemory.from_examples([(sample, "tiefbau"), ...])   # or CorrectionMemory.load(session)
    memory.evidence(sample)   # {postbox: Recollection(votes, letters)}: similar corrected letters per postbox

A reviewer's decision helps the *next* letter of that kind without waiting for a retraining. Every corrected
letter is remembered by its content words (what the catalogue reads too,
:func:`classifiers.responsibilities.readable_body`: from the subject on, not the letterhead, the address field, the
signature, persons' names, street addresses, dates or numbers; everyday letter words such as "bitte", "Antrag",
"Sehr geehrte" left out). Two kinds of votes for a postbox:

* **similar letters**: a new letter is compared with each remembered one (weighted Jaccard similarity of their
  words' character grams, subject words counting :data:`SUBJECT_WEIGHT` times); every remembered letter at least
  :data:`MIN_SIMILARITY` similar is a vote of ``similarity / FULL_SIMILARITY`` (at most 1). This catches the same
  sender writing again.
* **learned words**: the words that at least two corrected letters of one postbox share (:meth:`vocabulary`; a
  compound's head or first part and one OCR slip count as the same word, :func:`terms_match`), each weighted by its
  rarity in the town's decided mail of the other postboxes (:class:`TownWords`, document frequency over the newest
  :data:`TOWN_DOCUMENTS` decided documents; the letter being decided is not counted), by how many corrected letters
  confirm it (fully from :data:`CONFIRMING_LETTERS`) and less when corrected letters of other postboxes have it too. A
  new letter's learned words add ``their weight / WORDS_PER_VOTE`` votes. This is what lets letters of one kind in
  different senders' own words teach each other: they share a few rare words ("Stolperstein", "Gedenk-", "verlegen"),
  not their wording. A single correction teaches no words.

:mod:`routing.decision` multiplies a postbox's score by ``exp(MEMORY_STRENGTH * (votes - CONTRARY_WEIGHT * other
postboxes' votes))`` (:func:`memory_factors`); when reviewers disagreed on letters like this one (another postbox
has :data:`CONTESTED_SHARE` of the similar letters) the memory does not push. Where the memory speaks for a
postbox, the catalogue words its corrected letters had for other departments weigh less
(:func:`routing.router.weaken_overruled`): the corrections overruled them. Figures (own tuned-on kinds in
``bench/data/learning-dev``, the independent ``letters2/kinds``) are in the README. ``mailroom train`` still folds
the corrections into the models; the memory keeps the newest :data:`MAX_REMEMBERED` corrections.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifiers.german import fold, stem, words
from classifiers.responsibilities import readable_body
from classifiers.samples import Sample, sample_from_document
from mailroom.model import Document
from mailroom.storage.labels import LabelKind, LabelRow, training_labels
from mailroom.storage.models import DocumentContentRow, DocumentRow, DocumentState

OverruledBy = Callable[[Sample, str], frozenset[tuple[str, str]]]

MIN_SIMILARITY = 0.10  # letters of different occasions: all below 0.09 (dev letters, 2,345 pairs; p99 0.06)
FULL_SIMILARITY = 0.35  # letters of one occasion: median 0.49, p10 0.125
SUBJECT_WEIGHT = 3.0
MAX_REMEMBERED = 2000
MIN_WORD = 4
GRAM = 5
# the words corrected letters of one postbox share (learned vocabulary)
MIN_MODIFIER = 6  # shortest stem that matches the first part of a compound ("gedenk", "balkon")
MIN_TERM = 5  # shortest stem that counts as a distinctive word ("stein", "tauben")
MIN_PART = 6  # shortest part that different compounds of two letters share ("bienen", "antenn")
OCR_MIN_LENGTH = 8  # a stem at least this long may differ by one OCR slip
CONFIRMING_LETTERS = 2  # a word in this many corrected letters of a postbox counts fully
TOWN_DOCUMENTS = 1000  # newest stored documents whose words say how rare a word is in the town's mail
PRIOR_DOCUMENTS = 50  # a young town's mail padded with this many letters without the word
COMMON_SHARE = 0.02  # a word in this share of the other postboxes' mail says nothing about a kind
MIN_TERM_WEIGHT = 0.2  # a learned word weighing less (common in the town's mail or other postboxes' letters): none
LONE_WORD = 0.5  # the strongest learned word of a letter counts this much of its weight
WORDS_PER_VOTE = 1.0  # learned words' weight that counts as one vote (one fully similar corrected letter)
MAX_WORD_VOTES = 3.0  # 2 would stop a postbox nothing else spoke for (CATALOGUE_FLOOR) at 0.89, under the threshold
CONTESTED_SHARE = 0.5  # another postbox with this share of the similar corrected letters: reviewers disagree
CONTRARY_WEIGHT = 2.0  # a vote for another postbox counts double against a postbox's votes

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


def letter_terms(sample: Sample) -> set[str]:
    """A letter's distinctive-word candidates: the stems of its content words (as :func:`content_words` reads
    them), at least :data:`MIN_TERM` letters long."""
    body = readable_body(sample.text, sample.subject, sample.address)
    out: set[str] = set()
    for word in words(_NOISE.sub(" ", f"{sample.subject}\n{body}")):
        if len(word) < MIN_WORD:
            continue
        key = stem(word)
        if len(key) >= MIN_TERM and key not in _EVERYDAY and fold(word) not in _EVERYDAY:
            out.add(key)
    return out


def _term_grams(term: str) -> frozenset[str]:
    """Character grams of a term, padded at its end only: a compound's head ("stein" in "gedenkstein") keeps
    all its grams inside the compound, a modifier ("geburt" in "geburtstag") does not."""
    padded = f"{term} "
    return frozenset(padded[i : i + GRAM] for i in range(max(1, len(padded) - GRAM + 1)))


def terms_match(a: str, b: str) -> bool:
    """Two stems name the same thing: equal, one the head of the other's compound ("stolperstein" /
    "gedenkstein" / "stein"), or one OCR slip apart in a long word ("balkonkraftwerk" / "balkonkraftwcrk")."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= MIN_TERM and long_.endswith(short):
        return True
    if len(short) >= MIN_MODIFIER and long_.startswith(short):  # "gedenk" in "gedenkfeier", "gedenktag"
        return True
    if len(short) >= OCR_MIN_LENGTH and len(long_) - len(short) <= 1:
        return Levenshtein.distance(a, b, score_cutoff=1) <= 1
    return False


class TownWords:
    """How often a term occurs in the town's decided mail (document frequency): the rarer, the more a shared
    term says about a kind. A young town's few letters are padded with :data:`PRIOR_DOCUMENTS` letters that
    have none of the terms (every term not in the everyday list counts as fairly rare until mail says otherwise).
    Where the postbox of each letter is known, a term's rarity for a postbox counts only the *other* postboxes'
    mail: letters of a kind that went to its postbox (routed there, or corrected there) do not make the kind's
    words common."""

    def __init__(
        self,
        frequencies: dict[str, int] | None = None,
        documents: int = 0,
        by_postbox: dict[str, dict[str, int]] | None = None,
        postbox_documents: dict[str, int] | None = None,
    ) -> None:
        self.df = dict(frequencies or {})
        self.documents = documents
        self.by_postbox = by_postbox  # None: postboxes unknown (the own-letters count is subtracted instead)
        self.postbox_documents = dict(postbox_documents or {})

    @classmethod
    def of(cls, letters: Iterable[set[str]]) -> TownWords:
        df: dict[str, int] = {}
        n = 0
        for terms in letters:
            n += 1
            for term in terms:
                df[term] = df.get(term, 0) + 1
        return cls(df, n)

    @classmethod
    def of_decided(cls, letters: Iterable[tuple[set[str], str | None]]) -> TownWords:
        """From decided letters: their terms and the postbox each went to (None: not in a postbox yet)."""
        df: dict[str, int] = {}
        by_box: dict[str, dict[str, int]] = {}
        box_docs: dict[str, int] = {}
        n = 0
        for terms, postbox in letters:
            n += 1
            if postbox:
                box_docs[postbox] = box_docs.get(postbox, 0) + 1
                counts = by_box.setdefault(postbox, {})
            for term in terms:
                df[term] = df.get(term, 0) + 1
                if postbox:
                    counts[term] = counts.get(term, 0) + 1
        return cls(df, n, by_box, box_docs)

    @classmethod
    def load(cls, session: Session) -> TownWords:
        """The newest :data:`TOWN_DOCUMENTS` *decided* documents' terms (cached per document and version) and
        postboxes. A letter still in the pipeline (the one being decided) is not the town's mail yet: counted, it
        would make its own words look common."""
        rows = session.execute(
            select(DocumentContentRow.document_id, DocumentContentRow.updated_at, DocumentRow.result_json)
            .join(DocumentRow, DocumentRow.id == DocumentContentRow.document_id)
            .where(DocumentRow.state.in_(_DECIDED))
            .order_by(DocumentContentRow.updated_at.desc())
            .limit(TOWN_DOCUMENTS)
        ).all()
        missing = [doc_id for doc_id, updated, _ in rows if (doc_id, str(updated)) not in _TERMS_CACHE]
        if missing:
            for doc_id, content, updated in session.execute(
                select(DocumentContentRow.document_id, DocumentContentRow.content_json,
                       DocumentContentRow.updated_at).where(DocumentContentRow.document_id.in_(missing))
            ):
                _remember_terms((doc_id, str(updated)), content)
        return cls.of_decided(
            (_TERMS_CACHE.get((doc_id, str(updated)), set()), _routed_postbox(result))
            for doc_id, updated, result in rows
        )

    def rarity(self, term: str, own_letters: int = 0, own_documents: int = 0, postbox: str | None = None) -> float:
        """1 (in none of the other mail) .. 0 (in :data:`COMMON_SHARE` of it or more), linear in the share of the
        town's mail that has the term, not counting the mail of ``postbox`` when the postboxes are known, else not
        counting ``own_letters`` of ``own_documents`` (the corrected letters that taught it: a kind's words are not
        common because the kind was corrected)."""
        if self.by_postbox is not None and postbox is not None:
            others = self.df.get(term, 0) - self.by_postbox.get(postbox, {}).get(term, 0)
            documents = self.documents - self.postbox_documents.get(postbox, 0) + PRIOR_DOCUMENTS
        else:
            others = max(0, self.df.get(term, 0) - own_letters)
            documents = max(0, self.documents - own_documents) + PRIOR_DOCUMENTS
        return max(0.0, 1.0 - others / documents / COMMON_SHARE)


_DECIDED = (DocumentState.ROUTED.value, DocumentState.REVIEW.value)


def _routed_postbox(result_json: str | None) -> str | None:
    """The postbox a decided document is in (routed, or routed by a reviewer), from its stored result."""
    try:
        routing = (json.loads(result_json) if result_json else {}).get("routing") or {}
    except ValueError:
        return None
    postbox = routing.get("postbox") if routing.get("status") == "routed" else None
    return postbox if isinstance(postbox, str) else None


_TERMS_CACHE: dict[tuple[str, str], set[str]] = {}


def _remember_terms(key: tuple[str, str], content_json: str) -> set[str]:
    if len(_TERMS_CACHE) >= 4 * TOWN_DOCUMENTS:
        _TERMS_CACHE.clear()
    try:
        terms = letter_terms(sample_from_document(Document.model_validate_json(content_json)))
    except ValueError:
        terms = set()
    _TERMS_CACHE[key] = terms
    return terms


@dataclass(frozen=True)
class LearnedTerm:
    """A word that recurs in corrected letters of one postbox: how many of them have it, how many of other
    postboxes, and how rare it is in the town's mail."""

    term: str
    postbox: str
    support: int
    contrary: int
    rarity: float

    @property
    def weight(self) -> float:
        confirmed = min(1.0, (self.support - 1) / (CONFIRMING_LETTERS - 1))
        return self.rarity * confirmed * max(0.0, self.support - self.contrary) / self.support


@dataclass(frozen=True)
class Recollection:
    """What the memory says for one postbox: votes of similar corrected letters (and of the words the corrected
    letters of this postbox share), the best similarity and the shared words found."""

    postbox: str
    votes: float
    letters: int
    best_similarity: float
    words: tuple[str, ...] = ()

    def reason(self) -> str:
        shared = ", ".join(self.words[:4])
        if not self.letters:
            return f"learned: letters corrected to {self.postbox} share its words {shared}"
        also = f"; their words {shared}" if shared else ""
        return (
            f"learned: {self.letters} corrected letter(s) like this one went to {self.postbox} "
            f"(similarity up to {self.best_similarity:.2f}{also})"
        )


@dataclass(frozen=True)
class _Remembered:
    words: dict[str, float]
    postbox: str
    terms: frozenset[str] = frozenset()
    overruled: frozenset[tuple[str, str]] = frozenset()  # catalogue (department, word) it had that lost


class CorrectionMemory:
    """Corrected letters by their content words (see the module doc)."""

    def __init__(
        self, remembered: Iterable[_Remembered] = (), version: int = 0, town: TownWords | None = None
    ) -> None:
        self.remembered = list(remembered)[-MAX_REMEMBERED:]
        self.version = version  # the newest label id it was built from
        self.town = town or TownWords()
        self.vocabulary = self._vocabulary()

    @classmethod
    def from_examples(
        cls,
        examples: Iterable[tuple[Sample, str]],
        town: TownWords | None = None,
        overruled: Iterable[frozenset[tuple[str, str]]] | None = None,
    ) -> CorrectionMemory:
        pairs = list(examples)
        lost = list(overruled) if overruled is not None else [frozenset()] * len(pairs)
        return cls(
            (_Remembered(content_words(sample), postbox, frozenset(letter_terms(sample)), gone)
             for (sample, postbox), gone in zip(pairs, lost, strict=True)),
            town=town if town is not None else TownWords.of(letter_terms(sample) for sample, _ in pairs),
        )

    @classmethod
    def load(cls, session: Session, overruled_by: OverruledBy | None = None) -> CorrectionMemory:
        """Every corrected document's latest re-route (newest MAX_REMEMBERED), with its stored words;
        ``overruled_by(sample, postbox)`` names the catalogue words the correction overruled."""
        version = label_version(session)
        examples = [
            (sample_from_document(Document.model_validate_json(label.content_json)), label.postbox)
            for label in training_labels(session)[-MAX_REMEMBERED:]
            if label.postbox
        ]
        lost = [overruled_by(sample, box) if overruled_by else frozenset() for sample, box in examples]
        memory = cls.from_examples(examples, town=TownWords.load(session), overruled=lost)
        memory.version = version
        return memory

    def __len__(self) -> int:
        return len(self.remembered)

    def _vocabulary(self) -> dict[str, list[LearnedTerm]]:
        """Per postbox, the terms at least two of its corrected letters share (heads of compounds and OCR slips
        count as the same term)."""
        by_box: dict[str, list[frozenset[str]]] = {}
        for entry in self.remembered:
            by_box.setdefault(entry.postbox, []).append(entry.terms)
        index = _TermIndex(term for entry in self.remembered for term in entry.terms)
        out: dict[str, list[LearnedTerm]] = {}
        for box, letters in by_box.items():
            if len(letters) < 2:
                continue
            candidates = {t for terms in letters for t in terms} | shared_parts(letters)
            learned = []
            for term in candidates:
                similar = index.matching(term)
                support = sum(1 for terms in letters if terms & similar)
                if support < 2:
                    continue
                contrary = sum(1 for e in self.remembered if e.postbox != box and e.terms & similar)
                rarity = self.town.rarity(term, support, len(letters), postbox=box)
                learned.append(LearnedTerm(term, box, support, contrary, rarity))
            out[box] = learned
        return out

    def evidence(self, sample: Sample) -> dict[str, Recollection]:
        """Per postbox, the votes of remembered letters similar to ``sample`` and of the learned words it has."""
        if not self.remembered:
            return {}
        mine = content_words(sample)
        votes: dict[str, list[float]] = {}
        for entry in self.remembered:
            sim = similarity(mine, entry.words)
            if sim >= MIN_SIMILARITY:
                votes.setdefault(entry.postbox, []).append(sim)
        shared = self.shared_words(sample)
        out = {}
        for box in votes.keys() | shared.keys():
            sims = votes.get(box, [])
            found = shared.get(box, {})
            word_votes = word_evidence(found.values()) / WORDS_PER_VOTE
            if not sims and not word_votes:
                continue
            out[box] = Recollection(
                box,
                sum(min(1.0, s / FULL_SIMILARITY) for s in sims) + min(MAX_WORD_VOTES, word_votes),
                len(sims),
                max(sims, default=0.0),
                tuple(sorted(found, key=lambda t: -found[t])) if word_votes else (),
            )
        return out

    def shared_words(self, sample: Sample) -> dict[str, dict[str, float]]:
        """Per postbox, the learned terms the letter has and their weights (each of the letter's terms counts
        once, for its best learned term, and each learned term once: "Auftrag", "Auftragnehmer" and
        "Auftraggeber" in one letter are one learned word "auftrag", not three)."""
        terms = sorted(letter_terms(sample))
        out: dict[str, dict[str, float]] = {}
        for box, learned in self.vocabulary.items():
            by_learned: dict[str, tuple[float, str]] = {}
            for term in terms:
                best = max(((t.weight, t.term) for t in learned if terms_match(term, t.term)), default=None)
                if best is not None and best[0] >= MIN_TERM_WEIGHT and best[0] > by_learned.get(best[1], (0.0, ""))[0]:
                    by_learned[best[1]] = (best[0], term)
            if by_learned:
                out[box] = {term: weight for weight, term in by_learned.values()}
        return out

    def overruled_words(self, postbox: str) -> dict[tuple[str, str], int]:
        """The catalogue's (department, word) that corrections to ``postbox`` overruled, and how often."""
        counts: dict[tuple[str, str], int] = {}
        for entry in self.remembered:
            if entry.postbox == postbox:
                for key in entry.overruled:
                    counts[key] = counts.get(key, 0) + 1
        return counts


def word_evidence(weights: Iterable[float]) -> float:
    """The learned words' weight in a letter, the strongest word counting :data:`LONE_WORD` (one word alone is
    no kind: "Auskunft" in three corrected letters nudges, three of the kind's words decide)."""
    ranked = sorted(weights, reverse=True)
    return LONE_WORD * ranked[0] + sum(ranked[1:]) if ranked else 0.0


def shared_parts(letters: list[frozenset[str]]) -> set[str]:
    """The compound parts that terms of *different* letters share: a common first part or a common head of at least
    :data:`MIN_PART` letters ("bienen" of "Bienenvolk" and "Bienenschwarm", "antenn" of "Dachantenne" and
    "Mobilfunkantenne"), and the parts of hyphenated compounds ("AED-Gerät"). Senders name one thing in
    different compounds; the part they share is the kind's word."""
    by_start: dict[str, set[tuple[int, str]]] = {}
    by_end: dict[str, set[tuple[int, str]]] = {}
    out: set[str] = set()
    for i, terms in enumerate(letters):
        for term in terms:
            for piece in term.split("-"):
                if len(piece) >= MIN_PART and piece != term:
                    out.add(piece)
            if len(term) >= MIN_PART:
                by_start.setdefault(term[:MIN_PART], set()).add((i, term))
                by_end.setdefault(term[-MIN_PART:], set()).add((i, term))
    for groups, common in ((by_start, _common_prefix), (by_end, _common_suffix)):
        for group in groups.values():
            if len({i for i, _ in group}) < 2:
                continue
            for i, a in group:
                for j, b in group:
                    if i < j and a != b:
                        out.add(common(a, b))
    return {p for p in out if p not in _EVERYDAY}


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _common_suffix(a: str, b: str) -> str:
    return _common_prefix(a[::-1], b[::-1])[::-1]


class _TermIndex:
    """The terms of all corrected letters, to find a term's matches (:func:`terms_match`) quickly."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.by_gram: dict[str, set[str]] = {}
        for term in set(terms):
            for gram in _term_grams(term):
                self.by_gram.setdefault(gram, set()).add(term)

    def matching(self, term: str) -> frozenset[str]:
        candidates: set[str] = set()
        for gram in _term_grams(term):
            candidates |= self.by_gram.get(gram, set())
        return frozenset(c for c in candidates if terms_match(term, c)) | {term}


def label_version(session: Session) -> int:
    """The newest re-route label's id: the memory is rebuilt when it changes."""
    return int(
        session.scalar(select(func.max(LabelRow.id)).where(LabelRow.kind == LabelKind.REROUTE.value)) or 0
    )


def memory_factors(recollections: dict[str, Recollection], strength: float) -> dict[str, tuple[float, str]]:
    """Factor per postbox: ``exp(strength * (its votes - CONTRARY_WEIGHT * the votes for every other postbox))``,
    only for postboxes with a positive margin, and none when reviewers disagreed on letters like this one: another
    postbox has at least :data:`CONTESTED_SHARE` of its similar corrected letters (then the memory cannot make a
    postbox sure; the letter goes to review as before)."""
    total = sum(r.votes for r in recollections.values())
    out = {}
    for box, recollection in recollections.items():
        rival = max((r.letters for r in recollections.values() if r.postbox != box), default=0)
        if rival and rival >= CONTESTED_SHARE * recollection.letters:
            continue
        margin = recollection.votes - CONTRARY_WEIGHT * (total - recollection.votes)
        if margin > 0:
            out[box] = (math.exp(strength * margin), recollection.reason())
    return out
