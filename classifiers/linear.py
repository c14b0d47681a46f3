"""A fitted :class:`classifiers.doctype.TypeModel` for prediction without scikit-learn (issue 16: start-up).

Importing scikit-learn costs a worker or ``mailroom process`` about 2 s of CPU at every start (it pulls in
``scipy.stats``), and unpickling its fitted objects needs it. Prediction itself is small: four TF-IDF blocks
(tokens or character n-grams counted against a vocabulary, ``1 + log`` of the counts times the IDF, L2-normalised,
scaled by the block weight), then per calibration fold a linear SVM's decision values, a sigmoid per class
(Platt scaling), normalised to sum to 1, and the mean over the folds. :func:`compile_model` takes those numbers
out of the fitted objects once (when a model is saved, or the first time an older model is used);
:class:`LinearTypeModel` repeats the same arithmetic with NumPy alone.

Stored as a folder next to the model file (``doctype-0001.linear/``): ``weights.npy`` — every fold's coefficients,
one row per feature, float32 — read memory-mapped (no load cost; pages are read as features occur), and
``model.pkl`` with plain Python values and small arrays (vocabularies, IDF, intercepts, sigmoid parameters).
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.doctype import BLOCK_WEIGHTS, TypeFeatures, TypeModel, TypePrediction
from classifiers.samples import Sample

FORMAT = 1  # bump when the stored layout or the arithmetic changes: older folders are compiled again
_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn's analyzers normalise white space
_CUTS: dict[tuple[object, ...], Counter[str]] = {}


@dataclass
class LinearBlock:
    """One TF-IDF block: how its text is cut into features, and their columns."""

    analyzer: str  # "word" | "char_wb"
    token_pattern: str | None
    ngram_range: tuple[int, int]
    lowercase: bool
    vocabulary: dict[str, int]
    idf: np.ndarray  # float32, one per feature of the block
    weight: float
    offset: int  # the block's first column in the stacked features

    def __post_init__(self) -> None:
        self._tokens = re.compile(self.token_pattern).findall if self.token_pattern else None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_tokens"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def features(self, text: str) -> Counter[str]:
        """How often each feature occurs in ``text``; the two models cut the same text the same way, so the
        last few cuts are kept (:data:`_CUTS`) and the second model counts its columns from the first's."""
        key = (self.analyzer, self.token_pattern, self.ngram_range, self.lowercase, text)
        counted = _CUTS.get(key)
        if counted is None:
            if len(_CUTS) >= 8:
                _CUTS.clear()
            counted = _CUTS[key] = Counter(self._cut(text))
        return counted

    def _cut(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        low, high = self.ngram_range
        if self.analyzer == "char_wb":
            grams: list[str] = []
            for word in _WHITE_SPACES.sub(" ", text).split():
                word = f" {word} "
                for n in range(low, high + 1):
                    offset = 0
                    grams.append(word[offset : offset + n])
                    while offset + n < len(word):
                        offset += 1
                        grams.append(word[offset : offset + n])
                    if offset == 0:  # a short word counts once
                        break
            return grams
        assert self._tokens is not None
        tokens: list[str] = self._tokens(text)
        if high == 1:
            return tokens
        out = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high + 1, len(tokens) + 1)):
            out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return out

    def transform(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of the block's non-zero features of ``text``."""
        counts: dict[int, int] = {}
        vocabulary = self.vocabulary
        for feature, count in self.features(text).items():
            column = vocabulary.get(feature)
            if column is not None:
                counts[column] = count
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        values = (np.log(values) + np.float32(1.0)) * self.idf[columns]
        norm = np.sqrt(np.sum(values * values, dtype=np.float32))
        if norm > 0:
            values = values / norm
        return columns + self.offset, values * np.float32(self.weight)


@dataclass
class LinearTypeModel:
    """Prediction of a :class:`TypeModel` with NumPy alone (see the module doc). Same interface for recognition:
    :meth:`predict`, :meth:`predict_many`, ``labels``, ``version``."""

    classes: tuple[str, ...]  # the calibrated classifier's classes, in its order
    blocks: list[LinearBlock]
    intercepts: np.ndarray  # (folds, columns) float64
    sigmoid_a: np.ndarray  # (folds, columns)
    sigmoid_b: np.ndarray  # (folds, columns)
    class_index: np.ndarray  # (folds, columns) int: the class each column's probability is for
    labels: tuple[str, ...]
    weights: np.ndarray | None = None  # (features, folds * columns) float32, memory-mapped when loaded
    version: int | None = None

    def _probabilities(self, sample: Sample) -> np.ndarray:
        assert self.weights is not None
        inputs = TypeFeatures._inputs([sample])
        parts = [block.transform(inputs[name][0]) for name, block in zip(BLOCK_WEIGHTS, self.blocks, strict=True)]
        columns = np.concatenate([c for c, _ in parts])
        values = np.concatenate([v for _, v in parts]).astype(np.float64)
        folds, width = self.intercepts.shape
        scores = values @ np.asarray(self.weights[columns], dtype=np.float64) if len(columns) else np.zeros(
            folds * width
        )
        decision = scores.reshape(folds, width) + self.intercepts
        calibrated = 1.0 / (1.0 + np.exp(self.sigmoid_a * decision + self.sigmoid_b))  # expit(-(a*T + b))
        n = len(self.classes)
        mean = np.zeros(n)
        for fold in range(folds):
            proba = np.zeros(n)
            proba[self.class_index[fold]] = calibrated[fold]
            if n == 2:
                proba[0] = 1.0 - proba[1]
            else:
                total = proba.sum()
                proba = proba / total if total != 0 else np.full(n, 1.0 / n)
            proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
            mean += proba
        result: np.ndarray = mean / folds
        return result

    def predict_many(self, samples: Sequence[Sample]) -> list[TypePrediction]:
        out = []
        for sample in samples:
            row = self._probabilities(sample)
            best = int(np.argmax(row))
            out.append(TypePrediction(
                self.classes[best], float(row[best]), {c: float(p) for c, p in zip(self.classes, row, strict=True)}
            ))
        return out

    def predict(self, sample: Sample) -> TypePrediction:
        return self.predict_many([sample])[0]

    def save(self, folder: Path) -> None:
        """Write the folder atomically (a temporary folder renamed into place)."""
        assert self.weights is not None
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        try:
            np.save(tmp / "weights.npy", np.ascontiguousarray(self.weights, dtype=np.float32))
            state = {k: v for k, v in self.__dict__.items() if k not in ("weights", "version")}
            with (tmp / "model.pkl").open("wb") as out:
                pickle.dump({"format": FORMAT, "state": state}, out, protocol=5)
            try:
                os.rename(tmp, folder)
            except OSError:  # written meanwhile by another process: theirs is the same model
                if not (folder / "model.pkl").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LinearTypeModel | None:
        """The stored model, or None when the folder is missing or of another format."""
        try:
            with (folder / "model.pkl").open("rb") as stream:
                stored = pickle.load(stream)  # noqa: S301 - our own model files
            if stored.get("format") != FORMAT:
                return None
            model = cls(**stored["state"])
            model.weights = np.load(folder / "weights.npy", mmap_mode="r")
        except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError):
            return None
        return model


