"""Calibrated confidence: isotonic steps with Wilson lower bounds, so that few examples never claim 0.9."""

from __future__ import annotations

from extraction.calibration import Calibration, calibrate_fields, fit, fit_steps, installed, wilson_lower


def test_wilson_lower_bound_needs_many_right_values_for_090() -> None:
    assert wilson_lower(10, 10) < 0.9  # ten right values prove little
    assert wilson_lower(40, 40) > 0.9
    assert wilson_lower(0, 0) == 0.0


def test_steps_are_monotone_and_bounded_by_the_evidence() -> None:
    examples = [(0.3, False)] * 8 + [(0.35, True)] * 2 + [(0.6, True), (0.6, False)] * 5 + [(0.95, True)] * 60
    steps = fit_steps(examples)
    confidences = [s.confidence for s in steps]
    assert confidences == sorted(confidences)
    calibration = Calibration({"*": steps})
    assert calibration.confidence("invoice_number", 0.3) < 0.3
    assert 0.2 < calibration.confidence("invoice_number", 0.6) < 0.7
    assert calibration.confidence("invoice_number", 0.97) > 0.9
    assert Calibration.from_json(calibration.to_json()) == calibration


def test_fields_are_calibrated_only_when_read_from_the_page() -> None:
    calibration = fit({"total_gross": [(0.9, True)] * 30 + [(0.9, False)] * 10})
    fields = {
        "total_gross": {"value": "1.00", "confidence": 0.95, "source": "ocr"},
        "iban": {"value": "DE89370400440532013000", "confidence": 0.99, "source": "e-invoice"},
        "seller_vat_id": {"value": "DE123456789", "confidence": 0.3, "source": "ocr"},
    }
    calibrate_fields(fields, Calibration({**calibration.tables, "seller_vat_id": [*fit_steps([(0.0, True)] * 50)]}))
    assert fields["total_gross"]["confidence"] < 0.75 and fields["total_gross"]["raw_confidence"] == 0.95
    assert fields["iban"]["confidence"] == 0.99 and "raw_confidence" not in fields["iban"]
    assert fields["seller_vat_id"]["confidence"] <= 0.3  # a doubted value is never made sure


def test_the_shipped_calibration_is_installed() -> None:
    shipped = installed()
    assert shipped is not None and "*" in shipped.tables
