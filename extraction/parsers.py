"""Value parsers for invoice fields read from text: amounts, dates, IBANs, BICs, VAT ids, identifiers.

Each parser takes the text of a few words (as OCR or a text layer gives it) and returns the normalised value
the result contract uses, or ``None`` when the text is no such value or is ambiguous: amounts as
:class:`~decimal.Decimal` (formatted by :func:`amount_text` as ``"1234.56"``), dates as :class:`datetime.date`,
IBANs/BICs/VAT ids compact and upper case. Parsers never guess: ``"1.234"`` is not an amount (thousands
or three decimals?), ``"03/04/2026"`` is not a date unless the writer's order of day and month is known
(:func:`date_order`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

from schwifty import IBAN as BankIban
from schwifty import registry as bank_registry
from schwifty.exceptions import SchwiftyException
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as stdnum_vat
from stdnum.exceptions import ValidationError

from extraction.labels import MONTH_NAMES

_CENT = Decimal("0.01")

#: Month names and abbreviations of every language of the label tables (``extraction/data/labels``).
MONTHS: dict[str, int] = {**MONTH_NAMES, "marz": 3, "maerz": 3}


def _fold(text: str) -> str:
    """Without accents ("aoüt", an OCR reading of "août", → "aout")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_FOLDED_MONTHS = {_fold(name): n for name, n in MONTHS.items()}

_CURRENCY = re.compile(r"(?i)\b(?:EUR|EURO)\b|€")
# German "1.234,56", "1234,56", "1 234,56"; English "1,234.56", "1234.56"; an optional sign either side.
# A minus, a typographic minus or an attached en dash before the amount, a minus after it (German bookkeeping), or the
# amount in parentheses (accounting: "(233,47 €)", "(€ 5.00)") makes it negative: credit notes print all of them.
_OPEN = r"(?:(?P<open>\()\s?(?:€\s?|EUR\s)?)?"
_SIGN = r"(?:(?P<sign>[-−]\s?|–))?"  # an en dash only attached: "Summe – 12,00" may be a separator
_CLOSE = r"(?P<tail>[-–])?(?P<close>\s?(?:€|EUR)?\s?\))?"
_DE_AMOUNT = re.compile(_OPEN + _SIGN + r"(?P<int>\d{1,3}(?:[.\s']\d{3})+|\d+),(?P<dec>\d{2})" + _CLOSE)
_EN_AMOUNT = re.compile(_OPEN + _SIGN + r"(?P<int>\d{1,3}(?:[,\s']\d{3})+|\d+)\.(?P<dec>\d{2})" + _CLOSE)

_NUMERIC_DATE = re.compile(r"(?P<d>\d{1,2})\s?\.\s?(?P<m>\d{1,2})\s?\.\s?(?P<y>\d{4}|\d{2})")
_ISO_DATE = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})")
# "12. November 2026", "1er mars 2026", "12 de marzo de 2026", "12-Mar-2026", "12 nov. 26" (a two-digit year only
# after a separator, so that "12 Mai 26" inside a sentence is no date); OCR's apostrophe before the year
# ("25 April'2018", a speck) is no separator of its own.
_DAY_MONTH_NAME = re.compile(
    r"(?P<d>\d{1,2})(?:er|º|°|st|nd|rd|th)?\.{0,2}[\s\-/]*(?:de\s+)?(?P<name>[^\W\d_]{3,10})\.?,?['’‘`]?[\s\-/]*(?:de\s+)?"
    r"(?P<y>\d{4}|(?<=[\-/])\d{2})"
)
_MONTH_NAME_DAY = re.compile(r"(?P<name>[^\W\d_]{3,10})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})")
# "03/04/2026", "03-04-2026", "3/4/26": day or month first depends on the writer (:func:`date_order`).
_SLASHED_DATE = re.compile(r"(?P<a>\d{1,2})(?P<sep>[/\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})")
_YEAR_FIRST_SLASHED = re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})")

#: How a slashed date of the document being read is written: ``"DMY"`` (Europe), ``"MDY"`` (the USA) or None
#: (unknown: a slashed date is then read only when its first or second number is above 12).
DateOrder = str | None
_DATE_ORDER: ContextVar[DateOrder] = ContextVar("date_order", default=None)


@contextmanager
def date_order(order: DateOrder) -> Iterator[None]:
    """Read slashed dates in ``order`` inside the ``with`` block (extraction sets it per document from the seller's
    country and the page language, see :func:`extraction.language.date_order_of`)."""
    token = _DATE_ORDER.set(order)
    try:
        yield
    finally:
        _DATE_ORDER.reset(token)

