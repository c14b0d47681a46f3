"""Versioned document-type models in a registry folder: save, load, promote if not worse, roll back.

Layout of the folder::

    doctype-0001.pkl  doctype-0001.json   # the fitted model and its metadata
    doctype-0002.pkl  doctype-0002.json
    current.json                          # {"current": 2, "history": [1, 2]}

Models are written as plain, uncompressed pickles (protocol 5), which the C unpickler reads in about a tenth of
a second; joblib's compressed files (``.joblib``, still read) went through its pure-Python unpickler and cost
a worker or ``mailroom process`` seconds of CPU at every start (issue 16).

The metadata (version, metrics on held-back data, training-data hash, row count, training time, feature,
scikit-learn, numpy and scipy versions) is read *before* the model file is unpickled; a model written by an
incompatible library version (other major.minor of scikit-learn, other major of numpy) or another feature
version is refused with :class:`ModelIncompatible` instead of failing later in odd ways.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import numpy

from classifiers.doctype import FEATURES_VERSION, Metrics, TypeModel, TypePredictor, evaluate
from classifiers.linear import LinearTypeModel, compile_model
from classifiers.samples import LabelledSample
from mailroom.errors import ModelIncompatible, ModelNotFound

KIND = "doctype"
log = logging.getLogger(__name__)


@cache
def library_versions() -> dict[str, str]:
    """The installed versions, read from the packages' metadata (importing scikit-learn costs ~2 s of CPU)."""
    return {"sklearn": installed_version("scikit-learn"), "numpy": numpy.__version__,
            "scipy": installed_version("scipy")}


def _major_minor(version: str, parts: int) -> tuple[str, ...]:
    return tuple(version.split(".")[:parts])


def check_compatible(meta: dict[str, Any]) -> None:
    """Raise :class:`ModelIncompatible` unless a model with this metadata can be loaded here."""
    problems = []
    if meta.get("features_version") != FEATURES_VERSION:
        problems.append(f"feature version {meta.get('features_version')} (this mailroom: {FEATURES_VERSION})")
    saved = meta.get("libraries", {})
    here = library_versions()
    for name, parts in (("sklearn", 2), ("numpy", 1), ("scipy", 1)):
        if _major_minor(str(saved.get(name, "?")), parts) != _major_minor(here[name], parts):
            problems.append(f"{name} {saved.get(name, '?')} (installed: {here[name]})")
    if problems:
        raise ModelIncompatible(
            f"model {meta.get('kind', KIND)}@{meta.get('version')} was built with "
            + ", ".join(problems)
            + "; retrain it with `mailroom train`",
            problems=problems,
        )


@dataclass(frozen=True)
class Promotion:
    """The outcome of :meth:`ModelRegistry.promote_if_not_worse`."""

    promoted: bool
    version: int | None  # the current version afterwards
    candidate: Metrics
    current: Metrics | None
    reason: str


