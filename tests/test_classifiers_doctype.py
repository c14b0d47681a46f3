"""Document-type model: calibration sanity, noise robustness, versioned files, promotion and rollback."""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from classifiers.doctype import TypeModel, evaluate, identifier_tokens, train
from classifiers.registry import ModelRegistry
from classifiers.samples import LabelledSample, Sample, noisy, samples_from_truth
from mailroom.errors import ModelIncompatible, ModelNotFound
from sample_docs.generate import generate_set


def _rows(count: int, seed: int) -> list[LabelledSample]:
    with tempfile.TemporaryDirectory() as out:
        generate_set(Path(out), count, seed, "digital")
        return samples_from_truth(sorted(Path(out).glob("*.truth.json")))


@pytest.fixture(scope="module")
def data() -> tuple[list[LabelledSample], list[LabelledSample]]:
    return _rows(360, 101), _rows(120, 202)


@pytest.fixture(scope="module")
def model(data: tuple[list[LabelledSample], list[LabelledSample]]) -> TypeModel:
    return train(data[0], seed=1)


@pytest.fixture()
def registry(tmp_path: Path) -> Iterator[ModelRegistry]:
    yield ModelRegistry(tmp_path / "models")


def test_identifiers_kept_as_shape_and_value() -> None:
    out = identifier_tokens("IBAN DE89 3704 0044 0532 0130 00, USt-IdNr. DE123456789, Az. 21-V-2026-01105")
    assert "__IBAN__ DE89370400440532013000" in out
    assert "__VATID__ DE123456789" in out
    assert "__REF_9_A_9_9__ 21-V-2026-01105" in out


def test_model_quality_and_calibration(model: TypeModel, data: tuple[list, list]) -> None:  # type: ignore[type-arg]
    assert model.metrics is not None and model.metrics.n > 0
    metrics = evaluate(model, data[1])
    assert metrics.macro_f1 >= 0.9 and metrics.accuracy >= 0.9
    predictions = model.predict_many([r.sample for r in data[1][:20]])
    for p in predictions:
        assert abs(sum(p.probabilities.values()) - 1.0) < 1e-6
        assert p.confidence == max(p.probabilities.values())
        assert set(p.probabilities) == set(model.labels)
    right = [p.confidence for p, r in zip(predictions, data[1], strict=False) if p.label == r.label]
    assert sum(right) / len(right) > 0.8


