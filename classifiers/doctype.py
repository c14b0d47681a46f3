"""The document-type model: TF-IDF features and a calibrated linear SVM (scikit-learn).

Features, each block TF-IDF weighted and L2-normalised, then scaled by its weight:

- words and word bigrams of the whole text, after :func:`identifier_tokens` turned rare identifiers (IBANs,
  VAT ids, Leitweg-IDs, Aktenzeichen, customer and invoice numbers, amounts, dates) into shape tokens such as
  ``__IBAN__`` *plus* their raw value, so that neither the kind nor the value is thrown away;
- character 3-5-grams within words of the first :data:`CHAR_PREFIX` characters: robust to OCR errors;
- words of the subject line and of the address field, weighted up (:data:`BLOCK_WEIGHTS`).

The classifier is ``CalibratedClassifierCV(LinearSVC, method="sigmoid")``: probabilities over all types sum
to 1 and are calibrated on held-out folds, so that thresholds mean something. :func:`train` takes any labelled
rows (generated mail, clerks' corrections) and holds back a stratified share to measure the model;
:func:`evaluate` measures it on other rows.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from classifiers.samples import LabelledSample, Sample, noisy
from mailroom.result import DocumentType

if TYPE_CHECKING:  # scikit-learn and SciPy are imported where a model is trained or its objects are used:
    # importing them costs a start ~2 s of CPU, and prediction goes without them (classifiers.linear)
    import scipy.sparse as sp
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer

FEATURES_VERSION = 1  # bump when the feature extraction changes: older model files are then refused
CHAR_PREFIX = 2500
BLOCK_WEIGHTS = {"words": 1.0, "chars": 1.0, "subject": 0.8, "address": 0.4}

_IDENTIFIERS = {  # kind -> pattern, tried in this order at each position
    "IBAN": r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b",
    "LEITWEG": r"\b\d{2,12}-[0-9A-Z]{1,30}-\d{2}\b",
    "VATID": r"\b(?:DE|AT|FR|NL|BE|IT|ES|PL|LU|DK)\s?\d{8,11}\b",
    "TAXNO": r"\b\d{2,3}/\d{3,4}/\d{4,5}\b",
    "DATE": r"\b\d{1,2}\.\d{1,2}\.(?:19|20)?\d{2}\b",
    "AMOUNT": r"\b\d{1,3}(?:\.\d{3})*,\d{2}\b",
    "POSTCODE": r"(?<![\d-])\b\d{5}\b(?= [A-ZÄÖÜ])",
    # any other reference with digits and separators: Aktenzeichen, customer and invoice numbers
    "REF": r"\b(?=[\w./-]*\d)(?=[\w./-]*[-/.])[A-Za-z0-9]+(?:[-./][A-Za-z0-9]+)*\b",
}
_IDENTIFIER = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _IDENTIFIERS.items()))
_TOKEN_PATTERN = r"(?u)__\w+__|\b\w[\w\-/.]*\w\b|\b\w\b"  # noqa: S105 (not a password)


def _shape(value: str) -> str:
    """``RE-2026-04711`` → ``AA_9_9``: letters and digit runs collapsed, separators kept as ``_``."""
    shape = re.sub(r"[A-Za-zÄÖÜäöü]+", "A", value)
    shape = re.sub(r"\d+", "9", shape)
    return re.sub(r"[^A9]+", "_", shape)


def _identifier(match: re.Match[str]) -> str:
    value = match.group(0)
    if match.lastgroup != "REF":
        return f" __{match.lastgroup}__ {value.replace(' ', '')} "
    if sum(c.isdigit() for c in value) < 3:
        return value
    return f" __REF_{_shape(value)}__ {value} "


def identifier_tokens(text: str) -> str:
    """Replace identifiers by ``__KIND__ raw`` tokens; other references by their shape plus the raw value."""
    return _IDENTIFIER.sub(_identifier, text)


def _vectorizer(**kwargs: Any) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(sublinear_tf=True, dtype=np.float32, **kwargs)


class TypeFeatures:
    """The feature blocks of :mod:`classifiers.doctype` (see module doc)."""

    def __init__(self) -> None:
        self.blocks: dict[str, TfidfVectorizer] = {
            "words": _vectorizer(
                token_pattern=_TOKEN_PATTERN,
                ngram_range=(1, 2),
                min_df=2,
                max_features=150_000,
                lowercase=True,
            ),
            "chars": _vectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_features=150_000),
            "subject": _vectorizer(token_pattern=_TOKEN_PATTERN, ngram_range=(1, 2), min_df=1),
            "address": _vectorizer(token_pattern=_TOKEN_PATTERN, min_df=1),
        }

    @staticmethod
    def _inputs(samples: Sequence[Sample]) -> dict[str, list[str]]:
        texts = [identifier_tokens(s.text) for s in samples]
        return {
            "words": texts,
            "chars": [s.text[:CHAR_PREFIX] for s in samples],
            "subject": [identifier_tokens(s.subject) for s in samples],
            "address": [s.address for s in samples],
        }

    def fit_transform(self, samples: Sequence[Sample]) -> sp.csr_matrix:
        import scipy.sparse as sp

        inputs = self._inputs(samples)
        return sp.hstack(
            [self.blocks[k].fit_transform(inputs[k]) * BLOCK_WEIGHTS[k] for k in self.blocks], format="csr"
        )

    def transform(self, samples: Sequence[Sample]) -> sp.csr_matrix:
        import scipy.sparse as sp

        inputs = self._inputs(samples)
        return sp.hstack(
            [self.blocks[k].transform(inputs[k]) * BLOCK_WEIGHTS[k] for k in self.blocks], format="csr"
        )


@dataclass(frozen=True)
class Metrics:
    """Quality on held-back rows: accuracy, macro-F1 and F1 per type."""

    n: int
    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class_f1": self.per_class_f1,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Metrics:
        return cls(raw["n"], raw["accuracy"], raw["macro_f1"], dict(raw.get("per_class_f1", {})))


@dataclass(frozen=True)
class TypePrediction:
    label: str
    confidence: float
    probabilities: dict[str, float]

    def top(self, n: int = 3) -> list[tuple[str, float]]:
        return sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:n]

    def to_result(self, version: int | None) -> DocumentType:
        return DocumentType(
            label=self.label, confidence=round(self.confidence, 4), decided_by=f"model:doctype@{version}"
        )


class TypePredictor(Protocol):
    """What recognition needs of a model: a fitted :class:`TypeModel`, or its :class:`classifiers.linear.
    LinearTypeModel` (the same predictions without scikit-learn)."""

    labels: tuple[str, ...]
    version: int | None

    def predict_many(self, samples: Sequence[Sample]) -> list[TypePrediction]: ...

    def predict(self, sample: Sample) -> TypePrediction: ...


@dataclass
class TypeModel:
    """A fitted model with what is known about it (filled in by :func:`train` and the registry)."""

    features: TypeFeatures
    classifier: CalibratedClassifierCV
    labels: tuple[str, ...]
    training_data_hash: str
    training_rows: int
    training_seconds: float
    metrics: Metrics | None = None
    version: int | None = None

    def predict_many(self, samples: Sequence[Sample]) -> list[TypePrediction]:
        probabilities = self.classifier.predict_proba(self.features.transform(samples))
        classes = [str(c) for c in self.classifier.classes_]
        out = []
        for row in probabilities:
            best = int(np.argmax(row))
            out.append(
                TypePrediction(
                    classes[best], float(row[best]), {c: float(p) for c, p in zip(classes, row, strict=True)}
                )
            )
        return out

    def predict(self, sample: Sample) -> TypePrediction:
        return self.predict_many([sample])[0]


def training_data_hash(rows: Sequence[LabelledSample]) -> str:
    """SHA-256 over the sorted (label, text, subject, address) rows: the same data gives the same hash."""
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: (r.label, r.sample.text, r.sample.subject, r.sample.address)):
        for part in (row.label, row.sample.text, row.sample.subject, row.sample.address):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
    return digest.hexdigest()


def evaluate(model: TypePredictor, rows: Sequence[LabelledSample]) -> Metrics:
    """Accuracy and macro-F1 of ``model`` on labelled rows (over the labels that occur in them)."""
    from sklearn.metrics import accuracy_score, f1_score

    truth = [r.label for r in rows]
    predicted = [p.label for p in model.predict_many([r.sample for r in rows])]
    labels = sorted(set(truth))
    per_class = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    return Metrics(
        n=len(rows),
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(np.mean(per_class)),
        per_class_f1={label: round(float(f), 4) for label, f in zip(labels, per_class, strict=True)},
    )


def _fit(rows: Sequence[LabelledSample], seed: int) -> tuple[TypeFeatures, CalibratedClassifierCV]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    features = TypeFeatures()
    x = features.fit_transform([r.sample for r in rows])
    y = [r.label for r in rows]
    smallest = min(np.unique(y, return_counts=True)[1])
    classifier = CalibratedClassifierCV(
        LinearSVC(C=0.5, class_weight="balanced", random_state=seed),
        method="sigmoid",
        cv=max(2, min(3, int(smallest))),
    )
    classifier.fit(x, y)
    return features, classifier


def train(
    rows: Sequence[LabelledSample],
    *,
    holdout: float = 0.1,
    noise_share: float = 0.5,
    seed: int = 0,
) -> TypeModel:
    """Fit a model on labelled rows; ``holdout`` of them (stratified) are held back to measure it.

    ``noise_share`` of the training rows get an extra copy with simulated OCR noise (robustness to scans).
    Rows from corrections are ordinary rows. Every type needs at least two rows.
    """
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    labels = [r.label for r in rows]
    counts = dict(zip(*np.unique(labels, return_counts=True), strict=True))
    rare = sorted(str(label) for label, n in counts.items() if n < 2)
    if rare:
        raise ValueError(f"every document type needs at least two training rows: {', '.join(rare)}")
    held: list[LabelledSample] = []
    fit_rows: list[LabelledSample] = list(rows)
    if holdout > 0:
        try:
            fit_rows, held = train_test_split(
                list(rows), test_size=holdout, random_state=seed, stratify=labels
            )
        except ValueError:  # too few rows of some type to stratify: keep them all for training
            held = []
    rng = random.Random(seed)  # noqa: S311 (noise for training data, not cryptography)
    fit_rows = fit_rows + [noisy(r, rng) for r in fit_rows if rng.random() < noise_share]
    features, classifier = _fit(fit_rows, seed)
    model = TypeModel(
        features=features,
        classifier=classifier,
        labels=tuple(sorted(str(c) for c in classifier.classes_)),
        training_data_hash=training_data_hash(rows),
        training_rows=len(rows),
        training_seconds=0.0,
    )
    model.metrics = evaluate(model, held) if held else None
    model.training_seconds = round(time.perf_counter() - started, 2)
    return model
