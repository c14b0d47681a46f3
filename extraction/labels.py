"""The label anchors of invoice fields in German, English, French, Dutch, Italian and Spanish, and the kind of
value each field holds.

The labels are data, one table per language: ``extraction/data/labels/<language>.yaml`` (labels per field, the
labels of amounts and identifiers that are none of the fields, payment-term words, month names, payment terms in
days, and common words that tell the page's language). Add a language by adding its file to :data:`LANGUAGES`.

A label is written as it appears on invoices; matching ignores everything but its letters (see
:mod:`extraction.layout`), so ``"Rechnungs-Nr."`` also matches ``"Rechnungs Nr:"`` and ``"RechnungsNr."``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from extraction.layout import Label
from mailroom import yamlio


class Kind(StrEnum):
    """How a field's value is written and parsed."""

    IDENTIFIER = "identifier"
    DATE = "date"
    AMOUNT = "amount"
    IBAN = "iban"
    BIC = "bic"
    VAT_ID = "vat_id"
    TAX_NUMBER = "tax_number"
    LEITWEG = "leitweg"
    PERIOD = "period"


FIELD_KINDS: dict[str, Kind] = {
    "invoice_number": Kind.IDENTIFIER,
    "issue_date": Kind.DATE,
    "due_date": Kind.DATE,
    "service_date": Kind.DATE,
    "service_period": Kind.PERIOD,
    "customer_number": Kind.IDENTIFIER,
    "order_reference": Kind.IDENTIFIER,
    "buyer_reference": Kind.LEITWEG,
    "iban": Kind.IBAN,
    "bic": Kind.BIC,
    "seller_vat_id": Kind.VAT_ID,
    "seller_tax_number": Kind.TAX_NUMBER,
    "total_net": Kind.AMOUNT,
    "total_vat": Kind.AMOUNT,
    "total_gross": Kind.AMOUNT,
    "amount_due": Kind.AMOUNT,
}

LANGUAGES: tuple[str, ...] = ("de", "en", "fr", "nl", "it", "es")
_DATA = Path(__file__).resolve().parent / "data" / "labels"


@dataclass(frozen=True)
class LanguageTable:
    """One language's labels and words, as written in ``extraction/data/labels/<language>.yaml``."""

    language: str
    words: frozenset[str]
    fields: dict[str, tuple[str, ...]]
    other_amount: tuple[str, ...]
    buyer_identifier: tuple[str, ...]
    payment_terms: tuple[str, ...]
    prepaid: tuple[str, ...]
    net_days: tuple[re.Pattern[str], ...]
    discount_words: tuple[str, ...]
    months: dict[str, int]


def _strings(data: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(text) for text in data.get(key) or ())


@cache
def language_tables() -> dict[str, LanguageTable]:
    """Every language's table, read once. A field missing from :data:`FIELD_KINDS` is a mistake in the data."""
    tables = {}
    for language in LANGUAGES:
        data = yamlio.safe_load((_DATA / f"{language}.yaml").read_text(encoding="utf-8"))
        fields = {name: _strings(data["fields"], name) for name in data["fields"]}
        unknown = set(fields) - set(FIELD_KINDS)
        if unknown:
            raise ValueError(f"labels/{language}.yaml names unknown fields {sorted(unknown)}")
        tables[language] = LanguageTable(
            language=language, words=frozenset(w.lower() for w in _strings(data, "words")), fields=fields,
            other_amount=_strings(data, "other_amount"), buyer_identifier=_strings(data, "buyer_identifier"),
            payment_terms=_strings(data, "payment_terms"), prepaid=_strings(data, "prepaid"),
            net_days=tuple(re.compile(p, re.IGNORECASE) for p in _strings(data, "net_days")),
            discount_words=_strings(data, "discount_words"),
            months={str(k).lower(): int(v) for k, v in (data.get("months") or {}).items()},
        )
    return tables


def _all(attribute: str) -> list[str]:
    """The texts of one list of every language, each once, in language order."""
    seen: dict[str, None] = {}
    for table in language_tables().values():
        seen.update(dict.fromkeys(getattr(table, attribute)))
    return list(seen)


def _field_texts() -> dict[str, list[str]]:
    out: dict[str, dict[str, None]] = {}
    for table in language_tables().values():
        for name, texts in table.fields.items():
            out.setdefault(name, {}).update(dict.fromkeys(texts))
    return {name: list(texts) for name, texts in out.items()}


_LABEL_TEXTS = _field_texts()
_OTHER_AMOUNT_LABELS = _all("other_amount")
_BUYER_ID_LABELS = _all("buyer_identifier")

LABELS: list[Label] = [
    *(Label(field, text) for field, texts in _LABEL_TEXTS.items() for text in texts),
    *(Label("other_amount", text) for text in _OTHER_AMOUNT_LABELS),
    *(Label("buyer_identifier", text) for text in _BUYER_ID_LABELS),
]

#: Words that open the sentence of the payment terms ("Zahlbar bis ...", "Bitte überweisen Sie ... bis zum").
PAYMENT_TERM_ANCHORS: list[Label] = [Label("payment_terms", text) for text in _all("payment_terms")]

#: Words telling that a prepayment is deducted, so that the amount due is not the gross total.
PREPAID_LABELS: list[Label] = [Label("prepaid", text) for text in _all("prepaid")]
#: Month names and abbreviations of every language (lower case) → month number.
MONTH_NAMES: dict[str, int] = {name: n for table in language_tables().values() for name, n in table.months.items()}
