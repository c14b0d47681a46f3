"""What recognition and intake know about a document, typed, next to the :class:`mailroom.model.Document`.

The evaluator reads only this object and the words of the document, so a rule set can be re-run on stored
recognition results without OCR (simulation). Anything not recognised is ``None``: a condition on it is false.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScoredLabel(_Fact):
    label: str
    confidence: float = Field(ge=0.0, le=1.0)


class RecipientFacts(_Fact):
    """Recipient recognised from the address field, as organisation-directory ids."""

    department: str | None = None
    person: str | None = None
    confidence: float = Field(1.0, ge=0.0, le=1.0)


class SupplierFacts(_Fact):
    """A known sender: a supplier from master data, recognised by IBAN or VAT id."""

    supplier_id: str
    name: str | None = None
    matched_by: str | None = Field(None, description="iban, vat_id, ...")


class InvoiceFacts(_Fact):
    """Invoice header fields as strings (amounts ``"558.35"``, dates ``YYYY-MM-DD``) and validation status."""

    fields: dict[str, str] = Field(default_factory=dict)
    validation: str | None = Field(None, description="valid, invalid, incomplete, ...")


class IntakeFacts(_Fact):
    station: str | None = None
    channel: str | None = None
    page_count: int | None = None
    sender: str | None = Field(None, description="E-mail intake: the sender's address (lower case)")
    sender_domain: str | None = Field(None, description="E-mail intake: the domain of the sender's address")


class Facts(_Fact):
    """Everything but the words that a rule may test."""

    document_type: ScoredLabel | None = None
    recipient: RecipientFacts | None = None
    supplier: SupplierFacts | None = None
    invoice: InvoiceFacts | None = None
    leitweg_id: str | None = Field(None, description="Leitweg-ID (BT-10): routing id of a German e-invoice")
    intake: IntakeFacts = Field(default_factory=IntakeFacts)