def _write_atomic(path: Path, data: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(data)
    os.replace(tmp, path)


class ModelRegistry:
    """The folder of model versions with a pointer to the current one and its history."""

    def __init__(self, folder: Path, kind: str = KIND) -> None:
        self.folder = folder
        self.kind = kind  # file prefix and metadata kind: "doctype", or another model of the same class

    def _paths(self, version: int) -> tuple[Path, Path]:
        stem = self.folder / f"{self.kind}-{version:04d}"
        return stem.with_suffix(".pkl"), stem.with_suffix(".json")

    def _linear_folder(self, version: int) -> Path:
        return self._paths(version)[0].with_suffix(".linear")

    def _model_file(self, version: int) -> Path:
        """The stored model file of ``version``: the pickle, or a ``.joblib`` file an older mailroom wrote."""
        path = self._paths(version)[0]
        legacy = path.with_suffix(".joblib")
        return legacy if not path.exists() and legacy.exists() else path

    def _state(self) -> dict[str, Any]:
        path = self.folder / "current.json"
        if not path.exists():
            return {"current": None, "history": []}
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return state

    def versions(self) -> list[int]:
        return sorted(int(p.stem.split("-")[1]) for p in self.folder.glob(f"{self.kind}-*.json"))

    def current_version(self) -> int | None:
        current = self._state()["current"]
        return None if current is None else int(current)

    def metadata(self, version: int) -> dict[str, Any]:
        meta_path = self._paths(version)[1]
        if not meta_path.exists():
            raise ModelNotFound(f"no {self.kind} model version {version} in {self.folder}")
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        return meta

    def save(self, model: TypeModel) -> int:
        """Store a model as the next version (not yet current); returns the version."""
        self.folder.mkdir(parents=True, exist_ok=True)
        version = max(self.versions(), default=0) + 1
        model.version = version
        model_path, meta_path = self._paths(version)
        fd, tmp = tempfile.mkstemp(dir=model_path.parent, prefix=f".{model_path.name}.")
        with os.fdopen(fd, "wb") as out:
            pickle.dump(model, out, protocol=5)
        os.replace(tmp, model_path)
        self._compile(model, version)
        meta = {
            "kind": self.kind,
            "version": version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "features_version": FEATURES_VERSION,
            "labels": list(model.labels),
            "metrics": model.metrics.to_dict() if model.metrics else None,
            "training_data_hash": model.training_data_hash,
            "training_rows": model.training_rows,
            "training_seconds": model.training_seconds,
            "libraries": library_versions(),
        }
        _write_atomic(meta_path, json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
        return version

    def load(self, version: int | None = None) -> TypeModel:
        """The given version (default: the current one), after checking its metadata."""
        version = self.current_version() if version is None else version
        if version is None:
            raise ModelNotFound(f"no current {self.kind} model in {self.folder}; train one with `mailroom train`")
        check_compatible(self.metadata(version))
        path = self._model_file(version)
        if path.suffix == ".joblib":
            import joblib

            model: TypeModel = joblib.load(path)
        else:
            with path.open("rb") as stream:
                model = pickle.load(stream)  # noqa: S301 - our own model files, as joblib's (also pickle)
        model.version = version
        return model

    def load_predictor(self, version: int | None = None) -> TypePredictor:
        """The given version (default: the current one) for prediction: its linear form without scikit-learn,
        memory-mapped (:mod:`classifiers.linear`); made from the model file the first time it is needed."""
        version = self.current_version() if version is None else version
        if version is None:
            raise ModelNotFound(f"no current {self.kind} model in {self.folder}; train one with `mailroom train`")
        check_compatible(self.metadata(version))
        linear = LinearTypeModel.load(self._linear_folder(version))
        if linear is None:
            model = self.load(version)
            compiled = self._compile(model, version)
            if compiled is None:
                return model
            linear = compiled
        linear.version = version
        return linear

    def _compile(self, model: TypeModel, version: int) -> LinearTypeModel | None:
        """The linear form of ``model``, stored next to it (when the folder is writable)."""
        try:
            linear = compile_model(model)
        except (ValueError, AttributeError) as exc:  # a model the linear form does not reproduce: used as it is
            log.warning("%s@%s predicts through scikit-learn: %s", self.kind, version, exc)
            return None
        folder = self._linear_folder(version)
        shutil.rmtree(folder, ignore_errors=True)  # one of an older format
        try:
            linear.save(folder)
        except OSError as exc:
            log.warning("cannot store the linear form of %s@%s in %s: %s", self.kind, version, folder, exc)
        return linear

    def adopt(self, other: ModelRegistry) -> int:
        """Store ``other``'s current model as this registry's next version and make it current (the prebuilt
        default models: :func:`routing.training.ensure_default_models`). Into an empty registry the files are
        copied as they are; otherwise the model is loaded and saved under its new version number."""
        source = other.current_version()
        if source is None:
            raise ModelNotFound(f"no current {other.kind} model in {other.folder}")
        if not self.versions() and source == 1:
            self.folder.mkdir(parents=True, exist_ok=True)
            src_model = other._model_file(source)
            pairs = ((src_model, self.folder / src_model.name), (other._paths(source)[1], self._paths(source)[1]))
            for src, dst in pairs:
                tmp = dst.with_name(dst.name + ".tmp")
                shutil.copyfile(src, tmp)
                os.replace(tmp, dst)
            linear = other._linear_folder(source)
            if linear.is_dir() and not self._linear_folder(source).exists():
                tmp = self.folder / f".{linear.name}.tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(linear, tmp)
                os.rename(tmp, self._linear_folder(source))
            version = source
        else:
            version = self.save(other.load(source))
        self.activate(version)
        return version

    def activate(self, version: int) -> None:
        """Make ``version`` current (it is appended to the history)."""
        self.metadata(version)
        state = self._state()
        _write_atomic(
            self.folder / "current.json",
            json.dumps({"current": version, "history": [*state["history"], version]}) + "\n",
        )

    def promote_if_not_worse(
        self, candidate: TypeModel, heldout: list[LabelledSample], *, tolerance: float = 0.0
    ) -> Promotion:
        """Save and activate ``candidate`` if its macro-F1 on ``heldout`` is at least the current model's.

        Both are measured on the same rows. A refused candidate is not stored.
        """
        candidate_metrics = evaluate(candidate, heldout)
        current_version = self.current_version()
        current_metrics = None
        if current_version is not None:
            current_metrics = evaluate(self.load(current_version), heldout)
            if candidate_metrics.macro_f1 + tolerance < current_metrics.macro_f1:
                return Promotion(
                    False,
                    current_version,
                    candidate_metrics,
                    current_metrics,
                    f"macro-F1 {candidate_metrics.macro_f1:.4f} < current {current_metrics.macro_f1:.4f}",
                )
        candidate.metrics = candidate.metrics or candidate_metrics
        version = self.save(candidate)
        self.activate(version)
        reason = (
            "first model"
            if current_metrics is None
            else f"macro-F1 {candidate_metrics.macro_f1:.4f} >= current {current_metrics.macro_f1:.4f}"
        )
        return Promotion(True, version, candidate_metrics, current_metrics, reason)

    def rollback(self) -> int:
        """Make the previously current version current again; returns it."""
        state = self._state()
        history = list(state["history"])
        if len(history) < 2:
            raise ModelNotFound(f"no earlier {self.kind} model to roll back to in {self.folder}")
        history.pop()
        _write_atomic(
            self.folder / "current.json", json.dumps({"current": history[-1], "history": history}) + "\n"
        )
        return int(history[-1])
