"""The label search in C (rapidfuzz) finds exactly what the loop over every label found (issue 16: an invoice's
label search cost ~0.3 s of Python CPU per document)."""

from __future__ import annotations

import random

import pytest

from extraction.labels import LABELS, PAYMENT_TERM_ANCHORS, PREPAID_LABELS
from extraction.layout import MAX_LABEL_WORDS, Label, _best_label_at, _Near, similarity


def _loop(keys: list[str], start: int, labels: list[Label], min_similarity: float) -> tuple[Label, int, float] | None:
    """The search as it was: every label within two letters of the joined words' length, longest first."""
    by_length: dict[int, list[tuple[Label, str]]] = {}
    for label in sorted(labels, key=lambda label: -len(label.key)):
        by_length.setdefault(len(label.key), []).append((label, label.key))
    if not keys[start]:
        return None
    best: tuple[Label, int, float] | None = None
    joined = ""
    for end in range(start + 1, min(len(keys), start + MAX_LABEL_WORDS) + 1):
        if not keys[end - 1]:
            break
        joined += keys[end - 1]
        for length in range(len(joined) + 2, len(joined) - 3, -1):
            for label, key in by_length.get(length, ()):
                score = similarity(joined, key)
                if score >= min_similarity and (best is None or (score, end) > (best[2], best[1])):
                    best = (label, end, score)
    return best


def _misread(key: str, rng: random.Random) -> str:
    letters = list(key)
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        i = rng.randrange(len(letters) + 1)
        kind = rng.random()
        if kind < 0.4 and i < len(letters):
            letters[i] = rng.choice("abcdefghijklmnopqrstuvwxyzäöü")
        elif kind < 0.7 and i < len(letters):
            del letters[i]
        else:
            letters.insert(i, rng.choice("abcdefghijklmnopqrstuvwxyz"))
    return "".join(letters)


def test_the_label_search_finds_what_the_loop_found() -> None:
    rng = random.Random(16)
    for labels, min_similarity in ((LABELS, 0.88), (PAYMENT_TERM_ANCHORS, 0.88), (PREPAID_LABELS, 0.85)):
        by_length: dict[int, list[tuple[Label, str]]] = {}
        for label in sorted(labels, key=lambda label: -len(label.key)):
            by_length.setdefault(len(label.key), []).append((label, label.key))
        near = _Near(by_length)
        found = 0
        for _ in range(300):
            words: list[str] = []
            for _ in range(rng.randint(1, 7)):
                pick = rng.random()
                if pick < 0.5:
                    key = _misread(rng.choice(labels).key, rng)
                    cut = rng.randint(0, len(key))
                    words += [key[:cut], key[cut:]] if 0 < cut < len(key) and rng.random() < 0.4 else [key]
                elif pick < 0.9:
                    words.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 12))))
                else:
                    words.append("")  # a token without letters (a number)
            for start in range(len(words)):
                expected = _loop(words, start, labels, min_similarity)
                assert _best_label_at(words, start, near, min_similarity) == expected, (words, start)
                found += expected is not None
        assert found > 60  # the cases hit labels, not only misses


def test_a_label_is_folded_once_not_at_every_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every page's search runs over the label tables (some 1 000 labels): folding each label's text again at
    every search (twice) was a fifth of a letter's Python CPU (issue 16). The key is made once per label."""
    import extraction.layout as layout

    folded: list[str] = []
    real = layout.fold

    def counted(text: str) -> str:
        folded.append(text)
        return real(text)

    monkeypatch.setattr(layout, "fold", counted)
    label = Label("invoice_number", "Rechnungs-Nr.")
    assert label.key == "rechnungsnr" and label.key == "rechnungsnr"
    assert folded == ["Rechnungs-Nr."]
    tables = [*LABELS, *PAYMENT_TERM_ANCHORS, *PREPAID_LABELS]
    keys = [t.key for t in tables]
    folded.clear()
    assert [t.key for t in tables] == keys and folded == []
