"""The mailbox configuration: which IMAP mailboxes mailroom reads, and how it logs in (docs/mail.md).

A YAML file (``MAILROOM_MAILBOXES_FILE``) with a list ``mailboxes``. Secrets are never written into it: a password
or an OAuth2 client secret comes from an environment variable (``*_env``) or a file (``*_file``, e.g. a Docker
secret). Logins: a password (IMAP ``LOGIN`` over TLS), or OAuth2 (``XOAUTH2``) with a token that mailroom fetches
itself by the client-credentials flow (Microsoft 365 / Exchange Online, Google Workspace service setups) or that
another tool keeps fresh in a file.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mailroom.errors import MailboxesConfigError

MAX_CONFIG_BYTES = 1024 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OAuth2(_Model):
    """XOAUTH2: a token from the client-credentials flow, or one that another tool keeps fresh in a file/variable."""

    token_url: str | None = Field(None, description="Token endpoint for the client-credentials flow")
    client_id: str | None = None
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    scope: str | None = Field(None, description="e.g. https://outlook.office365.com/.default")
    access_token_env: str | None = None
    access_token_file: Path | None = None

    @model_validator(mode="after")
    def _one_way(self) -> OAuth2:
        flow = self.token_url is not None
        given = self.access_token_env is not None or self.access_token_file is not None
        if flow == given:
            raise ValueError("give either token_url (+ client_id and a client secret) or access_token_env/_file")
        if flow and (not self.client_id or (self.client_secret_env is None) == (self.client_secret_file is None)):
            raise ValueError("the client-credentials flow needs client_id and one of client_secret_env/_file")
        return self


class Mailbox(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", description="Also the station of its documents")
    host: str
    port: int = Field(993, ge=1, le=65535)
    security: Literal["tls", "starttls"] = "tls"
    ca_file: Path | None = Field(None, description="CA bundle for a server with a private CA")
    username: str
    password_env: str | None = None
    password_file: Path | None = None
    oauth2: OAuth2 | None = None
    folder: str = "INBOX"
    processed_folder: str = "Verarbeitet"
    refused_folder: str = "Abgelehnt"
    allow_senders: tuple[str, ...] = Field((), description="Only these senders (address or *@domain patterns)")
    deny_senders: tuple[str, ...] = Field((), description="Never these senders (address or *@domain patterns)")
    poll_seconds: float = Field(60.0, ge=1.0, description="Between polls; with IDLE, the longest wait")
    idle: bool = Field(True, description="Wait with IMAP IDLE where the server has it")

    @model_validator(mode="after")
    def _one_login(self) -> Mailbox:
        ways = [self.password_env is not None, self.password_file is not None, self.oauth2 is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one of password_env, password_file, oauth2 (never a password itself)")
        if len({self.folder, self.processed_folder, self.refused_folder}) != 3:
            raise ValueError("folder, processed_folder and refused_folder must differ")
        return self

    @property
    def station(self) -> str:
        return f"mail:{self.name}"

    def password(self) -> str:
        return read_secret(self.password_env, self.password_file, what=f"{self.name}: password")

    def sender_allowed(self, sender: str) -> bool:
        if any(fnmatch.fnmatchcase(sender, pattern.lower()) for pattern in self.deny_senders):
            return False
        return not self.allow_senders or any(fnmatch.fnmatchcase(sender, p.lower()) for p in self.allow_senders)


class MailboxesFile(_Model):
    mailboxes: tuple[Mailbox, ...]

    @model_validator(mode="after")
    def _unique(self) -> MailboxesFile:
        names = [box.name for box in self.mailboxes]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"mailbox names must be unique: {', '.join(twice)}")
        return self


def read_secret(env: str | None, file: Path | None, *, what: str) -> str:
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise MailboxesConfigError(f"{what}: the environment variable {env} is not set")
        return value
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise MailboxesConfigError(f"{what}: cannot read {file}: {exc.strerror}") from exc
        if not value:
            raise MailboxesConfigError(f"{what}: {file} is empty")
        return value
    raise MailboxesConfigError(f"{what}: no secret configured")


def load_mailboxes(path: Path) -> tuple[Mailbox, ...]:
    """Read and validate the mailbox file; every problem is a ``mailboxes_config_invalid`` with where it is."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise MailboxesConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MailboxesConfigError(f"{path}: cannot read it: {exc.strerror}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MailboxesConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return MailboxesFile.model_validate(raw).mailboxes
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}" for error in exc.errors()
        )
        raise MailboxesConfigError(f"{path}: {problems}") from exc