_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_BIC_SHAPE = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_VAT_SHAPE = re.compile(r"(?:DE\d{9}|ATU\d{8}|[A-Z]{2}[0-9A-Z]{8,12})")
# German Steuernummer as printed: "12/345/67890", "123/456/78901", "21 815 08150", or 13 digits (ELSTER).
#: A tax number (Steuernummer) as printed after its label: Finanzamt/district/number with an optional check suffix
#: (``201/113/40209``, ``22/815/0815/4``), the Austrian ``12 345/6789`` or the 13-digit federal form spaced or not;
#: never part of an amount, date or longer word.
_TAX_NUMBER = re.compile(
    r"(?<![\w/.,-])(?:\d{2,3}/\d{3,4}/\d{3,5}(?:/\d{1,2})?|\d{2}\s\d{3}/\d{4}|\d{3}\s\d{3}\s\d{5}|\d{13})"
    r"(?![\w/-]|[.,]\d)"
)
#: Digits alone are a tax number only as the first word after the label (``Fiscaal nr.: 9990815``).
_PLAIN_TAX_NUMBER = re.compile(r"^\W{0,2}(\d{4,13})(?![\w/-]|[.,]\d)")
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/\-_.]*[A-Za-z0-9]|[0-9]")


def amount_text(value: Decimal) -> str:
    """The contract's form of an amount: two decimals, dot (``"1234.50"``)."""
    return str(value.quantize(_CENT))


def _to_decimal(match: re.Match[str]) -> Decimal | None:
    digits = re.sub(r"[^\d]", "", match["int"])
    try:
        value = Decimal(f"{digits}.{match['dec']}")
    except InvalidOperation:  # pragma: no cover - the regex admits digits only
        return None
    negative = match["sign"] or match["tail"] or (match["open"] and match["close"])
    return -value if negative else value


def parse_amount(text: str) -> Decimal | None:
    """A monetary amount with exactly two decimals, German or English notation, currency sign optional.

    ``"1.234,56 €"`` → 1234.56, ``"EUR 1,234.56"`` → 1234.56, ``"-8,79"`` → -8.79. The whole text must be
    the amount (plus currency): ``"19 %"`` or ``"1.234"`` are not amounts.
    """
    core = _CURRENCY.sub(" ", text).strip().rstrip(":").strip()
    for pattern in (_DE_AMOUNT, _EN_AMOUNT):
        match = pattern.fullmatch(core)
        if match:
            return _to_decimal(match)
    return None


def find_amounts(text: str) -> list[tuple[Decimal, int, int]]:
    """Every amount in a longer text with its character span (German notation first, then English)."""
    found: list[tuple[Decimal, int, int]] = []
    taken: list[tuple[int, int]] = []
    for pattern in (_DE_AMOUNT, _EN_AMOUNT):
        for match in pattern.finditer(text):
            start, end = match.span()
            before = text[start - 1] if start else " "
            after = text[end] if end < len(text) else " "
            if before.isalnum() or before in ".," or after.isalnum() or (after in ".," and end + 1 < len(text)
                                                                             and text[end + 1].isdigit()):
                continue
            if any(s < end and start < e for s, e in taken):
                continue
            value = _to_decimal(match)
            if value is not None:
                found.append((value, start, end))
                taken.append((start, end))
    return sorted(found, key=lambda item: item[1])


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def month_number(name: str) -> int | None:
    """1..12 for a month name or its usual abbreviation in any language of the label tables."""
    key = name.lower().rstrip(".")
    return MONTHS.get(key) or _FOLDED_MONTHS.get(_fold(key))


def _slashed(a: int, b: int, year: int) -> date | None:
    """A slashed date: the order of the document's writer, else the only order that makes a date."""
    order = _DATE_ORDER.get()
    if order == "MDY" or (order is None and b > 12 >= a):
        return _make_date(year, a, b)
    if order == "DMY" or (order is None and a > 12 >= b):
        return _make_date(year, b, a)
    return None


