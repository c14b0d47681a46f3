"""Check digits of the identifiers printed on synthetic mail: IBAN, German USt-IdNr., Leitweg-ID.

- IBAN (ISO 13616): two check digits so that the rearranged number is 1 modulo 97.
- USt-IdNr. (Umsatzsteuer-Identifikationsnummer, German VAT id ``DE`` + 9 digits): the ninth digit is an
  ISO 7064 MOD 11,10 check digit over the first eight, as the Bundeszentralamt für Steuern computes it.
- Leitweg-ID (the routing id of a German public buyer for e-invoices, carried as BuyerReference): the last two
  digits are ISO 7064 MOD 97-10 check digits over the id without hyphens, letters counted A=10 ... Z=35.
"""

from __future__ import annotations

import random


def _letters_to_digits(text: str) -> str:
    return "".join(str(int(ch, 36)) for ch in text.upper())


def mod97_check_digits(text: str) -> str:
    """ISO 7064 MOD 97-10 check digits (two digits) for an alphanumeric string."""
    return f"{98 - int(_letters_to_digits(text) + '00') % 97:02d}"


def iban_checksum_ok(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    if len(compact) < 15 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    return int(_letters_to_digits(compact[4:] + compact[:4])) % 97 == 1


def make_german_iban(blz: str, account: str) -> str:
    """Build a German IBAN from an 8-digit Bankleitzahl and an account number (padded to 10 digits)."""
    bban = blz + account.zfill(10)
    return "DE" + mod97_check_digits(bban + "DE") + bban


def format_iban(iban: str) -> str:
    """Group an IBAN in blocks of four, as printed on letters."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def vat_id_check_digit(first_eight: str) -> int:
    """ISO 7064 MOD 11,10 check digit of a German USt-IdNr. over its first eight digits."""
    product = 10
    for ch in first_eight:
        total = (int(ch) + product) % 10
        if total == 0:
            total = 10
        product = (2 * total) % 11
    check = 11 - product
    return 0 if check == 10 else check


def german_vat_id_ok(vat_id: str) -> bool:
    compact = vat_id.replace(" ", "")
    if len(compact) != 11 or not compact.startswith("DE") or not compact[2:].isdigit() or compact[2] == "0":
        return False
    return vat_id_check_digit(compact[2:10]) == int(compact[10])


def make_german_vat_id(rng: random.Random) -> str:
    first = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(7))
    return f"DE{first}{vat_id_check_digit(first)}"


def make_leitweg_id(coarse: str, fine: str) -> str:
    """Leitweg-ID ``coarse-fine-check`` with MOD 97-10 check digits."""
    return f"{coarse}-{fine}-{mod97_check_digits(coarse + fine)}"


def leitweg_id_ok(leitweg_id: str) -> bool:
    parts = leitweg_id.split("-")
    if len(parts) not in (2, 3) or len(parts[-1]) != 2 or not parts[-1].isdigit():
        return False
    body = "".join(parts[:-1])
    return int(_letters_to_digits(body + parts[-1])) % 97 == 1
