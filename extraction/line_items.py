"""Line items of the usual invoice tables: position, description, quantity, unit, unit price, amount.

The table starts at a header row naming at least two of quantity, unit price and amount columns, and ends at
the first row of the totals (a net / VAT / gross label). A row that ends in an amount is a line; a row without
one continues the description of the line above (descriptions wrap).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from extraction import parsers
from extraction.layout import LabelHit, Row

_HEADER_WORDS = frozenset({
    "menge", "anzahl", "qty", "quantity", "einzelpreis", "epreis", "preis", "unitprice", "gesamt", "gesamtpreis",
    "betrag", "amount", "summe", "einheit", "unit",
})
_TOTAL_FIELDS = frozenset({"total_net", "total_vat", "total_gross", "amount_due"})
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:[.,]\d{3})+|\d+)(?:[.,]\d+)?")


def _decimal(text: str, *, german: bool) -> Decimal | None:
    """A number as printed in the table: German (``"1.234,5"``) or English (``"1,234.5"``) notation."""
    core = text.strip().rstrip("€").strip()
    if not _NUMBER.fullmatch(core):
        return None
    plain = core.replace(".", "").replace(",", ".") if german else core.replace(",", "")
    try:
        return Decimal(plain)
    except InvalidOperation:
        return None


def read_line_items(rows: list[Row], hits: list[LabelHit]) -> list[dict[str, Any]]:
    """The lines of the first item table found, or none."""
    header = next((r for r in rows if sum(1 for t in r.tokens if t.key in _HEADER_WORDS) >= 3), None)
    if header is None:
        return []
    german = not any(t.key in {"qty", "quantity", "amount", "unitprice", "description"} for t in header.tokens)
    end = min(
        ((h.row.page, h.row.index) for h in hits
         if h.label.field in _TOTAL_FIELDS and (h.row.page, h.row.index) > (header.page, header.index)),
        default=(header.page + 1, 0),
    )
    items: list[dict[str, Any]] = []
    for row in rows:
        if not (header.page, header.index) < (row.page, row.index) < end:
            continue
        item = _item(row, german)
        if item is not None:
            items.append(item)
        elif items and row.page == header.page:
            items[-1]["description"] = f"{items[-1]['description']} {row.text}".strip()
    return items


def _item(row: Row, german: bool) -> dict[str, Any] | None:
    words = [t.text for t in row.tokens if t.text not in {"€", "EUR"}]
    if len(words) < 3:
        return None
    amount = parsers.parse_amount(words[-1])
    if amount is None:
        return None
    price = _decimal(words[-2], german=german)
    if price is None:
        return None
    rest = words[:-2]
    quantity_at = next((i for i in range(len(rest) - 1, 0, -1) if _decimal(rest[i], german=german) is not None),
                       None)
    if quantity_at is None:
        return None
    quantity = _decimal(rest[quantity_at], german=german)
    unit = " ".join(rest[quantity_at + 1:]) or None
    description = rest[:quantity_at]
    if description and description[0].isdigit():
        description = description[1:]
    return {
        "description": " ".join(description) or None,
        "quantity": None if quantity is None else format(quantity.normalize(), "f"),
        "unit": unit,
        "unit_price": str(price.quantize(Decimal("0.01"))) if price == price.quantize(Decimal("0.01"))
        else format(price.normalize(), "f"),
        "amount": parsers.amount_text(amount),
    }