def parse_date(text: str) -> date | None:
    """A calendar day: ``"12.11.2026"``, ``"12.11.26"``, ``"12. November 2026"``, ``"12 November 2026"``,
    ``"1er mars 2026"``, ``"12 de marzo de 2026"``, ``"November 12, 2026"``, ``"2026-11-12"``, ``"2026/11/12"``,
    and slashed or dashed dates (``"03/04/2026"``) in the order :func:`date_order` set (refused as ambiguous
    without one, unless a number above 12 decides). The whole text must be the date (a trailing ``:``/``,`` is
    allowed); month names of every language of the label tables."""
    core = text.strip().rstrip(":,;").strip()
    match = _NUMERIC_DATE.fullmatch(core) or _ISO_DATE.fullmatch(core) or _YEAR_FIRST_SLASHED.fullmatch(core)
    if match:
        return _make_date(_year(match["y"]), int(match["m"]), int(match["d"]))
    match = _SLASHED_DATE.fullmatch(core)
    if match:
        return _slashed(int(match["a"]), int(match["b"]), _year(match["y"]))
    for pattern in (_DAY_MONTH_NAME, _MONTH_NAME_DAY):
        match = pattern.fullmatch(core)
        if match:
            month = month_number(match["name"])
            return None if month is None else _make_date(int(match["y"]), month, int(match["d"]))
    return None


def find_dates(text: str) -> list[tuple[date, int, int]]:
    """Every date in a longer text with its character span."""
    found: list[tuple[date, int, int]] = []
    for pattern in (_NUMERIC_DATE, _ISO_DATE, _YEAR_FIRST_SLASHED, _SLASHED_DATE, _DAY_MONTH_NAME, _MONTH_NAME_DAY):
        for match in pattern.finditer(text):
            start, end = match.span()
            if (start and text[start - 1].isalnum()) or (end < len(text) and text[end].isdigit()):
                continue
            if any(s < end and start < e for _, s, e in found):
                continue
            value = parse_date(match.group(0))
            if value is not None:
                found.append((value, start, end))
    return sorted(found, key=lambda item: item[1])


def compact(text: str) -> str:
    """Without whitespace, upper case: the form of IBANs, BICs and VAT ids."""
    return "".join(text.split()).upper()


def valid_iban(value: str) -> bool:
    """An IBAN with a correct country format and MOD 97-10 check digits."""
    return bool(_IBAN_SHAPE.fullmatch(value)) and stdnum_iban.is_valid(value)


def iban_problem(value: str) -> str | None:
    """Why ``value`` is no valid IBAN (None when it is one)."""
    try:
        stdnum_iban.validate(value)
    except ValidationError as exc:
        return f"{value}: {exc}"
    return None


def parse_iban(text: str) -> str | None:
    """An IBAN written with or without spaces (``"DE36 1237 0024 8621 7879 63"``) whose check digits are right."""
    value = compact(text.removeprefix("IBAN").removeprefix("iban").strip(": "))
    return value if valid_iban(value) else None


#: Letters OCR reads for digits; repaired only where a digit must stand and the check digits then confirm it.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "L": "1", "|": "1", "Z": "2",
                                   "A": "4", "S": "5", "G": "6", "T": "7", "B": "8"})
MAX_REPAIRS = 2


def repair_digits(text: str) -> tuple[str, int] | None:
    """``text`` with look-alike letters turned into digits, and how many were changed; None beyond
    :data:`MAX_REPAIRS` or when something else than a digit remains."""
    fixed = text.upper().translate(_DIGIT_LOOKALIKES)
    changes = sum(1 for a, b in zip(text.upper(), fixed, strict=True) if a != b)
    return (fixed, changes) if fixed.isdigit() and changes <= MAX_REPAIRS else None


def _numeric_iban(raw: str) -> str | None:
    """A German or Austrian IBAN (digits only after the country code), repaired of OCR look-alikes."""
    compacted = compact(raw)
    if compacted[:2] not in ("DE", "AT"):
        return _repaired_check_digits(compacted)
    repaired = repair_digits(compacted[2:])
    if repaired is None:
        return None
    value = compacted[:2] + repaired[0]
    return value if valid_iban(value) else None


def _repaired_check_digits(compacted: str) -> str | None:
    """An IBAN of any country whose two check digits OCR read as letters ("NLO2" for "NL02"): the check digits
    are digits in every country, so only they are repaired, when mod 97 then passes."""
    repaired = repair_digits(compacted[2:4])
    if repaired is None or repaired[0] == compacted[2:4]:
        return None
    value = compacted[:2] + repaired[0] + compacted[4:]
    return value if valid_iban(value) else None


_IBAN_SHAPE = re.compile(r"\b[A-Z]{2}[0-9A-Z|]{2}(?:\s{0,2}[A-Z0-9|]{4}){2,7}(?:\s{0,2}[A-Z0-9|]{1,4})?")
_STRAY_MARK = re.compile(r"(?<=[A-Z0-9]{4})[.,](?=\s?[A-Z0-9]{4})")