def compile_model(model: TypeModel) -> LinearTypeModel:
    """Take the numbers out of a fitted model (its scikit-learn objects are only read, never imported here)."""
    blocks: list[LinearBlock] = []
    offset = 0
    for name, vectorizer in model.features.blocks.items():
        if vectorizer.analyzer not in ("word", "char_wb") or vectorizer.preprocessor or vectorizer.tokenizer \
                or vectorizer.stop_words or vectorizer.strip_accents or vectorizer.binary \
                or vectorizer.norm != "l2" or not vectorizer.use_idf or not vectorizer.sublinear_tf:
            raise ValueError(f"feature block {name}: settings the linear model does not reproduce")
        vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        blocks.append(LinearBlock(
            analyzer=vectorizer.analyzer,
            token_pattern=vectorizer.token_pattern if vectorizer.analyzer == "word" else None,
            ngram_range=(int(vectorizer.ngram_range[0]), int(vectorizer.ngram_range[1])),
            lowercase=bool(vectorizer.lowercase),
            vocabulary=vocabulary,
            idf=np.asarray(vectorizer.idf_, dtype=np.float32),
            weight=float(BLOCK_WEIGHTS[name]),
            offset=offset,
        ))
        offset += len(vocabulary)
    classifier = model.classifier
    classes = tuple(str(c) for c in classifier.classes_)
    folds = classifier.calibrated_classifiers_
    coefs, intercepts, sig_a, sig_b, index = [], [], [], [], []
    for fold in folds:
        if fold.method != "sigmoid":
            raise ValueError(f"calibration {fold.method}: the linear model reproduces sigmoid only")
        estimator = fold.estimator
        coefs.append(np.asarray(estimator.coef_, dtype=np.float64))
        intercepts.append(np.asarray(estimator.intercept_, dtype=np.float64))
        sig_a.append([float(c.a_) for c in fold.calibrators])
        sig_b.append([float(c.b_) for c in fold.calibrators])
        positions = {c: i for i, c in enumerate(classes)}
        fold_classes = [str(c) for c in estimator.classes_]
        if len(classes) == 2:
            index.append([1])  # a binary SVM gives the second class's decision value
        else:
            index.append([positions[c] for c in fold_classes])
    weights = np.concatenate(coefs, axis=0).T.astype(np.float32)  # (features, folds * columns)
    if weights.shape[0] != offset:
        raise ValueError(f"{weights.shape[0]} coefficients for {offset} features")
    return LinearTypeModel(
        classes=classes, blocks=blocks, intercepts=np.array(intercepts), sigmoid_a=np.array(sig_a),
        sigmoid_b=np.array(sig_b), class_index=np.array(index, dtype=np.int64), labels=model.labels,
        weights=np.ascontiguousarray(weights), version=model.version,
    )
