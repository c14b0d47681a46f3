"""The one check of corrected invoice fields (:func:`extraction.confirm.checked_fields`), for the API's contract
form and for what a reviewer types at the validation station: the same checks, stable codes."""

from __future__ import annotations

from datetime import date

import pytest

from extraction.confirm import Form, checked_fields
from mailroom.errors import InvalidCorrection, InvalidFields

TODAY = date(2026, 5, 1)
TOTALS = {"total_net": "1250.00", "total_vat": "237.50", "total_gross": "1487.50"}


def test_contract_form_values_are_kept_and_typed_ones_parsed_into_it() -> None:
    assert checked_fields({**TOTALS, "issue_date": "2026-03-02"}, form=Form.CONTRACT, today=TODAY) == {
        **TOTALS, "issue_date": "2026-03-02"}
    typed = {"total_net": "1.250,00", "total_vat": "237,50", "total_gross": "1.487,50", "issue_date": "02.03.2026",
             "iban": "de89 3704 0044 0532 0130 00", "due_date": " "}
    assert checked_fields(typed, form=Form.TYPED, today=TODAY) == {
        **TOTALS, "issue_date": "2026-03-02", "iban": "DE89370400440532013000"}


def test_wrong_shapes_in_contract_form_name_the_field() -> None:
    with pytest.raises(InvalidCorrection) as bad_date:
        checked_fields({"issue_date": "02.03.2026"}, form=Form.CONTRACT, today=TODAY)
    assert bad_date.value.field == "issue_date"
    with pytest.raises(InvalidCorrection) as unknown:
        checked_fields({"colour": "blue"}, form=Form.CONTRACT, today=TODAY)
    assert unknown.value.field == "colour"


@pytest.mark.parametrize("form", [Form.CONTRACT, Form.TYPED])
def test_failed_checks_are_refused_alike_in_both_forms(form: Form) -> None:
    with pytest.raises(InvalidFields) as totals:
        checked_fields({**TOTALS, "total_gross": "1500.00"}, form=form, today=TODAY)
    assert totals.value.details["problems"] == {name: ["net_plus_vat_equals_gross"] for name in TOTALS}
    with pytest.raises(InvalidFields) as order:
        checked_fields({"issue_date": "2026-03-02", "due_date": "2026-02-01"}, form=form, today=TODAY)
    assert "due_date_not_before_issue_date" in order.value.details["problems"]["due_date"]


def test_typed_values_that_do_not_parse_are_problems_of_their_field() -> None:
    with pytest.raises(InvalidFields) as caught:
        checked_fields({"total_net": "zwölf", "issue_date": "31.02.2026"}, form=Form.TYPED, today=TODAY)
    assert caught.value.details["problems"] == {"total_net": ["unreadable_amount"], "issue_date": ["unreadable_date"]}
