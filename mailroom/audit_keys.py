"""The keys of the audit chain, kept outside the database, and the signed checkpoints of its head.

Every audit entry is an HMAC-SHA256 (not a bare hash) under a key the database does not hold, so whoever can write
the database but not read the key can neither append a valid entry nor re-hash altered ones
(:mod:`mailroom.audit`). The keys come from

* ``MAILROOM_AUDIT_KEYS`` (``kid:secret[,kid:secret...]``, the last one signs), for several machines sharing one
  database; or
* the key file ``MAILROOM_AUDIT_KEY_FILE`` (default ``<data_dir>/audit.keys``, mode 0600, one ``kid secret`` per
  line, the last one signs), created with a fresh key at the first start.

Rotation: ``mailroom audit rotate-key`` appends a new key; entries keep the id of the key that signed them, so
older keys keep verifying. Never delete a key whose entries are still in the chain.

Checkpoints: :func:`mailroom.audit.write_checkpoint` appends the signed head (entry id, hash) to
``MAILROOM_AUDIT_CHECKPOINT_FILE`` (default ``<data_dir>/audit-checkpoints.jsonl``) and logs it; the beat does so
every ``MAILROOM_AUDIT_CHECKPOINT_SECONDS``. A truncated tail, invisible to the chain alone, shows as a checkpoint
naming an entry that is gone or different.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from mailroom.errors import ConfigurationError
from mailroom.settings import Settings


@dataclass(frozen=True)
class Keyring:
    """Audit keys by id; ``current`` signs new entries."""

    keys: dict[str, bytes] = field(repr=False)
    current: str

    def mac(self, key_id: str, message: bytes) -> str | None:
        """HMAC-SHA256 (hex) of ``message`` under key ``key_id``; None for a key this keyring does not have."""
        key = self.keys.get(key_id)
        return hmac.new(key, message, hashlib.sha256).hexdigest() if key is not None else None


def _parse(lines: list[str], where: str) -> Keyring:
    keys: dict[str, bytes] = {}
    current = ""
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kid, sep, secret = line.replace(":", " ", 1).partition(" ")
        if not sep or not kid or len(secret.strip()) < 16:
            raise ConfigurationError(f"{where}, entry {number}: expected 'KEY_ID SECRET' (a secret of at least "
                                     "16 characters)")
        keys[kid] = secret.strip().encode("utf-8")
        current = kid
    if not keys:
        raise ConfigurationError(f"{where} holds no audit key")
    return Keyring(keys=keys, current=current)


def key_file(settings: Settings) -> Path:
    return settings.audit_key_file or settings.data_dir / "audit.keys"


def checkpoint_file(settings: Settings) -> Path:
    return settings.audit_checkpoint_file or settings.data_dir / "audit-checkpoints.jsonl"


def new_key_line() -> str:
    return f"k{secrets.token_hex(4)} {secrets.token_hex(32)}\n"


def load_keyring(settings: Settings, *, create: bool = True) -> Keyring:
    """The keyring of ``settings``: from ``MAILROOM_AUDIT_KEYS``, else from the key file (created if missing)."""
    if settings.audit_keys is not None:
        return _parse(settings.audit_keys.get_secret_value().split(","), "MAILROOM_AUDIT_KEYS")
    path = key_file(settings)
    if not path.exists():
        if not create:
            raise ConfigurationError(f"no audit key file {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first
        else:
            with os.fdopen(handle, "w") as out:
                out.write("# mailroom audit keys: one 'KEY_ID SECRET' per line, the last signs; keep them all\n")
                out.write(new_key_line())
    return _parse(path.read_text(encoding="utf-8").splitlines(), str(path))


def rotate(settings: Settings) -> str:
    """Append a new signing key to the key file; returns its id (``MAILROOM_AUDIT_KEYS`` is rotated by hand)."""
    if settings.audit_keys is not None:
        raise ConfigurationError("the audit keys come from MAILROOM_AUDIT_KEYS: add 'kid:secret' at its end")
    load_keyring(settings)  # creates the file if needed
    line = new_key_line()
    with key_file(settings).open("a", encoding="utf-8") as out:
        out.write(line)
    return line.split()[0]


#: The keyring of each database (by URL), registered when its engine is made (``mailroom.storage.db``).
_KEYRINGS: dict[str, Keyring] = {}


def register(url: str, keyring: Keyring) -> None:
    _KEYRINGS[url] = keyring


def keyring_for(url: str) -> Keyring | None:
    return _KEYRINGS.get(url)
