"""German words as the responsibilities catalogue compares them: folded, stemmed, compounds split.

    stem("Schlaglöcher")                         -> "schlagloch"
    vocabulary = Vocabulary(["Hund", "Steuer", "Abmeldung"])
    vocabulary.parts("Hundesteuerabmeldung")     -> ("hund", "steuer", "abmeld")

* :func:`fold` lowercases, folds umlauts and ß (``Straße`` → ``strasse``; OCR often loses the dots anyway) and
  common OCR confusions inside words (``rn`` read for ``m`` is left alone: too ambiguous).
* :func:`stem` takes inflection endings off (``-en``, ``-er``, ``-es``, ``-e``, ``-n``, ``-s``) and the noun
  ending ``-ung(en)`` (so that ``Anmeldung`` and ``anmelden`` meet in ``anmeld``), never shorter than
  :data:`MIN_STEM` letters: ``Straßen``, ``Straße`` → ``strass``.
* :class:`Vocabulary` splits a compound into the stems it knows, allowing the linking elements of German
  compounds (``Hund-e-steuer``, ``Straße-n-beleuchtung``, ``Geburt-s-urkunde``) and unknown pieces of at least
  :data:`MIN_GAP` letters between them (``Sondernutzungs|erlaubnis`` with only ``erlaubnis`` known still
  yields ``erlaubnis``), but never a known stem inside a word that is otherwise unknown by less than that
  (``Samt`` does not contain ``amt``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

MIN_STEM = 4  # stemming never leaves fewer letters ("wohne" -> "wohn", not "woh")
MIN_PART = 4  # shortest known stem found inside a compound, unless it is one of SHORT_PARTS
# three-letter words that German compounds are often made of ("Bau-antrag", "Geh-weg", "Ehe-name")
SHORT_PARTS = frozenset({"bau", "geh", "rad", "ehe", "weg", "hof", "amt", "tod", "see", "zoo", "eid", "kfz", "not"})
MIN_GAP = 3  # shortest unknown piece of a compound between known parts
_LINKS = ("", "s", "es", "n", "en", "e", "er", "ns", "ens")
_ENDINGS = ("innen", "ungen", "ung", "ern", "en", "er", "es", "em", "e", "n", "s")
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "ı": "i", "ſ": "s", "æ": "ae", "œ": "oe"})
_SUFFIXES = frozenset(
    {"lich", "liche", "lichen", "licher", "isch", "ische", "ischen", "heit", "keit", "bar", "bare", "baren", "los",
     "lose", "losen", "haft", "hafte", "haften", "chen", "lein", "ige", "igen", "iger", "ling", "sam", "same"}
)
_State = tuple[int, int, tuple[str, ...]]  # covered letters, -parts, parts
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)


def fold(text: str) -> str:
    """Lowercase, umlauts and ß folded, accents removed."""
    text = unicodedata.normalize("NFC", text).casefold().translate(_FOLD)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A folded word without its inflection ending (light stemming, see the module doc)."""
    folded = fold(word)
    for ending in _ENDINGS:
        if folded.endswith(ending) and len(folded) - len(ending) >= MIN_STEM:
            base = folded[: -len(ending)]
            if ending == "innen":
                return base + "in"
            return base
    return folded


def words(text: str) -> list[str]:
    """The words of a text (letters only; hyphenated compounds stay one word)."""
    return _WORD.findall(text)


class Vocabulary:
    """Known stems, and the splitting of compounds into them (see the module doc)."""

    def __init__(self, known: Iterable[str], *, stemmed: bool = False) -> None:
        """``known``: words (stemmed here), or stems already (``stemmed=True``)."""
        self.stems: frozenset[str] = frozenset(
            s for s in (k if stemmed else stem(k) for k in known) if len(s) >= MIN_PART or s in SHORT_PARTS
        )
        self._longest = max((len(s) for s in self.stems), default=0)
        self._cache: dict[str, tuple[str, ...]] = {}

    def parts(self, word: str) -> tuple[str, ...]:
        """The known stems a word is made of, in order; the word's own stem when it is known as a whole."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        found = self._split(word)
        if len(self._cache) < 200_000:
            self._cache[word] = found
        return found

    def _split(self, word: str) -> tuple[str, ...]:
        pieces = [p for p in fold(word).split("-") if p]
        out: list[str] = []
        for piece in pieces:
            whole = stem(piece)
            if whole in self.stems:
                out.append(whole)
                continue
            out += self._segment(piece)
        return tuple(out)

    def covering(self, text: str, *, exclude: str = "") -> tuple[str, ...] | None:
        """The known stems (other than ``exclude``) that make up all of ``text`` with linking elements only,
        fewest first; None when ``text`` is not such a compound."""
        n = len(text)
        best: list[tuple[str, ...] | None] = [None] * (n + 1)
        best[0] = ()
        for i in range(n):
            parts = best[i]
            if parts is None:
                continue
            for j in range(i + 3, n + 1):
                candidate = text[i:j]
                if candidate == exclude or candidate not in self.stems:
                    continue
                for link in _LINKS:
                    end = j + len(link)
                    if end <= n and text[j:end] == link:
                        option = (*parts, candidate)
                        current = best[end]
                        if current is None or len(option) < len(current):
                            best[end] = option
        return best[n]

    def _segment(self, text: str) -> list[str]:
        """Best segmentation of ``text`` into known stems (+ linking elements) and unknown gaps of >= MIN_GAP
        letters: most letters covered by known stems, then fewest parts."""
        n = len(text)
        if n < 3:
            return []
        # best[i]: (covered letters, -parts, parts) of the best segmentation of text[:i]
        best: list[_State | None] = [None] * (n + 1)
        best[0] = (0, 0, ())
        for i in range(n):
            state = best[i]
            if state is None:
                continue
            covered, neg_parts, parts = state
            # a known stem starting at i, followed by a linking element or an inflection ending
            for j in range(i + 3, min(n, i + self._longest + 3) + 1):
                candidate = text[i:j]
                matched = None
                if candidate in self.stems:
                    matched = candidate
                else:
                    base = stem(candidate)
                    if base in self.stems and len(candidate) - len(base) <= 3:
                        matched = base
                if matched is None:
                    continue
                for link in _LINKS:
                    end = j + len(link)
                    if end > n or text[j:end] != link:
                        continue
                    self._offer(best, end, (covered + (j - i), neg_parts - 1, (*parts, matched)))
            # an unknown gap of at least MIN_GAP letters; a word does not end in a derivational suffix after a
            # known part ("zuzüglich" is no "Zuzug", "städtisch" no "Stadt")
            for end in range(i + MIN_GAP, n + 1):
                if end == n and text[i:] in _SUFFIXES:
                    continue
                self._offer(best, end, (covered, neg_parts - 1, parts))
        final = best[n]
        return list(final[2]) if final else []

    @staticmethod
    def _offer(best: list[_State | None], at: int, state: _State) -> None:
        current = best[at]
        if current is None or state[:2] > current[:2]:
            best[at] = state
