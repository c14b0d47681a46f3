"""The ``mailroom.result/v1`` contract (see ``DESIGN.md``): printed by ``mailroom process --json``, returned
by ``GET /api/v1/documents/{id}`` and carried in webhook events.

Parts that a stage has not produced are ``None`` and left out of the JSON: absent, never faked.
Changes to this module must be additive (``tests/contract/result_v1.schema.json`` is the published schema).

Every field the service writes is declared here; code changes a stored result only through
:func:`mailroom.storage.repository.change_result` (load, edit the typed :class:`Result`, save), never as a dict.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

SCHEMA = "mailroom.result/v1"

#: The fields of the ``invoice`` part (EN 16931 business terms, see DESIGN.md), in contract order.
InvoiceFieldName = Literal[
    "invoice_number",
    "issue_date",
    "type_code",
    "currency",
    "due_date",
    "buyer_reference",
    "order_reference",
    "seller_name",
    "seller_vat_id",
    "seller_tax_number",
    "buyer_name",
    "customer_number",
    "service_date",
    "service_period_start",
    "service_period_end",
    "iban",
    "bic",
    "total_net",
    "total_vat",
    "total_gross",
    "amount_due",
    "payment_terms",
]
INVOICE_FIELDS: tuple[str, ...] = get_args(InvoiceFieldName)


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")


class MailSource(_Part):
    """The e-mail a document came with (channel ``mail``)."""

    mailbox: str
    message_id: str
    sender: str = Field(description="The sender's address")
    subject: str
    sent_at: datetime | None = None
    role: str = Field(description="'cover' (the mail's text) or 'attachment'")
    documents: list[str] = Field(description="Every document of the message, the cover first")


class Source(_Part):
    channel: str = Field(description="upload, watch_folder, cli, mail, ...")
    station: str | None = None
    received_at: datetime
    mail: MailSource | None = Field(default=None, description="For channel 'mail': the message it came with")


class QualityWarning(_Part):
    code: str = Field(
        description="Stable code: blank_page, all_pages_blank, no_text_found, page_unreadable, skewed, rotated, "
        "blurry, low_contrast, low_ocr_confidence"
    )
    page: int | None = None
    message: str


class Quality(_Part):
    ocr_confidence: float | None = None
    skew_degrees: float | None = None
    blank_pages: list[int] = Field(default_factory=list)
    warnings: list[QualityWarning] = Field(default_factory=list)


class RescanRequest(_Part):
    """Why a document went back to the station that scanned it instead of into the review queue
    (``intake.quality_gate``, or a reviewer in the validation station): the station scans these pages again and
    sends the new scan."""

    reason: Literal["blank", "unreadable", "reviewer"] = Field(
        description="blank: nothing on the pages; unreadable: ink, but no text could be read; reviewer: a person in "
        "the validation station asked for it (the message says why)"
    )
    pages: list[int] = Field(default_factory=list, description="The pages to scan again (1-based)")
    message: str = Field(description="What the station operator reads (German)")
    warnings: list[str] = Field(default_factory=list, description="The quality warning codes behind the request")


class DocumentType(_Part):
    label: str
    confidence: float
    decided_by: str


class Recipient(_Part):
    text: str | None = Field(default=None, description="The address field as read")
    department: str | None = None
    person: str | None = None
    confidence: float | None = None
    confidential: bool | None = Field(default=None, description="The address says persönlich / vertraulich")
    decided_by: str | None = Field(default=None, description="recipient:address, recipient:aktenzeichen, ...")
    because: list[str] | None = Field(default=None, description="The evidence of the match")


class RuleTrace(_Part):
    rule: str
    version: int | None = None
    matched: bool
    because: list[str] = Field(default_factory=list)


class Alternative(_Part):
    postbox: str
    confidence: float


class Routing(_Part):
    postbox: str | None = None
    status: Literal["routed", "review"]
    confidence: float | None = None
    decided_by: str | None = None
    trace: list[RuleTrace] = Field(default_factory=list)
    alternatives: list[Alternative] = Field(default_factory=list)
    because: list[str] | None = Field(default=None, description="Why this postbox: the evidence of the decision")
    review_reasons: list[str] | None = Field(default=None, description="Why the document waits for a person")
    confidential: bool | None = Field(
        default=None, description="A personal letter: its content is for the named person (and admins) only"
    )
    person: str | None = Field(default=None, description="The named addressee of a confidential letter")
    copies: list[str] | None = Field(default=None, description="Further postboxes a copy was sent to")
    reason: str | None = Field(default=None, description="What the person who routed it by hand gave as reason")
    history: list[Routing] | None = Field(
        default=None, description="Earlier routings of the document, oldest first (re-routes, review decisions)"
    )

    def superseded(self, routing: Routing) -> Routing:
        """``routing`` replacing this one, with this one appended to the history; a confidential letter stays
        confidential (and addressed to its person) wherever it is sent."""
        earlier = self.model_copy(update={"history": None})
        update: dict[str, Any] = {"history": [*(self.history or []), earlier]}
        if self.confidential:
            update |= {"confidential": True, "person": self.person}
        return routing.model_copy(update=update)


class InvoiceField(_Part):
    value: Any
    confidence: float
    page: int | None = None
    box: list[int] | None = None
    source: str = Field(description="e-invoice, ocr, text_layer, learned, master_data")


class ParentStack(_Part):
    """For a letter separated from a scanned stack: the stack and the letter's pages in it."""

    document_id: str
    pages: list[int] = Field(description="First and last page of the letter in the stack")
    page_numbers: list[int] = Field(description="The stack's page number of each page of the letter")


class Letter(_Part):
    """One letter of a scanned stack (in the stack's result), or of a document a reviewer split."""

    document_id: str
    pages: list[int]
    started_by: str = Field(description="file_start, separator_sheet, first_page; reviewer: split in the "
                            "validation station")
    blank_pages: list[int] | None = None
    evidence: list[str] | None = None


class Result(_Part):
    schema_: str = Field(SCHEMA, alias="schema")
    document_id: str
    sha256: str
    filename: str
    pages: int
    source: Source
    text_source: str
    quality: Quality = Field(default_factory=Quality)
    document_type: DocumentType | None = None
    recipient: Recipient | None = None
    routing: Routing | None = None
    invoice: dict[str, Any] | None = None
    rescan: RescanRequest | None = Field(
        None, description="Present when the document went back to its station to be scanned again"
    )
    e_invoice: dict[str, str | None] | None = Field(
        default=None, description="An XML e-invoice: {embedded: the name of the attachment in a PDF, or null}"
    )
    parent: ParentStack | None = None
    letters: list[Letter] | None = None

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Result:
        """A stored result (``documents.result_json``), typed."""
        return cls.model_validate_json(text)