def find_ibans(text: str) -> list[tuple[str, int, int]]:
    """Every valid IBAN in a text, written in groups of four or in one piece, with its character span.

    In German and Austrian IBANs, where only digits may follow the country code, up to two letters that OCR
    reads for digits (``DEI4`` for ``DE14``) are repaired when the check digits then confirm the result.
    """
    found: list[tuple[str, int, int]] = []
    text = _STRAY_MARK.sub(" ", text)  # "DE74 5514. 0120 ...": a speck read as a point after a group
    position = 0
    while match := _IBAN_SHAPE.search(text, position):
        pieces = match.group(0).split()
        for n in range(len(pieces), 0, -1):
            raw = " ".join(pieces[:n])
            value = compact(raw) if valid_iban(compact(raw)) else _numeric_iban(raw)
            if value:
                found.append((value, match.start(), match.start() + len(raw)))
                position = match.start() + len(raw)
                break
        else:  # no IBAN starts here ("IBAN DE53 ...": the label's letters look like a country and check digits)
            position = match.start() + len(pieces[0])
    return found


def valid_bic(value: str) -> bool:
    """A BIC of ISO 9362 form (8 or 11 characters, bank code, country code, location, branch)."""
    return bool(_BIC_SHAPE.fullmatch(value)) and stdnum_bic.is_valid(value)


def parse_bic(text: str) -> str | None:
    """A BIC (``"DEUTDEDBMST"``); None for anything else."""
    value = compact(text.removeprefix("BIC").strip(": "))
    return value if valid_bic(value) else None


#: Characters OCR confuses in BICs, where letters and digits may both stand: each to its look-alike.
_BIC_LOOKALIKE_PAIRS = ("1I", "0O", "5S", "8B", "2Z", "6G")
_BIC_LOOKALIKE = {p[0]: p[1] for p in _BIC_LOOKALIKE_PAIRS} | {p[1]: p[0] for p in _BIC_LOOKALIKE_PAIRS}


def bank_bic(iban: str) -> str | None:
    """The BIC of the bank an IBAN belongs to, from the banks' registries that schwifty carries (for Germany
    the Bundesbank's bank code list); None for an unknown bank. After bank mergers the BIC a supplier prints
    may rightly differ (Dresdner Bank codes still give ``DRESDEFF...``, invoices print ``COBADEFFXXX``)."""
    try:
        found = BankIban(iban).bic
    except (SchwiftyException, ValueError):
        return None
    return str(found) if found else None


def repair_bic(bic: str, iban: str | None = None) -> str:
    """``bic`` with the characters OCR confused (:data:`_BIC_LOOKALIKE`) put right, checked against the banks'
    registries schwifty carries; unchanged when nothing there confirms a repair.

    1. The bank of the IBAN has the look-alike (``GENODEMIGLS`` with a GLS Bank IBAN → ``GENODEM1GLS``);
    2. else exactly one look-alike variant is a known BIC and the printed one is not (``GENODEFINDR`` →
       ``GENODEF1NDR``);
    3. else characters that no BIC of the country has at their position are replaced by their look-alike
       where that one occurs there (no German BIC has ``I`` as its 8th character; 1,773 have ``1``).
    """
    registered = bank_bic(iban) if iban else None
    if registered is not None and bic != registered:
        length = min(len(bic), len(registered))  # 8-character BICs name the bank's main office
        pairs = zip(bic[:length], registered[:length], strict=True)
        if all(a == b or _BIC_LOOKALIKE.get(a) == b for a, b in pairs):
            return registered[:length] + bic[length:]
    known = _known_bics(bic[4:6])
    if not known or _is_known(bic, known):
        return bic
    hits = {v for v in _lookalike_variants(bic) if _is_known(v, known)}
    if len(hits) == 1:
        return hits.pop()
    seen = _characters_by_position(bic[4:6])
    return "".join(
        _BIC_LOOKALIKE[c] if i < len(seen) and c not in seen[i] and _BIC_LOOKALIKE.get(c, "") in seen[i] else c
        for i, c in enumerate(bic)
    )


def _is_known(bic: str, known: frozenset[str]) -> bool:
    return bic in known or (len(bic) == 8 and bic + "XXX" in known)


