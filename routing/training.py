"""Training the two recognition models from generated mail and people's corrections; the default model.

* :func:`ensure_default_models`: on first use (no model in ``<data_dir>/models``) copy the default models in,
  which :func:`prepare_default_models` built once per code version into ``MAILROOM_MODELS_CACHE_DIR`` from
  :data:`DEFAULT_COUNT` generated born-digital letters (seed :data:`DEFAULT_SEED`): ``scripts/bootstrap.sh``
  and the image build run it (``mailroom models prepare``, one to three minutes), so that no first letter waits
  for a training; without that cache the first use trains them.
* :func:`retrain` (``mailroom train``): train candidates on generated letters plus every corrected document
  (its latest ``type`` / ``reroute`` labels and its stored text, each weighted :data:`CORRECTION_WEIGHT`
  times), measure them and the current models on held-back data (letters generated with another seed plus
  every fifth corrected document, which is not trained on) and promote each only if its macro-F1 is at least
  the current one's, within :data:`PROMOTION_TOLERANCE` (the noise of the measurement).

The document-type model lives in the registry ``<data_dir>/models`` (files ``doctype-NNNN``), the postbox
model in ``<data_dir>/models/postbox`` (files ``postbox-NNNN``); both are :class:`TypeModel`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from classifiers.doctype import TypeModel, train
from classifiers.registry import ModelRegistry, Promotion
from classifiers.samples import LabelledSample, Sample, sample_from_document
from mailroom.model import Document
from mailroom.settings import Settings
from mailroom.storage.labels import TrainingLabel, training_labels
from routing.recognition import RoutingModels

log = logging.getLogger(__name__)

DEFAULT_COUNT = 1500
DEFAULT_SEED = 5001
HELDOUT_SEED_OFFSET = 1000  # held-back generated letters use seed + this
CORRECTION_WEIGHT = 5  # a corrected document counts like this many generated letters
HELDOUT_EVERY = 5  # every fifth corrected document (in order of correction) is held back for evaluation
PROMOTION_TOLERANCE = 0.02  # macro-F1 on ~100 held-back letters of 20 classes moves this much by chance


@dataclass(frozen=True)
class RoutingRow:
    """One letter for training: what the models read, its type and its postbox (either may be unknown)."""

    sample: Sample
    document_type: str | None
    postbox: str | None
    origin: str = "generated"


def rows_from_truth(truth_files: Iterable[Path]) -> list[RoutingRow]:
    """One row per letter with text of generated mail (``*.truth.json``; XML e-invoices have none)."""
    out: list[RoutingRow] = []
    for path in truth_files:
        truth = json.loads(path.read_text(encoding="utf-8"))
        texts = {p["number"]: p["text"] for p in truth.get("pages", [])}
        for letter in truth.get("letters", []):
            text = "\n".join(texts[n] for n in letter["pages"] if texts.get(n))
            if text.strip():
                sample = Sample(text, letter.get("subject") or "", "\n".join(letter["recipient"]["address_lines"]))
                out.append(RoutingRow(sample, letter["document_type"], letter["postbox"]))
    return out


def generated_rows(count: int, seed: int) -> list[RoutingRow]:
    """Rows of ``count`` freshly generated born-digital documents.

    The generator is ``sample_docs``' declared interface for training
    (:func:`sample_docs.generate.generate_set`), imported here at run time only: nothing else of the service
    imports ``sample_docs`` (the import contract in ``pyproject.toml`` checks it).
    """
    from sample_docs.generate import generate_set

    with tempfile.TemporaryDirectory(prefix="mailroom-train-") as tmp:
        generate_set(Path(tmp), count, seed, "digital")
        return rows_from_truth(sorted(Path(tmp).glob("*.truth.json")))


def rows_from_labels(labels: Iterable[TrainingLabel]) -> list[RoutingRow]:
    """Rows of corrected documents: their stored text with the type / postbox a person gave them."""
    return [
        RoutingRow(
            sample_from_document(Document.model_validate_json(label.content_json)),
            label.document_type,
            label.postbox,
            origin=f"correction:{label.document_id}",
        )
        for label in labels
    ]


def _type_rows(rows: Iterable[RoutingRow]) -> list[LabelledSample]:
    return [LabelledSample(r.sample, r.document_type, r.origin) for r in rows if r.document_type]


def _postbox_rows(rows: Iterable[RoutingRow]) -> list[LabelledSample]:
    return [LabelledSample(r.sample, r.postbox, r.origin) for r in rows if r.postbox]


def _weighted(rows: list[RoutingRow]) -> list[RoutingRow]:
    return [copy for r in rows for copy in [r] * (1 if r.origin == "generated" else CORRECTION_WEIGHT)]


@dataclass(frozen=True)
class TrainedModels:
    """The two models as trained (scikit-learn objects), before the registry stores them."""

    document_type: TypeModel
    postbox: TypeModel


def train_models(rows: list[RoutingRow], *, seed: int = 0, holdout: float = 0.0) -> TrainedModels:
    """Fit the type and the postbox model on the same rows (corrections weighted). ``holdout``: share held
    back to measure the models; 0 when they are measured on other data (so that the generated rows trained
    on stay the same from one training to the next and only the corrections make the difference)."""
    weighted = _weighted(rows)
    return TrainedModels(
        document_type=train(_type_rows(weighted), seed=seed, holdout=holdout),
        postbox=train(_postbox_rows(weighted), seed=seed, holdout=holdout),
    )


def registries(settings: Settings) -> tuple[ModelRegistry, ModelRegistry]:
    """The document-type and the postbox model registries of a data directory."""
    folder = settings.resolved_models_dir
    return ModelRegistry(folder, "doctype"), ModelRegistry(folder / "postbox", "postbox")


def known_document_types(settings: Settings) -> set[str] | None:
    """The document types the current type model knows (its labels); None when there is no model yet."""
    registry = registries(settings)[0]
    version = registry.current_version()
    if version is None:
        return None
    labels = registry.metadata(version).get("labels")
    return {str(label) for label in labels} if isinstance(labels, list) else None


def load_models(settings: Settings) -> RoutingModels:
    """The current models for prediction, without scikit-learn (raises ``ModelNotFound`` / ``ModelIncompatible``)."""
    types, postboxes = registries(settings)
    return RoutingModels(document_type=types.load_predictor(), postbox=postboxes.load_predictor())


@contextmanager
def _models_lock(settings: Settings) -> Iterator[None]:
    """One process at a time trains or promotes (others wait, then find the result)."""
    with _folder_lock(settings.resolved_models_dir):
        yield


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def code_version() -> str:
    """A hash of the code that generates the training mail, trains and reads the models: a changed feature set or
    generator never meets a model built by older code."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    files = [*(root / "classifiers").glob("*.py"), *(root / "sample_docs").glob("*.py"),
             root / "routing" / "training.py", root / "routing" / "recognition.py"]
    for path in sorted(files):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def default_models_folder(settings: Settings, *, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> Path:
    """Where the prebuilt default models of this code version live (one folder per code version, count, seed)."""
    return settings.models_cache_dir / f"{code_version()}-{count}-{seed}"


def prepare_default_models(settings: Settings, *, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> Path:
    """Build the default models into the cache unless they are there; returns the cache folder."""
    folder = default_models_folder(settings, count=count, seed=seed)
    types, postboxes = ModelRegistry(folder, "doctype"), ModelRegistry(folder / "postbox", "postbox")
    if types.current_version() is not None and postboxes.current_version() is not None:
        return folder  # built (maybe read-only: the image's)
    with _folder_lock(folder):
        if types.current_version() is None or postboxes.current_version() is None:
            models = train_models(generated_rows(count, seed), seed=seed, holdout=0.1)
            for registry, model in ((types, models.document_type), (postboxes, models.postbox)):
                if registry.current_version() is None:
                    registry.activate(registry.save(model))
    return folder


def ensure_default_models(settings: Settings, *, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> RoutingModels:
    """The current models; a registry without a current model first gets the default one (from the cache that
    :func:`prepare_default_models` fills, building it there first when it is missing)."""
    with _models_lock(settings):
        types, postboxes = registries(settings)
        missing = [r for r in (types, postboxes) if r.current_version() is None]
        if missing:
            try:
                cache = prepare_default_models(settings, count=count, seed=seed)
            except OSError as exc:  # an unwritable cache: train into the data directory alone
                log.warning("default models cache not usable (%s): training into %s", exc, types.folder)
                models = train_models(generated_rows(count, seed), seed=seed, holdout=0.1)
                for registry, model in ((types, models.document_type), (postboxes, models.postbox)):
                    if registry in missing:
                        registry.activate(registry.save(model))
            else:
                if types in missing:
                    types.adopt(ModelRegistry(cache, "doctype"))
                if postboxes in missing:
                    postboxes.adopt(ModelRegistry(cache / "postbox", "postbox"))
        return load_models(settings)


def split_labels(labels: list[TrainingLabel]) -> tuple[list[TrainingLabel], list[TrainingLabel]]:
    """(trained, held back): every fifth corrected document in the order of its first correction is held back.
    Positional, so the share is exact (a hash split held back 0 or 4 of 8 by chance) and a document stays on its
    side as new corrections arrive."""
    held = [label for i, label in enumerate(labels) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1]
    trained = [label for i, label in enumerate(labels) if i % HELDOUT_EVERY != HELDOUT_EVERY - 1]
    return trained, held


@dataclass(frozen=True)
class TrainingReport:
    generated_rows: int
    correction_rows: int
    heldout_rows: int
    document_type: Promotion
    postbox: Promotion


def retrain(
    settings: Settings, session: Session, *, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED,
    actor: str = "system",
) -> TrainingReport:
    """Train candidates on generated letters + corrections; promote each model only if not worse. The run is
    recorded in the audit trail in ``session`` (``models.trained``: rows, each model's verdict and macro-F1s;
    ``model.promoted`` for each model made current), committed with the caller's transaction."""
    trained_labels, held_labels = split_labels(training_labels(session))
    trained = rows_from_labels(trained_labels)
    held = rows_from_labels(held_labels)
    generated = generated_rows(count, seed)
    heldout = generated_rows(max(100, count // 5), seed + HELDOUT_SEED_OFFSET) + held
    candidates = train_models(generated + trained, seed=seed)
    with _models_lock(settings):
        types, postboxes = registries(settings)
        report = TrainingReport(
            generated_rows=len(generated),
            correction_rows=len(trained),
            heldout_rows=len(heldout),
            document_type=types.promote_if_not_worse(
                candidates.document_type, _type_rows(heldout), tolerance=PROMOTION_TOLERANCE
            ),
            postbox=postboxes.promote_if_not_worse(
                candidates.postbox, _postbox_rows(heldout), tolerance=PROMOTION_TOLERANCE
            ),
        )
    audit_training(session, report, actor=actor, count=count, seed=seed)
    return report


def audit_training(session: Session, report: TrainingReport, *, actor: str, count: int, seed: int) -> None:
    """``models.trained`` for the run and ``model.promoted`` for each model it made current."""
    from mailroom import audit

    verdicts: dict[str, object] = {}
    for kind, promotion in (("doctype", report.document_type), ("postbox", report.postbox)):
        verdicts[kind] = {
            "promoted": promotion.promoted, "version": promotion.version, "reason": promotion.reason,
            "candidate_macro_f1": round(promotion.candidate.macro_f1, 4),
            "current_macro_f1": round(promotion.current.macro_f1, 4) if promotion.current else None,
        }
    audit.record(session, actor=actor, action="models.trained", object_type="model", object_id=None,
                 details={"generated_rows": report.generated_rows, "correction_rows": report.correction_rows,
                          "heldout_rows": report.heldout_rows, "count": count, "seed": seed, **verdicts})
    for kind, promotion in (("doctype", report.document_type), ("postbox", report.postbox)):
        if promotion.promoted:
            audit.record(session, actor=actor, action="model.promoted", object_type="model",
                         object_id=f"{kind}:{promotion.version}", details=verdicts[kind])  # type: ignore[arg-type]