@pytest.mark.parametrize(
    "text",
    ["", "Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "xq zzv 8821 ploo wrrt kkk"],
)
def test_wrong_inputs_get_low_confidence(model: TypeModel, text: str) -> None:
    assert model.predict(Sample(text)).confidence < 0.5


def test_robust_to_ocr_noise(model: TypeModel, data: tuple[list, list]) -> None:  # type: ignore[type-arg]
    rng = random.Random(5)
    noisy_rows = [noisy(r, rng, rate=0.06) for r in data[1]]
    assert evaluate(model, noisy_rows).accuracy >= 0.9


def test_corrections_are_training_rows(data: tuple[list, list]) -> None:  # type: ignore[type-arg]
    rows = [
        *data[0],
        *[LabelledSample(Sample("Kündigung des Wartungsvertrags zum Jahresende"), "contract", "correction")]
        * 2,
    ]
    model = train(rows, holdout=0.0, seed=2)
    assert model.training_rows == len(rows) and model.metrics is None


def test_save_load_and_refuse_incompatible(
    model: TypeModel, registry: ModelRegistry, data: tuple[list, list]
) -> None:  # type: ignore[type-arg]
    promotion = registry.promote_if_not_worse(model, data[1])
    assert promotion.promoted and promotion.version == 1
    loaded = registry.load()
    assert loaded.version == 1
    sample = data[1][0].sample
    assert loaded.predict(sample).probabilities == pytest.approx(model.predict(sample).probabilities)
    assert loaded.predict(sample).to_result(loaded.version).decided_by == "model:doctype@1"
    meta = registry.metadata(1)
    assert meta["training_data_hash"] == model.training_data_hash and meta["metrics"]["macro_f1"] > 0.9
    assert {"sklearn", "numpy", "scipy"} <= set(meta["libraries"])
    meta_path = registry.folder / "doctype-0001.json"
    meta["libraries"]["sklearn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelIncompatible, match=r"sklearn 0\.24\.2"):
        registry.load()
    meta["libraries"]["sklearn"] = registry.metadata(1)["libraries"]["sklearn"]
    meta["features_version"] = 0
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelIncompatible, match="feature version"):
        registry.load(1)


def test_promotion_refused_for_worse_model_and_rollback(
    model: TypeModel,
    registry: ModelRegistry,
    data: tuple[list, list],  # type: ignore[type-arg]
) -> None:
    with pytest.raises(ModelNotFound):
        registry.load()
    assert registry.promote_if_not_worse(model, data[1]).promoted
    # A model that only saw a few types is worse: refused, not stored, the current model stays.
    few = [r for r in data[0] if r.label in ("invoice", "complaint", "objection")]
    worse = train(few, seed=3)
    refused = registry.promote_if_not_worse(worse, data[1])
    assert not refused.promoted and refused.version == 1 and registry.versions() == [1]
    assert refused.current is not None and refused.candidate.macro_f1 < refused.current.macro_f1
    # An equally good model is promoted; rollback returns to the previous one.
    again = registry.promote_if_not_worse(replace(model, version=None), data[1])
    assert again.promoted and registry.current_version() == 2
    assert registry.rollback() == 1 and registry.load().version == 1
    with pytest.raises(ModelNotFound):
        registry.rollback()


def test_training_needs_two_rows_per_type() -> None:
    with pytest.raises(ValueError, match="at least two"):
        train(
            [
                LabelledSample(Sample("a b c"), "x"),
                LabelledSample(Sample("d e f"), "x"),
                LabelledSample(Sample("g"), "y"),
            ]
        )


def test_models_stored_as_fast_pickles_and_older_joblib_files_still_read(
    model: TypeModel, registry: ModelRegistry, data: tuple[list, list], tmp_path: Path  # type: ignore[type-arg]
) -> None:
    import joblib

    version = registry.save(model)
    registry.activate(version)
    assert (registry.folder / "doctype-0001.pkl").is_file()
    assert not (registry.folder / "doctype-0001.joblib").exists()
    # a registry written by an older mailroom: compressed joblib files are still read, and adopted as they are
    older = ModelRegistry(tmp_path / "older")
    older.folder.mkdir()
    joblib.dump(model, older.folder / "doctype-0001.joblib", compress=3)
    (older.folder / "doctype-0001.json").write_bytes((registry.folder / "doctype-0001.json").read_bytes())
    older.activate(1)
    sample = data[1][0].sample
    assert older.load().predict(sample).probabilities == pytest.approx(model.predict(sample).probabilities)
    adopted = ModelRegistry(tmp_path / "adopted")
    assert adopted.adopt(older) == 1
    assert (adopted.folder / "doctype-0001.joblib").is_file()
    assert adopted.load().predict(sample).probabilities == pytest.approx(model.predict(sample).probabilities)


def test_linear_form_predicts_as_the_fitted_model_without_scikit_learn(
    model: TypeModel, registry: ModelRegistry, data: tuple[list, list], tmp_path: Path  # type: ignore[type-arg]
) -> None:
    """Prediction goes through classifiers.linear (memory-mapped, no scikit-learn import at start): the same
    probabilities as scikit-learn's own predict_proba, on clean, noisy, odd and empty texts."""
    import subprocess
    import sys

    from classifiers.linear import LinearTypeModel

    registry.activate(registry.save(model))
    folder = registry.folder / "doctype-0001.linear"
    assert (folder / "weights.npy").is_file() and (folder / "model.pkl").is_file()
    predictor = registry.load_predictor()
    assert isinstance(predictor, LinearTypeModel) and predictor.version == 1
    assert predictor.labels == model.labels
    rng = random.Random(5)
    samples = [r.sample for r in data[1][:40]] + [noisy(r, rng).sample for r in data[1][:20]] + [
        Sample(""), Sample("x"), Sample("  Rechnung\t\tNr.  RE-2026-0042  IBAN DE89 3704 0044 0532 0130 00  ÄÖÜ ß ")]
    worst = 0.0
    for sample, expected in zip(samples, model.predict_many(samples), strict=True):
        got = predictor.predict(sample)
        assert got.label == expected.label
        worst = max(worst, *(abs(got.probabilities[k] - p) for k, p in expected.probabilities.items()))
    assert worst < 1e-5
    assert evaluate(predictor, data[1]).macro_f1 == pytest.approx(evaluate(model, data[1]).macro_f1)
    # a registry without the linear form (an older mailroom's) gets it at first use
    older = ModelRegistry(tmp_path / "older")
    assert older.adopt(registry) == 1 and (older.folder / "doctype-0001.linear").is_dir()
    import shutil

    shutil.rmtree(older.folder / "doctype-0001.linear")
    assert older.load_predictor().predict(samples[0]).probabilities == pytest.approx(
        model.predict(samples[0]).probabilities)
    assert (older.folder / "doctype-0001.linear" / "weights.npy").is_file()
    # loading and predicting in a fresh process imports neither scikit-learn nor SciPy
    code = ("import sys; from pathlib import Path; from classifiers.registry import ModelRegistry; "
            "from classifiers.samples import Sample; "
            f"p = ModelRegistry(Path({str(older.folder)!r})).load_predictor(); "
            "print(p.predict(Sample('Rechnung')).label); "
            "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == model.predict(Sample("Rechnung")).label and out[1] == "[]"