def _lookalike_variants(bic: str) -> set[str]:
    """``bic`` with one or two characters swapped for their look-alikes."""
    swaps = [(i, _BIC_LOOKALIKE[c]) for i, c in enumerate(bic) if c in _BIC_LOOKALIKE]
    out: set[str] = set()
    for n, (i, c) in enumerate(swaps):
        one = bic[:i] + c + bic[i + 1 :]
        out.add(one)
        for j, d in swaps[n + 1 :]:
            if j != i:
                out.add(one[:j] + d + one[j + 1 :])
    return out


@cache
def _known_bics(country: str) -> frozenset[str]:
    """The BICs of a country's banks in schwifty's registries (empty for a country it has none of)."""
    try:
        banks = bank_registry.get_banks_by_country(country)
    except (SchwiftyException, KeyError, ValueError):
        return frozenset()
    return frozenset(bank.bic for bank in banks if bank.bic)


@cache
def _characters_by_position(country: str) -> tuple[frozenset[str], ...]:
    """For each of the 11 positions, the characters the country's known BICs have there."""
    known = _known_bics(country)
    return tuple(frozenset(b[i] for b in known if len(b) > i) for i in range(11)) if known else ()


def valid_vat_id(value: str) -> bool:
    """A European VAT id (USt-IdNr.) with correct check digits, where the country defines them."""
    return bool(_VAT_SHAPE.fullmatch(value)) and stdnum_vat.is_valid(value)


def vat_id_problem(value: str) -> str | None:
    """Why ``value`` is no valid VAT id (None when it is one)."""
    try:
        stdnum_vat.validate(value)
    except ValidationError as exc:
        return f"{value}: {exc}"
    return None


def parse_vat_id(text: str) -> str | None:
    """A VAT id, spaces allowed (``"DE 458 864 807"``), with correct check digits."""
    value = compact(text)
    return value if valid_vat_id(value) else None


#: VAT ids of Germany's neighbours and other frequent suppliers' countries (checked by python-stdnum).
_FOREIGN_VAT = re.compile(
    r"\b(?:ATU\s?\d{8}|FR\s?[0-9A-HJ-NP-Z]{2}\s?\d{3}\s?\d{3}\s?\d{3}|NL\s?\d{9}\s?B\d{2}|BE\s?[01]\d{9}"
    r"|LU\s?\d{8}|IT\s?\d{11}|DK\s?\d{8}|PL\s?\d{10}|CZ\s?\d{8,10})\b"
)


def find_vat_ids(text: str) -> list[tuple[str, int, int]]:
    """Every valid VAT id in a text: German ones (``DE`` + 9 digits, spaces allowed; up to two OCR look-alike
    letters repaired when the check digit then confirms the result) and those of :data:`_FOREIGN_VAT`."""
    found: list[tuple[str, int, int]] = []
    for match in re.finditer(r"\bDE\s?(?:[0-9ODQUILlSZAGTB|]\s?){8}[0-9ODQUILlSZAGTB|]\b", text):  # as repaired
        repaired = repair_digits(compact(match.group(0))[2:])
        if repaired is not None and valid_vat_id("DE" + repaired[0]):
            found.append(("DE" + repaired[0], match.start(), match.end()))
    for match in _FOREIGN_VAT.finditer(text):  # the neighbours' ids as printed (no repair: their shapes vary)
        value = compact(match.group(0))
        if valid_vat_id(value):
            found.append((value, match.start(), match.end()))
    return sorted(found, key=lambda f: f[1])


def find_tax_numbers(text: str) -> list[tuple[str, int, int]]:
    """Tax numbers as printed after their label (``"96/483/64352"``, :data:`_TAX_NUMBER`; plain digits only
    first: :data:`_PLAIN_TAX_NUMBER`) with their spans."""
    found = [(m.group(0), m.start(), m.end()) for m in _TAX_NUMBER.finditer(text)]
    plain = _PLAIN_TAX_NUMBER.match(text)
    if plain is not None and not any(start == plain.start(1) for _, start, _ in found):
        found.insert(0, (plain.group(1), plain.start(1), plain.end(1)))
    return found


def parse_identifier(text: str) -> str | None:
    """An invoice, customer or order number: one token of letters/digits joined by ``/ - _ .``, with at
    least one digit, 2 to 35 characters; not a date (``23.02.2016`` under a number's label is the next column's)."""
    core = text.strip().strip(".,;:")
    if not 2 <= len(core) <= 35 or not _IDENTIFIER.fullmatch(core) or not any(c.isdigit() for c in core):
        return None
    return None if parse_date(core) is not None else core
